/**
 * Per-brand quota on queued work: a brand may hold at most `limit` pending tasks (server and
 * extension alike). Creating more is refused with 429 before anything is stored, so one seller
 * queueing without end cannot fill the database or the queue for everyone else.
 *
 * A creation reserves its room in the brand's count (queued-count.ts) with one conditional write,
 * whatever its backlog, before anything is stored: concurrent creations, in any process, cannot
 * together pass the limit. Room freed by claims in another process may take up to the count's flush
 * interval to be seen (a creation is then refused a little early, never let through late).
 */
import { AppError } from "../http/errors.js";
import type { CreationReservation } from "./lifecycle/index.js";
import type { QueuedTaskCounts } from "./queued-count.js";

export class QueuedTaskQuota {
  constructor(
    private readonly counts: QueuedTaskCounts,
    readonly limit: number,
  ) {}

  /** Counts `adding` new pending tasks of the brand, or throws 429 RATE_LIMITED (with the limit) when they would pass its quota. */
  async reserve(brand: number, adding: number): Promise<CreationReservation> {
    if (!(await this.counts.reserve(brand, adding, this.limit))) throw this.refusal(await this.counts.pendingOf(brand), adding);
    return { giveBack: (count) => this.counts.add(brand, -count) };
  }

  /** Throws 429 RATE_LIMITED (with the limit) when `adding` more pending tasks would pass the brand's quota; counts nothing. */
  async assertRoom(brand: number, adding: number): Promise<void> {
    const queued = await this.counts.pendingOf(brand);
    if (queued + adding > this.limit) throw this.refusal(queued, adding);
  }

  private refusal(queued: number, adding: number): AppError {
    const room = Math.max(0, this.limit - queued);
    return new AppError(
      429,
      "RATE_LIMITED",
      adding === 1
        ? `The brand already has ${queued} queued tasks, its limit of ${this.limit}: wait for some to run, or cancel some`
        : `${adding} more tasks would pass the brand's limit of ${this.limit} queued tasks (${queued} queued, room for ${room})`,
      { extra: { queued_task_limit: this.limit, queued_tasks: queued, requested_tasks: adding, room } },
    );
  }
}
