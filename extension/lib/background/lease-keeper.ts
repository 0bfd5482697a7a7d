import type { ClaimedTask, HeartbeatProgress } from "../../../shared/plugin";
import type { PluginApi } from "../server/plugin-api";

/** Plain progress heartbeats are spaced at least this much; partial sync pages always go at once. */
const MIN_PROGRESS_GAP_MS = 3_000;
const PARTIAL_PAGE_RETRY_MS = 2_000;

/**
 * Keeps a claimed task's lease alive: renews it on a timer, forwards progress (and every partial
 * sync page, in order) as heartbeats, and tells when the server says the lease is gone.
 */
export class LeaseKeeper {
  readonly lost: Promise<"lease_lost">;
  private markLost: () => void = () => undefined;
  private isLost = false;
  /** The run is over (its result goes next): nothing queued or reported later may reach the server after it. */
  private stopped = false;
  private queue: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastSentAt = 0;
  private latest: HeartbeatProgress | undefined;

  constructor(private readonly api: PluginApi, private readonly task: ClaimedTask) {
    this.lost = new Promise((resolve) => {
      this.markLost = () => {
        this.isLost = true;
        resolve("lease_lost");
      };
    });
  }

  start(): void {
    // A third of the lease, within 5–20 s: two heartbeats can fail before the lease lapses.
    const renewEveryMs = Math.min(20_000, Math.max(5_000, (this.task.timeout * 1000) / 3));
    this.timer = setInterval(() => this.enqueue(this.latest), renewEveryMs);
    this.enqueue({ current: 0, total: 1, message: "started" });
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  progress(progress: HeartbeatProgress): void {
    const { partial, ...plain } = progress;
    this.latest = plain;
    if (partial) this.enqueue(progress, true);
    else if (Date.now() - this.lastSentAt >= MIN_PROGRESS_GAP_MS) this.enqueue(plain);
  }

  /**
   * Waits for queued heartbeats (partial pages) to be sent, so none arrives after the result —
   * including progress that comes in while waiting. What is still queued at the deadline is
   * dropped by stop(): the result carries all of it.
   */
  async drain(maxWaitMs: number): Promise<void> {
    const deadline = Date.now() + maxWaitMs;
    let queued: Promise<void>;
    do {
      queued = this.queue;
      await Promise.race([queued, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())))]);
    } while (queued !== this.queue && Date.now() < deadline);
  }

  private enqueue(progress: HeartbeatProgress | undefined, mustArrive = false): void {
    if (this.stopped) return;
    this.lastSentAt = Date.now();
    this.queue = this.queue.then(() => this.send(progress, mustArrive));
  }

  private async send(progress: HeartbeatProgress | undefined, mustArrive: boolean): Promise<void> {
    if (this.isLost || this.stopped) return;
    const body = { lease_token: this.task.lease_token, ...(progress ? { progress } : {}) };
    let outcome = await this.api.heartbeat(this.task.task_id, body);
    if (outcome.kind === "failed" && mustArrive) {
      await new Promise((resolve) => setTimeout(resolve, PARTIAL_PAGE_RETRY_MS));
      if (this.stopped) return;
      outcome = await this.api.heartbeat(this.task.task_id, body);
    }
    if (outcome.kind === "lease_lost") this.markLost();
  }
}
