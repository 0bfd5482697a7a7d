import { randomBytes } from "node:crypto";
import type { Request } from "express";
import type { Logger } from "pino";
import { type BatchListQuery, type BatchStatus, type BatchSummary, type BatchView, type CreateBatchBody } from "../../../shared/batches.js";
import type { Page } from "../../../shared/common.js";
import { TASK_STATUSES, type TaskStatus } from "../../../shared/tasks.js";
import type { AccountService } from "../accounts/service.js";
import { brandFilter } from "../brands/scope.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { AppError, notFound, validationError } from "../http/errors.js";
import { skipOf, toPage } from "../http/pagination.js";
import { defaultPluginState } from "../plugin/view.js";
import type { ClaimAdmission, NewTask, TaskLifecycle, TaskStatusChanged, TasksBulkStatusChanged } from "../tasks/lifecycle/index.js";
import type { Task } from "../tasks/model.js";
import { applyCounterChange, changeOfBulk, changeOfCreated, changeOfDeleted, changeOfEvent, type CounterChange } from "./counters.js";
import { batchModel, type Batch, type BatchModel } from "./model.js";
import { BatchJobs, newJobTaskId, type BatchJobPlanner } from "./jobs.js";
import { summarize } from "./summary.js";
import { toBatchStatus, toBatchView } from "./view.js";
import type { Connection } from "mongoose";

export type { BatchJobPlanner, PlannedJob } from "./jobs.js";

/** What batches need from task execution: queue a server job's run, wake a seller's extension. */
export interface BatchDispatch {
  /** Many jobs at once, in order (the brand's share of running slots decides how many get a queue entry now). */
  enqueueMany(tasks: Array<Pick<Task, "task_id" | "brand" | "priority" | "scheduled_for">>): Promise<void>;
  wakeSeller(task: Task): void;
  isServerType(taskType: string): boolean;
  serverTypes(): string[];
  assertQueueRoom(brand: number, adding: number): Promise<void>;
}

export const batchNotFound = () => notFound("Batch not found");
const conflict = (detail: string, extra?: Record<string, unknown>) => new AppError(409, "CONFLICT", detail, { extra });

/** batch-YYYYMMDD-xxxxxx (UTC date, six base-36 characters). */
export function newBatchId(now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, "");
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const suffix = [...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join("");
  return `batch-${day}-${suffix}`;
}

const SORTS: Record<BatchListQuery["ordering"], Record<string, 1 | -1>> = {
  created_at: { created_at: 1, _id: 1 },
  "-created_at": { created_at: -1, _id: -1 },
  total_jobs: { total_jobs: 1, _id: 1 },
  "-total_jobs": { total_jobs: -1, _id: -1 },
  completed_at: { completed_at: 1, _id: 1 },
  "-completed_at": { completed_at: -1, _id: -1 },
};

/** What a job cancelled with its batch records. */
function cancelledJobFields(reason: string | null): { error_message: string } {
  return { error_message: reason ? `Batch cancelled: ${reason}` : "Batch cancelled" };
}

export class BatchService {
  readonly batches: BatchModel;
  private readonly jobs: BatchJobs;

  constructor(
    connection: Connection,
    private readonly lifecycle: TaskLifecycle,
    private readonly accounts: AccountService,
    private readonly dispatch: BatchDispatch,
    private readonly logger: Logger,
  ) {
    this.batches = batchModel(connection);
    this.jobs = new BatchJobs(lifecycle, dispatch, this.batches);
  }

  async init(): Promise<void> {
    await this.batches.init();
  }

  /** Batches of `taskType` have their jobs planned by `planner`. */
  usePlanner(taskType: string, planner: BatchJobPlanner): void {
    this.jobs.usePlanner(taskType, planner);
  }

  /** Subscribes the counters, the claim gate and billing to the lifecycle. */
  listen(): void {
    const events = this.lifecycle.events;
    events.on("task.status_changed", (e) => this.onStatusChanged(e));
    events.on("tasks.bulk_status_changed", (e) => this.onBulk(e));
    events.on("tasks.created", async ({ brand, batch_id, tasks }) => {
      if (batch_id) await this.apply(brand, batch_id, changeOfCreated(tasks.length));
    });
    events.on("task.deleted", async ({ task }) => {
      if (task.batch_id) await this.apply(task.brand, task.batch_id, changeOfDeleted(task));
    });
    this.lifecycle.useClaimGate((task) => this.admit(task.brand, task.batch_id!));
    this.accounts.useInUseCheck(async (brand, accountId) => (await this.batches.countDocuments({ brand, account_id: accountId, is_active: true })) > 0);
    this.accounts.onReactivated((account) => this.resumeHeldByAccount(account.brand, account.account_id));
  }

