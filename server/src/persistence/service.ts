import type { Request } from "express";
import type { Connection } from "mongoose";
import type { Page, PageQuery } from "../../../shared/common.js";
import type { CheckpointListQuery, CheckpointView, PersistentJobView, ResumeJobResponse } from "../../../shared/persistence.js";
import { brandFilter } from "../brands/scope.js";
import type { BrandAccess } from "../http/context.js";
import { invalidOperation } from "../http/errors.js";
import { skipOf, toPage } from "../http/pagination.js";
import { RESUMABLE_JOB } from "../tasks/filters.js";
import { TRANSITIONS, type TaskLifecycle } from "../tasks/lifecycle/index.js";
import type { Task, TaskModel } from "../tasks/model.js";
import { taskNotFound } from "../tasks/service.js";
import { persistentJobSummary } from "../tasks/serialize.js";
import { checkpointModel, type Checkpoint, type CheckpointModel } from "../tasks/executor/checkpoint-model.js";

function toCheckpointView(c: Checkpoint): CheckpointView {
  return {
    task_id: c.task_id,
    sequence: c.sequence,
    state: c.state ?? {},
    progress_percentage: c.progress_percentage ?? 0,
    worker_id: c.worker_id ?? null,
    created_at: c.created_at.toISOString(),
  };
}

/** Tasks that checkpoint their work: listing, checkpoints, and resuming an interrupted one. */
export class PersistenceService {
  private readonly tasks: TaskModel;
  private readonly checkpoints: CheckpointModel;

  constructor(
    connection: Connection,
    private readonly lifecycle: TaskLifecycle,
  ) {
    this.tasks = lifecycle.tasks;
    this.checkpoints = checkpointModel(connection);
  }

  private async view(brand: BrandAccess, tasks: Task[]): Promise<PersistentJobView[]> {
    const latest = await this.checkpoints.aggregate<{ _id: string; doc: Checkpoint }>([
      { $match: { brand: brand.brandId, task_id: { $in: tasks.map((t) => t.task_id) } } },
      { $sort: { sequence: -1 } },
      { $group: { _id: "$task_id", doc: { $first: "$$ROOT" } } },
    ]);
    const byTask = new Map(latest.map((l) => [l._id, toCheckpointView(l.doc)]));
    return tasks.map((t) => ({
      id: t.id,
      task_id: t.task_id,
      task_type: t.task_type,
      status: t.status,
      ...persistentJobSummary(t.persistent_job!),
      last_checkpoint: byTask.get(t.task_id) ?? null,
    }));
  }

  private async page(req: Request, brand: BrandAccess, query: PageQuery, filter: Record<string, unknown>): Promise<Page<PersistentJobView>> {
    const scoped = brandFilter(brand, { persistent_job: { $ne: null }, ...filter });
    const [count, rows] = await Promise.all([
      this.tasks.countDocuments(scoped),
      this.tasks.find(scoped).sort({ "persistent_job.last_checkpoint_at": -1, id: -1 }).skip(skipOf(query)).limit(query.page_size).lean<Task[]>(),
    ]);
    return toPage(req, query, count, await this.view(brand, rows));
  }

  list(req: Request, brand: BrandAccess, query: PageQuery): Promise<Page<PersistentJobView>> {
    return this.page(req, brand, query, {});
  }

  /** Interrupted by a crash or a restart, with a checkpoint to continue from. */
  resumable(req: Request, brand: BrandAccess, query: PageQuery): Promise<Page<PersistentJobView>> {
    return this.page(req, brand, query, { ...RESUMABLE_JOB });
  }

  async get(brand: BrandAccess, id: string): Promise<PersistentJobView> {
    const task = await this.findJob(brand, id);
    const [view] = await this.view(brand, [task]);
    return view;
  }

  private async findJob(brand: BrandAccess, id: string): Promise<Task> {
    const key = /^\d+$/.test(id) ? { id: Number(id) } : { task_id: id };
    const task = await this.tasks.findOne(brandFilter(brand, { ...key, persistent_job: { $ne: null } })).lean<Task>();
    if (!task) throw taskNotFound();
    return task;
  }

  /** Queues the task again; its handler starts from the last checkpoint, not from scratch. */
  async resume(brand: BrandAccess, id: string): Promise<ResumeJobResponse> {
    const task = await this.findJob(brand, id);
    const pj = task.persistent_job!;
    const from: readonly string[] = TRANSITIONS.resumeFromCheckpoint.from;
    if (pj.state !== "interrupted" || !pj.can_resume || !from.includes(task.status)) {
      throw invalidOperation(`Cannot resume a ${task.status} job: only an interrupted job resumes from its checkpoint`, {
        current_status: task.status,
        allowed_statuses: [...from],
        state: pj.state,
        can_resume: pj.can_resume,
      });
    }
    // Queued again by the lifecycle's listeners; the handler starts from the last checkpoint.
    const updated = await this.lifecycle.resumeFromCheckpoint(task);
    if (!updated) throw invalidOperation("The job changed meanwhile; reload it and try again", { current_status: task.status });
    return {
      message: "Job resumed from its last checkpoint",
      task_id: updated.task_id,
      new_status: "pending",
      resumed_from_checkpoint: pj.checkpoint_count,
      progress_percentage: pj.progress_percentage,
    };
  }

  async listCheckpoints(req: Request, brand: BrandAccess, query: CheckpointListQuery): Promise<Page<CheckpointView>> {
    const filter = brandFilter(brand, query.task_id ? { task_id: query.task_id } : {});
    const [count, rows] = await Promise.all([
      this.checkpoints.countDocuments(filter),
      this.checkpoints.find(filter).sort({ created_at: -1, sequence: -1 }).skip(skipOf(query)).limit(query.page_size).lean<Checkpoint[]>(),
    ]);
    return toPage(req, query, count, rows.map(toCheckpointView));
  }
}
