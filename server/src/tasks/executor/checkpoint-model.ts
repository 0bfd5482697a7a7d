import { Schema, type Connection, type Model } from "mongoose";
import { brandScoped } from "../../brands/scope.js";

export interface Checkpoint {
  task_id: string;
  brand: number;
  sequence: number;
  state: Record<string, unknown>;
  progress_percentage: number;
  worker_id: string | null;
  created_at: Date;
}

/** A handler's saved state; the latest one of a task is what a resumed run starts from. */
export const checkpointSchema = new Schema<Checkpoint>(
  {
    task_id: { type: String, required: true },
    sequence: { type: Number, required: true },
    state: { type: Schema.Types.Mixed, required: true },
    progress_percentage: { type: Number, default: 0 },
    worker_id: { type: String, default: null },
  },
  { collection: "task_checkpoints", timestamps: { createdAt: "created_at", updatedAt: false }, versionKey: false, minimize: false },
);
checkpointSchema.plugin(brandScoped);
checkpointSchema.index({ task_id: 1, sequence: -1 }, { unique: true });
checkpointSchema.index({ brand: 1, created_at: -1 });

export type CheckpointModel = Model<Checkpoint>;

export function checkpointModel(connection: Connection): CheckpointModel {
  return (connection.models.Checkpoint as CheckpointModel | undefined) ?? connection.model<Checkpoint>("Checkpoint", checkpointSchema);
}