  // -------------------------------------------------------------------------------------------
  // Reads
  // -------------------------------------------------------------------------------------------

  async find(brand: BrandAccess | number, batchId: string): Promise<Batch> {
    const batch = await this.batches.findOne({ brand: typeof brand === "number" ? brand : brand.brandId, batch_id: batchId }).lean<Batch>();
    if (!batch) throw batchNotFound();
    return batch;
  }

  async get(brand: BrandAccess, batchId: string): Promise<BatchView> {
    return toBatchView(await this.find(brand, batchId));
  }

  /** One document read by its unique id: the same cost for 10 jobs or 100,000. */
  async status(brand: BrandAccess, batchId: string): Promise<BatchStatus> {
    return toBatchStatus(await this.find(brand, batchId));
  }

  async summary(brand: BrandAccess, batchId: string): Promise<BatchSummary> {
    return summarize(this.lifecycle.tasks, await this.find(brand, batchId));
  }

  async list(req: Request, brand: BrandAccess, query: BatchListQuery): Promise<Page<BatchView>> {
    const filter = brandFilter(brand, {
      ...(query.is_active !== undefined ? { is_active: query.is_active } : {}),
      ...(query.account_id ? { account_id: query.account_id } : {}),
      ...(query.state ? { state: query.state } : {}),
      ...(query.task_type ? { task_type: query.task_type } : {}),
    });
    const [count, rows] = await Promise.all([
      this.batches.countDocuments(filter),
      this.batches.find(filter).sort(SORTS[query.ordering]).skip(skipOf(query)).limit(query.page_size).lean<Batch[]>(),
    ]);
    return toPage(req, query, count, rows.map(toBatchView));
  }

  // -------------------------------------------------------------------------------------------
  // Create
  // -------------------------------------------------------------------------------------------

  async create(principal: Principal, brand: BrandAccess, body: CreateBatchBody): Promise<BatchView> {
    const account = await this.accounts.accounts.findOne(brandFilter(brand, { account_id: body.account_id })).lean();
    if (!account) throw validationError({ account_id: [`Unknown account '${body.account_id}'`] });
    if (account.status !== "active") throw conflict(`The account '${body.account_id}' is suspended`, { account_status: account.status });
    const executor = this.jobs.executorOf(body.task_type);
    const contexts = (body.jobs?.map((j) => j.context_data) ?? body.product_ids!.map((product_id) => ({ product_id }))).map((own) => ({
      ...body.context_data,
      ...own,
    }));
    const jobs = await this.jobs.plan(brand.brandId, body.task_type, executor, contexts);
    // Before the batch is stored: a refused batch leaves nothing behind.
    await this.dispatch.assertQueueRoom(brand.brandId, jobs.length);
    const batchId = newBatchId();
    const scheduledFor = body.scheduled_for ? new Date(body.scheduled_for) : null;
    await this.batches.create({
      brand: brand.brandId,
      batch_id: batchId,
      account_id: body.account_id,
      created_by: principal.userId,
      name: body.name,
      description: body.description,
      task_type: body.task_type,
      executor,
      priority: body.priority,
      concurrency: body.concurrency,
      scheduled_for: scheduledFor,
      cost_per_job: body.cost_per_job,
    });
    const common = {
      brand: brand.brandId,
      created_by: principal.userId,
      task_type: body.task_type,
      priority: body.priority,
      description: body.description || body.name,
      scheduled_for: scheduledFor,
      max_retries: body.max_retries,
      timeout_minutes: body.timeout_minutes,
      batch_id: batchId,
      account_id: body.account_id,
    };
    const extension =
      executor === "extension"
        ? { executor: "extension" as const, owner_user_id: principal.userId, plugin: defaultPluginState() }
        : { executor: "server" as const };
    const inputs: NewTask[] = jobs.map((job) => ({
      ...common,
      ...extension,
      ...(job.description ? { description: job.description } : {}),
      ...(job.exclusive_key ? { exclusive_key: job.exclusive_key, exclusive_slot: job.exclusive_key } : {}),
      task_id: newJobTaskId(),
      context_data: job.context_data,
    }));
    await this.jobs.store(brand.brandId, batchId, body.task_type, inputs);
    const batch = await this.find(brand, batchId);
    await this.dispatchPending(batch);
    return toBatchView(await this.find(brand, batchId));
  }

