import type { Logger } from "pino";
import type { Task } from "../model.js";
import type { TaskLifecycle } from "../lifecycle/index.js";
import type { CheckpointModel } from "./checkpoint-model.js";
import type { TaskContext } from "./registry.js";
import { TaskStoppedError } from "./outcome.js";

export interface RunState {
  readonly task: Task;
  readonly token: string;
  readonly workerId: string;
  readonly controller: AbortController;
  costUsd: number;
  /** A checkpoint exists (from this run or an earlier one): the task is a persistent job. */
  checkpointed: boolean;
}

interface ContextDeps {
  lifecycle: TaskLifecycle;
  checkpoints: CheckpointModel;
  logger: Logger;
  progressThrottleMs: number;
}

/** The handler's view of its run; every write is fenced by the run token, so a stale run changes nothing. */
export function createTaskContext(run: RunState, resumeFrom: Record<string, unknown> | null, deps: ContextDeps): TaskContext {
  const fence = { _id: run.task._id, brand: run.task.brand, run_token: run.token };
  let lastProgressWrite = 0;
  let sequence = run.task.persistent_job?.checkpoint_count ?? 0;
  const clamp = (p: number) => Math.max(0, Math.min(100, Math.round(p * 100) / 100));

  return {
    task: run.task,
    signal: run.controller.signal,
    resumeFrom,
    logger: deps.logger,
    async progress(percentage, message) {
      const now = Date.now();
      if (now - lastProgressWrite < deps.progressThrottleMs && percentage < 100) return;
      lastProgressWrite = now;
      await deps.lifecycle.recordRunning(fence, { progress_percentage: clamp(percentage), progress_message: message ?? null });
    },
    async checkpoint(state, progressPercentage) {
      // A stopped run (cancelled, timed out, even by a handler that ignores its signal) saves nothing more.
      run.controller.signal.throwIfAborted();
      const next = sequence + 1;
      const progress = clamp(progressPercentage ?? 0);
      // The task is written first, fenced: a run that lost the task (cancelled, deleted, taken over)
      // creates no checkpoint, and checkpoint_count never falls behind the checkpoints that exist,
      // so a crash between the two writes cannot make the next run reuse a sequence number.
      // The whole sub-document is written: a dotted $set cannot create fields under a null one.
      const previous = run.task.persistent_job;
      const owned = await deps.lifecycle.recordRunning(fence, {
          progress_percentage: progress,
          persistent_job: {
            state: "running",
            can_resume: true,
            checkpoint_count: next,
            last_checkpoint_at: new Date(),
            progress_percentage: progress,
            interrupted_at: previous?.interrupted_at ?? null,
            resumed_at: previous?.resumed_at ?? null,
            resume_count: previous?.resume_count ?? 0,
          },
      });
      if (!owned) {
        const stopped = new TaskStoppedError("cancelled", "This run no longer owns the task");
        run.controller.abort(stopped);
        throw stopped;
      }
      sequence = next;
      run.checkpointed = true;
      await deps.checkpoints.create({
        task_id: run.task.task_id,
        brand: run.task.brand,
        sequence,
        state,
        progress_percentage: progress,
        worker_id: run.workerId,
      });
    },
    reportCost(usd) {
      if (Number.isFinite(usd) && usd > 0) run.costUsd += usd;
    },
    async record(fields) {
      if ("status" in fields) throw new Error("a run never writes its task's status: the lifecycle does");
      return deps.lifecycle.recordRunning(fence, fields);
    },
    throwIfStopped() {
      run.controller.signal.throwIfAborted();
    },
  };
}
