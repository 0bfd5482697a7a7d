import type { Connection } from "mongoose";
import type { Principal } from "../http/context.js";
import type { Logger } from "pino";
import type { PluginConfig, TaskExecutionConfig } from "../config.js";
import type { ApiRouter } from "../http/define-route.js";
import type { BackgroundService } from "../lifecycle/services.js";
import { createMonitoring, type Monitoring } from "../monitoring/index.js";
import { registerMonitoringRoutes } from "../monitoring/routes.js";
import { registerPersistenceRoutes } from "../persistence/routes.js";
import { createPluginModule, type PluginModule } from "../plugin/index.js";
import { PersistenceService } from "../persistence/service.js";
import { createScheduling, type Scheduling } from "../scheduling/index.js";
import { TaskExecution } from "./executor/index.js";
import { TaskLifecycle } from "./lifecycle/index.js";
import { builtInTaskTypes } from "./handlers/index.js";
import { registerTaskRoutes } from "./routes.js";
import { TaskService } from "./service.js";

/** The task hub: its services and routes, and the execution this process takes part in. */
export interface TaskHub {
  /** The only writer of task statuses; `lifecycle.events` is where features listen for changes. */
  lifecycle: TaskLifecycle;
  execution: TaskExecution;
  tasks: TaskService;
  persistence: PersistenceService;
  /** Metrics, workers, alert rules and alerts (/tasks/monitoring/); its alert evaluator runs with `service`. */
  monitoring: Monitoring;
  /** Periodic tasks (/tasks/scheduled/); its ticker runs with `service` (it queues what it fires). */
  scheduling: Scheduling;
  /** Extension tasks (vinted.*): delivery to the seller's extension, the Vinted data results fill; its lease sweeper runs with `service`. */
  plugin: PluginModule;
  init(): Promise<void>;
  registerRoutes(api: ApiRouter): void;
  /** Starts and stops task execution with the server. */
  service: BackgroundService;
}

export interface TaskHubOptions {
  plugin?: PluginConfig;
  /** Shutdown has begun: held plugin long-polls are answered at once. */
  isDraining?: () => boolean;
  /** Whether a caller's session is still open (a long-poll re-checks it after waiting). */
  isSessionOpen?: (principal: Principal) => Promise<boolean>;
}

export function createTaskHub(connection: Connection, config: TaskExecutionConfig, logger: Logger, options: TaskHubOptions = {}): TaskHub {
  const registry = builtInTaskTypes(connection);
  const lifecycle = new TaskLifecycle(connection, logger, { retry: { retryBaseDelayMs: config.retryBaseMs, retryMaxDelayMs: config.retryMaxMs } });
  const execution = new TaskExecution(connection, lifecycle, registry, logger, {
    processEveryMs: config.pollMs,
    concurrency: config.concurrency,
    cancelPollMs: config.cancelPollMs,
    progressThrottleMs: Math.min(500, config.pollMs),
    heartbeatMs: config.heartbeatMs,
    staleAfterMs: config.heartbeatMs * 3,
    autoResume: config.autoResume,
  });
  const tasks = new TaskService(connection, lifecycle, execution, registry);
  const persistence = new PersistenceService(connection, lifecycle);
  const scheduling = createScheduling({ connection, tasks, catalog: registry, tickMs: config.schedulerTickMs, logger });
  const monitoring = createMonitoring(
    connection,
    { staleAfterMs: config.heartbeatMs * 3, alertEvalMs: config.alertEvalMs, currentWorkerId: () => execution.workerId },
    logger,
  );
  const plugin = createPluginModule(connection, lifecycle, logger, { config: options.plugin, isDraining: options.isDraining, isSessionOpen: options.isSessionOpen });
  tasks.useExternalTaskTypes(plugin.plugin);
  // A task that becomes claimable is handed to whoever runs it.
  lifecycle.events.on("task.created", ({ task }) => execution.queueWhenPending(task));
  lifecycle.events.on("task.status_changed", execution.onStatusChanged);
  lifecycle.events.on("task.created", ({ task }) => plugin.plugin.wakeSeller(task));
  lifecycle.events.on("task.status_changed", ({ task }) => plugin.plugin.wakeSeller(task));
  return {
    lifecycle,
    execution,
    tasks,
    persistence,
    scheduling,
    monitoring,
    plugin,
    init: async () => {
      await tasks.init();
      await monitoring.init();
      await scheduling.init();
      await plugin.init();
    },
    registerRoutes(api) {
      registerTaskRoutes(api, tasks);
      registerPersistenceRoutes(api, persistence);
      scheduling.registerRoutes(api);
      registerMonitoringRoutes(api, monitoring);
      plugin.registerRoutes(api);
    },
    service: {
      name: "task-execution",
      start: async () => {
        await execution.start();
        await scheduling.ticker.start();
        await monitoring.evaluator.start();
        await plugin.service.start();
      },
      stop: async () => {
        await plugin.service.stop();
        await scheduling.ticker.stop();
        await monitoring.evaluator.stop();
        await execution.stop();
      },
    },
  };
}