  // -------------------------------------------------------------------------------------------
  // Pause, resume, cancel: bulk transitions of the lifecycle
  // -------------------------------------------------------------------------------------------

  async pause(brand: BrandAccess, batchId: string): Promise<{ suspended: number }> {
    const batch = await this.find(brand, batchId);
    const marked = await this.batches.updateOne(brandFilter(brand, { batch_id: batchId, state: "active" }), { $set: { state: "paused", paused_at: new Date() } });
    if (marked.matchedCount === 0) throw conflict(`Cannot pause a ${batch.state} batch`, { state: batch.state, allowed_states: ["active"] });
    const counts = await this.lifecycle.transitionMany("suspend", { brand: brand.brandId, batch_id: batchId }, ["pending"], "suspended");
    return { suspended: counts.pending ?? 0 };
  }

  async resume(brand: BrandAccess, batchId: string): Promise<{ resumed: number }> {
    const batch = await this.find(brand, batchId);
    const marked = await this.batches.updateOne(brandFilter(brand, { batch_id: batchId, state: "paused" }), { $set: { state: "active", paused_at: null } });
    if (marked.matchedCount === 0) throw conflict(`Cannot resume a ${batch.state} batch`, { state: batch.state, allowed_states: ["paused"] });
    const account = await this.accounts.accounts.findOne({ brand: brand.brandId, account_id: batch.account_id }).lean();
    // Jobs held because the account cannot pay stay held until it is topped up.
    if (account && !this.accounts.canRunMore(account, batch.cost_per_job)) return { resumed: 0 };
    const counts = await this.lifecycle.transitionMany("resume", { brand: brand.brandId, batch_id: batchId }, ["suspended"], "pending");
    await this.dispatchPending(await this.find(brand, batchId));
    return { resumed: counts.suspended ?? 0 };
  }

