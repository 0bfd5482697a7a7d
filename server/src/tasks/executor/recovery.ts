import type { Connection } from "mongoose";
import type { Logger } from "pino";
import { allBrands } from "../../brands/scope.js";
import { workerModel, type WorkerModel } from "../../monitoring/worker-model.js";
import { taskModel, type Task, type TaskModel } from "../model.js";
import { isWorkerAlive } from "./heartbeat.js";

export interface RecoveryOptions {
  workerId: string;
  staleAfterMs: number;
  /** Interrupted checkpointed tasks resume by themselves; otherwise they wait for POST …/resume/. */
  autoResume: boolean;
}

/**
 * Finds server tasks left "running" by a process that died (SIGKILL, crash, power loss) and puts
 * them back: a checkpointed task is interrupted (resumable from its checkpoint), any other counts
 * as a failed attempt and is retried while attempts remain.
 */
export class InterruptedTaskRecovery {
  private readonly tasks: TaskModel;
  private readonly workers: WorkerModel;

  constructor(
    connection: Connection,
    private readonly options: RecoveryOptions,
    private readonly enqueue: (task: Pick<Task, "task_id" | "priority" | "scheduled_for">) => Promise<void>,
    private readonly logger: Logger,
  ) {
    this.tasks = taskModel(connection);
    this.workers = workerModel(connection);
  }

  async recover(): Promise<number> {
    const workers = await this.workers.find({}).lean();
    const alive = new Set(workers.filter((w) => w.worker_id === this.options.workerId || isWorkerAlive(w, this.options.staleAfterMs)).map((w) => w.worker_id));
    const orphans = await allBrands(this.tasks.find({ status: "running", executor: "server", worker_id: { $nin: [...alive] } }).lean());
    let recovered = 0;
    for (const task of orphans) if (await this.recoverOne(task)) recovered++;
    return recovered;
  }

  private async recoverOne(task: Task): Promise<boolean> {
    const fence = { _id: task._id, brand: task.brand, status: "running" as const, run_token: task.run_token };
    const now = new Date();
    const checkpointed = Boolean(task.persistent_job?.can_resume);
    if (checkpointed) {
      const resumeNow = this.options.autoResume;
      const updated = await this.tasks.updateOne(fence, {
        $set: {
          status: resumeNow ? "pending" : "failed",
          run_token: null,
          worker_id: null,
          error_message: resumeNow ? null : `Interrupted: worker ${task.worker_id} stopped while running this task`,
          "persistent_job.state": resumeNow ? "resumed" : "interrupted",
          "persistent_job.interrupted_at": now,
          ...(resumeNow ? { "persistent_job.resumed_at": now } : {}),
          ...(resumeNow ? {} : { completed_at: now }),
        },
        ...(resumeNow ? { $inc: { "persistent_job.resume_count": 1 } } : {}),
      });
      if (updated.modifiedCount !== 1) return false;
      this.logger.warn({ task_id: task.task_id, worker_id: task.worker_id, auto_resume: resumeNow }, "interrupted task found");
      if (resumeNow) await this.enqueue({ task_id: task.task_id, priority: task.priority, scheduled_for: null });
      return true;
    }
    const retry = task.retry_count < task.max_retries;
    const updated = await this.tasks.updateOne(fence, {
      $set: {
        status: retry ? "pending" : "failed",
        run_token: null,
        worker_id: null,
        error_message: `Worker ${task.worker_id} stopped while running this task`,
        ...(retry ? {} : { completed_at: now }),
      },
      ...(retry ? { $inc: { retry_count: 1 } } : {}),
    });
    if (updated.modifiedCount !== 1) return false;
    if (retry) await this.enqueue({ task_id: task.task_id, priority: task.priority, scheduled_for: null });
    return true;
  }
}
