import { randomUUID } from "node:crypto";
import { Agenda, InMemoryNotificationChannel, type Job } from "agenda";
import { MongoBackend } from "@agendajs/mongo-backend";
import type { Connection } from "mongoose";
import type { Db } from "mongodb";
import type { Logger } from "pino";
import { allBrands } from "../../brands/scope.js";
import { checkpointModel, type CheckpointModel } from "./checkpoint-model.js";
import { PRIORITY_RANK, taskModel, type Task, type TaskModel } from "../model.js";
import { FairQueue } from "./fair-queue.js";
import { createTaskContext, type RunState } from "./context.js";
import type { RunFence, TaskLifecycle } from "../lifecycle/index.js";
import { TaskStoppedError, describeError, untilStopped } from "./outcome.js";
import { PermanentTaskError, TaskWaiting, type TaskRegistry } from "./registry.js";

export const RUN_TASK_JOB = "markethub:run-task";
export const AGENDA_COLLECTION = "agenda_jobs";

/** What a queued run carries: the task, and its place in the round-robin between brands (fair-queue.ts). */
interface RunJobData {
  task_id: string;
  rank?: number;
  tag?: number;
}

/** What queueing a run needs of a task. */
export type QueueableTask = Pick<Task, "task_id" | "brand" | "priority" | "scheduled_for">;

/** Agenda drops a run whose lock is older than this; runs longer than that touch their job. */
const LOCK_LIFETIME_MS = 60_000;

/** Queue entries saved at once when many tasks are queued together. */
const SAVE_PARALLELISM = 50;

export interface RunnerOptions {
  workerId: string;
  /** How often Agenda polls for due jobs created by other processes. */
  processEveryMs: number;
  /** Tasks run at once by this process. */
  concurrency: number;
  /** How often this process looks for cancellations of the tasks it runs (set by any process). */
  cancelPollMs: number;
  progressThrottleMs: number;
}

export interface RunnerDeps {
  connection: Connection;
  registry: TaskRegistry;
  lifecycle: TaskLifecycle;
  logger: Logger;
  options: RunnerOptions;
}

/**
 * Executes server-side tasks on Agenda: one Agenda job per run, a task claimed atomically (so two
 * processes never run it twice), progress and checkpoints fenced by a run token, timeouts,
 * cancellation and retries with exponential backoff.
 */
