/**
 * How many pending tasks each brand has queued, kept in one small document per brand so the queued
 * quota is one `_id` read at any backlog (a count of the brand's pending tasks grew with it).
 *
 * The counts follow the lifecycle's events: every change into or out of `pending` moves its brand's
 * count by an atomic `$inc`, which works across processes. A process killed between a task's write
 * and its `$inc` leaves the count off for good, so every change also marks the count unverified;
 * once a brand has been quiet for `quietMs` a sweep sets it to a count of the brand's pending tasks,
 * on the condition that nothing moved it meanwhile (else the next sweep tries again) — as batch
 * counters are repaired (batches/recount.ts).
 */
import type { Collection, Connection } from "mongoose";
import type { Logger } from "pino";
import { allBrands } from "../brands/scope.js";
import type { TaskEvents, TaskStatusChanged, TasksBulkStatusChanged } from "./lifecycle/index.js";
import type { Task, TaskModel } from "./model.js";

interface QueuedCountDoc {
  /** The brand. */
  _id: number;
  pending: number;
  /** False from a change until a recount has confirmed (or repaired) `pending`. */
  verified: boolean;
  updated_at: Date;
}

/** Counts recounted per sweep: a sweep stays short, the next one takes the rest. */
const SWEEP_LIMIT = 50;

export const QUEUED_COUNTS_COLLECTION = "queued_task_counts";

export function pendingDeltaOfChange(event: Pick<TaskStatusChanged, "from" | "to">): number {
  return (event.to === "pending" ? 1 : 0) - (event.from === "pending" ? 1 : 0);
}

export function pendingDeltaOfBulk(event: Pick<TasksBulkStatusChanged, "counts" | "to">): number {
  const moved = Object.values(event.counts).reduce<number>((n, c) => n + (c ?? 0), 0);
  return (event.to === "pending" ? moved : 0) - (event.counts.pending ?? 0);
}

export class QueuedTaskCounts {
  private readonly counts: Collection<QueuedCountDoc>;

  constructor(
    connection: Connection,
    private readonly tasks: TaskModel,
    private readonly quietMs: number,
    private readonly logger: Logger,
  ) {
    // The plain driver collection: a counter update has nothing for mongoose to validate or cast.
    this.counts = connection.collection<QueuedCountDoc>(QUEUED_COUNTS_COLLECTION);
  }

  /** Moves the counts with every change of the lifecycle that enters or leaves `pending`. */
  follow(events: TaskEvents): void {
    events.on("task.created", ({ task }) => this.add(task.brand, task.status === "pending" ? 1 : 0));
    events.on("tasks.created", ({ brand, tasks }) => this.add(brand, tasks.filter((t) => t.status === "pending").length));
    events.on("task.status_changed", (event) => this.add(event.task.brand, pendingDeltaOfChange(event)));
    events.on("tasks.bulk_status_changed", (event) => this.add(event.brand, pendingDeltaOfBulk(event)));
    events.on("task.deleted", ({ task }: { task: Task }) => this.add(task.brand, task.status === "pending" ? -1 : 0));
  }

  /** The brand's pending tasks as counted (0 for a brand that never queued any). */
  async pendingOf(brand: number): Promise<number> {
    const doc = await this.counts.findOne({ _id: brand }, { projection: { pending: 1 } });
    return Math.max(0, doc?.pending ?? 0);
  }

  async add(brand: number, delta: number): Promise<void> {
    if (delta === 0) return;
    await this.counts.updateOne({ _id: brand }, { $inc: { pending: delta }, $set: { verified: false, updated_at: new Date() } }, { upsert: true });
  }

  /**
   * Brands with pending tasks but no count yet (tasks queued before the counts existed) get one,
   * unverified: the sweep confirms it once the brand is quiet.
   */
  async init(): Promise<void> {
    if ((await this.counts.estimatedDocumentCount()) > 0) return;
    const groups = await allBrands(this.tasks.aggregate<{ _id: number; n: number }>([{ $match: { status: "pending" } }, { $group: { _id: "$brand", n: { $sum: 1 } } }]));
    const at = new Date(0);
    for (const g of groups) {
      await this.counts.updateOne({ _id: g._id }, { $setOnInsert: { pending: g.n, verified: false, updated_at: at } }, { upsert: true });
    }
  }

  /** Recounts the counts quiet for `quietMs` that are unverified; returns how many were off and repaired. */
  async sweep(now = new Date()): Promise<number> {
    const quiet = await this.counts
      .find({ verified: false, updated_at: { $lt: new Date(now.getTime() - this.quietMs) } })
      .limit(SWEEP_LIMIT)
      .toArray();
    let repaired = 0;
    for (const stored of quiet) if (await this.recount(stored)) repaired++;
    return repaired;
  }

  private async recount(stored: QueuedCountDoc): Promise<boolean> {
    const counted = await this.tasks.countDocuments({ brand: stored._id, status: "pending" });
    const result = await this.counts.updateOne(
      { _id: stored._id, updated_at: stored.updated_at, verified: false },
      { $set: { pending: counted, verified: true } },
    );
    const repaired = result.modifiedCount > 0 && counted !== stored.pending;
    if (repaired) this.logger.warn({ brand: stored._id, stored: stored.pending, counted }, "queued task count repaired from a count of the brand's pending tasks");
    return repaired;
  }
}
