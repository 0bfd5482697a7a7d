import type { Connection } from "mongoose";
import type { Logger } from "pino";
import type { TaskExecutionConfig } from "../config.js";
import type { ApiRouter } from "../http/define-route.js";
import type { BackgroundService } from "../lifecycle/services.js";
import { registerPersistenceRoutes } from "../persistence/routes.js";
import { PersistenceService } from "../persistence/service.js";
import { TaskExecution } from "./executor/index.js";
import { builtInTaskTypes } from "./handlers/index.js";
import { registerTaskRoutes } from "./routes.js";
import { TaskService } from "./service.js";

/** The task hub: its services and routes, and the execution this process takes part in. */
export interface TaskHub {
  execution: TaskExecution;
  tasks: TaskService;
  persistence: PersistenceService;
  init(): Promise<void>;
  registerRoutes(api: ApiRouter): void;
  /** Starts and stops task execution with the server. */
  service: BackgroundService;
}

export function createTaskHub(connection: Connection, config: TaskExecutionConfig, logger: Logger): TaskHub {
  const registry = builtInTaskTypes(connection);
  const execution = new TaskExecution(connection, registry, logger, {
    processEveryMs: config.pollMs,
    concurrency: config.concurrency,
    retryBaseDelayMs: config.retryBaseMs,
    retryMaxDelayMs: config.retryMaxMs,
    cancelPollMs: config.cancelPollMs,
    progressThrottleMs: Math.min(500, config.pollMs),
    heartbeatMs: config.heartbeatMs,
    staleAfterMs: config.heartbeatMs * 3,
    autoResume: config.autoResume,
  });
  const tasks = new TaskService(connection, execution, registry);
  const persistence = new PersistenceService(connection, execution);
  return {
    execution,
    tasks,
    persistence,
    init: () => tasks.init(),
    registerRoutes(api) {
      registerTaskRoutes(api, tasks);
      registerPersistenceRoutes(api, persistence);
    },
    service: { name: "task-execution", start: () => execution.start(), stop: () => execution.stop() },
  };
}
