import { Schema, type Connection, type Model, type Types } from "mongoose";
import { brandScoped } from "../brands/scope.js";
import { statusWritesThroughLifecycle } from "./lifecycle/guard.js";
import { TASK_PRIORITIES, TASK_STATUSES, type TaskPriority, type TaskStatus } from "../../../shared/tasks.js";

/**
 * A task's priority is one 0–10 level (`priority_rank`, what queues sort on and the plugin API
 * shows); `priority` is its word, stored beside it for filters and /tasks/. A word given alone
 * stands for its level here.
 */
export const PRIORITY_RANK: Record<TaskPriority, number> = { low: 0, normal: 1, high: 5, critical: 9 };

/** The word of a 0–10 level: 0 low, 1–4 normal, 5–8 high, 9–10 critical. */
export function priorityWord(rank: number): TaskPriority {
  if (rank <= 0) return "low";
  if (rank <= 4) return "normal";
  if (rank <= 8) return "high";
  return "critical";
}

/** A task's timeout in whole seconds (the length of an extension lease); `timeout_minutes` is the one stored. */
export function timeoutSecondsOf(task: Pick<Task, "timeout_minutes">): number {
  return Math.round(task.timeout_minutes * 60);
}

export interface TaskMetrics {
  execution_time_ms: number;
  memory_usage_mb: number;
  cost_usd: number;
  recorded_at: Date;
}

export type PersistentJobState = "running" | "interrupted" | "resumed" | "completed" | "failed" | "cancelled";

export interface PersistentJob {
  state: PersistentJobState;
  can_resume: boolean;
  checkpoint_count: number;
  last_checkpoint_at: Date | null;
  progress_percentage: number;
  interrupted_at: Date | null;
  resumed_at: Date | null;
  resume_count: number;
}

/**
 * What the plugin API (spec/plugin-polling-api.md) keeps about an extension task besides the hub's
 * fields; its 0–10 priority and timeout in seconds are the task's own `priority_rank` and
 * `timeout_minutes`, shown in the plugin's units by plugin/view.ts.
 */
export interface PluginTaskState {
  /** Last heartbeat progress ("page 12/80"). */
  progress_current: number | null;
  progress_total: number | null;
  /** The extension's error code of a failed result (VINTED_LOGGED_OUT…). */
  error_code: string | null;
  executed_at: Date | null;
  /** Hash of the accepted result body: an identical resend is acknowledged, any other refused. */
  result_digest: string | null;
  /** get_all_products: the largest `total_entries` a partial page reported during the current lease. */
  sync_total_entries: number | null;
  /** The last lease was handed back unfinished (release): the next claim is the same attempt again. */
  handed_back: boolean;
  /**
   * A task only worth running soon (a catalog search someone waits for): not claimed after this, and
   * cancelled by the lease sweeper once it passes while still pending. Null: no such limit.
   */
  claim_by?: Date | null;
}

export interface Task {
  _id: Types.ObjectId;
  id: number;
  task_id: string;
  brand: number;
  created_by: number;
  task_type: string;
  executor: "server" | "extension";
  status: TaskStatus;
  priority: TaskPriority;
  /** The 0–10 level (PRIORITY_RANK); `priority` is always its word. */
  priority_rank: number;
  description: string;
  progress_percentage: number;
  progress_message: string | null;
  context_data: Record<string, unknown>;
  result_data: Record<string, unknown> | null;
  error_message: string | null;
  error_details: Record<string, unknown> | null;
  /** marketplace_publication: the pipeline's step state (server/src/publication/steps.ts); null for other types. */
  publication: Record<string, unknown> | null;
  /**
   * Tasks sharing an exclusive key are never live at the same time (a publication: one per brand,
   * product and marketplace). Kept for the task's life; `exclusive_slot` holds the same value while
   * the task owns the key (a unique index makes taking it atomic) and is null once another took it.
   */
  exclusive_key: string | null;
  exclusive_slot: string | null;
  /** Suspended while another task (this task_id) runs elsewhere, e.g. a publication handed to the seller's extension. */
  waiting_for: string | null;
  /** Set once some task waits for this one: only then does its end look for waiting tasks to resume. */
  awaited?: boolean;
  retry_count: number;
  max_retries: number;
  scheduled_for: Date | null;
  /** Minutes, possibly fractional (an extension task's seconds / 60); the plugin API shows whole seconds. */
  timeout_minutes: number;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  cancelled_at: Date | null;
  is_periodic: boolean;
  periodic_task: number | null;
  batch_id: string | null;
  /** Batch jobs: the selling account they work for (billing, dashboard). */
  account_id: string | null;
  attempt: number;
  run_token: string | null;
  worker_id: string | null;
  /** Extension tasks: the seller whose extension claims and runs it (the plugin API's user_id). */
  owner_user_id: number | null;
  /** Extension tasks: end of the current lease (`run_token` is the lease token). */
  lease_expires_at: Date | null;
  plugin: PluginTaskState | null;
  /**
   * Fair share (server tasks). `brand_slot`: which of its brand's running slots a run holds (a
   * unique index over running tasks keeps a brand within its limit, across processes).
   * `awaiting_slot`: claimed while its brand had no free slot, so it waits without a queue entry
   * until one frees. `fair_tag`: its place in the round-robin between brands, kept while it waits.
   */
  brand_slot?: number | null;
  awaiting_slot?: boolean;
  fair_tag?: number | null;
  metrics: TaskMetrics | null;
  persistent_job: PersistentJob | null;
}

