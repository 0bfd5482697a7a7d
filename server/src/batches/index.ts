/**
 * Selling accounts, batches of jobs and the dashboard, built on the task hub: counters and billing
 * listen to the lifecycle's events; the hub only gains a claim gate and a few listeners.
 */
import type { Connection } from "mongoose";
import type { Logger } from "pino";
import { registerAccountRoutes } from "../accounts/routes.js";
import { AccountService } from "../accounts/service.js";
import type { ApiRouter } from "../http/define-route.js";
import { pollRateLimit } from "../http/security.js";
import { builtInTaskTypes } from "../tasks/handlers/index.js";
import type { TaskHub } from "../tasks/hub.js";
import { registerDashboardRoutes } from "../dashboard/routes.js";
import { DashboardService } from "../dashboard/service.js";
import { registerBatchRoutes } from "./routes.js";
import { BatchService } from "./service.js";

export interface BatchesModule {
  accounts: AccountService;
  batches: BatchService;
  init(): Promise<void>;
  registerRoutes(api: ApiRouter): void;
}

export interface BatchesOptions {
  /** Requests per minute per caller and URL on polled endpoints (status, overview, timeseries). */
  pollRateLimit: number;
}

export function createBatchesModule(connection: Connection, hub: TaskHub, logger: Logger, options: BatchesOptions): BatchesModule {
  const accounts = new AccountService(connection);
  const serverTypes = builtInTaskTypes(connection);
  const batches = new BatchService(
    connection,
    hub.lifecycle,
    accounts,
    {
      enqueue: (task) => hub.execution.enqueue(task),
      wakeSeller: (task) => hub.plugin.plugin.wakeSeller(task),
      isServerType: (type) => serverTypes.has(type),
      serverTypes: () => serverTypes.names(),
    },
    logger.child({ module: "batches" }),
  );
  batches.listen();
  const dashboard = new DashboardService(batches.batches, hub.lifecycle.tasks, accounts);
  return {
    accounts,
    batches,
    init: async () => {
      await Promise.all([accounts.init(), batches.init()]);
    },
    registerRoutes(api) {
      registerAccountRoutes(api, accounts);
      registerBatchRoutes(api, batches, { statusRateLimit: pollRateLimit({ perMinute: options.pollRateLimit }) });
      registerDashboardRoutes(api, dashboard, { pollRateLimit: pollRateLimit({ perMinute: options.pollRateLimit }) });
    },
  };
}
