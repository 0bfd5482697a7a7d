/**
 * Per-seller pacing of GET /api/plugin/tasks (in this process's memory).
 *
 * Each poll takes the seller's slot for `intervalMs` from its start; a poll that comes earlier than
 * that (less `toleranceMs` of jitter) is refused with its Retry-After. So:
 *  - a plain poller at the agreed interval is never refused;
 *  - a long-poll counts as one poll: held ≥ the interval, the next poll may follow at once when it
 *    returns (what the extension does); a short `wait=1` loop is refused like a fast plain poll;
 *  - a poll that hands out a task frees the slot: a seller working through a queue polls again as
 *    soon as each result is delivered.
 * With several server processes each keeps its own slots (a seller may poll once per process):
 * a soft guard against a runaway client, not an accounting system.
 */
export interface PollDecision {
  ok: boolean;
  /** Refused: milliseconds until a poll is welcome. */
  retryAfterMs: number;
}

const PRUNE_EVERY = 10_000;

export class PollLimiter {
  private readonly nextAllowedAt = new Map<number, number>();
  private checks = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly toleranceMs: number,
  ) {}

  get enabled(): boolean {
    return this.intervalMs > 0;
  }

  /** Takes the slot if it is free. */
  take(userId: number, now = Date.now()): PollDecision {
    if (!this.enabled) return { ok: true, retryAfterMs: 0 };
    if (++this.checks % PRUNE_EVERY === 0) this.prune(now);
    const next = this.nextAllowedAt.get(userId) ?? 0;
    if (now + this.toleranceMs < next) return { ok: false, retryAfterMs: next - now };
    this.nextAllowedAt.set(userId, now + this.intervalMs);
    return { ok: true, retryAfterMs: 0 };
  }

  /** The poll handed out a task: the seller may ask for the next one as soon as it is done. */
  release(userId: number): void {
    this.nextAllowedAt.delete(userId);
  }

  private prune(now: number): void {
    for (const [userId, next] of this.nextAllowedAt) if (next <= now) this.nextAllowedAt.delete(userId);
  }
}
