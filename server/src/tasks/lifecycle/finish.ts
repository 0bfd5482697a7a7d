/**
 * The end of a run: completed, failed for good, back to the queue by the one retry rule (a failure
 * or an extension lease that ran out), or handed back unfinished by its lease holder. Every write
 * is fenced on the run still owning its task.
 */
import { timeoutSecondsOf, type Task, type TaskModel } from "../model.js";
import { fenceFilter, leaseFilter } from "./conditions.js";
import { decideRetry, type RetryPolicyOptions } from "./retry-policy.js";
import type { FailureInput, FailureOutcome, Fields, LeaseCondition, RunFence, StatusChange } from "./types.js";

export class TaskFinish {
  constructor(
    private readonly tasks: TaskModel,
    private readonly change: StatusChange,
    private readonly retry: RetryPolicyOptions,
  ) {}

  async complete(fence: RunFence, set: Fields, lease: LeaseCondition): Promise<Task | null> {
    return this.change("complete", "running", "completed", { ...fenceFilter(fence), ...leaseFilter(lease) }, { $set: { completed_at: new Date(), ...set } });
  }

  /** Fails the run for good, whatever attempts remain. */
  async fail(fence: RunFence, set: Fields, lease: LeaseCondition): Promise<Task | null> {
    return this.change("fail", "running", "failed", { ...fenceFilter(fence), ...leaseFilter(lease) }, { $set: { completed_at: new Date(), ...set } });
  }

  /** The one retry rule: back to the queue (retry_count + 1) while attempts remain, else failed. */
  async failOrRetry(task: Task, fence: RunFence, failure: FailureInput): Promise<FailureOutcome | null> {
    return this.endRunWithFailure("failOrRetry", task, { ...fenceFilter(fence) }, failure);
  }

  /** An extension lease that ended without a result, by the same rule. */
  async expireLease(task: Task, now: Date): Promise<FailureOutcome | null> {
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

  /**
   * The lease holder gives the task back unfinished (release): pending again, retry_count and attempt
   * unchanged, fenced on the lease (running, this token, not ended); `set` says why it waits.
   */
  async release(fence: RunFence, set: Fields, lease: LeaseCondition): Promise<Task | null> {
    return this.change("release", "running", "pending", { ...fenceFilter(fence), ...leaseFilter(lease) }, {
      $set: { ...set, run_token: null, worker_id: null, lease_expires_at: null, "plugin.handed_back": true },
    });
  }

  /** A cancelled run keeps what it measured (its status stays cancelled). */
  async recordStoppedRun(fence: RunFence, set: Fields): Promise<void> {
    await this.tasks.updateOne({ ...fenceFilter(fence), status: "cancelled" }, { $set: { ...set, run_token: null } });
  }
}
