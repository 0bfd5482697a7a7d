import { ActionCancelledError } from "./errors";

export interface PacingSettings {
  /** Smallest gap between two Vinted requests from this tab. */
  minDelayMs: number;
  /** Largest gap; each gap is drawn uniformly between the two, so the rhythm is not robotic. */
  maxDelayMs: number;
  /** Wait after a 429 that carries no Retry-After (vinted-notes: about 15 minutes). */
  rateLimitPauseMs: number;
  /** 429s tolerated within one task before it fails with RATE_LIMITED. */
  maxRateLimitRetries: number;
  /** A Retry-After longer than this fails the task instead of holding its lease for hours. */
  maxRateLimitWaitMs: number;
}

/** Defaults from vinted-notes.md (0.9–2.4 s between steps, ~15 min after a 429). */
export const DEFAULT_PACING: PacingSettings = {
  minDelayMs: 900,
  maxDelayMs: 2400,
  rateLimitPauseMs: 15 * 60_000,
  maxRateLimitRetries: 6,
  maxRateLimitWaitMs: 20 * 60_000,
};

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ActionCancelledError(String(signal.reason ?? "cancelled")));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ActionCancelledError(String(signal?.reason ?? "cancelled")));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Spaces requests out like a person clicking around. One pacer per tab, and one request at a time:
 * each gap runs from the previous answer (a person clicks after the page has loaded), so two
 * actions, or a slow dispatch, can never squeeze requests together.
 */
export class Pacer {
  private lastAnswerAt = 0;
  private queue: Promise<void> = Promise.resolve();
  /** Until when every request must wait, e.g. after a 429 with Retry-After. */
  private blockedUntil = 0;

  constructor(private readonly settings: () => PacingSettings, private readonly random: () => number = Math.random) {}

  /** Runs `request` when its turn comes and the gap since the previous answer has passed. */
  schedule<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const mine = this.queue.then(async () => {
      await this.waitForGap(signal);
      try {
        return await request();
      } finally {
        this.lastAnswerAt = Date.now();
      }
    });
    // A failed or cancelled request must not block those behind it.
    this.queue = mine.then(() => undefined, () => undefined);
    return mine;
  }

  blockFor(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, Date.now() + ms);
  }

  private async waitForGap(signal?: AbortSignal): Promise<void> {
    const { minDelayMs, maxDelayMs } = this.settings();
    const gap = minDelayMs + this.random() * Math.max(0, maxDelayMs - minDelayMs);
    const wait = Math.max(this.lastAnswerAt + gap, this.blockedUntil) - Date.now();
    if (wait > 0) await sleep(wait, signal);
    else if (signal?.aborted) throw new ActionCancelledError(String(signal.reason ?? "cancelled"));
  }
}
