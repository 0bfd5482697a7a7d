import { Schema, type Connection, type Model } from "mongoose";

export interface Worker {
  worker_id: string;
  host: string;
  pid: number;
  started_at: Date;
  last_heartbeat: Date;
  running_jobs: string[];
  stopped_at: Date | null;
}

/** One server process that executes tasks; alive while its heartbeat is fresh. */
export const workerSchema = new Schema<Worker>(
  {
    worker_id: { type: String, required: true, unique: true },
    host: { type: String, required: true },
    pid: { type: Number, required: true },
    started_at: { type: Date, required: true },
    last_heartbeat: { type: Date, required: true },
    running_jobs: { type: [String], default: [] },
    stopped_at: { type: Date, default: null },
  },
  { collection: "task_workers", versionKey: false },
);

export type WorkerModel = Model<Worker>;

export function workerModel(connection: Connection): WorkerModel {
  return (connection.models.Worker as WorkerModel | undefined) ?? connection.model<Worker>("Worker", workerSchema);
}
