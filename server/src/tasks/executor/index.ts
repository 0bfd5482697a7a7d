import os from "node:os";
import { randomBytes } from "node:crypto";
import type { Connection } from "mongoose";
import type { Logger } from "pino";
import type { TaskLifecycle, TaskStatusChanged } from "../lifecycle/index.js";
import type { Task } from "../model.js";
import { WorkerHeartbeat } from "./heartbeat.js";
import { InterruptedTaskRecovery } from "./recovery.js";
import type { TaskRegistry } from "./registry.js";
import { TaskRunner, type RunnerOptions } from "./runner.js";

export interface ExecutionOptions extends Omit<RunnerOptions, "workerId"> {
  workerId?: string;
  heartbeatMs: number;
  /** A worker silent for this long is dead; its running tasks are recovered. */
  staleAfterMs: number;
  autoResume: boolean;
}

export const DEFAULT_EXECUTION_OPTIONS: ExecutionOptions = {
  processEveryMs: 1_000,
  concurrency: 5,
  cancelPollMs: 500,
  progressThrottleMs: 500,
  heartbeatMs: 5_000,
  staleAfterMs: 15_000,
  autoResume: true,
};

/** This process's share of task execution: the runner, its heartbeat, and recovery of dead workers' tasks. */
export class TaskExecution {
  readonly runner: TaskRunner;
  private readonly heartbeat: WorkerHeartbeat;
  private readonly recovery: InterruptedTaskRecovery;
  private recoveryTimer: NodeJS.Timeout | null = null;

  readonly concurrency: number;

  constructor(connection: Connection, lifecycle: TaskLifecycle, registry: TaskRegistry, logger: Logger, options: ExecutionOptions) {
    this.concurrency = options.concurrency;
    const workerId = options.workerId ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
    const log = logger.child({ worker_id: workerId });
    this.runner = new TaskRunner({ connection, lifecycle, registry, logger: log, options: { ...options, workerId } });
    this.heartbeat = new WorkerHeartbeat(connection, { workerId, intervalMs: options.heartbeatMs }, () => this.runner.runningTaskIds(), log);
    this.recovery = new InterruptedTaskRecovery(connection, lifecycle, { workerId, staleAfterMs: options.staleAfterMs, autoResume: options.autoResume }, log);
    this.recoveryInterval = Math.max(options.heartbeatMs, 1_000);
  }

  private readonly recoveryInterval: number;

  get workerId(): string {
    return this.runner.workerId;
  }

  async start(): Promise<void> {
    await this.heartbeat.start();
    await this.runner.start();
    await this.recovery.recover();
    this.recoveryTimer = setInterval(() => void this.recovery.recover().catch(() => undefined), this.recoveryInterval);
    this.recoveryTimer.unref();
  }

  /** Stops executing; runs still going after `graceMs` are put back in the queue for another worker. */
  async stop(graceMs?: number): Promise<void> {
    if (this.recoveryTimer) clearInterval(this.recoveryTimer);
    this.recoveryTimer = null;
    await this.runner.stop(graceMs);
    await this.heartbeat.stop();
  }

  enqueue(task: Pick<Task, "task_id" | "priority" | "scheduled_for">): Promise<void> {
    return this.runner.enqueue(task);
  }

  /** A server task back in the queue (created, retried, resumed, requeued) gets its Agenda run. */
  queueWhenPending(task: Task): Promise<void> | undefined {
    if (task.executor !== "server" || task.status !== "pending") return undefined;
    return this.runner.enqueue(task);
  }

  /** Listener of `task.status_changed`. */
  onStatusChanged = (event: TaskStatusChanged): Promise<void> | undefined => (event.to === "pending" ? this.queueWhenPending(event.task) : undefined);

  abortLocally(taskId: string): void {
    this.runner.abortLocally(taskId);
  }

  /** Resumes a run from its last checkpoint (after POST …/resume/ or an interruption). */
  recoverNow(): Promise<number> {
    return this.recovery.recover();
  }
}
