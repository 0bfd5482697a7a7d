/**
 * The only code that changes a task's `status`.
 *
 * Each transition of table.ts is one conditional atomic update: its filter names the state it
 * leaves from (and, for a run, the run's token: a stale runner or an old extension lease changes
 * nothing), and a successful change emits one `task.status_changed` event with the task as the
 * change left it. Writes that keep the status (progress, lease renewals, checkpoints) are fenced the
 * same way and live here too, so a run's every write is conditioned on still owning the task.
 */
import { Types, type Connection, type UpdateQuery } from "mongoose";
import type { Logger } from "pino";
import type { TaskStatus } from "../../../../shared/tasks.js";
import { allBrands } from "../../brands/scope.js";
import { nextSequence } from "../../db/counters.js";
import { taskModel, timeoutSecondsOf, type Task, type TaskModel } from "../model.js";
import { dueBy, extensionDueBy, fenceFilter, LEASE_ORDER, leaseEnd, leaseFilter, rankOf } from "./conditions.js";
import { TaskEvents } from "./events.js";
import { lifecycleWrite } from "./guard.js";
import { BrandSlots } from "./slots.js";
import { TaskWaits } from "./waits.js";
import { decideRetry, DEFAULT_RETRY_POLICY, type RetryPolicyOptions } from "./retry-policy.js";
import { allows, TRANSITIONS, type TransitionName } from "./table.js";
import type { BatchScope, ClaimAdmission, ClaimGate, CreationCheck, FailureInput, FailureOutcome, Fields, LeaseCondition, LifecycleOptions, NewTask, RunFence } from "./types.js";

export { TaskEvents, type TaskEventMap, type TaskEventName, type TaskStatusChanged, type TasksBulkStatusChanged } from "./events.js";
export { ALLOWED_STATUS_CHANGES, TRANSITIONS, type TransitionName } from "./table.js";
export { decideRetry, retryDelayMs, type FailureKind, type RetryPolicyOptions } from "./retry-policy.js";
export type { BatchScope, ClaimAdmission, ClaimGate, CreationCheck, FailureInput, FailureOutcome, LeaseCondition, LifecycleOptions, NewTask, RunFence } from "./types.js";

/** A write refused by a unique index (here: the brand slot another run took first). */
function isDuplicateKey(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 11000;
}

export { ENDED_STATUSES } from "./waits.js";

/** Candidates an extension claim looks at before answering that nothing can be claimed now. */
const MAX_GATED_LOOKS = 20;

/** Tasks per write of a bulk transition. */
const BULK_SLICE = 10_000;

/** What a cancel leaves of a checkpointed job. */
const CANCELLED_JOB = { state: "cancelled", can_resume: false } as const;

export class TaskLifecycle {
  readonly tasks: TaskModel;
  readonly events: TaskEvents;
  private readonly retry: RetryPolicyOptions;
  readonly runningLimitPerBrand: number;
  private readonly slots: BrandSlots;
  private readonly waits: TaskWaits;
  private claimGate: ClaimGate | null = null;
  private creationCheck: CreationCheck | null = null;

  constructor(
    private readonly connection: Connection,
    logger: Logger,
    options: LifecycleOptions = {},
  ) {
    this.tasks = taskModel(connection);
    this.events = new TaskEvents(logger.child({ module: "task-lifecycle" }));
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.runningLimitPerBrand = options.runningLimitPerBrand ?? Number.MAX_SAFE_INTEGER;
    this.slots = new BrandSlots(this.tasks, this.runningLimitPerBrand);
    this.waits = new TaskWaits(this.tasks, (...args) => this.change(...args));
  }

  // -------------------------------------------------------------------------------------------
  // Birth and removal
  // -------------------------------------------------------------------------------------------

  /** Batches decide whether their jobs may be claimed (concurrency, pause, credits). */
  useClaimGate(gate: ClaimGate): void {
    this.claimGate = gate;
  }

  /** Every creation path (API, batches, schedules, publication, plugin) passes this check first. */
  useCreationCheck(check: CreationCheck): void {
    this.creationCheck = check;
  }

