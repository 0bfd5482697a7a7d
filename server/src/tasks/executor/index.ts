import os from "node:os";
import { randomBytes } from "node:crypto";
import type { Connection } from "mongoose";
import type { Logger } from "pino";
import type { TaskEventMap, TaskLifecycle, TaskStatusChanged, TasksBulkStatusChanged } from "../lifecycle/index.js";
import type { Task } from "../model.js";
import { WorkerHeartbeat } from "./heartbeat.js";
import { LostRunRepair } from "./lost-runs.js";
import { InterruptedTaskRecovery } from "./recovery.js";
import type { TaskRegistry } from "./registry.js";
import { TaskRunner, type QueueableTask, type RunnerOptions } from "./runner.js";

export interface ExecutionOptions extends Omit<RunnerOptions, "workerId"> {
  workerId?: string;
  heartbeatMs: number;
  /** How often slots freed without a word (a process died between a run's end and its offer) are offered. */
  slotSweepMs?: number;
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
  /** Pending tasks a dead process left without a run (see lost-runs.ts). */
  readonly lostRuns: LostRunRepair;
  private recoveryTimer: NodeJS.Timeout | null = null;
  private slotSweepTimer: NodeJS.Timeout | null = null;
  private readonly slotSweepMs: number;
  private readonly logger: Logger;

  readonly concurrency: number;

  constructor(
    connection: Connection,
    private readonly lifecycle: TaskLifecycle,
    registry: TaskRegistry,
    logger: Logger,
    options: ExecutionOptions,
  ) {
    this.concurrency = options.concurrency;
    this.slotSweepMs = options.slotSweepMs ?? options.processEveryMs;
    const workerId = options.workerId ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
    const log = logger.child({ worker_id: workerId });
    this.logger = log;
    this.runner = new TaskRunner({ connection, lifecycle, registry, logger: log, options: { ...options, workerId } });
    this.heartbeat = new WorkerHeartbeat(connection, { workerId, intervalMs: options.heartbeatMs }, () => this.runner.runningTaskIds(), log);
    this.recovery = new InterruptedTaskRecovery(connection, lifecycle, { workerId, staleAfterMs: options.staleAfterMs, autoResume: options.autoResume }, log);
    this.lostRuns = new LostRunRepair(connection, lifecycle.tasks, (tasks) => this.runner.enqueueMany(tasks), options.staleAfterMs, log);
    this.recoveryInterval = Math.max(options.heartbeatMs, 1_000);
  }

  private readonly recoveryInterval: number;

  get workerId(): string {
    return this.runner.workerId;
  }

  async start(): Promise<void> {
    await this.heartbeat.start();
    await this.runner.start();
    await this.recoverDeadWorkersWork();
    this.recoveryTimer = setInterval(() => void this.recoverDeadWorkersWork(), this.recoveryInterval);
    this.recoveryTimer.unref();
    this.slotSweepTimer = setInterval(() => void this.offerFreedSlots(), this.slotSweepMs);
    this.slotSweepTimer.unref();
  }

  /** Runs and queue entries of dead workers are taken over; pending tasks nothing holds are queued. */
  private async recoverDeadWorkersWork(): Promise<void> {
    try {
      const { alive, gone } = await this.recovery.workerStates();
      await this.recovery.recover(alive);
      await this.lostRuns.releaseDeadLocks(alive);
      this.lostRuns.noteGoneWorkers(gone);
      await this.lostRuns.sweepIfDue();
    } catch (err) {
      this.logger.warn({ err }, "could not recover the work of stopped workers");
    }
  }

  /** Stops executing; runs still going after `graceMs` are put back in the queue for another worker. */
  async stop(graceMs?: number): Promise<void> {
    if (this.recoveryTimer) clearInterval(this.recoveryTimer);
    this.recoveryTimer = null;
    if (this.slotSweepTimer) clearInterval(this.slotSweepTimer);
    this.slotSweepTimer = null;
    await this.runner.stop(graceMs);
    await this.heartbeat.stop();
  }

  enqueue(task: QueueableTask): Promise<void> {
    return this.runner.enqueue(task);
  }

  /** Many at once (a batch's jobs): see TaskRunner.enqueueMany. */
  enqueueMany(tasks: QueueableTask[]): Promise<void> {
    return this.runner.enqueueMany(tasks);
  }

  /**
   * Gives the brand's tasks waiting for a running slot as many queue entries as it has free slots,
   * each at the place in line it had (its fair tag). Called when one of its runs ends, and by the
   * sweep (a process that died between the two leaves no task waiting for ever).
   */
  async dispatchAwaiting(brand: number): Promise<void> {
    const free = this.lifecycle.runningLimitPerBrand - (await this.lifecycle.runningCount(brand));
    for (const task of await this.lifecycle.takeAwaiting(brand, free)) await this.runner.enqueue(task, task.fair_tag ?? null);
  }

  /** Listener: a server run that ends frees a slot of its brand. */
  onRunEnded = (event: TaskStatusChanged): Promise<void> | undefined =>
    event.from === "running" && event.task.executor === "server" ? this.dispatchAwaiting(event.task.brand) : undefined;

  /** Listener: a task just put in line may have missed a slot freed while its claim looked. */
  onAwaitingSlot = (event: TaskEventMap["task.awaiting_slot"]): Promise<void> => this.dispatchAwaiting(event.task.brand);

  /** Listener: a bulk transition out of running (a batch cancelled) frees slots of its brand. */
  onBulkRunsEnded = (event: TasksBulkStatusChanged): Promise<void> | undefined => ((event.counts.running ?? 0) > 0 ? this.dispatchAwaiting(event.brand) : undefined);

  private async offerFreedSlots(): Promise<void> {
    try {
      for (const brand of await this.lifecycle.brandsAwaiting()) await this.dispatchAwaiting(brand);
    } catch (err) {
      this.logger.warn({ err }, "could not offer freed running slots");
    }
  }

  /** A server task back in the queue (created, retried, resumed, requeued) gets its Agenda run. */
  queueWhenPending(task: Task): Promise<void> | undefined {
    if (task.executor !== "server" || task.status !== "pending") return undefined;
    return this.runner.enqueue(task).catch((err: unknown) => {
      // The task is pending with no run: the sweep will find it.
      this.lostRuns.requestPass();
      throw err;
    });
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
