/**
 * The task state machine, in one place. Every status change goes through one of these named
 * transitions (server/src/tasks/lifecycle/index.ts); each names the states it may leave from, and
 * its update is conditioned on them, so a writer that read a stale status changes nothing.
 */
import { CANCELLABLE_STATUSES, RETRYABLE_STATUSES, type TaskStatus } from "../../../../shared/tasks.js";

export interface TransitionRule {
  from: readonly TaskStatus[];
  to: readonly TaskStatus[];
}

export const TRANSITIONS = {
  /** A server worker or the seller's extension takes the task (with a run token / lease). */
  claim: { from: ["pending"], to: ["running"] },
  /** The run finished. */
  complete: { from: ["running"], to: ["completed"] },
  /** The run failed: back to the queue while attempts remain (the retry policy), else failed. */
  failOrRetry: { from: ["running"], to: ["pending", "failed"] },
  /** The run failed for good (permanent error, the extension's reported failure, an interruption left to the user). */
  fail: { from: ["running"], to: ["failed"] },
  /** The run stopped without failing (graceful shutdown, interrupted job resuming by itself): queued again, no attempt counted. */
  requeue: { from: ["running"], to: ["pending"] },
  /** The extension hands its lease back unfinished (its Vinted account cannot run it now): queued again, no attempt counted. */
  release: { from: ["running"], to: ["pending"] },
  /** An extension lease ended without a result: the retry policy decides, as for a failed run. */
  expireLease: { from: ["running"], to: ["pending", "failed"] },
  cancel: { from: CANCELLABLE_STATUSES, to: ["cancelled"] },
  /** Held back (a paused batch); never claimed while suspended. */
  suspend: { from: ["pending"], to: ["suspended"] },
  /** The run waits for another task's outcome (a publication handed to the seller's extension): suspended, no worker held; `resume` queues it again once that task ends. */
  wait: { from: ["running"], to: ["suspended"] },
  resume: { from: ["suspended"], to: ["pending"] },
  /** POST …/retry/: counts against max_retries. */
  retry: { from: RETRYABLE_STATUSES, to: ["pending"] },
  /** POST …/persistent-jobs/{id}/resume/: an interrupted job continues from its checkpoint. */
  resumeFromCheckpoint: { from: RETRYABLE_STATUSES, to: ["pending"] },
} as const satisfies Record<string, TransitionRule>;

export type TransitionName = keyof typeof TRANSITIONS;

/** Every (from → to) pair some transition allows; any other status change is refused. */
export const ALLOWED_STATUS_CHANGES: ReadonlyArray<readonly [TaskStatus, TaskStatus]> = dedupe(
  Object.values(TRANSITIONS).flatMap((rule: TransitionRule) => rule.from.flatMap((from) => rule.to.map((to) => [from, to] as const))),
);

function dedupe(pairs: Array<readonly [TaskStatus, TaskStatus]>): Array<readonly [TaskStatus, TaskStatus]> {
  const seen = new Set<string>();
  return pairs.filter(([from, to]) => {
    const key = `${from}>${to}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function allows(name: TransitionName, from: TaskStatus, to: TaskStatus): boolean {
  const rule: TransitionRule = TRANSITIONS[name];
  return rule.from.includes(from) && rule.to.includes(to);
}
