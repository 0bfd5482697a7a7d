/**
 * Pending server tasks no run will ever take, put back in line. A pending task is normally held by
 * one of: its Agenda run, its brand's waiting list (`awaiting_slot`), or its batch's concurrency
 * (the batch offers it a run when one of its jobs ends). A process killed between the write that
 * makes a task pending (its creation, a retry, a slot offered) and the save of its run leaves it
 * held by none, for good; so does a run locked by a process that died before claiming its task,
 * until Agenda's lock lifetime passes. This sweep finds both.
 *
 * Going through the pending tasks costs a read of them, so it is done only when a task may have
 * been lost: at start (this process may replace one that crashed), when a worker is first seen
 * stopped or dead, and when this process failed to save a run. The pass starts `graceMs` later,
 * once the task a dying process wrote last is older than the grace.
 */
import type { Connection } from "mongoose";
import type { Logger } from "pino";
import { allBrands } from "../../brands/scope.js";
import type { Task, TaskModel } from "../model.js";
import { AGENDA_COLLECTION, RUN_TASK_JOB, type QueueableTask } from "./runner.js";

/** Tasks looked at per sweep: a sweep stays short, the next one goes on from where it stopped. */
const SWEEP_LIMIT = 200;

/** The batches among those given whose concurrency decides when their pending jobs get a run. */
export type ThrottledBatches = (batchIds: string[]) => Promise<Set<string>>;

interface RunEntry {
  data?: { task_id?: string };
}

export class LostRunRepair {
  private readonly tasks: TaskModel;
  /** The sweep goes through pending tasks by id, a slice at a time, and starts over at the end. */
  private afterId = 0;
  private throttled: ThrottledBatches = async () => new Set();
  /** When the next pass over the pending tasks may start (null: none needed); a pass is due at start. */
  private passDueAt: number | null = 0;
  /** The pass under way goes on slice by slice until it has seen every pending task. */
  private passing = false;
  private readonly goneSeen = new Set<string>();

  constructor(
    private readonly connection: Connection,
    tasks: TaskModel,
    private readonly enqueueMany: (tasks: QueueableTask[]) => Promise<void>,
    /** A task untouched for this long is past any live process's write-then-queue. */
    private readonly graceMs: number,
    private readonly logger: Logger,
  ) {
    this.tasks = tasks;
  }

  /** Batches tell which of their jobs wait for their concurrency rather than for a run. */
  useThrottledBatches(throttled: ThrottledBatches): void {
    this.throttled = throttled;
  }

  private get runs() {
    return this.connection.getClient().db(this.connection.name).collection<RunEntry & { name: string }>(AGENDA_COLLECTION);
  }

  /** Runs locked by dead workers are due again at once rather than when their lock expires. */
  async releaseDeadLocks(alive: ReadonlySet<string>): Promise<number> {
    const res = await this.runs.updateMany(
      { name: RUN_TASK_JOB, lockedAt: { $ne: null }, lastModifiedBy: { $nin: [...alive] } },
      { $set: { lockedAt: null, nextRunAt: new Date() } },
    );
    if (res.modifiedCount > 0) this.logger.warn({ runs: res.modifiedCount }, "runs locked by a stopped worker released");
    return res.modifiedCount;
  }

  /** A pass over the pending tasks, `graceMs` from now. */
  requestPass(now = Date.now()): void {
    const due = now + this.graceMs;
    this.passDueAt = this.passDueAt === null ? due : Math.max(this.passDueAt, due);
  }

  /** Workers that stopped or died: one not seen so before may have left tasks without a run. */
  noteGoneWorkers(gone: string[]): void {
    for (const id of gone) {
      if (this.goneSeen.has(id)) continue;
      this.goneSeen.add(id);
      this.requestPass();
    }
  }

  /** One slice of the pass, when a pass is due or under way; returns how many tasks were queued. */
  async sweepIfDue(now = new Date()): Promise<number> {
    if (!this.passing) {
      if (this.passDueAt === null || now.getTime() < this.passDueAt) return 0;
      this.passDueAt = null;
      this.passing = true;
      this.afterId = 0;
    }
    const queued = await this.requeueLost(now);
    if (this.afterId === 0) this.passing = false;
    return queued;
  }

  /** Queues the due pending tasks that nothing holds, in the next slice; returns how many. */
  async requeueLost(now = new Date()): Promise<number> {
    const settled = new Date(now.getTime() - this.graceMs);
    const slice = await allBrands(
      this.tasks
        .find(
          {
            status: "pending",
            executor: "server",
            awaiting_slot: { $ne: true },
            updated_at: { $lte: settled },
            $or: [{ scheduled_for: null }, { scheduled_for: { $lte: settled } }],
            id: { $gt: this.afterId },
          },
          { task_id: 1, id: 1, brand: 1, priority: 1, scheduled_for: 1, batch_id: 1 },
        )
        .sort({ id: 1 })
        .limit(SWEEP_LIMIT)
        .lean<Task[]>(),
    );
    this.afterId = slice.length < SWEEP_LIMIT ? 0 : slice[slice.length - 1].id;
    if (slice.length === 0) return 0;
    const lost = await this.withoutRun(slice);
    if (lost.length === 0) return 0;
    await this.enqueueMany(lost);
    this.logger.warn({ tasks: lost.length, task_ids: lost.slice(0, 10).map((t) => t.task_id) }, "pending tasks without a run queued again");
    return lost.length;
  }

  private async withoutRun(slice: Task[]): Promise<Task[]> {
    const queued = await this.runs.find({ name: RUN_TASK_JOB, "data.task_id": { $in: slice.map((t) => t.task_id) } }, { projection: { "data.task_id": 1 } }).toArray();
    const withRun = new Set(queued.map((r) => r.data?.task_id));
    const candidates = slice.filter((t) => !withRun.has(t.task_id));
    const batchIds = [...new Set(candidates.flatMap((t) => (t.batch_id ? [t.batch_id] : [])))];
    const throttled = batchIds.length > 0 ? await this.throttled(batchIds) : new Set<string>();
    return candidates.filter((t) => !t.batch_id || !throttled.has(t.batch_id));
  }
}
