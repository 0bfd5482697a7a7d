/**
 * The only code that changes a task's `status`.
 *
 * Each transition of table.ts is one conditional atomic update: its filter names the state it
 * leaves from (and, for a run, the run's token: a stale runner or an old extension lease changes
 * nothing), and a successful change emits one `task.status_changed` event with the task as the
 * change left it. Writes that keep the status (progress, lease renewals, checkpoints) are fenced the
 * same way and live here too, so a run's every write is conditioned on still owning the task.
 *
 * TaskLifecycle is the one entry point; each phase lives in its own file (create, claim, slots,
 * finish, control, waits) and is handed `change`, the one status write, below.
 */
import type { Connection } from "mongoose";
import type { Logger } from "pino";
import type { TaskStatus } from "../../../../shared/tasks.js";
import { plainCollection, type PlainCollection } from "../../db/plain-collection.js";
import { taskModel, type Task, type TaskModel } from "../model.js";
import { TaskClaims } from "./claim.js";
import { conditionalStage } from "./conditions.js";
import { TaskControl } from "./control.js";
import { TaskCreation } from "./create.js";
import { TaskEvents } from "./events.js";
import { TaskFinish } from "./finish.js";
import { DEFAULT_RETRY_POLICY } from "./retry-policy.js";
import { BrandSlots } from "./slots.js";
import { allows, TRANSITIONS, type TransitionName } from "./table.js";
import type { BatchScope, ClaimGate, ConditionalStatusChange, CreationCheck, FailureInput, FailureOutcome, Fields, LeaseCondition, LifecycleOptions, NewTask, RunFence, StatusChange } from "./types.js";
import { TaskWaits } from "./waits.js";

export { TaskEvents, type TaskEventMap, type TaskEventName, type TaskStatusChanged, type TasksBulkStatusChanged } from "./events.js";
export { ALLOWED_STATUS_CHANGES, TRANSITIONS, type TransitionName } from "./table.js";
export { decideRetry, retryDelayMs, type FailureKind, type RetryPolicyOptions } from "./retry-policy.js";
export type { BatchScope, ClaimAdmission, ClaimGate, CreationCheck, CreationReservation, FailureInput, FailureOutcome, LeaseCondition, LifecycleOptions, NewTask, RunFence } from "./types.js";
export { ENDED_STATUSES } from "./waits.js";

export class TaskLifecycle {
  readonly tasks: TaskModel;
  /** The task path's hottest commands, without mongoose (and without BSON when the engine runs here). */
  readonly plainTasks: PlainCollection;
  readonly events: TaskEvents;
  readonly runningLimitPerBrand: number;
  private readonly creation: TaskCreation;
  private readonly claims: TaskClaims;
  private readonly slots: BrandSlots;
  private readonly finish: TaskFinish;
  private readonly control: TaskControl;
  private readonly waits: TaskWaits;

  constructor(connection: Connection, logger: Logger, options: LifecycleOptions = {}) {
    this.tasks = taskModel(connection);
    this.plainTasks = plainCollection(this.tasks.collection);
    this.events = new TaskEvents(logger.child({ module: "task-lifecycle" }));
    this.runningLimitPerBrand = options.runningLimitPerBrand ?? Number.MAX_SAFE_INTEGER;
    const { change, changeIf } = this;
    this.creation = new TaskCreation(connection, this.tasks, this.plainTasks, this.events);
    this.slots = new BrandSlots(this.tasks, this.runningLimitPerBrand);
    this.claims = new TaskClaims(this.tasks, this.slots, change, changeIf, this.events);
    this.finish = new TaskFinish(this.tasks, change, options.retry ?? DEFAULT_RETRY_POLICY);
    this.control = new TaskControl(this.tasks, this.events, change);
    this.waits = new TaskWaits(this.tasks, change);
  }

  // -------------------------------------------------------------------------------------------
  // Birth and removal (create.ts, control.ts)
  // -------------------------------------------------------------------------------------------

