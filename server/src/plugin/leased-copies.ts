import type { Task } from "../tasks/model.js";

/** Enough for every seller's lease in flight at once; an evicted copy only costs its result a read. */
const DEFAULT_LIMIT = 1024;

/**
 * The tasks this process leased, each as its claim left it, kept until the lease's result comes
 * back: that result then needs no read of the task first. A copy is a hint, never the truth. The
 * result's write is still fenced on the lease in the database, and when it is refused the reason is
 * worked out from a fresh read. Heartbeats and releases drop the copy, because they change what the
 * claim left.
 */
export class LeasedCopies {
  private readonly copies = new Map<string, Task>();

  constructor(private readonly limit = DEFAULT_LIMIT) {}

  keep(task: Task): void {
    this.copies.delete(task.task_id);
    this.copies.set(task.task_id, task);
    if (this.copies.size > this.limit) this.copies.delete(this.copies.keys().next().value!);
  }

  /**
   * The copy of the seller's task `taskId` (its `task_…` id), taken once, if its lease had not ended
   * by `now` and `leaseToken` (when sent) is that lease's. Null otherwise: read the task.
   */
  take(userId: number, taskId: string, leaseToken: string | undefined, now = Date.now()): Task | null {
    const task = this.copies.get(taskId);
    if (!task) return null;
    this.copies.delete(taskId);
    const live = task.status === "running" && task.lease_expires_at != null && task.lease_expires_at.getTime() >= now;
    const owned = task.owner_user_id === userId && task.executor === "extension";
    return live && owned && (leaseToken === undefined || leaseToken === task.run_token) ? task : null;
  }

  drop(taskId: string): void {
    this.copies.delete(taskId);
  }

  get size(): number {
    return this.copies.size;
  }
}