  /**
   * Stores many new pending tasks (a batch's jobs) with insertMany in chunks, and announces each
   * chunk with one `tasks.created` event. Ids are reserved in one counter step per chunk. Tasks that
   * differ only in `task_id` and `context_data` (a batch's jobs) are built from one validated
   * document per chunk instead of one mongoose document each.
   */
  async createMany(inputs: NewTask[], chunkSize = 5_000): Promise<number> {
    if (inputs.length > 0) await this.creationCheck?.(inputs[0].brand, inputs.length);
    let stored = 0;
    for (let start = 0; start < inputs.length; start += chunkSize) {
      const chunk = inputs.slice(start, start + chunkSize);
      const last = await nextSequence(this.connection, "tasks", chunk.length);
      const docs = await this.documentsOf(chunk, last - chunk.length + 1);
      await this.tasks.insertMany(docs, { ordered: true, lean: true });
      stored += docs.length;
      await this.events.emit("tasks.created", { brand: chunk[0].brand, batch_id: chunk[0].batch_id ?? null, tasks: docs });
    }
    return stored;
  }

  /** The stored form of each input, with its defaults and timestamps, validated by the schema. */
  private async documentsOf(chunk: NewTask[], firstId: number): Promise<Task[]> {
    const now = new Date();
    // `_id` first, as the engine stores it (a document in any other order is rebuilt on insert).
    const { _id: _first, ...shared } = await this.validated(chunk[0], firstId, now);
    return Promise.all(
      chunk.map(async (input, i) => {
        const id = firstId + i;
        if (!sharesFieldsWith(input, chunk[0])) return this.validated(input, id, now);
        return { _id: new Types.ObjectId(), ...shared, id, task_id: input.task_id, context_data: input.context_data ?? {} };
      }),
    );
  }

  private async validated(input: NewTask, id: number, now: Date): Promise<Task> {
    const doc = new this.tasks({ ...input, id, priority_rank: rankOf(input), created_at: now, updated_at: now });
    await doc.validate();
    return doc.toObject() as Task;
  }

  /** Stores a new task, pending (due now or at `scheduled_for`), and announces it. */
  async create(input: NewTask): Promise<Task> {
    await this.creationCheck?.(input.brand, 1);
    const created = await this.tasks.create({
      ...input,
      id: await nextSequence(this.connection, "tasks"),
      priority_rank: rankOf(input),
    });
    const task = created.toObject() as Task;
    await this.events.emit("task.created", { task });
    return task;
  }

