import { Schema, type Connection, type Model, type Types } from "mongoose";
import { TASK_PRIORITIES, type TaskPriority } from "../../../shared/tasks.js";
import { brandScoped } from "../brands/scope.js";
import { bindModel } from "../db/models.js";

export interface PeriodicTask {
  _id: Types.ObjectId;
  id: number;
  brand: number;
  created_by: number;
  name: string;
  task_type: string;
  cron_expression: string;
  timezone: string;
  context_data: Record<string, unknown>;
  priority: TaskPriority;
  description: string;
  enabled: boolean;
  max_retries: number;
  timeout_minutes: number;
  last_run_at: Date | null;
  /** The occurrence the scheduler fires next; null while paused. The claim is conditioned on it. */
  next_run_at: Date | null;
  /** The occurrence that last fired (not when): the next one is found by walking on from it. */
  last_occurrence_at: Date | null;
  total_run_count: number;
  last_task_id: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A schedule that creates a task of `task_type` at each occurrence of `cron_expression` in `timezone`. */
export const periodicTaskSchema = new Schema<PeriodicTask>(
  {
    id: { type: Number, required: true, unique: true },
    created_by: { type: Number, required: true },
    name: { type: String, required: true },
    task_type: { type: String, required: true },
    cron_expression: { type: String, required: true },
    timezone: { type: String, default: "UTC" },
    context_data: { type: Schema.Types.Mixed, default: () => ({}) },
    priority: { type: String, enum: TASK_PRIORITIES, default: "normal" },
    description: { type: String, default: "" },
    enabled: { type: Boolean, default: true },
    max_retries: { type: Number, default: 3 },
    timeout_minutes: { type: Number, default: 60 },
    last_run_at: { type: Date, default: null },
    next_run_at: { type: Date, default: null },
    last_occurrence_at: { type: Date, default: null },
    total_run_count: { type: Number, default: 0 },
    last_task_id: { type: String, default: null },
  },
  {
    collection: "periodic_tasks",
    timestamps: { createdAt: "created_at", updatedAt: "updated_at" },
    minimize: false,
    versionKey: false,
  },
);

periodicTaskSchema.plugin(brandScoped);
periodicTaskSchema.index({ brand: 1, created_at: -1 });
/** The scheduler's question, across brands: enabled and due. */
periodicTaskSchema.index({ enabled: 1, next_run_at: 1 });

export type PeriodicTaskModel = Model<PeriodicTask>;

export function periodicTaskModel(connection: Connection): PeriodicTaskModel {
  return bindModel(connection, "PeriodicTask", periodicTaskSchema);
}
