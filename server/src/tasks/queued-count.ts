/**
 * How many pending tasks each brand has queued, kept in one small document per brand so the queued
 * quota is one `_id` write at any backlog (a count of the brand's pending tasks grew with it).
 *
 * A creation reserves its room first: one conditional `$inc` that only applies while the brand stays
 * within its limit, so the quota holds across processes even for creations at the same moment (a
 * creation that then fails gives its room back) — or, with no write, room this process freed and
 * has not written yet (see takeFreedRoom). Changes into `pending` (a retry, a lease handed
 * back…) add at once; changes out of it (claims, cancels, deletions) are gathered in this process
 * and written every `flushMs`, all brands in one command — so the stored count may be above the
 * truth by what this or another process took off the queue in the last `flushMs`, never below it
 * (a creation refused here writes this process's share first and tries again). This process's
 * reads (`pendingOf`) include what it has not written yet.
 *
 * A process killed between a task's write and its count's leaves the count off for good, so every
 * write also marks the count unverified; once a brand has been quiet for `quietMs` a sweep sets it
 * to a count of the brand's pending tasks, on the condition that nothing moved it meanwhile (else
 * the next sweep tries again) — as batch counters are repaired (batches/recount.ts). A recount that
 * races a change not yet written is off by that change until the next quiet period (the write marks
 * the count unverified again).
 */
import type { AnyBulkWriteOperation } from "mongodb";
import type { Collection, Connection } from "mongoose";
import type { Logger } from "pino";
import { plainCollection, type PlainCollection } from "../db/plain-collection.js";
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

const DUPLICATE_KEY = 11000;

export class QueuedTaskCounts {
  private readonly counts: Collection<QueuedCountDoc>;
  /** The same collection for the writes of every creation and claim: straight to an engine in this process. */
  private readonly hotCounts: PlainCollection;
  /** Decrements per brand not written yet. */
  private readonly unwritten = new Map<number, number>();
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    connection: Connection,
    private readonly tasks: TaskModel,
    private readonly quietMs: number,
    private readonly logger: Logger,
    private readonly flushMs = 0,
  ) {
    // The plain driver collection: a counter update has nothing for mongoose to validate or cast.
    this.counts = connection.collection<QueuedCountDoc>(QUEUED_COUNTS_COLLECTION);
    this.hotCounts = plainCollection(connection.collection(QUEUED_COUNTS_COLLECTION));
  }

  /**
   * Moves the counts with every change of the lifecycle that enters or leaves `pending`. Creations
   * are counted by their reservation (reserve), not here.
   */
  follow(events: TaskEvents): void {
    events.on("task.status_changed", (event) => this.add(event.task.brand, pendingDeltaOfChange(event)));
    events.on("tasks.bulk_status_changed", (event) => this.add(event.brand, pendingDeltaOfBulk(event)));
    events.on("task.deleted", ({ task }: { task: Task }) => this.add(task.brand, task.status === "pending" ? -1 : 0));
  }

  /** The brand's pending tasks as counted, with this process's changes not written yet (0 for a brand that never queued any). */
  async pendingOf(brand: number): Promise<number> {
    const doc = await this.counts.findOne({ _id: brand }, { projection: { pending: 1 } });
    return Math.max(0, (doc?.pending ?? 0) + (this.unwritten.get(brand) ?? 0));
  }

  /**
   * Counts `adding` new pending tasks of the brand if the count stays within `limit`; false (and
   * nothing counted) otherwise. One conditional write; the first creation of a brand inserts its count.
   */
  async reserve(brand: number, adding: number, limit: number): Promise<boolean> {
    if (adding > limit) return false;
    if (adding <= 0) return true;
    if (this.takeFreedRoom(brand, adding)) return true;
    if (await this.tryReserve(brand, adding, limit)) return true;
    if (!this.unwritten.has(brand)) return false;
    // What this process took off the queue may be the room: written first, then asked again.
    await this.flush();
    return this.tryReserve(brand, adding, limit);
  }

  /**
   * Room this process freed and has not written yet (its claims, cancels…) is still counted as
   * taken in the stored count: new tasks take it over with no write, and the stored count stays
   * within the limit and never below the truth. A creation and a claim of one brand in the same
   * flush interval then cost no count write at all.
   */
  private takeFreedRoom(brand: number, adding: number): boolean {
    const unwritten = this.unwritten.get(brand) ?? 0;
    if (unwritten > -adding) return false;
    if (unwritten + adding === 0) this.unwritten.delete(brand);
    else this.unwritten.set(brand, unwritten + adding);
    return true;
  }

  private async tryReserve(brand: number, adding: number, limit: number): Promise<boolean> {
    try {
      // A count past the limit does not match; the upsert then collides with it on _id (refused).
      await this.hotCounts.updateOne(
        { _id: brand, pending: { $lte: limit - adding } },
        { $inc: { pending: adding }, $set: { verified: false, updated_at: new Date() } },
        { upsert: true },
      );
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === DUPLICATE_KEY) return false;
      throw err;
    }
  }

  /** Moves the brand's count by `delta`: up at once, down with the next flush. */
  async add(brand: number, delta: number): Promise<void> {
    if (delta === 0) return;
    if (delta < 0 && this.flushMs > 0) {
      this.unwritten.set(brand, (this.unwritten.get(brand) ?? 0) + delta);
      this.flushTimer ??= setTimeout(() => void this.flush(), this.flushMs).unref();
      return;
    }
    await this.hotCounts.updateOne({ _id: brand }, { $inc: { pending: delta }, $set: { verified: false, updated_at: new Date() } }, { upsert: true });
  }

  /** Writes the decrements gathered so far, every brand's in one command (kept for the next flush if it fails). */
  flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.flushing = this.flushing.then(() => this.writeUnwritten());
    return this.flushing;
  }

  private async writeUnwritten(): Promise<void> {
    if (this.unwritten.size === 0) return;
    const deltas = [...this.unwritten];
    this.unwritten.clear();
    const at = new Date();
    const writes: AnyBulkWriteOperation<QueuedCountDoc>[] = deltas.map(([brand, delta]) => ({
      updateOne: { filter: { _id: brand }, update: { $inc: { pending: delta }, $set: { verified: false, updated_at: at } }, upsert: true },
    }));
    try {
      await this.counts.bulkWrite(writes, { ordered: false });
    } catch (err) {
      for (const [brand, delta] of deltas) this.unwritten.set(brand, (this.unwritten.get(brand) ?? 0) + delta);
      this.flushTimer ??= setTimeout(() => void this.flush(), Math.max(this.flushMs, 1_000)).unref();
      this.logger.warn({ err, brands: deltas.length }, "queued task counts could not be written; trying again");
    }
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
