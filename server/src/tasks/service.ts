import type { z } from "zod";
import { randomBytes } from "node:crypto";
import type { Request } from "express";
import type { Connection } from "mongoose";
import type { Page } from "../../../shared/common.js";
import {
  CANCELLABLE_STATUSES,
  RETRYABLE_STATUSES,
  TASK_PRIORITIES,
  TASK_STATUSES,
  type CancelTaskResponse,
  type CreateTaskBody,
  type QueueStatsResponse,
  type RetryTaskBody,
  type RetryTaskResponse,
  type TaskListQuery,
  type TaskView,
  type TypeStatsResponse,
  type UpdateTaskBody,
} from "../../../shared/tasks.js";
import { allBrands, brandFilter } from "../brands/scope.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { AppError, invalidOperation, permissionDenied } from "../http/errors.js";
import { skipOf, toPage } from "../http/pagination.js";
import { fieldErrorsOf } from "../http/validation.js";
import { NON_FIELD_ERRORS } from "../../../shared/errors.js";
import { checkpointModel } from "./executor/checkpoint-model.js";
import { takeExclusiveSlot } from "./exclusive.js";
import { taskListFilter, taskSort } from "./filters.js";
import type { TaskLifecycle } from "./lifecycle/index.js";
import { PRIORITY_RANK, type Task, type TaskModel } from "./model.js";
import { TaskSerializer } from "./serialize.js";
import { upgradeStoredTasks } from "./upgrade.js";

/** What the API needs from execution: queue a run again (new priority or time), stop a local run at once. */
export interface TaskQueue {
  enqueue(task: Pick<Task, "task_id" | "brand" | "priority" | "scheduled_for">): Promise<void>;
  abortLocally(taskId: string): void;
  /** Tasks one process runs at once (for estimates). */
  readonly concurrency: number;
}

/** Which task types exist and who runs them. */
export interface TaskTypeCatalog {
  names(): string[];
  has(taskType: string): boolean;
  /** The type's context_data schema, when it declares one. */
  get?(taskType: string): { params?: z.ZodType } | undefined;
}

/** Task types run outside this server (vinted.* in the seller's extension), created by their own service. */
export interface ExternalTaskTypes {
  handles(taskType: string): boolean;
  names(): string[];
  create(principal: Principal, brand: BrandAccess, body: CreateTaskBody): Promise<Task>;
}

/** spec/task-core-api.md's permission error, for a task the caller may know exists but cannot reach here. */
export const TASK_PERMISSION_DENIED = "You do not have permission to access this task";

export const taskNotFound = () => new AppError(404, "TASK_NOT_FOUND", "Task not found or access denied");

function newTaskId(): string {
  return `task_${randomBytes(6).toString("hex")}`;
}

function startOfTodayUtc(): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Nothing more happens to a task in these states (unless it is retried): PUT/PATCH refuse them. */
const FINISHED_STATUSES = ["completed", "failed", "cancelled"] as const;

export class TaskService {
  readonly tasks: TaskModel;
  private readonly serializer: TaskSerializer;
  private external: ExternalTaskTypes | null = null;
  private memberBrandIds: ((userId: number) => Promise<number[]>) | null = null;

  constructor(
    private readonly connection: Connection,
    private readonly lifecycle: TaskLifecycle,
    private readonly queue: TaskQueue,
    private readonly catalog: TaskTypeCatalog,
  ) {
    this.tasks = lifecycle.tasks;
    this.serializer = new TaskSerializer(connection);
  }

  /** POST /tasks/ hands these types to their own service (which validates and stores them). */
  useExternalTaskTypes(external: ExternalTaskTypes): void {
    this.external = external;
  }

  async init(): Promise<void> {
    await Promise.all([this.tasks.init(), checkpointModel(this.connection).init()]);
    await upgradeStoredTasks(this.tasks);
  }

  /** Who belongs to which brand: lets a task outside the caller's brand be told apart from one that does not exist. */
  useMembership(memberBrandIds: (userId: number) => Promise<number[]>): void {
    this.memberBrandIds = memberBrandIds;
  }

  /**
   * `123` or `task_…`, within the brand. Outside it, 404 — another brand's task does not exist for
   * the caller — unless the caller may know it exists (they created it, or are a member of its
   * brand and only addressed another one): then the spec's 403 says so, with the brand to address
   * when the caller is one of its members.
   */
  async find(brand: BrandAccess, idOrTaskId: string, callerId?: number): Promise<Task> {
    const key = /^\d+$/.test(idOrTaskId) ? { id: Number(idOrTaskId) } : { task_id: idOrTaskId };
    const task = await this.tasks.findOne(brandFilter(brand, key)).lean<Task>();
    if (task) return task;
    if (callerId !== undefined) await this.refuseKnownForeignTask(key, callerId);
    throw taskNotFound();
  }

