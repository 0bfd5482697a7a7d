/**
 * Per-brand quota on queued work: a brand may hold at most `limit` pending tasks (server and
 * extension alike). Creating more is refused with 429 before anything is stored, so one seller
 * queueing without end cannot fill the database or the queue for everyone else.
 *
 * The brand's count (queued-count.ts) is one document read, whatever its backlog. It is read before
 * the insert: concurrent creations of one brand may together pass the limit by what they add (the
 * quota bounds a backlog; it is not a lock).
 */
import { AppError } from "../http/errors.js";
import type { QueuedTaskCounts } from "./queued-count.js";

export class QueuedTaskQuota {
  constructor(
    private readonly counts: QueuedTaskCounts,
    readonly limit: number,
  ) {}

  /** Throws 429 RATE_LIMITED (with the limit) when `adding` more pending tasks would pass the brand's quota. */
  async assertRoom(brand: number, adding: number): Promise<void> {
    const queued = await this.counts.pendingOf(brand);
    if (queued + adding <= this.limit) return;
    const room = Math.max(0, this.limit - queued);
    throw new AppError(
      429,
      "RATE_LIMITED",
      adding === 1
        ? `The brand already has ${queued} queued tasks, its limit of ${this.limit}: wait for some to run, or cancel some`
        : `${adding} more tasks would pass the brand's limit of ${this.limit} queued tasks (${queued} queued, room for ${room})`,
      { extra: { queued_task_limit: this.limit, queued_tasks: queued, requested_tasks: adding, room } },
    );
  }
}