  async cancel(brand: BrandAccess, batchId: string, reason: string | null): Promise<void> {
    const batch = await this.find(brand, batchId);
    const now = new Date();
    const marked = await this.batches.updateOne(brandFilter(brand, { batch_id: batchId, state: { $in: ["active", "paused"] } }), {
      $set: { state: "cancelled", is_active: false, completed_at: now, cancellation_reason: reason },
    });
    if (marked.matchedCount === 0) throw conflict(`Cannot cancel a ${batch.state} batch`, { state: batch.state, allowed_states: ["active", "paused"] });
    // Running jobs are stopped by their runner (it finds them cancelled) or lose their lease. A job
    // the bulk pass misses (claimed, or back in the queue, while it runs) is cancelled by the claim
    // gate or by onStatusChanged: the batch is marked cancelled first.
    await this.lifecycle.transitionMany("cancel", { brand: brand.brandId, batch_id: batchId }, ["pending", "suspended", "running"], "cancelled", {
      cancelled_at: now,
      completed_at: now,
      ...cancelledJobFields(reason),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Listeners
  // -------------------------------------------------------------------------------------------

  private async apply(brand: number, batchId: string, change: CounterChange): Promise<Batch | null> {
    return applyCounterChange(this.batches, brand, batchId, change);
  }

  private async onStatusChanged(event: TaskStatusChanged): Promise<void> {
    const task = event.task;
    if (!task.batch_id) return;
    const batch = await this.apply(task.brand, task.batch_id, changeOfEvent(event));
    if (!batch) return;
    // Back in the queue (a retry, a hand-back) after its batch was cancelled: it does not run again.
    if (event.to === "pending" && batch.state === "cancelled") {
      await this.lifecycle.cancel(task, new Date(), cancelledJobFields(batch.cancellation_reason));
      return;
    }
    if (event.to === "completed") await this.bill(batch, task);
    if (event.from === "running" && batch.concurrency !== null) await this.dispatchPending(batch);
  }

  private async onBulk(event: TasksBulkStatusChanged): Promise<void> {
    await this.apply(event.brand, event.batch_id, changeOfBulk(event));
  }

  /** Takes the job's cost from the account; when a credits account cannot pay, its batches' remaining jobs are held. */
  private async bill(batch: Batch, task: Task): Promise<void> {
    if (!task.account_id || batch.cost_per_job <= 0) return;
    if (await this.accounts.charge(batch.brand, task.account_id, batch.cost_per_job)) return;
    await this.batches.updateOne({ brand: batch.brand, batch_id: batch.batch_id }, { $inc: { unpaid_jobs: 1 } });
    await this.holdForAccount(batch.brand, task.account_id);
  }

  /** Suspends the pending jobs of the account's active batches (the balance cannot pay for them). */
  private async holdForAccount(brand: number, accountId: string): Promise<void> {
    const active = await this.batches.find({ brand, account_id: accountId, state: "active" }, { batch_id: 1 }).lean<Batch[]>();
    for (const b of active) await this.lifecycle.transitionMany("suspend", { brand, batch_id: b.batch_id }, ["pending"], "suspended");
  }

  /** After a top-up: the held jobs of the account's active (not paused) batches are queued again. */
  private async resumeHeldByAccount(brand: number, accountId: string): Promise<void> {
    const account = await this.accounts.accounts.findOne({ brand, account_id: accountId }).lean();
    if (!account || !this.accounts.canRunMore(account)) return;
    const active = await this.batches.find({ brand, account_id: accountId, state: "active", suspended_jobs: { $gt: 0 } }).lean<Batch[]>();
    for (const b of active) {
      await this.lifecycle.transitionMany("resume", { brand, batch_id: b.batch_id }, ["suspended"], "pending");
      await this.dispatchPending(await this.find(brand, b.batch_id));
    }
  }

  /**
   * The claim gate: a job of a paused batch, or of an account that cannot pay, is suspended instead
   * of claimed; with a concurrency, a run slot is reserved with one conditional increment (O(1)),
   * or the job is held until a running job of the batch frees one.
   */
  private async admit(brand: number, batchId: string): Promise<ClaimAdmission> {
    const batch = await this.batches
      .findOne({ brand, batch_id: batchId }, { state: 1, concurrency: 1, account_id: 1, cost_per_job: 1, cancellation_reason: 1 })
      .lean<Batch>();
    if (!batch) return { verdict: "claim" };
    if (batch.state === "cancelled") return { verdict: "cancel", cancelSet: cancelledJobFields(batch.cancellation_reason) };
    if (batch.state === "paused") return { verdict: "suspend" };
    if (batch.cost_per_job > 0) {
      const account = await this.accounts.accounts.findOne({ brand, account_id: batch.account_id }, { status: 1, billing_type: 1, balance: 1 }).lean();
      if (account && !this.accounts.canRunMore(account, batch.cost_per_job)) {
        // Every pending job of the account waits for a top-up, not just the one being claimed.
        await this.holdForAccount(brand, batch.account_id);
        return { verdict: "suspend" };
      }
    }
    if (batch.concurrency === null) return { verdict: "claim" };
    const reserved = await this.batches.updateOne(
      { brand, batch_id: batchId, running_slots: { $lt: batch.concurrency } },
      { $inc: { running_slots: 1 } },
    );
    if (reserved.matchedCount === 0) return { verdict: "hold" };
    return {
      verdict: "claim",
      release: async () => {
        await this.batches.updateOne({ brand, batch_id: batchId, running_slots: { $gt: 0 } }, { $inc: { running_slots: -1 } });
      },
    };
  }

  /**
   * Offers the batch's pending jobs to whoever runs them: the seller's extension is woken; server
   * jobs get their queue entry — all of them, or as many as the concurrency has free slots.
   */
  private async dispatchPending(batch: Batch): Promise<void> {
    if (batch.state !== "active" || batch.pending_jobs === 0) return;
    const filter = { brand: batch.brand, batch_id: batch.batch_id, status: "pending" as TaskStatus };
    if (batch.executor === "extension") {
      const one = await this.lifecycle.tasks.findOne(filter).lean<Task>();
      if (one) this.dispatch.wakeSeller(one);
      return;
    }
    const free = batch.concurrency === null ? batch.pending_jobs : Math.max(0, batch.concurrency - batch.running_slots);
    if (free === 0) return;
    const rows = await this.lifecycle.tasks
      .find(filter, { task_id: 1, brand: 1, priority: 1, scheduled_for: 1 })
      .sort({ priority_rank: -1, id: 1 })
      .limit(free)
      .lean<Task[]>();
    await this.dispatch.enqueueMany(rows);
  }

  /** Jobs per status of one batch, counted (the drift check and the summary compare it with the counters). */
  async countJobs(brand: number, batchId: string): Promise<Record<TaskStatus, number>> {
    const rows = await this.lifecycle.tasks.aggregate<{ _id: TaskStatus; n: number }>([
      { $match: { brand, batch_id: batchId } },
      { $group: { _id: "$status", n: { $sum: 1 } } },
    ]);
    const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    for (const row of rows) counts[row._id] = row.n;
    return counts;
  }
}

