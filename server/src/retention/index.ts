import type { Connection } from "mongoose";
import type { Logger } from "pino";
import type { BatchModel } from "../batches/model.js";
import { RepeatingWork } from "../lifecycle/repeating.js";
import type { BackgroundService } from "../lifecycle/services.js";
import { checkpointModel } from "../tasks/executor/checkpoint-model.js";
import type { TaskModel } from "../tasks/model.js";
import { vintedModels } from "../vinted/model.js";
import { RetentionService } from "./service.js";

export interface RetentionModule {
  service: RetentionService;
  /** The sweep, every `sweepIntervalSeconds`. */
  background: BackgroundService;
}

export function createRetentionModule(
  connection: Connection,
  deps: { tasks: TaskModel; batches: BatchModel },
  settings: { taskRetentionSeconds: number | null; snapshotDailyAfterSeconds: number; sweepIntervalSeconds: number },
  logger: Logger,
): RetentionModule {
  const log = logger.child({ module: "retention" });
  const service = new RetentionService(
    { tasks: deps.tasks, batches: deps.batches, checkpoints: checkpointModel(connection), snapshots: vintedModels(connection).StatsSnapshot },
    { taskRetentionMs: settings.taskRetentionSeconds === null ? null : settings.taskRetentionSeconds * 1000, snapshotDailyAfterMs: settings.snapshotDailyAfterSeconds * 1000 },
    log,
  );
  const loop = new RepeatingWork("retention sweep", settings.sweepIntervalSeconds * 1000, () => service.sweep(), log);
  return { service, background: { name: "retention", start: async () => loop.start(), stop: () => loop.stop() } };
}
