import type { Task } from "../model.js";

export interface RetryPolicyOptions {
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicyOptions = { retryBaseDelayMs: 30_000, retryMaxDelayMs: 60 * 60_000 };

/** Why a run ended without a result, which decides how soon a retry may start. */
export type FailureKind =
  /** The handler (or the extension) failed: retried after a backoff. */
  | "error"
  /** The runner vanished (a dead worker, an extension lease that ended): retried at once. */
  | "lost"
  /** Never retried (a permanent error). */
  | "permanent";

export type RetryDecision = { retry: true; at: Date | null } | { retry: false };

/** Delay before the n-th automatic retry (n from 0): base · 2ⁿ, capped. */
export function retryDelayMs(retryCount: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** retryCount);
}

/**
 * The one retry rule of every run, server or extension: retried while `retry_count < max_retries`
 * (each retry counts), else failed.
 */
export function decideRetry(task: Pick<Task, "retry_count" | "max_retries">, kind: FailureKind, options: RetryPolicyOptions, now = Date.now()): RetryDecision {
  if (kind === "permanent" || task.retry_count >= task.max_retries) return { retry: false };
  if (kind === "lost") return { retry: true, at: null };
  return { retry: true, at: new Date(now + retryDelayMs(task.retry_count, options.retryBaseDelayMs, options.retryMaxDelayMs)) };
}