export class TaskRunner {
  private readonly tasks: TaskModel;
  private readonly checkpoints: CheckpointModel;
  private readonly fair: FairQueue;
  private readonly running = new Map<string, RunState>();
  /** Executions under way in this process (settled once their last write has landed). */
  private readonly inFlight = new Set<Promise<void>>();
  /** Created on first use: queueing a run needs it even when this process executes nothing. */
  private agenda: Agenda | null = null;
  private processing = false;
  private cancelTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: RunnerDeps) {
    this.tasks = taskModel(deps.connection);
    this.checkpoints = checkpointModel(deps.connection);
    this.fair = new FairQueue(deps.connection);
  }

  get workerId(): string {
    return this.deps.options.workerId;
  }

  runningTaskIds(): string[] {
    return [...this.running.keys()];
  }

  private agendaInstance(): Agenda {
    if (this.agenda) return this.agenda;
    const { options } = this.deps;
    const db = this.deps.connection.getClient().db(this.deps.connection.name) as unknown as Db;
    const agenda = new Agenda({
      // Among due runs the highest priority goes first, then the oldest (Agenda's default is the
      // other way round, which would let a critical task wait behind every earlier low one).
      backend: new MongoBackend({ mongo: db, collection: AGENDA_COLLECTION, sort: { priority: "desc", nextRunAt: "asc" } }),
      notificationChannel: new InMemoryNotificationChannel(),
      name: options.workerId,
      processEvery: options.processEveryMs,
      maxConcurrency: options.concurrency,
      defaultConcurrency: options.concurrency,
      // Runs are fenced by our own claim; Agenda's lock only has to outlive the poll (long runs touch it).
      defaultLockLifetime: LOCK_LIFETIME_MS,
      // The task document is the record of a run: a finished job has nothing more to say.
      removeOnComplete: true,
    });
    agenda.define(RUN_TASK_JOB, (job: Job<RunJobData>) => this.track(this.execute(job.attrs.data.task_id, job)), {
      concurrency: options.concurrency,
      lockLimit: options.concurrency,
    });
    agenda.on("error", (err: Error) => this.deps.logger.error({ err }, "agenda error"));
    this.agenda = agenda;
    return agenda;
  }

  /**
   * Agenda's lock query is `{name, $or: [{lockedAt: null, nextRunAt ≤ t}, {lockedAt ≤ deadline}]}`;
   * its own index leads with priority, so each branch would read every queued job. This index lets
   * both branches read only the due or expired jobs, however many are queued for later.
   */
  private async indexDueJobs(): Promise<void> {
    const db = this.deps.connection.getClient().db(this.deps.connection.name);
    await db.collection(AGENDA_COLLECTION).createIndex({ name: 1, lockedAt: 1, nextRunAt: 1 }, { name: "markethub_due_jobs" });
    // The sweep for tasks left without a run (lost-runs.ts) looks runs up by task.
    await db.collection(AGENDA_COLLECTION).createIndex({ "data.task_id": 1 }, { name: "markethub_task_runs" });
  }

  private track(execution: Promise<void>): Promise<void> {
    this.inFlight.add(execution);
    void execution.finally(() => this.inFlight.delete(execution)).catch(() => undefined);
    return execution;
  }

  async start(): Promise<void> {
    if (this.processing) return;
    await this.agendaInstance().start();
    await this.indexDueJobs();
    this.processing = true;
    this.cancelTimer = setInterval(() => void this.abortCancelled(), this.deps.options.cancelPollMs);
    this.cancelTimer.unref();
  }

  /**
   * Stops taking work (runs queued here go back to other processes at once); runs still going get
   * `graceMs` to finish, then are stopped and put back in the queue, their last writes made before
   * this resolves, so another process (or this one, restarted) resumes them.
   */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.cancelTimer) clearInterval(this.cancelTimer);
    this.cancelTimer = null;
    if (!this.processing || !this.agenda) return;
    this.processing = false;
    await this.agenda.stop().catch((err: unknown) => this.deps.logger.warn({ err }, "could not stop agenda cleanly"));
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const run of this.running.values()) {
      run.controller.abort(new TaskStoppedError("shutdown", "The server shut down during this run"));
    }
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Queues a run of the task at its `scheduled_for` (or now), behind the runs of its priority in
   * round-robin order between brands; works whether or not this process executes tasks.
   * `keepTag`: the place in line a task waiting for a slot already had (it is offered a slot now).
   */
  async enqueue(task: QueueableTask, keepTag: number | null = null): Promise<void> {
    if (keepTag !== null) return this.saveRun(task, keepTag);
    await this.enqueueMany([task]);
  }

  /**
   * Queues many tasks (a batch's jobs): tags reserved in one step per brand and priority; of the
   * due ones, only as many as the brand has running slots get a queue entry — the others (and all
   * of them when the brand already has tasks waiting) go to the brand's waiting list, in order,
   * rather than being claimed only to be put back.
   */
  async enqueueMany(tasks: QueueableTask[]): Promise<void> {
    const groups = new Map<string, QueueableTask[]>();
    for (const task of tasks) {
      const key = `${task.brand}:${PRIORITY_RANK[task.priority] ?? PRIORITY_RANK.normal}`;
      groups.set(key, [...(groups.get(key) ?? []), task]);
    }
    for (const group of groups.values()) await this.enqueueGroup(group);
  }

  private async enqueueGroup(group: QueueableTask[]): Promise<void> {
    const { brand, priority } = group[0];
    const first = await this.fair.reserveTags(brand, PRIORITY_RANK[priority] ?? PRIORITY_RANK.normal, group.length);
    const now = new Date();
    const tagged = group.map((task, i) => ({ task, fairTag: first + i, due: !task.scheduled_for || task.scheduled_for <= now }));
    const due = tagged.filter((t) => t.due);
    const lifecycle = this.deps.lifecycle;
    const entries = due.length === 0 || (await lifecycle.hasAwaiting(brand)) ? 0 : Math.min(due.length, lifecycle.runningLimitPerBrand);
    const queued = [...tagged.filter((t) => !t.due), ...due.slice(0, entries)];
    for (let i = 0; i < queued.length; i += SAVE_PARALLELISM) {
      await Promise.all(queued.slice(i, i + SAVE_PARALLELISM).map((t) => this.saveRun(t.task, t.fairTag)));
    }
    await lifecycle.park(due.slice(entries));
  }

  private async saveRun(task: QueueableTask, tag: number): Promise<void> {
    const rank = PRIORITY_RANK[task.priority] ?? PRIORITY_RANK.normal;
    const job = this.agendaInstance().create<RunJobData>(RUN_TASK_JOB, { task_id: task.task_id, rank, tag });
    job.priority(FairQueue.agendaPriority(rank, tag));
    job.schedule(task.scheduled_for && task.scheduled_for > new Date() ? task.scheduled_for : new Date());
    await job.save();
  }

  /** Stops a run in this process at once (the poll would find it within cancelPollMs anyway). */
  abortLocally(taskId: string): void {
    this.running.get(taskId)?.controller.abort(new TaskStoppedError("cancelled", "The task was cancelled"));
  }

  /**
   * Stops the runs whose task no longer belongs to them: cancelled or deleted (by any process), or
   * taken over by another worker (its run token replaced).
   */
  private async abortCancelled(): Promise<void> {
    if (this.running.size === 0) return;
    // Only runs registered before the query: a run claimed meanwhile would look unowned in its answer.
    const runs = [...this.running.values()];
    try {
      const current = await allBrands(
        this.tasks.find({ task_id: { $in: runs.map((r) => r.task.task_id) } }, { task_id: 1, status: 1, run_token: 1 }).lean(),
      );
      const owned = new Set(current.filter((t) => t.status === "running").map((t) => `${t.task_id}:${t.run_token}`));
      for (const run of runs) {
        if (!owned.has(`${run.task.task_id}:${run.token}`)) run.controller.abort(new TaskStoppedError("cancelled", "The task was cancelled"));
      }
    } catch (err) {
      this.deps.logger.warn({ err }, "could not check for cancelled tasks");
    }
  }

  private async latestCheckpoint(task: Task): Promise<Record<string, unknown> | null> {
    if (!task.persistent_job?.can_resume) return null;
    const latest = await this.checkpoints.findOne({ brand: task.brand, task_id: task.task_id }).sort({ sequence: -1 }).lean();
    return (latest?.state as Record<string, unknown> | undefined) ?? null;
  }

  async execute(taskId: string, job?: Job<RunJobData>): Promise<void> {
    const token = randomUUID();
    const tag = job?.attrs.data.tag ?? null;
    const task = await this.deps.lifecycle.claim(taskId, token, this.workerId, tag);
    if (!task) return;
    if (tag !== null && job?.attrs.data.rank !== undefined) await this.fair.advance(job.attrs.data.rank, tag).catch(() => undefined);
    // A run longer than Agenda's lock lifetime would be dropped by Agenda (and its slot given away).
    const keepAlive = job ? setInterval(() => void job.touch().catch(() => undefined), LOCK_LIFETIME_MS / 3) : null;
    const logger = this.deps.logger.child({ task_id: task.task_id, task_type: task.task_type });
    const run: RunState = { task, token, workerId: this.workerId, controller: new AbortController(), costUsd: 0, checkpointed: task.persistent_job !== null };
    this.running.set(task.task_id, run);
    const startedAt = Date.now();
    const memory = new PeakMemory();
    const timeout = setTimeout(
      () => run.controller.abort(new TaskStoppedError("timeout", `Task timed out after ${task.timeout_minutes} minutes`)),
      task.timeout_minutes * 60_000,
    );
    try {
      const definition = this.deps.registry.get(task.task_type);
      if (!definition) throw new PermanentTaskError(`No handler for task type '${task.task_type}'`);
      const resumeFrom = await this.latestCheckpoint(task);
      const ctx = createTaskContext(run, resumeFrom, {
        lifecycle: this.deps.lifecycle,
        checkpoints: this.checkpoints,
        logger,
        progressThrottleMs: this.deps.options.progressThrottleMs,
      });
      const result = await untilStopped(definition.handler(ctx), run.controller.signal);
      await this.complete(run, result ?? {}, this.metrics(run, startedAt, memory));
    } catch (err) {
      await this.fail(run, err, this.metrics(run, startedAt, memory), logger);
    } finally {
      clearTimeout(timeout);
      if (keepAlive) clearInterval(keepAlive);
      memory.stop();
      this.running.delete(task.task_id);
    }
  }

  private metrics(run: RunState, startedAt: number, memory: PeakMemory) {
    return {
      execution_time_ms: Date.now() - startedAt,
      memory_usage_mb: memory.peakMb(),
      cost_usd: Math.round(run.costUsd * 1e6) / 1e6,
      recorded_at: new Date(),
    };
  }

  private fence(run: RunState): RunFence {
    return { _id: run.task._id, brand: run.task.brand, run_token: run.token };
  }

  private async complete(run: RunState, result: Record<string, unknown>, metrics: object): Promise<void> {
    const set: Record<string, unknown> = {
      result_data: result,
      progress_percentage: 100,
      error_message: null,
      error_details: null,
      metrics,
      run_token: null,
    };
    if (run.checkpointed) Object.assign(set, { "persistent_job.state": "completed", "persistent_job.can_resume": false, "persistent_job.progress_percentage": 100 });
    await this.deps.lifecycle.complete(this.fence(run), set);
  }

  /** A run that ended without a result; the lifecycle queues it again when it goes back to pending. */
  private async fail(run: RunState, err: unknown, metrics: object, logger: Logger): Promise<void> {
    const lifecycle = this.deps.lifecycle;
    if (err instanceof TaskWaiting) {
      await lifecycle.wait(this.fence(run), err.taskId, { metrics, progress_message: err.message });
      return;
    }
    if (err instanceof TaskStoppedError && err.reason === "cancelled") {
      // Only a cancelled task takes the metrics of its stopped run (a deleted one is gone, a taken-over one is another run's).
      await lifecycle.recordStoppedRun(this.fence(run), { metrics });
      return;
    }
    if (err instanceof TaskStoppedError && err.reason === "shutdown") {
      // A checkpointed task resumes from its checkpoint, any other starts again.
      const now = new Date();
      const resumed = run.checkpointed
        ? { "persistent_job.state": "resumed", "persistent_job.interrupted_at": now, "persistent_job.resumed_at": now }
        : {};
      await lifecycle.requeue(this.fence(run), { scheduled_for: null, metrics, ...resumed }, run.checkpointed ? { "persistent_job.resume_count": 1 } : undefined);
      return;
    }
    const { message, details } = describeError(err);
    const outcome = await lifecycle.failOrRetry(run.task, this.fence(run), {
      kind: err instanceof PermanentTaskError ? "permanent" : "error",
      error_message: message,
      error_details: details,
      set: { metrics },
      setIfFailed: run.checkpointed ? { "persistent_job.state": "failed" } : {},
    });
    if (outcome?.outcome === "retried") logger.warn({ err: message, retry_at: outcome.task.scheduled_for }, "task failed, retrying");
    else logger.warn({ err: message }, "task failed");
  }
}

/** Peak resident memory of this process while a run lasts (per process: runs share it). */
class PeakMemory {
  private peak = process.memoryUsage().rss;
  private readonly timer = setInterval(() => {
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
  }, 100);

  constructor() {
    this.timer.unref();
  }

  peakMb(): number {
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
    return Math.round((this.peak / (1024 * 1024)) * 10) / 10;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