  private async refuseKnownForeignTask(key: Record<string, unknown>, callerId: number): Promise<void> {
    const foreign = await allBrands(this.tasks.findOne(key, { brand: 1, created_by: 1 }).lean<Pick<Task, "brand" | "created_by">>());
    if (!foreign) return;
    const member = this.memberBrandIds ? (await this.memberBrandIds(callerId)).includes(foreign.brand) : false;
    if (member) {
      throw new AppError(403, "PERMISSION_DENIED", TASK_PERMISSION_DENIED, {
        extra: { brand_id: foreign.brand, hint: `This task belongs to another of your brands: send X-Brand-ID: ${foreign.brand}` },
      });
    }
    if (foreign.created_by === callerId) throw permissionDenied(TASK_PERMISSION_DENIED);
  }

  async list(req: Request, brand: BrandAccess, query: TaskListQuery): Promise<Page<TaskView>> {
    const filter = brandFilter(brand, taskListFilter(query));
    const [count, rows] = await Promise.all([
      this.tasks.countDocuments(filter),
      this.tasks.find(filter).sort(taskSort(query.ordering)).skip(skipOf(query)).limit(query.page_size).lean<Task[]>(),
    ]);
    return toPage(req, query, count, await this.serializer.many(rows));
  }

  async get(brand: BrandAccess, id: string, callerId?: number): Promise<TaskView> {
    return this.serializer.one(await this.find(brand, id, callerId));
  }

  async create(principal: Principal, brand: BrandAccess, body: CreateTaskBody): Promise<TaskView> {
    if (this.external?.handles(body.task_type)) return this.serializer.one(await this.external.create(principal, brand, body));
    if (!this.catalog.has(body.task_type)) {
      const known = [...this.catalog.names(), ...(this.external?.names() ?? [])];
      throw new AppError(400, "VALIDATION_ERROR", "Validation failed", {
        field_errors: { task_type: [`Unknown task type '${body.task_type}'. Known types: ${known.join(", ")}`] },
        extra: { known_task_types: known },
      });
    }
    this.checkParams(body.task_type, body.context_data);
    // Queued by the lifecycle's listeners once stored.
    const task = await this.lifecycle.create({
      task_id: newTaskId(),
      brand: brand.brandId,
      created_by: principal.userId,
      task_type: body.task_type,
      priority: body.priority,
      description: body.description,
      context_data: body.context_data,
      scheduled_for: body.scheduled_for ? new Date(body.scheduled_for) : null,
      max_retries: body.max_retries,
      timeout_minutes: body.timeout_minutes,
    });
    return this.serializer.one(task);
  }

  /**
   * Creates and queues a server task for a brand and user without an HTTP principal (the periodic
   * scheduler). The caller has checked the type; a type unknown by then fails at run time.
   */
  async createInternal(
    input: Pick<Task, "brand" | "created_by" | "task_type" | "priority" | "description" | "context_data" | "scheduled_for" | "max_retries" | "timeout_minutes"> &
      Partial<Pick<Task, "is_periodic" | "periodic_task">>,
  ): Promise<Task> {
    return this.lifecycle.create({
      ...input,
      task_id: newTaskId(),
      is_periodic: input.is_periodic ?? false,
      periodic_task: input.periodic_task ?? null,
    });
  }

  /** A type's context_data is refused at creation (400, fields under context_data.*) rather than failing its run. */
  private checkParams(taskType: string, contextData: unknown): void {
    const schema = this.catalog.get?.(taskType)?.params;
    if (!schema) return;
    const result = schema.safeParse(contextData ?? {});
    if (result.success) return;
    const fieldErrors = Object.fromEntries(Object.entries(fieldErrorsOf(result.error)).map(([field, messages]) => [field === NON_FIELD_ERRORS ? "context_data" : `context_data.${field}`, messages]));
    throw new AppError(400, "VALIDATION_ERROR", "Validation failed", { field_errors: fieldErrors });
  }

