/**
 * task_scheduling (`/tasks/scheduled/`): periodic tasks, their validation and the scheduler that
 * fires them. See cron.ts for the grammar and DST rules, ticker.ts for firing across processes.
 */
import type { Connection } from "mongoose";
import type { Logger } from "pino";
import type { ApiRouter } from "../http/define-route.js";
import type { TaskService, TaskTypeCatalog } from "../tasks/service.js";
import { registerSchedulingRoutes } from "./routes.js";
import { SchedulingService } from "./service.js";
import { SchedulerTicker } from "./ticker.js";

export interface SchedulingDeps {
  connection: Connection;
  /** Creates the tasks the schedules fire. */
  tasks: TaskService;
  /** The server task types a schedule may name. */
  catalog: TaskTypeCatalog;
  /** SCHEDULER_TICK_MS. */
  tickMs: number;
  /** CRON_MIN_INTERVAL_SECONDS. */
  minIntervalSeconds: number;
  logger: Logger;
}

export interface Scheduling {
  service: SchedulingService;
  /** Started and stopped with the process's task execution (it queues what it fires). */
  ticker: SchedulerTicker;
  init(): Promise<void>;
  registerRoutes(api: ApiRouter): void;
}

export function createScheduling(deps: SchedulingDeps): Scheduling {
  const service = new SchedulingService(deps.connection, deps.catalog, { tickMs: deps.tickMs, minIntervalSeconds: deps.minIntervalSeconds });
  const ticker = new SchedulerTicker(
    service.periodicTasks,
    (periodic, occurrence) =>
      deps.tasks.createInternal({
        brand: periodic.brand,
        created_by: periodic.created_by,
        task_type: periodic.task_type,
        priority: periodic.priority,
        description: periodic.description || `${periodic.name} (run of ${occurrence.toISOString()})`,
        context_data: periodic.context_data ?? {},
        scheduled_for: occurrence,
        max_retries: periodic.max_retries,
        timeout_minutes: periodic.timeout_minutes,
        is_periodic: true,
        periodic_task: periodic.id,
      }),
    deps.logger.child({ component: "scheduler" }),
    { tickMs: deps.tickMs },
  );
  return {
    service,
    ticker,
    init: () => service.init(),
    registerRoutes: (api) => registerSchedulingRoutes(api, service),
  };
}