  /** Batches decide whether their jobs may be claimed (concurrency, pause, credits). */
  useClaimGate(gate: ClaimGate): void {
    this.claims.useGate(gate);
  }

  /** Every creation path (API, batches, schedules, publication, plugin) passes this check first. */
  useCreationCheck(check: CreationCheck): void {
    this.creation.useCheck(check);
  }

  /** Stores many new pending tasks (a batch's jobs) in chunks, one `tasks.created` event per chunk. */
  createMany(inputs: NewTask[], chunkSize = 5_000): Promise<number> {
    return this.creation.createMany(inputs, chunkSize);
  }

  /** Stores a new task, pending (due now or at `scheduled_for`), and announces it. */
  create(input: NewTask): Promise<Task> {
    return this.creation.create(input);
  }

  /** Removes a task in one of `statuses` (any when omitted); false when it was not there. */
  remove(task: Task, statuses?: readonly TaskStatus[]): Promise<boolean> {
    return this.control.remove(task, statuses);
  }

  // -------------------------------------------------------------------------------------------
  // Claims and running slots (claim.ts, slots.ts)
  // -------------------------------------------------------------------------------------------

  /** A server worker claims a due pending task in a free running slot of its brand (else it waits for one). */
  claim(taskId: string, token: string, workerId: string, fairTag: number | null = null): Promise<Task | null> {
    return this.claims.claim(taskId, token, workerId, fairTag);
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

  /** The seller's extension leases its best due task (among `brands` when given), batch jobs through the claim gate. */
  claimLease(ownerUserId: number, token: string, brands: readonly number[] | null = null): Promise<Task | null> {
    return this.claims.claimLease(ownerUserId, token, brands);
  }

  // -------------------------------------------------------------------------------------------
  // Writes of a run that keep it running (claim.ts)
  // -------------------------------------------------------------------------------------------

  /** Progress, checkpoints: applied only while the run owns the task. False when it no longer does. */
  recordRunning(fence: RunFence, set: Fields): Promise<boolean> {
    return this.claims.recordRunning(fence, set);
  }

  /** An extension heartbeat: extends the lease by the task's timeout (and writes `set`) while it has not ended. */
  renewLease(fence: RunFence, set: Fields): Promise<Task | null> {
    return this.claims.renewLease(fence, set);
  }

  /** A cancelled run keeps what it measured (its status stays cancelled). */
  recordStoppedRun(fence: RunFence, set: Fields): Promise<void> {
    return this.finish.recordStoppedRun(fence, set);
  }

  // -------------------------------------------------------------------------------------------
  // The end of a run (finish.ts)
  // -------------------------------------------------------------------------------------------

  complete(fence: RunFence, set: Fields, lease: LeaseCondition = null): Promise<Task | null> {
    return this.finish.complete(fence, set, lease);
  }

  /** Fails the run for good, whatever attempts remain. */
  fail(fence: RunFence, set: Fields, lease: LeaseCondition = null): Promise<Task | null> {
    return this.finish.fail(fence, set, lease);
  }

  /** The one retry rule: back to the queue (retry_count + 1) while attempts remain, else failed. */
  failOrRetry(task: Task, fence: RunFence, failure: FailureInput): Promise<FailureOutcome | null> {
    return this.finish.failOrRetry(task, fence, failure);
  }

  /** An extension lease that ended without a result, by the same rule. */
  expireLease(task: Task, now = new Date()): Promise<FailureOutcome | null> {
    return this.finish.expireLease(task, now);
  }

  /** The lease holder gives the task back unfinished: pending again, retry_count and attempt unchanged. */
  release(fence: RunFence, set: Fields, lease: LeaseCondition): Promise<Task | null> {
    return this.finish.release(fence, set, lease);
  }

  // -------------------------------------------------------------------------------------------
  // Decisions of users and of batches (control.ts)
  // -------------------------------------------------------------------------------------------

  /** Back to the queue without counting an attempt (graceful shutdown, an interrupted job resuming by itself). */
  requeue(fence: RunFence, set: Fields, inc?: Record<string, number>): Promise<Task | null> {
    return this.control.requeue(fence, set, inc);
  }

  /** From the status the caller read (one of cancel's from-states); null when it changed meanwhile or is not cancellable. */
  cancel(task: Task, at = new Date(), set: Fields = {}): Promise<Task | null> {
    return this.control.cancel(task, at, set);
  }

  suspend(task: Task): Promise<Task | null> {
    return this.control.suspend(task);
  }

  resume(task: Task): Promise<Task | null> {
    return this.control.resume(task);
  }

  /** POST …/retry/: a failed or cancelled task goes back to the queue while `retry_count < max_retries`. */
  retryByUser(task: Task, set: Fields): Promise<Task | null> {
    return this.control.retryByUser(task, set);
  }

  /** An interrupted checkpointed job continues from its last checkpoint. */
  resumeFromCheckpoint(task: Task): Promise<Task | null> {
    return this.control.resumeFromCheckpoint(task);
  }

  /** A bulk transition over one batch, then one `tasks.bulk_status_changed` event with how many tasks left each state. */
  transitionMany(name: TransitionName, scope: BatchScope, from: readonly TaskStatus[], to: TaskStatus, set: Fields = {}): Promise<Partial<Record<TaskStatus, number>>> {
    return this.control.transitionMany(name, scope, from, to, set);
  }

  /** Applies one transition to every task matching `filter` (a batch's jobs), one conditional update each. */
  forEachMatching(filter: Fields, apply: (task: Task) => Promise<Task | null>): Promise<number> {
    return this.control.forEachMatching(filter, apply);
  }

  // -------------------------------------------------------------------------------------------
  // Waiting for another task (waits.ts)
  // -------------------------------------------------------------------------------------------

  /** The run hands its task over to wait for task `waitingFor` (suspended, no worker held). */
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

  // -------------------------------------------------------------------------------------------

  /**
   * The one place a status is written: `from` → `to` if the transition allows it, conditioned on
   * the task still being in `from` (and on the rest of `filter`), then the event.
   */
  private readonly change: StatusChange = async (name, from, to, filter, update, options = {}) => {
    const pipeline = Array.isArray(update);
    const withStatus = pipeline
      ? [...update.slice(0, -1), { $set: { ...(update.at(-1)?.$set as Fields), status: to } }]
      : { ...update, $set: { ...(update.$set as Fields), status: to } };
    const task = await this.write(name, from, to, filter, withStatus, options);
    if (task) await this.events.emit("task.status_changed", { from, to, transition: name, task });
    return task;
  };

  /**
   * The same change, made only if the task it finds satisfies `applyIf` (an expression on the stored
   * task); one that does not is left as it was and answered as `seen` — one atomic command either way.
   * `set` is the fields of a one-stage pipeline update.
   */
  private readonly changeIf: ConditionalStatusChange = async (name, from, to, filter, set, applyIf, options = {}) => {
    const task = await this.write(name, from, to, filter, [conditionalStage({ ...set, status: to }, applyIf)], options);
    if (!task) return { changed: null, seen: null };
    if (task.status !== to) return { changed: null, seen: task };
    await this.events.emit("task.status_changed", { from, to, transition: name, task });
    return { changed: task, seen: task };
  };

  private async write(
    name: TransitionName,
    from: TaskStatus,
    to: TaskStatus,
    filter: Fields,
    update: Fields | Fields[],
    options: { sort?: Record<string, 1 | -1> },
  ): Promise<Task | null> {
    if (!allows(name, from, to)) throw new Error(`Transition ${name} cannot take a task from ${from} to ${to} (${JSON.stringify(TRANSITIONS[name])})`);
    // A pipeline sets updated_at itself where it means to (a lease renewal keeps it).
    const stamped = Array.isArray(update) ? update : { ...update, $set: { ...(update.$set as Fields), updated_at: new Date() } };
    return this.plainTasks.findOneAndUpdate<Task>({ ...filter, status: from }, stamped, options);
  }
}
