import type { Connection } from "mongoose";
import type { Logger } from "pino";
import { allBrands } from "../../brands/scope.js";
import { workerModel, type WorkerModel } from "./worker-model.js";
import type { TaskLifecycle } from "../lifecycle/index.js";
import type { Task, TaskModel } from "../model.js";
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
    private readonly lifecycle: TaskLifecycle,
    private readonly options: RecoveryOptions,
    private readonly logger: Logger,
  ) {
    this.tasks = lifecycle.tasks;
    this.workers = workerModel(connection);
  }

  /** The ids of the workers alive now (this one included), and of those that stopped or died. */
  async workerStates(): Promise<{ alive: Set<string>; gone: string[] }> {
    const workers = await this.workers.find({}, { worker_id: 1, host: 1, pid: 1, last_heartbeat: 1, stopped_at: 1 }).lean();
    const alive = new Set<string>();
    const gone: string[] = [];
    for (const w of workers) {
      if (w.worker_id === this.options.workerId || isWorkerAlive(w, this.options.staleAfterMs)) alive.add(w.worker_id);
      else gone.push(w.worker_id);
    }
    return { alive, gone };
  }

  async aliveWorkers(): Promise<Set<string>> {
    return (await this.workerStates()).alive;
  }

  async recover(alive?: ReadonlySet<string>): Promise<number> {
    alive ??= await this.aliveWorkers();
    const orphans = await allBrands(this.tasks.find({ status: "running", executor: "server", worker_id: { $nin: [...alive] } }).lean());
    let recovered = 0;
    for (const task of orphans) if (await this.recoverOne(task)) recovered++;
    return recovered + (await this.lifecycle.resumeEndedWaits());
  }

  private async recoverOne(task: Task): Promise<boolean> {
    const lifecycle = this.lifecycle;
    const now = new Date();
    const fence = { _id: task._id, brand: task.brand, run_token: task.run_token };
    if (task.persistent_job?.can_resume) {
      const resumeNow = this.options.autoResume;
      const interrupted = { "persistent_job.interrupted_at": now };
      // Resumed at once (queued by the lifecycle's listeners), or left for POST …/resume/.
      const updated = resumeNow
        ? await lifecycle.requeue(fence, { ...interrupted, error_message: null, "persistent_job.state": "resumed", "persistent_job.resumed_at": now }, { "persistent_job.resume_count": 1 })
        : await lifecycle.fail(fence, {
            ...interrupted,
            run_token: null,
            worker_id: null,
            error_message: `Interrupted: worker ${task.worker_id} stopped while running this task`,
            "persistent_job.state": "interrupted",
          });
      if (!updated) return false;
      this.logger.warn({ task_id: task.task_id, worker_id: task.worker_id, auto_resume: resumeNow }, "interrupted task found");
      return true;
    }
    const outcome = await lifecycle.failOrRetry(task, fence, {
      kind: "lost",
      error_message: `Worker ${task.worker_id} stopped while running this task`,
      error_details: task.error_details,
      set: { worker_id: null },
    });
    return outcome !== null;
  }
}
