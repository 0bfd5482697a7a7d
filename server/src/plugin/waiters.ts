/**
 * Held long-polls (GET /api/plugin/tasks?wait=N), keyed by seller. A task created in this process
 * wakes its seller's waiters at once (notify); one tick a second looks in the database for every
 * waiting seller at once (one query, not one per waiter), so tasks created or re-queued by another
 * server process are found too. On shutdown every held poll is answered at once.
 */
import type { Logger } from "pino";

export type WakeReason = "task" | "timeout" | "closing";

export class Waiter {
  private resolve: ((reason: WakeReason) => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private woken = false;
  private closing = false;

  constructor(readonly userId: number) {}

  /** Resolves on a wake, after `ms`, or at once if a wake came since the last call. */
  next(ms: number): Promise<WakeReason> {
    if (this.closing) return Promise.resolve("closing");
    if (this.woken) {
      this.woken = false;
      return Promise.resolve("task");
    }
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(() => this.settle("timeout"), Math.max(0, ms));
    });
  }

  wake(reason: "task" | "closing"): void {
    if (reason === "closing") this.closing = true;
    else this.woken = true;
    if (this.resolve) {
      this.woken = false;
      this.settle(reason);
    }
  }

  private settle(reason: WakeReason): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const resolve = this.resolve;
    this.resolve = null;
    resolve?.(reason);
  }
}

export interface WaitersOptions {
  /** How often the database is asked for tasks of waiting sellers. */
  recheckMs: number;
  /** Shutdown has begun: held polls are answered at once. */
  isDraining: () => boolean;
  /** Of these sellers, those with a task to claim now. */
  findReady: (userIds: number[]) => Promise<number[]>;
  logger: Logger;
}

/** How often the draining flag is looked at while polls are held. */
const DRAIN_CHECK_MS = 100;

export class LongPollWaiters {
  private readonly waiting = new Map<number, Set<Waiter>>();
  private timer: NodeJS.Timeout | null = null;
  private lastRecheck = 0;
  private rechecking = false;
  private closed = false;

  constructor(private readonly options: WaitersOptions) {}

  /** No poll may be held (stopped or draining): answer at once. */
  get closing(): boolean {
    return this.closed || this.options.isDraining();
  }

  get size(): number {
    let n = 0;
    for (const set of this.waiting.values()) n += set.size;
    return n;
  }

  register(userId: number): Waiter {
    const waiter = new Waiter(userId);
    if (this.closing) {
      waiter.wake("closing");
      return waiter;
    }
    let set = this.waiting.get(userId);
    if (!set) this.waiting.set(userId, (set = new Set()));
    set.add(waiter);
    this.ensureTimer();
    return waiter;
  }

  unregister(waiter: Waiter): void {
    const set = this.waiting.get(waiter.userId);
    if (!set) return;
    set.delete(waiter);
    if (set.size === 0) this.waiting.delete(waiter.userId);
    if (this.waiting.size === 0) this.stopTimer();
  }

  notify(userId: number): void {
    for (const waiter of this.waiting.get(userId) ?? []) waiter.wake("task");
  }

  /** Held polls may be taken again (service start). */
  open(): void {
    this.closed = false;
  }

  /** Answers every held poll now; none is held until open() (service stop). */
  close(): void {
    this.closed = true;
    this.wakeAllClosing();
  }

  private wakeAllClosing(): void {
    for (const set of this.waiting.values()) for (const waiter of set) waiter.wake("closing");
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.lastRecheck = Date.now();
    this.timer = setInterval(() => this.tick(), Math.min(DRAIN_CHECK_MS, this.options.recheckMs));
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    if (this.options.isDraining()) {
      this.wakeAllClosing();
      return;
    }
    if (this.rechecking || Date.now() - this.lastRecheck < this.options.recheckMs) return;
    this.rechecking = true;
    this.lastRecheck = Date.now();
    this.options
      .findReady([...this.waiting.keys()])
      .then((ready) => ready.forEach((userId) => this.notify(userId)))
      .catch((err: unknown) => this.options.logger.warn({ err }, "long-poll recheck failed"))
      .finally(() => {
        this.rechecking = false;
      });
  }
}