const metricsSchema = new Schema<TaskMetrics>(
  {
    execution_time_ms: Number,
    memory_usage_mb: Number,
    cost_usd: { type: Number, default: 0 },
    recorded_at: Date,
  },
  { _id: false },
);

const pluginStateSchema = new Schema<PluginTaskState>(
  {
    progress_current: { type: Number, default: null },
    progress_total: { type: Number, default: null },
    error_code: { type: String, default: null },
    executed_at: { type: Date, default: null },
    result_digest: { type: String, default: null },
    sync_total_entries: { type: Number, default: null },
    handed_back: { type: Boolean, default: false },
    claim_by: { type: Date, default: null },
  },
  { _id: false },
);

const persistentJobSchema = new Schema<PersistentJob>(
  {
    state: { type: String, enum: ["running", "interrupted", "resumed", "completed", "failed", "cancelled"], default: "running" },
    can_resume: { type: Boolean, default: false },
    checkpoint_count: { type: Number, default: 0 },
    last_checkpoint_at: { type: Date, default: null },
    progress_percentage: { type: Number, default: 0 },
    interrupted_at: { type: Date, default: null },
    resumed_at: { type: Date, default: null },
    resume_count: { type: Number, default: 0 },
  },
  { _id: false },
);

/**
 * The one task collection (the BaseTask hub): server-executed and extension-executed tasks alike.
 * Execution bookkeeping (`run_token`, `worker_id`, `attempt`) fences a stale runner out: every
 * write a runner makes is conditioned on the token it claimed the task with.
 */
export const taskSchema = new Schema<Task>(
  {
    id: { type: Number, required: true, unique: true },
    task_id: { type: String, required: true, unique: true },
    created_by: { type: Number, required: true },
    task_type: { type: String, required: true },
    executor: { type: String, enum: ["server", "extension"], default: "server" },
    status: { type: String, enum: TASK_STATUSES, default: "pending" },
    priority: { type: String, enum: TASK_PRIORITIES, default: "normal" },
    priority_rank: { type: Number, default: 1 },
    description: { type: String, default: "" },
    progress_percentage: { type: Number, default: 0 },
    progress_message: { type: String, default: null },
    context_data: { type: Schema.Types.Mixed, default: () => ({}) },
    result_data: { type: Schema.Types.Mixed, default: null },
    error_message: { type: String, default: null },
    error_details: { type: Schema.Types.Mixed, default: null },
    publication: { type: Schema.Types.Mixed, default: null },
    exclusive_key: { type: String, default: null },
    exclusive_slot: { type: String, default: null },
    waiting_for: { type: String, default: null },
    awaited: { type: Boolean },
    retry_count: { type: Number, default: 0 },
    max_retries: { type: Number, default: 3 },
    scheduled_for: { type: Date, default: null },
    timeout_minutes: { type: Number, default: 60 },
    started_at: { type: Date, default: null },
    completed_at: { type: Date, default: null },
    cancelled_at: { type: Date, default: null },
    is_periodic: { type: Boolean, default: false },
    periodic_task: { type: Number, default: null },
    batch_id: { type: String, default: null },
    account_id: { type: String, default: null },
    attempt: { type: Number, default: 0 },
    run_token: { type: String, default: null },
    worker_id: { type: String, default: null },
    owner_user_id: { type: Number, default: null },
    lease_expires_at: { type: Date, default: null },
    plugin: { type: pluginStateSchema, default: null },
    brand_slot: { type: Number },
    awaiting_slot: { type: Boolean },
    fair_tag: { type: Number },
    metrics: { type: metricsSchema, default: null },
    persistent_job: { type: persistentJobSchema, default: null },
  },
  {
    collection: "tasks",
    timestamps: { createdAt: "created_at", updatedAt: "updated_at" },
    minimize: false,
    versionKey: false,
  },
);

taskSchema.plugin(brandScoped);
taskSchema.plugin(statusWritesThroughLifecycle);
taskSchema.index({ brand: 1, created_at: -1 });
taskSchema.index({ brand: 1, status: 1 });
taskSchema.index({ status: 1, worker_id: 1 });
taskSchema.index({ batch_id: 1 });
// One owner per exclusive key: creating or retrying a second live task for it fails on this index.
taskSchema.index({ exclusive_slot: 1 }, { unique: true, partialFilterExpression: { exclusive_slot: { $type: "string" } } });
// The tasks waiting for one that just ended.
taskSchema.index({ waiting_for: 1 }, { partialFilterExpression: { waiting_for: { $type: "string" } } });
// Extension delivery: a seller's claims and sweeps, and the lease sweeper.
taskSchema.index({ owner_user_id: 1, status: 1 });
taskSchema.index({ executor: 1, status: 1, lease_expires_at: 1 });
// Fair share: at most one running server task per (brand, slot) — a brand never holds more slots
// than it has. Only running server tasks with a slot are in it.
taskSchema.index(
  { brand: 1, brand_slot: 1 },
  { unique: true, name: "brand_running_slot", partialFilterExpression: { status: "running", executor: "server", brand_slot: { $gte: 0 } } },
);
// Tasks waiting for a slot of their brand, in the order they get one.
taskSchema.index({ awaiting_slot: 1, brand: 1, priority_rank: -1, fair_tag: 1, id: 1 });

export type TaskModel = Model<Task>;

export function taskModel(connection: Connection): TaskModel {
  return (connection.models.Task as TaskModel | undefined) ?? connection.model<Task>("Task", taskSchema);
}
