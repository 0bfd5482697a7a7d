/** What the lifecycle's transitions take and answer. */
import type { Types } from "mongoose";
import type { TaskStatus } from "../../../../shared/tasks.js";
import type { Task } from "../model.js";
import type { FailureKind, RetryPolicyOptions } from "./retry-policy.js";
import type { TransitionName } from "./table.js";

export type Fields = Record<string, unknown>;

/** Identifies one run of a task: writes under it apply only while the run still owns the task. */
export interface RunFence {
  _id: Types.ObjectId;
  brand: number;
  run_token: string | null;
}

/** Extension leases also end in time: a result must arrive before, an expiry is found after. */
export type LeaseCondition = { aliveAt: Date } | { endedBefore: Date } | null;

/**
 * What a new task is made of; id, task_id, status and the bookkeeping fields are the lifecycle's.
 * `priority_rank` is a finer 0–10 level within the word (the plugin API's); the word's level when omitted.
 */
export type NewTask = Pick<Task, "brand" | "created_by" | "task_type" | "priority" | "context_data"> &
  Partial<
    Pick<
      Task,
      | "executor"
      | "description"
      | "scheduled_for"
      | "max_retries"
      | "timeout_minutes"
      | "is_periodic"
      | "periodic_task"
      | "batch_id"
      | "account_id"
      | "owner_user_id"
      | "plugin"
      | "priority_rank"
      | "exclusive_key"
      | "exclusive_slot"
    >
  > & { task_id: string };

export interface FailureInput {
  kind: FailureKind;
  error_message: string;
  error_details: Record<string, unknown> | null;
  /** Fields written either way (metrics, plugin error code…). */
  set?: Fields;
  /** Fields written only when the task fails for good (persistent_job.state…). */
  setIfFailed?: Fields;
}

export type FailureOutcome = { outcome: "retried" | "failed"; task: Task };

/**
 * What a batch says before one of its jobs is claimed: run it, hold it (its concurrency is used up:
 * it is offered again when a slot frees), suspend it (the batch is paused, the account cannot pay),
 * or cancel it (the batch is cancelled: a job its bulk cancel has not reached yet, or one that went
 * back to the queue after it, never starts). `release` gives back a slot `admit` reserved when the
 * claim then found nothing to take; `cancelSet` is what the cancelled job records (its reason).
 */
export interface ClaimAdmission {
  verdict: "claim" | "hold" | "suspend" | "cancel";
  release?: () => Promise<void>;
  cancelSet?: Fields;
}
export type ClaimGate = (task: Pick<Task, "_id" | "brand" | "batch_id">) => Promise<ClaimAdmission>;

/** Room a creation check counted for new tasks; what is not stored after all is given back. */
export interface CreationReservation {
  giveBack(count: number): Promise<void>;
}

/** Refuses (throws) the creation of `adding` new tasks for a brand, e.g. past its queued quota; else reserves their room. */
export type CreationCheck = (brand: number, adding: number) => Promise<CreationReservation | void>;

/** Which tasks a bulk transition may move: always one batch of one brand. */
export interface BatchScope {
  brand: number;
  batch_id: string;
}

export interface LifecycleOptions {
  retry?: RetryPolicyOptions;
  /** Server tasks one brand may have running at once, across processes (unlimited when omitted). */
  runningLimitPerBrand?: number;
}

/**
 * The lifecycle's one status write (TaskLifecycle.change), handed to the parts of the lifecycle in
 * their own files: `from` → `to` if transition `name` allows it, conditioned on the task still being in `from`.
 */
export type StatusChange = (
  name: TransitionName,
  from: TaskStatus,
  to: TaskStatus,
  filter: Fields,
  update: Fields | Fields[],
  options?: { sort?: Record<string, 1 | -1> },
) => Promise<Task | null>;

/** What a conditional change did: `changed` when it applied, else the task it found unchanged in `seen` (or nothing). */
export interface ConditionalChange {
  changed: Task | null;
  seen: Task | null;
}

/**
 * The status write made only if the task found satisfies `applyIf` (an aggregation expression on the
 * stored task); `set` is the fields of a one-stage pipeline update. One atomic command either way.
 */
export type ConditionalStatusChange = (
  name: TransitionName,
  from: TaskStatus,
  to: TaskStatus,
  filter: Fields,
  set: Fields,
  applyIf: unknown,
  options?: { sort?: Record<string, 1 | -1> },
) => Promise<ConditionalChange>;
