import type { Connection } from "mongoose";
import type { Logger } from "pino";
import type { PluginPollCounters } from "../../../shared/monitoring.js";
import { AlertsService } from "./alerts-service.js";
import { AlertEvaluator } from "./evaluator.js";
import { MetricsService } from "./metrics-service.js";
import { WorkersService } from "./workers-service.js";

export interface MonitoringOptions {
  /** Stale after 3 × TASK_HEARTBEAT_MS, as task recovery uses. */
  staleAfterMs: number;
  /** ALERT_EVAL_MS. */
  alertEvalMs: number;
  currentWorkerId: () => string;
  /** This process's extension poll counters (shown in the workers overview). */
  pluginPolls?: () => PluginPollCounters;
}

/** task_monitoring: metrics, workers, alert rules and alerts, and the background alert evaluator. */
export interface Monitoring {
  metrics: MetricsService;
  workers: WorkersService;
  alerts: AlertsService;
  /** Started and stopped with the task hub's service. */
  evaluator: AlertEvaluator;
  init(): Promise<void>;
}

export function createMonitoring(connection: Connection, options: MonitoringOptions, logger: Logger): Monitoring {
  const metrics = new MetricsService(connection);
  const workers = new WorkersService(connection, { staleAfterMs: options.staleAfterMs, currentWorkerId: options.currentWorkerId, pluginPolls: options.pluginPolls });
  const alerts = new AlertsService(connection);
  const evaluator = new AlertEvaluator(connection, { intervalMs: options.alertEvalMs }, logger.child({ component: "alert-evaluator" }));
  return {
    metrics,
    workers,
    alerts,
    evaluator,
    // Unique indexes (one open alert per rule, one rule name per brand) must exist before the first write.
    init: async () => {
      await Promise.all([metrics.init(), workers.init(), alerts.init()]);
    },
  };
}
