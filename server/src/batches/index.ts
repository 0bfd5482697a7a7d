/**
 * Selling accounts, batches of jobs and the dashboard, built on the task hub: counters and billing
 * listen to the lifecycle's events; the hub only gains a claim gate and a few listeners.
 */
import type { Connection } from "mongoose";
import type { Logger } from "pino";
import { registerAccountRoutes } from "../accounts/routes.js";
import { AccountService } from "../accounts/service.js";
import type { ApiRouter } from "../http/define-route.js";
import type { BackgroundService } from "../lifecycle/services.js";
import { RepeatingWork } from "../lifecycle/repeating.js";
import { pollRateLimit } from "../http/security.js";
import type { TaskRegistry } from "../tasks/executor/registry.js";
import type { TaskLifecycle } from "../tasks/lifecycle/index.js";
import type { Task } from "../tasks/model.js";
import { registerDashboardRoutes } from "../dashboard/routes.js";
import { DashboardService } from "../dashboard/service.js";
import { registerBatchRoutes } from "./routes.js";
import { CounterRecount } from "./recount.js";
import { BatchService } from "./service.js";
import type { Batch } from "./model.js";
import { allBrands } from "../brands/scope.js";

export interface BatchesModule {
  accounts: AccountService;
  batches: BatchService;
  /** Checks quiet batches' counters against a count of their jobs, and repairs them. */
  recount: BackgroundService;
  init(): Promise<void>;
  /** Of the batches given, those with a concurrency: their pending jobs wait for it, not for a run. */
  throttledBatches(batchIds: string[]): Promise<Set<string>>;
  registerRoutes(api: ApiRouter): void;
}

/** What batches need of the task hub: the lifecycle, where queued jobs go, and which types run on the server. */
export interface BatchesDeps {
  lifecycle: TaskLifecycle;
  enqueueMany: (tasks: Array<Pick<Task, "task_id" | "brand" | "priority" | "scheduled_for">>) => Promise<void>;
  wakeSeller: (task: Task) => void;
  serverTypes: TaskRegistry;
  /** Refuses (429) a batch whose jobs would pass the brand's queued quota. */
  assertQueueRoom: (brand: number, adding: number) => Promise<void>;
}

export interface BatchesOptions {
  /** Requests per minute per caller and URL on polled endpoints (status, overview, timeseries). */
  pollRateLimit: number;
  /** How long a batch's counters must be still before they are recounted (recount.ts). */
  countsQuietMs: number;
}

export function createBatchesModule(connection: Connection, deps: BatchesDeps, logger: Logger, options: BatchesOptions): BatchesModule {
  const accounts = new AccountService(connection);
  const { lifecycle, serverTypes } = deps;
  const batches = new BatchService(
    connection,
    lifecycle,
    accounts,
    {
      enqueueMany: deps.enqueueMany,
      wakeSeller: deps.wakeSeller,
      isServerType: (type) => serverTypes.has(type),
      serverTypes: () => serverTypes.names(),
      assertQueueRoom: deps.assertQueueRoom,
    },
    logger.child({ module: "batches" }),
  );
  batches.listen();
  const recount = new CounterRecount(batches.batches, lifecycle.tasks, options.countsQuietMs, logger.child({ module: "batches" }));
  const recountLoop = new RepeatingWork("batch counter recount", Math.max(100, Math.round(options.countsQuietMs / 3)), () => recount.sweep(), logger);
  const dashboard = new DashboardService(batches.batches, lifecycle.tasks, accounts);
  return {
    accounts,
    batches,
    recount: { name: "batch-recount", start: async () => recountLoop.start(), stop: () => recountLoop.stop() },
    init: async () => {
      await Promise.all([accounts.init(), batches.init()]);
    },
    async throttledBatches(batchIds) {
      const rows = await allBrands(batches.batches.find({ batch_id: { $in: batchIds }, concurrency: { $ne: null } }, { batch_id: 1 }).lean<Batch[]>());
      return new Set(rows.map((b) => b.batch_id));
    },
    registerRoutes(api) {
      registerAccountRoutes(api, accounts);
      registerBatchRoutes(api, batches, { statusRateLimit: pollRateLimit({ perMinute: options.pollRateLimit }) });
      registerDashboardRoutes(api, dashboard, { pollRateLimit: pollRateLimit({ perMinute: options.pollRateLimit }) });
    },
  };
}