  /** PATCH (partial) or PUT (the modifiable fields); execution fields can change only while pending. */
  async update(brand: BrandAccess, id: string, body: UpdateTaskBody, callerId?: number): Promise<TaskView> {
    const task = await this.find(brand, id, callerId);
    if ((FINISHED_STATUSES as readonly string[]).includes(task.status)) {
      throw invalidOperation(`Cannot modify a ${task.status} task: it is finished (retry it to run it again, with new_priority if needed)`, {
        current_status: task.status,
        allowed_statuses: TASK_STATUSES.filter((s) => !(FINISHED_STATUSES as readonly string[]).includes(s)),
      });
    }
    const executionFields = (["context_data", "scheduled_for", "timeout_minutes"] as const).filter((f) => body[f] !== undefined);
    if (executionFields.length && task.status !== "pending") {
      throw invalidOperation(`Cannot change ${executionFields.join(", ")} of a ${task.status} task`, {
        current_status: task.status,
        allowed_statuses: ["pending"],
      });
    }
    if (body.context_data !== undefined) this.checkParams(task.task_type, body.context_data);
    const set: Record<string, unknown> = { ...body };
    // A new word takes its level; the same word keeps a finer level the plugin API gave.
    if (body.priority && body.priority !== task.priority) set.priority_rank = PRIORITY_RANK[body.priority];
    if (body.scheduled_for !== undefined) set.scheduled_for = body.scheduled_for ? new Date(body.scheduled_for) : null;
    const updated = await this.tasks
      .findOneAndUpdate(brandFilter(brand, { _id: task._id }), { $set: set }, { returnDocument: "after" })
      .lean<Task>();
    if (!updated) throw taskNotFound();
    // A new priority or time needs a new queue entry; the old one finds the task not due and does nothing.
    if (updated.status === "pending" && updated.executor === "server" && (body.priority || body.scheduled_for !== undefined)) await this.queue.enqueue(updated);
    return this.serializer.one(updated);
  }

  /** Deletes the task; a running one is cancelled first, so its run stops and writes nothing more. */
  async remove(brand: BrandAccess, id: string, callerId?: number): Promise<void> {
    const task = await this.find(brand, id, callerId);
    if (task.status === "running") {
      await this.lifecycle.cancel(task);
      this.queue.abortLocally(task.task_id);
    }
    await this.lifecycle.remove(task);
    await checkpointModel(this.connection).deleteMany(brandFilter(brand, { task_id: task.task_id }));
  }

  async retry(brand: BrandAccess, id: string, body: RetryTaskBody, callerId?: number): Promise<RetryTaskResponse> {
    const task = await this.find(brand, id, callerId);
    if (!(RETRYABLE_STATUSES as readonly string[]).includes(task.status)) {
      throw invalidOperation(`Cannot retry a ${task.status} task`, { current_status: task.status, allowed_statuses: [...RETRYABLE_STATUSES] });
    }
    if (task.retry_count >= task.max_retries) {
      throw invalidOperation(`Maximum retries reached (${task.retry_count}/${task.max_retries})`, {
        current_status: task.status,
        retry_count: task.retry_count,
        max_retries: task.max_retries,
      });
    }
    const set: Record<string, unknown> = {};
    if (body.reset_progress) Object.assign(set, { progress_percentage: 0, progress_message: null });
    // Progress reset means starting over: the job's checkpoints go, so its next run starts from scratch.
    if (body.reset_progress && task.persistent_job) {
      Object.assign(set, { "persistent_job.can_resume": false, "persistent_job.checkpoint_count": 0, "persistent_job.last_checkpoint_at": null, "persistent_job.progress_percentage": 0 });
      // Before the retry queues it: a failed or cancelled task has no run writing checkpoints meanwhile.
      await checkpointModel(this.connection).deleteMany(brandFilter(brand, { task_id: task.task_id }));
    }
    if (body.clear_errors) Object.assign(set, { error_message: null, error_details: null });
    if (body.new_priority && body.new_priority !== task.priority) Object.assign(set, { priority: body.new_priority, priority_rank: PRIORITY_RANK[body.new_priority] });
    // Queued again (server) or offered to the seller's extension by the lifecycle's listeners.
    const updated = await this.retryOwningItsKey(task, set);
    if (!updated) throw invalidOperation("The task changed meanwhile; reload it and try again", { current_status: task.status });
    return {
      message: "Task queued for retry",
      task_id: updated.task_id,
      new_status: "pending",
      retry_count: updated.retry_count,
      max_retries: updated.max_retries,
      estimated_start: (await this.estimateStart(brand, updated)).toISOString(),
    };
  }

  /** A task with an exclusive key takes it back in the retry's own write, unless another live task holds it. */
  private async retryOwningItsKey(task: Task, set: Record<string, unknown>): Promise<Task | null> {
    const key = task.exclusive_key;
    if (!key) return this.lifecycle.retryByUser(task, set);
    const outcome = await takeExclusiveSlot(this.tasks, task.brand, key, () => this.lifecycle.retryByUser(task, { ...set, exclusive_slot: key }));
    if (outcome.taken) return outcome.value;
    const holder = outcome.holder;
    throw invalidOperation(`Cannot retry: task ${holder?.task_id ?? "(another)"} (${holder?.status ?? "live"}) is doing the same work`, {
      current_status: task.status,
      conflicting_task_id: holder?.task_id ?? null,
    });
  }

