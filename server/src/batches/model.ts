import { Schema, type Connection, type Model, type Types } from "mongoose";
import { BATCH_STATES, type BatchState } from "../../../shared/batches.js";
import { TASK_PRIORITIES, type TaskPriority, type TaskStatus } from "../../../shared/tasks.js";
import { brandScoped } from "../brands/scope.js";
import { bindModel } from "../db/models.js";

/** The counter of each task status; moved only by the lifecycle's events (counters.ts). */
export const COUNTER_OF: Record<TaskStatus, keyof BatchCounters> = {
  pending: "pending_jobs",
  running: "running_jobs",
  completed: "completed_jobs",
  failed: "failed_jobs",
  cancelled: "cancelled_jobs",
  suspended: "suspended_jobs",
};

export interface BatchCounters {
  total_jobs: number;
  pending_jobs: number;
  running_jobs: number;
  completed_jobs: number;
  failed_jobs: number;
  cancelled_jobs: number;
  suspended_jobs: number;
}

export interface Batch extends BatchCounters {
  _id: Types.ObjectId;
  brand: number;
  batch_id: string;
  account_id: string;
  created_by: number;
  name: string;
  description: string;
  task_type: string;
  executor: "server" | "extension";
  state: BatchState;
  is_active: boolean;
  priority: TaskPriority;
  concurrency: number | null;
  /** Jobs of this batch holding a run slot (reserved at claim, given back when they stop running). */
  running_slots: number;
  scheduled_for: Date | null;
  cost_per_job: number;
  total_cost: number;
  total_minutes: number;
  /** Completed jobs a credits account could not pay for. */
  unpaid_jobs: number;
  cancellation_reason: string | null;
  /** False from a counter change until a recount of the jobs has confirmed (or repaired) the counters. */
  counts_verified: boolean;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  paused_at: Date | null;
  completed_at: Date | null;
}

const counter = { type: Number, default: 0 };

export const batchSchema = new Schema<Batch>(
  {
    batch_id: { type: String, required: true, unique: true },
    account_id: { type: String, required: true },
    created_by: { type: Number, required: true },
    name: { type: String, default: "" },
    description: { type: String, default: "" },
    task_type: { type: String, required: true },
    executor: { type: String, enum: ["server", "extension"], required: true },
    state: { type: String, enum: BATCH_STATES, default: "active" },
    is_active: { type: Boolean, default: true },
    priority: { type: String, enum: TASK_PRIORITIES, default: "normal" },
    concurrency: { type: Number, default: null },
    running_slots: counter,
    scheduled_for: { type: Date, default: null },
    cost_per_job: { type: Number, default: 0 },
    total_jobs: counter,
    pending_jobs: counter,
    running_jobs: counter,
    completed_jobs: counter,
    failed_jobs: counter,
    cancelled_jobs: counter,
    suspended_jobs: counter,
    total_cost: counter,
    total_minutes: counter,
    unpaid_jobs: counter,
    cancellation_reason: { type: String, default: null },
    counts_verified: { type: Boolean, default: true },
    started_at: { type: Date, default: null },
    paused_at: { type: Date, default: null },
    completed_at: { type: Date, default: null },
  },
  { collection: "batches", timestamps: { createdAt: "created_at", updatedAt: "updated_at" }, minimize: false, versionKey: false },
);
batchSchema.plugin(brandScoped);
batchSchema.index({ brand: 1, created_at: -1 });
batchSchema.index({ brand: 1, account_id: 1, is_active: 1 });
batchSchema.index({ counts_verified: 1, updated_at: 1 });

export type BatchModel = Model<Batch>;

export function batchModel(connection: Connection): BatchModel {
  return bindModel(connection, "Batch", batchSchema);
}
