import os from "node:os";
import type { Connection } from "mongoose";
import type { Logger } from "pino";
import { workerModel, type WorkerModel } from "./worker-model.js";

export interface HeartbeatOptions {
  workerId: string;
  intervalMs: number;
}

/** Keeps this process's row in `task_workers` fresh, with the tasks it is running. */
export class WorkerHeartbeat {
  private readonly workers: WorkerModel;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    connection: Connection,
    private readonly options: HeartbeatOptions,
    private readonly runningJobs: () => string[],
    private readonly logger: Logger,
  ) {
    this.workers = workerModel(connection);
  }

  async start(): Promise<void> {
    await this.workers.updateOne(
      { worker_id: this.options.workerId },
      {
        $set: { host: os.hostname(), pid: process.pid, started_at: new Date(), last_heartbeat: new Date(), running_jobs: [], stopped_at: null },
      },
      { upsert: true },
    );
    this.timer = setInterval(() => void this.beat(), this.options.intervalMs);
    this.timer.unref();
  }

  async beat(): Promise<void> {
    try {
      await this.workers.updateOne(
        { worker_id: this.options.workerId },
        { $set: { last_heartbeat: new Date(), running_jobs: this.runningJobs() } },
      );
    } catch (err) {
      this.logger.warn({ err }, "worker heartbeat failed");
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      await this.workers.updateOne({ worker_id: this.options.workerId }, { $set: { stopped_at: new Date(), running_jobs: [] } });
    } catch (err) {
      // The database may already be gone; recovery then sees the stale heartbeat instead.
      this.logger.warn({ err }, "could not mark this worker stopped");
    }
  }
}

/** A worker is dead when it said it stopped, its heartbeat is stale, or (same host) its process is gone. */
export function isWorkerAlive(worker: { host: string; pid: number; last_heartbeat: Date; stopped_at: Date | null }, staleAfterMs: number, now = Date.now()): boolean {
  if (worker.stopped_at) return false;
  if (now - worker.last_heartbeat.getTime() > staleAfterMs) return false;
  if (worker.host === os.hostname() && worker.pid !== process.pid) {
    try {
      process.kill(worker.pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    }
  }
  return true;
}