  /** Now, or later when tasks of equal or higher priority are queued ahead (by their recent duration). */
  private async estimateStart(brand: BrandAccess, task: Task): Promise<Date> {
    const [ahead, recent] = await Promise.all([
      this.tasks.countDocuments(
        brandFilter(brand, { status: "pending" as const, executor: "server" as const, priority_rank: { $gte: task.priority_rank }, _id: { $ne: task._id } }),
      ),
      this.tasks.find(brandFilter(brand, { status: "completed" as const, "metrics.execution_time_ms": { $ne: null } }), { metrics: 1 }).sort({ completed_at: -1 }).limit(20).lean<Task[]>(),
    ]);
    const avgMs = recent.length ? recent.reduce((n, t) => n + (t.metrics?.execution_time_ms ?? 0), 0) / recent.length : 0;
    const waitMs = Math.ceil(ahead / Math.max(1, this.queue.concurrency)) * avgMs;
    return new Date(Date.now() + waitMs);
  }

  async cancel(brand: BrandAccess, id: string, callerId?: number): Promise<CancelTaskResponse> {
    const task = await this.find(brand, id, callerId);
    if (!(CANCELLABLE_STATUSES as readonly string[]).includes(task.status)) {
      throw invalidOperation(`Cannot cancel a ${task.status} task`, { current_status: task.status, allowed_statuses: [...CANCELLABLE_STATUSES] });
    }
    const cancelledAt = new Date();
    const updated = await this.lifecycle.cancel(task, cancelledAt);
    if (!updated) throw invalidOperation("The task changed meanwhile; reload it and try again", { current_status: task.status });
    this.queue.abortLocally(task.task_id);
    return { message: "Task cancelled successfully", task_id: task.task_id, previous_status: task.status, cancelled_at: cancelledAt.toISOString() };
  }

  async queueStats(brand: BrandAccess): Promise<QueueStatsResponse> {
    const today = startOfTodayUtc();
    const rows = await this.tasks.aggregate<{ _id: { priority: string; status: string }; count: number; today: number; avg_ms: number | null }>([
      { $match: { brand: brand.brandId } },
      {
        $group: {
          _id: { priority: "$priority", status: "$status" },
          count: { $sum: 1 },
          today: { $sum: { $cond: [{ $gte: ["$created_at", today] }, 1, 0] } },
          avg_ms: { $avg: "$metrics.execution_time_ms" },
        },
      },
    ]);
    const queues = Object.fromEntries(TASK_PRIORITIES.map((p) => [p, { pending: 0, running: 0, total_today: 0 }])) as QueueStatsResponse["queues"];
    const statusDistribution = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as QueueStatsResponse["status_distribution"];
    const durations = Object.fromEntries(TASK_PRIORITIES.map((p) => [p, { total: 0, n: 0 }]));
    let total = 0;
    for (const row of rows) {
      const priority = row._id.priority as keyof typeof queues;
      const status = row._id.status as keyof typeof statusDistribution;
      total += row.count;
      statusDistribution[status] += row.count;
      queues[priority].total_today += row.today;
      if (status === "pending" || status === "running") queues[priority][status] += row.count;
      if (status === "completed" && row.avg_ms !== null) {
        durations[priority].total += row.avg_ms * row.count;
        durations[priority].n += row.count;
      }
    }
    const avg = Object.fromEntries(
      TASK_PRIORITIES.map((p) => [p, durations[p].n ? round1(durations[p].total / durations[p].n / 60_000) : 0]),
    ) as QueueStatsResponse["avg_processing_time_minutes"];
    return { total_tasks: total, queues, status_distribution: statusDistribution, avg_processing_time_minutes: avg };
  }

  async typeStats(brand: BrandAccess): Promise<TypeStatsResponse> {
    const rows = await this.tasks.aggregate<{ _id: string; total: number; completed: number; failed: number; avg_ms: number | null }>([
      { $match: { brand: brand.brandId } },
      {
        $group: {
          _id: "$task_type",
          total: { $sum: 1 },
          completed: { $sum: { $cond: [{ $eq: ["$status", "completed"] }, 1, 0] } },
          failed: { $sum: { $cond: [{ $eq: ["$status", "failed"] }, 1, 0] } },
          avg_ms: { $avg: { $cond: [{ $eq: ["$status", "completed"] }, "$metrics.execution_time_ms", null] } },
        },
      },
      { $sort: { _id: 1 } },
    ]);
    return {
      task_types: Object.fromEntries(
        rows.map((r) => [
          r._id,
          {
            total: r.total,
            completed: r.completed,
            failed: r.failed,
            avg_duration_minutes: r.avg_ms === null ? 0 : round1(r.avg_ms / 60_000),
            success_rate: r.completed + r.failed ? round1((r.completed / (r.completed + r.failed)) * 100) : 0,
          },
        ]),
      ),
    };
  }
}
