/**
 * Decisions of users and of batches: cancel, suspend and resume, retry, a requeue without counting
 * an attempt, removal, and the bulk transitions over one batch's jobs.
 */
import type { Types } from "mongoose";
import type { TaskStatus } from "../../../../shared/tasks.js";
import { allBrands } from "../../brands/scope.js";
import type { Task, TaskModel } from "../model.js";
import { fenceFilter } from "./conditions.js";
import type { TaskEvents } from "./events.js";
import { lifecycleWrite } from "./guard.js";
import { allows, TRANSITIONS, type TransitionName } from "./table.js";
import type { BatchScope, Fields, RunFence, StatusChange } from "./types.js";

/** Tasks per write of a bulk transition. */
const BULK_SLICE = 10_000;

/** What a cancel leaves of a checkpointed job. */
const CANCELLED_JOB = { state: "cancelled", can_resume: false } as const;

export class TaskControl {
  constructor(
    private readonly tasks: TaskModel,
    private readonly events: TaskEvents,
    private readonly change: StatusChange,
  ) {}

  /** Removes a task in one of `statuses` (any when omitted); false when it was not there. */
  async remove(task: Task, statuses?: readonly TaskStatus[]): Promise<boolean> {
    const filter: Fields = { _id: task._id, brand: task.brand };
    if (statuses) filter.status = { $in: [...statuses] };
    const removed = await this.tasks.findOneAndDelete(filter).lean<Task>();
    if (!removed) return false;
    await this.events.emit("task.deleted", { task: removed });
    return true;
  }

  /** From the status the caller read (one of cancel's from-states); null when it changed meanwhile or is not cancellable. */
  async cancel(task: Task, at: Date, set: Fields): Promise<Task | null> {
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

  /** Back to the queue without counting an attempt (graceful shutdown, an interrupted job resuming by itself). */
  async requeue(fence: RunFence, set: Fields, inc?: Record<string, number>): Promise<Task | null> {
    return this.change("requeue", "running", "pending", fenceFilter(fence), {
      $set: { ...set, run_token: null, worker_id: null, lease_expires_at: null },
      ...(inc ? { $inc: inc } : {}),
    });
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
  async transitionMany(name: TransitionName, scope: BatchScope, from: readonly TaskStatus[], to: TaskStatus, set: Fields): Promise<Partial<Record<TaskStatus, number>>> {
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
}