  /** Removes a task in one of `statuses` (any when omitted); false when it was not there. */
  async remove(task: Task, statuses?: readonly TaskStatus[]): Promise<boolean> {
    const filter: Fields = { _id: task._id, brand: task.brand };
    if (statuses) filter.status = { $in: [...statuses] };
    const removed = await this.tasks.findOneAndDelete(filter).lean<Task>();
    if (!removed) return false;
    await this.events.emit("task.deleted", { task: removed });
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Claims
  // -------------------------------------------------------------------------------------------

  /**
   * A server worker claims a due pending task with a fresh run token, in a free running slot of its
   * brand; null when it is not there to take. When the brand has no free slot the task is marked
   * `awaiting_slot` (with `fairTag`, its place in line) and waits for `dispatchAwaiting`.
   */
  async claim(taskId: string, token: string, workerId: string, fairTag: number | null = null): Promise<Task | null> {
    // The _id is read first by the unique task_id, so the claim itself is an _id lookup: with the
    // claim's other conditions in the filter, a planner may prefer a (status, …) index and read
    // every pending task — the cost of a claim would then grow with the backlog.
    const found = await allBrands(this.tasks.findOne({ task_id: taskId }, { _id: 1, status: 1, brand: 1, batch_id: 1 }).lean());
    if (!found || found.status !== "pending") return null;
    const slot = await this.slots.freeBrandSlot(found.brand);
    if (slot === null) {
      await this.slots.awaitSlot(found, fairTag);
      return null;
    }
    const admission = found.batch_id && this.claimGate ? await this.claimGate(found) : null;
    if (admission && admission.verdict !== "claim") {
      await this.refuseClaim(found._id, admission);
      return null;
    }
    const now = new Date();
    let claimed: Task | null;
    try {
      claimed = await this.change(
        "claim",
        "pending",
        "running",
        { _id: found._id, task_id: taskId, executor: "server", ...dueBy(now) },
        {
          $set: { started_at: now, run_token: token, worker_id: workerId, progress_message: null, brand_slot: slot, awaiting_slot: false },
          $inc: { attempt: 1 },
        },
      );
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Another process took that slot between our read and this write: wait for the next one.
      claimed = null;
      await this.slots.awaitSlot(found, fairTag);
    }
    if (!claimed) await admission?.release?.();
    return claimed;
  }

  /** Whether some task of the brand waits for a running slot (new ones then wait behind it, in order). */
  hasAwaiting(brand: number): Promise<boolean> {
    return this.slots.hasAwaiting(brand);
  }

  /** Queued tasks go straight to their brand's waiting list (its slots are spoken for), each with its place in line. */
  park(entries: Array<{ task: Pick<Task, "task_id" | "brand">; fairTag: number }>): Promise<void> {
    return this.slots.park(entries);
  }

  /** Running server tasks of the brand (for how many waiting tasks may be offered a slot). */
  runningCount(brand: number): Promise<number> {
    return this.slots.runningCount(brand);
  }

  /** Up to `count` of the brand's tasks waiting for a slot, best first, each taken off the waiting list once. */
  takeAwaiting(brand: number, count: number): Promise<Task[]> {
    return this.slots.takeAwaiting(brand, count);
  }

  /** Brands with tasks waiting for a slot (the periodic sweep's work list). */
  brandsAwaiting(): Promise<number[]> {
    return this.slots.brandsAwaiting();
  }

  /**
   * The seller's extension claims its best due task: leased for the task's timeout with `token`
   * (highest priority, then the oldest), among `brands` when given (those the seller is a member of).
   * Batch jobs pass the claim gate first, as server jobs do: a job its batch holds is skipped (the
   * next best is taken), one it suspends or cancels is moved so and the next best is looked at.
   */
  async claimLease(ownerUserId: number, token: string, brands: readonly number[] | null = null): Promise<Task | null> {
    const mine: Fields = { owner_user_id: ownerUserId, executor: "extension", ...(brands ? { brand: { $in: [...brands] } } : {}) };
    if (!this.claimGate) return this.lease(mine, token);
    const held: string[] = [];
    for (let look = 0; look < MAX_GATED_LOOKS; look++) {
      const filter: Fields = held.length ? { ...mine, batch_id: { $nin: held } } : mine;
      const best = await allBrands(
        this.tasks.findOne({ ...filter, status: "pending", ...extensionDueBy(new Date()) }, { _id: 1, brand: 1, batch_id: 1 }).sort(LEASE_ORDER).lean<Pick<Task, "_id" | "brand" | "batch_id">>(),
      );
      if (!best) return null;
      const admission = best.batch_id ? await this.claimGate(best) : null;
      if (admission?.verdict === "hold") {
        held.push(best.batch_id!);
        continue;
      }
      if (admission && admission.verdict !== "claim") {
        await this.refuseClaim(best._id, admission);
        continue;
      }
      const leased = await this.lease({ ...filter, _id: best._id }, token);
      if (leased) return leased;
      await admission?.release?.();
    }
    return null;
  }

  /** Suspends or cancels a pending job its batch does not admit. */
  private async refuseClaim(id: Types.ObjectId, admission: ClaimAdmission): Promise<void> {
    if (admission.verdict === "suspend") await this.change("suspend", "pending", "suspended", { _id: id }, { $set: {} });
    if (admission.verdict === "cancel") {
      const at = new Date();
      await this.change("cancel", "pending", "cancelled", { _id: id }, { $set: { cancelled_at: at, completed_at: at, ...admission.cancelSet } });
    }
  }

  /** One atomic claim of the best due pending task matching `filter`, with a fresh lease. */
  private async lease(filter: Fields, token: string): Promise<Task | null> {
    const now = new Date();
    return this.change(
      "claim",
      "pending",
      "running",
      { ...filter, ...extensionDueBy(now) },
      [
        {
          $set: {
            started_at: now,
            updated_at: now,
            run_token: token,
            lease_expires_at: leaseEnd(now),
            // A lease handed back (release) was not an attempt: the next claim is that attempt again.
            attempt: { $add: [{ $ifNull: ["$attempt", 0] }, { $cond: [{ $eq: ["$plugin.handed_back", true] }, 0, 1] }] },
            "plugin.handed_back": false,
            progress_message: null,
            "plugin.progress_current": null,
            "plugin.progress_total": null,
            "plugin.sync_total_entries": null,
          },
        },
      ],
      { sort: LEASE_ORDER },
    );
  }

  // -------------------------------------------------------------------------------------------
  // Writes of a run that keep it running
  // -------------------------------------------------------------------------------------------

  /** Progress, checkpoints: applied only while the run owns the task. False when it no longer does. */
  async recordRunning(fence: RunFence, set: Fields): Promise<boolean> {
    const updated = await this.tasks.updateOne({ ...fenceFilter(fence), status: "running" }, { $set: set });
    return updated.matchedCount === 1;
  }

  /** An extension heartbeat: extends the lease by the task's timeout (and writes `set`) while it has not ended. */
  async renewLease(fence: RunFence, set: Fields): Promise<Task | null> {
    const now = new Date();
    return this.tasks
      .findOneAndUpdate(
        { ...fenceFilter(fence), status: "running", lease_expires_at: { $gte: now } },
        [{ $set: { ...set, updated_at: now, lease_expires_at: leaseEnd(now) } }],
        { returnDocument: "after", updatePipeline: true, timestamps: false },
      )
      .lean<Task>();
  }

  /** A cancelled run keeps what it measured (its status stays cancelled). */
  async recordStoppedRun(fence: RunFence, set: Fields): Promise<void> {
    await this.tasks.updateOne({ ...fenceFilter(fence), status: "cancelled" }, { $set: { ...set, run_token: null } });
  }

  // -------------------------------------------------------------------------------------------
  // The end of a run
  // -------------------------------------------------------------------------------------------

  async complete(fence: RunFence, set: Fields, lease: LeaseCondition = null): Promise<Task | null> {
    return this.change("complete", "running", "completed", { ...fenceFilter(fence), ...leaseFilter(lease) }, { $set: { completed_at: new Date(), ...set } });
  }

  /** Fails the run for good, whatever attempts remain. */
  async fail(fence: RunFence, set: Fields, lease: LeaseCondition = null): Promise<Task | null> {
    return this.change("fail", "running", "failed", { ...fenceFilter(fence), ...leaseFilter(lease) }, { $set: { completed_at: new Date(), ...set } });
  }

  /** The one retry rule: back to the queue (retry_count + 1) while attempts remain, else failed. */
  async failOrRetry(task: Task, fence: RunFence, failure: FailureInput): Promise<FailureOutcome | null> {
    return this.endRunWithFailure("failOrRetry", task, { ...fenceFilter(fence) }, failure);
  }

  /** An extension lease that ended without a result, by the same rule. */
  async expireLease(task: Task, now = new Date()): Promise<FailureOutcome | null> {
    const why = `Lease expired: no result or heartbeat within ${timeoutSecondsOf(task)}s (attempt ${task.attempt})`;
    const retriable = decideRetry(task, "lost", this.retry).retry;
    return this.endRunWithFailure("expireLease", task, { ...fenceFilter(task), lease_expires_at: { $lt: now } }, {
      kind: "lost",
      error_message: retriable ? why : `${why}; no attempt left (${task.attempt} made)`,
      error_details: { error_code: "LEASE_EXPIRED", attempt: task.attempt },
      setIfFailed: { "plugin.error_code": "LEASE_EXPIRED" },
    });
  }

  private async endRunWithFailure(name: "failOrRetry" | "expireLease", task: Task, filter: Fields, failure: FailureInput): Promise<FailureOutcome | null> {
    const decision = decideRetry(task, failure.kind, this.retry);
    const common = { ...failure.set, error_message: failure.error_message, error_details: failure.error_details, run_token: null, lease_expires_at: null };
    // The retry count read with the task is part of the condition: two writers deciding on
    // different counts cannot both apply.
    const fenced = { ...filter, retry_count: task.retry_count };
    if (decision.retry) {
      const updated = await this.change(name, "running", "pending", fenced, {
        $set: { ...common, worker_id: null, ...(decision.at ? { scheduled_for: decision.at } : {}) },
        $inc: { retry_count: 1 },
      });
      return updated && { outcome: "retried", task: updated };
    }
    const updated = await this.change(name, "running", "failed", fenced, { $set: { ...common, ...failure.setIfFailed, completed_at: new Date() } });
    return updated && { outcome: "failed", task: updated };
  }

  /** Back to the queue without counting an attempt (graceful shutdown, an interrupted job resuming by itself). */
  async requeue(fence: RunFence, set: Fields, inc?: Record<string, number>): Promise<Task | null> {
    return this.change("requeue", "running", "pending", fenceFilter(fence), {
      $set: { ...set, run_token: null, worker_id: null, lease_expires_at: null },
      ...(inc ? { $inc: inc } : {}),
    });
  }

  /**
   * The lease holder gives the task back unfinished (release): pending again, retry_count and attempt
   * unchanged, fenced on the lease (running, this token, not ended); `set` says why it waits.
   */
  async release(fence: RunFence, set: Fields, lease: LeaseCondition): Promise<Task | null> {
    return this.change("release", "running", "pending", { ...fenceFilter(fence), ...leaseFilter(lease) }, {
      $set: { ...set, run_token: null, worker_id: null, lease_expires_at: null, "plugin.handed_back": true },
    });
  }

  // -------------------------------------------------------------------------------------------
  // Decisions of users (and of batches)
  // -------------------------------------------------------------------------------------------

  /** From the status the caller read (one of cancel's from-states); null when it changed meanwhile or is not cancellable. */
  async cancel(task: Task, at = new Date(), set: Fields = {}): Promise<Task | null> {
    if (!allows("cancel", task.status, "cancelled")) return null;
    const cancelled = await this.change("cancel", task.status, "cancelled", { _id: task._id, brand: task.brand }, { $set: { cancelled_at: at, completed_at: at, ...set } });
    if (cancelled?.persistent_job) return (await this.endPersistentJobs({ _id: task._id, brand: task.brand })) ? { ...cancelled, persistent_job: { ...cancelled.persistent_job, ...CANCELLED_JOB } } : cancelled;
    return cancelled;
  }

  /**
   * A cancelled task's checkpointed job is over: not running, and never resumed from its checkpoint
   * (a retry starts it again). Written after the status: the run's checkpoints are fenced on
   * `running`, so none can follow and undo it.
   */
  private async endPersistentJobs(filter: Fields): Promise<number> {
    const set = Object.fromEntries(Object.entries(CANCELLED_JOB).map(([k, v]) => [`persistent_job.${k}`, v]));
    const result = await this.tasks.updateMany({ ...filter, status: "cancelled", persistent_job: { $ne: null }, "persistent_job.state": { $ne: "cancelled" } }, { $set: set });
    return result.modifiedCount;
  }

  async suspend(task: Task): Promise<Task | null> {
    return this.change("suspend", "pending", "suspended", { _id: task._id, brand: task.brand }, { $set: {} });
  }

  async resume(task: Task): Promise<Task | null> {
    return this.change("resume", "suspended", "pending", { _id: task._id, brand: task.brand }, { $set: {} });
  }

  // -------------------------------------------------------------------------------------------
  // Waiting for another task
  // -------------------------------------------------------------------------------------------

  /**
   * The run hands its task over to wait for task `waitingFor` (suspended, no worker held). That task
   * may have ended before this write, when no one was waiting yet to be told: then resumed at once.
   */
  wait(fence: RunFence, waitingFor: string, set: Fields): Promise<Task | null> {
    return this.waits.wait(fence, waitingFor, set);
  }

  /** Tasks suspended waiting for `taskId` go back to the queue (it ended, or was removed). */
  resumeWaitersOf(taskId: string): Promise<number> {
    return this.waits.resumeWaitersOf(taskId);
  }

  /** Waits whose task ended while no one heard it (the process that ended it died before telling): resumed. */
  resumeEndedWaits(): Promise<number> {
    return this.waits.resumeEndedWaits();
  }

  /** POST …/retry/: a failed or cancelled task goes back to the queue while `retry_count < max_retries`. */
  async retryByUser(task: Task, set: Fields): Promise<Task | null> {
    if (!allows("retry", task.status, "pending")) return null;
    return this.change(
      "retry",
      task.status,
      "pending",
      { _id: task._id, brand: task.brand, retry_count: task.retry_count, $expr: { $lt: ["$retry_count", "$max_retries"] } },
      { $set: { scheduled_for: null, completed_at: null, cancelled_at: null, ...set }, $inc: { retry_count: 1 } },
    );
  }

  /** An interrupted checkpointed job continues from its last checkpoint. */
  async resumeFromCheckpoint(task: Task): Promise<Task | null> {
    if (!allows("resumeFromCheckpoint", task.status, "pending")) return null;
    const now = new Date();
    return this.change(
      "resumeFromCheckpoint",
      task.status,
      "pending",
      { _id: task._id, brand: task.brand, "persistent_job.state": "interrupted", "persistent_job.can_resume": true },
      {
        $set: {
          scheduled_for: null,
          completed_at: null,
          cancelled_at: null,
          error_message: null,
          error_details: null,
          "persistent_job.state": "resumed",
          "persistent_job.resumed_at": now,
        },
        $inc: { "persistent_job.resume_count": 1 },
      },
    );
  }

  /**
   * A bulk transition over one batch: one conditional updateMany per from-state (so a task changed
   * meanwhile by its run is left to that change), then one `tasks.bulk_status_changed` event with
   * how many tasks left each state. A 100,000-job cancel is three writes, not 100,000.
   */
  async transitionMany(
    name: TransitionName,
    scope: BatchScope,
    from: readonly TaskStatus[],
    to: TaskStatus,
    set: Fields = {},
  ): Promise<Partial<Record<TaskStatus, number>>> {
    for (const state of from) {
      if (!allows(name, state, to)) throw new Error(`Transition ${name} cannot take a task from ${state} to ${to} (${JSON.stringify(TRANSITIONS[name])})`);
    }
    const counts: Partial<Record<TaskStatus, number>> = {};
    for (const state of from) {
      const moved = await this.updateManyInSlices({ brand: scope.brand, batch_id: scope.batch_id, status: state }, { ...set, status: to });
      if (moved > 0) counts[state] = moved;
    }
    if (to === "cancelled" && Object.keys(counts).length > 0) await this.endPersistentJobs({ brand: scope.brand, batch_id: scope.batch_id });
    if (Object.keys(counts).length > 0) {
      await this.events.emit("tasks.bulk_status_changed", { transition: name, to, brand: scope.brand, batch_id: scope.batch_id, counts, at: new Date() });
    }
    return counts;
  }

  /**
   * One conditional updateMany per slice of BULK_SLICE tasks (ids read first, the condition on the
   * status kept): a single write over 100,000 documents is more than the engine takes at once.
   */
  private async updateManyInSlices(filter: Fields, set: Fields): Promise<number> {
    let moved = 0;
    for (;;) {
      const ids = (await this.tasks.find(filter, { _id: 1 }).limit(BULK_SLICE).lean<Array<{ _id: Types.ObjectId }>>()).map((t) => t._id);
      if (ids.length === 0) return moved;
      const result = await lifecycleWrite(this.tasks.updateMany({ ...filter, _id: { $in: ids } }, { $set: set }));
      moved += result.modifiedCount;
      if (ids.length < BULK_SLICE) return moved;
    }
  }

  /** Applies one transition to every task matching `filter` (a batch's jobs), one conditional update each. */
  async forEachMatching(filter: Fields, apply: (task: Task) => Promise<Task | null>): Promise<number> {
    const rows = await allBrands(this.tasks.find(filter).lean<Task[]>());
    let changed = 0;
    for (const task of rows) if (await apply(task)) changed++;
    return changed;
  }

  // -------------------------------------------------------------------------------------------

  /**
   * The one place a status is written: `from` → `to` if the transition allows it, conditioned on
   * the task still being in `from` (and on the rest of `filter`), then the event.
   */
  private async change(
    name: TransitionName,
    from: TaskStatus,
    to: TaskStatus,
    filter: Fields,
    update: UpdateQuery<Task> | Fields[],
    options: { sort?: Record<string, 1 | -1> } = {},
  ): Promise<Task | null> {
    if (!allows(name, from, to)) throw new Error(`Transition ${name} cannot take a task from ${from} to ${to} (${JSON.stringify(TRANSITIONS[name])})`);
    const pipeline = Array.isArray(update);
    const withStatus = pipeline
      ? [...update.slice(0, -1), { $set: { ...(update.at(-1)?.$set as Fields), status: to } }]
      : { ...update, $set: { ...(update.$set as Fields), status: to } };
    const task = await lifecycleWrite(
      allBrands(
        this.tasks.findOneAndUpdate({ ...filter, status: from }, withStatus, {
          returnDocument: "after",
          ...(options.sort ? { sort: options.sort } : {}),
          ...(pipeline ? { updatePipeline: true, timestamps: false } : {}),
        }),
      ),
    ).lean<Task>();
    if (task) await this.events.emit("task.status_changed", { from, to, transition: name, task });
    return task;
  }
}

/** Fields in which the tasks of one createMany call may differ and still share one validated document. */
const PER_TASK_FIELDS = new Set(["task_id", "context_data"]);

function sharesFieldsWith(input: NewTask, first: NewTask): boolean {
  const a = input as Record<string, unknown>;
  const b = first as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (!PER_TASK_FIELDS.has(key) && a[key] !== b[key]) return false;
  return true;
}
