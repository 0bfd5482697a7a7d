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
import type { TaskRegistry } from "../tasks/executor/registry.js";
import type { TaskLifecycle } from "../tasks/lifecycle/index.js";
import type { Task } from "../tasks/model.js";
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

/** What batches need of the task hub: the lifecycle, where queued jobs go, and which types run on the server. */
export interface BatchesDeps {
  lifecycle: TaskLifecycle;
  enqueue: (task: Pick<Task, "task_id" | "priority" | "scheduled_for">) => Promise<void>;
  wakeSeller: (task: Task) => void;
  serverTypes: TaskRegistry;
}

export interface BatchesOptions {
  /** Requests per minute per caller and URL on polled endpoints (status, overview, timeseries). */
  pollRateLimit: number;
}

export function createBatchesModule(connection: Connection, deps: BatchesDeps, logger: Logger, options: BatchesOptions): BatchesModule {
  const accounts = new AccountService(connection);
  const { lifecycle, serverTypes } = deps;
  const batches = new BatchService(
    connection,
    lifecycle,
    accounts,
    {
      enqueue: deps.enqueue,
      wakeSeller: deps.wakeSeller,
      isServerType: (type) => serverTypes.has(type),
      serverTypes: () => serverTypes.names(),
    },
    logger.child({ module: "batches" }),
  );
  batches.listen();
  const dashboard = new DashboardService(batches.batches, lifecycle.tasks, accounts);
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
