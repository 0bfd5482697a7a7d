/**
 * The conditions and update expressions transitions are built from: a run's fence, a lease's
 * end, being due, and the stored priority level.
 */
import { PRIORITY_RANK, priorityWord } from "../model.js";
import type { Fields, LeaseCondition, NewTask, RunFence } from "./types.js";

/** Claim order of an extension's queue: the highest 0–10 level, then the oldest. */
export const LEASE_ORDER = { priority_rank: -1, created_at: 1, id: 1 } as const;

export function fenceFilter(fence: RunFence): Fields {
  return { _id: fence._id, brand: fence.brand, run_token: fence.run_token };
}

export function leaseFilter(lease: LeaseCondition): Fields {
  if (!lease) return {};
  return "aliveAt" in lease ? { lease_expires_at: { $gte: lease.aliveAt } } : { lease_expires_at: { $lt: lease.endedBefore } };
}

export function dueBy(now: Date): Fields {
  return { $or: [{ scheduled_for: null }, { scheduled_for: { $lte: now } }] };
}

/** An extension task is claimable when due and, if it must be claimed by a time, before that time. */
export function extensionDueBy(now: Date): Fields {
  return { $and: [dueBy(now), notPastClaimBy(now)] };
}

export function notPastClaimBy(now: Date): Fields {
  return { $or: [{ "plugin.claim_by": null }, { "plugin.claim_by": { $gt: now } }] };
}

/** A one-stage pipeline update writing `set` only where the stored task satisfies `applyIf` (else each field keeps its value). */
export function conditionalStage(set: Fields, applyIf: unknown): Fields {
  return { $set: Object.fromEntries(Object.entries(set).map(([field, value]) => [field, { $cond: [applyIf, value, `$${field}`] }])) };
}

/** now + the task's timeout in whole seconds (timeoutSecondsOf), as an update-pipeline expression. */
export function leaseEnd(now: Date) {
  return { $add: [now, { $multiply: [{ $round: [{ $multiply: ["$timeout_minutes", 60] }, 0] }, 1000] }] };
}

/** The stored level: the given one, which must lie within the word, else the word's. */
export function rankOf(input: Pick<NewTask, "priority" | "priority_rank">): number {
  if (input.priority_rank === undefined) return PRIORITY_RANK[input.priority];
  if (priorityWord(input.priority_rank) !== input.priority) throw new Error(`Priority level ${input.priority_rank} is not '${input.priority}'`);
  return input.priority_rank;
}
