/**
 * Retention: what the server keeps forever grows forever (the embedded engine holds every document
 * in memory). Finished tasks older than the retention period go with their checkpoints (their
 * metrics live on the task); a batch goes with all its jobs once it has been finished that long (a
 * batch's counters and summary stay true while it exists); Vinted stats snapshots older than a week
 * are down-sampled to the last one of each day per listing, which is what a trend needs.
 */
import type { Logger } from "pino";
import type { Types } from "mongoose";
import { allBrands } from "../brands/scope.js";
import type { BatchModel } from "../batches/model.js";
import type { CheckpointModel } from "../tasks/executor/checkpoint-model.js";
import type { TaskModel } from "../tasks/model.js";
import type { VintedModels } from "../vinted/model.js";

const FINISHED = ["completed", "failed", "cancelled"];
/** Documents deleted per write: a sweep over a large backlog stays a series of short writes. */
const SLICE = 5_000;

export interface RetentionSettings {
  /** Finished tasks and batches are kept this long; null keeps them forever. */
  taskRetentionMs: number | null;
  /** Stats snapshots older than this keep one per listing and day. */
  snapshotDailyAfterMs: number;
}

export interface RetentionReport {
  tasks: number;
  checkpoints: number;
  batches: number;
  snapshots: number;
}

export interface RetentionModels {
  tasks: TaskModel;
  checkpoints: CheckpointModel;
  batches: BatchModel;
  snapshots: VintedModels["StatsSnapshot"];
}

export class RetentionService {
  constructor(
    private readonly models: RetentionModels,
    private readonly settings: RetentionSettings,
    private readonly logger: Logger,
  ) {}

  async sweep(now = new Date()): Promise<RetentionReport> {
    const report: RetentionReport = { tasks: 0, checkpoints: 0, batches: 0, snapshots: 0 };
    if (this.settings.taskRetentionMs !== null) {
      const before = new Date(now.getTime() - this.settings.taskRetentionMs);
      await this.purgeBatches(before, report);
      await this.purgeTasks({ batch_id: null, status: { $in: FINISHED }, updated_at: { $lt: before } }, report);
    }
    report.snapshots = await this.downsampleSnapshots(new Date(now.getTime() - this.settings.snapshotDailyAfterMs));
    if (report.tasks + report.batches + report.snapshots > 0) this.logger.info({ removed: report }, "retention sweep");
    return report;
  }

  /** Batches finished before `before` (completed or cancelled, nothing left to run), with their jobs. */
  private async purgeBatches(before: Date, report: RetentionReport): Promise<void> {
    const old = await allBrands(this.models.batches.find({ is_active: false, completed_at: { $lt: before } }, { batch_id: 1 }).limit(SLICE)).lean<
      Array<{ _id: Types.ObjectId; batch_id: string }>
    >();
    for (const batch of old) {
      // Jobs still running out a cancel keep their batch until a later sweep.
      await this.purgeTasks({ batch_id: batch.batch_id, status: { $in: FINISHED } }, report);
      if (await allBrands(this.models.tasks.findOne({ batch_id: batch.batch_id }, { _id: 1 })).lean()) continue;
      report.batches += (await allBrands(this.models.batches.deleteOne({ _id: batch._id }))).deletedCount;
    }
  }

  private async purgeTasks(filter: Record<string, unknown>, report: RetentionReport): Promise<void> {
    for (;;) {
      const rows = await allBrands(this.models.tasks.find(filter, { task_id: 1 }).limit(SLICE)).lean<Array<{ _id: Types.ObjectId; task_id: string }>>();
      if (rows.length === 0) return;
      report.checkpoints += (await allBrands(this.models.checkpoints.deleteMany({ task_id: { $in: rows.map((r) => r.task_id) } }))).deletedCount;
      report.tasks += (await allBrands(this.models.tasks.deleteMany({ ...filter, _id: { $in: rows.map((r) => r._id) } }))).deletedCount;
      if (rows.length < SLICE) return;
    }
  }

  /** Keeps the last snapshot of each listing and UTC day among those older than `before`. */
  private async downsampleSnapshots(before: Date): Promise<number> {
    const groups = await this.models.snapshots.aggregate<{ _id: unknown; extra: Types.ObjectId[] }>([
      { $match: { captured_at: { $lt: before } } },
      { $sort: { captured_at: -1 } },
      {
        $group: {
          _id: { owner: "$owner", vinted_id: "$vinted_id", day: { $dateToString: { format: "%Y-%m-%d", date: "$captured_at" } } },
          ids: { $push: "$_id" },
        },
      },
      { $match: { "ids.1": { $exists: true } } },
      { $project: { extra: { $slice: ["$ids", 1, { $size: "$ids" }] } } },
    ]);
    const extra = groups.flatMap((g) => g.extra);
    let removed = 0;
    for (let i = 0; i < extra.length; i += SLICE) {
      removed += (await this.models.snapshots.deleteMany({ _id: { $in: extra.slice(i, i + SLICE) } })).deletedCount;
    }
    return removed;
  }
}
