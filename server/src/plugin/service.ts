/**
 * Delivery of extension tasks to the seller's browser (shared/plugin.ts is the contract).
 *
 * Plugin tasks are tasks of the one collection: executor "extension", task_type "vinted.<action>",
 * owned by the seller (`owner_user_id`), in a brand (personal or X-Brand-ID), visible in /tasks/.
 *
 * Leases mirror the server runner's claims: one atomic findOneAndUpdate takes the seller's best
 * pending task (highest priority, then oldest), sets it running with a fresh token (`run_token`)
 * and `lease_expires_at` = now + the task's timeout. Heartbeats and the result must carry that token
 * and arrive before the lease ends; every write is fenced on (status running, token, lease not
 * expired), so a stale or late holder never changes anything. An expired lease puts the task back
 * (pending, `retry_count`+1) or fails it after `max_retries`; the next claim's `attempt` > 1 tells
 * the extension that a write's outcome is unknown and must be checked on Vinted first.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { z } from "zod";
import {
  PLUGIN_PARAMS_SCHEMAS,
  PLUGIN_RESULT_SCHEMAS,
  type CreatePluginTaskBody,
  type HeartbeatBody,
  type PluginAction,
  type PluginTaskView,
  type PollResponse,
  type TaskResultBody,
} from "../../../shared/plugin.js";
import type { CreateTaskBody } from "../../../shared/tasks.js";
import { allBrands } from "../brands/scope.js";
import type { PluginConfig } from "../config.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { tokenError } from "../auth/tokens.js";
import { AppError, validationError } from "../http/errors.js";
import { fieldErrorsOf } from "../http/validation.js";
import type { TaskLifecycle } from "../tasks/lifecycle/index.js";
import type { Task, TaskModel } from "../tasks/model.js";
import type { ExternalTaskTypes } from "../tasks/service.js";
import { taskNotFound } from "../tasks/service.js";
import type { VintedService } from "../vinted/service.js";
import { PollLimiter } from "./poll-limiter.js";
import {
  DEFAULT_PRIORITY,
  DEFAULT_TIMEOUT_SECONDS,
  MAX_TIMEOUT_SECONDS,
  MIN_TIMEOUT_SECONDS,
  PLUGIN_TASK_TYPES,
  PRIORITY_NUMBER,
  TASK_TYPE_PREFIX,
  actionOf,
  defaultPluginState,
  priorityWord,
  taskTypeOf,
  toClaimedTask,
  toPluginView,
} from "./view.js";
import { LongPollWaiters } from "./waiters.js";

type Json = Record<string, unknown>;

export const NO_PENDING_TASKS = { task_id: null, message: "No pending tasks" } as const;

/** Claim order: the hub's priority word, then the 0–10 number, then the oldest. */
const CLAIM_SORT = { priority_rank: -1, "plugin.priority": -1, created_at: 1, id: 1 } as const;

const SWEEP_BATCH = 500;

/** Extension tasks a claim may take now: pending and due, or running on a lease that has ended. */
function claimableFilter(now: Date) {
  return {
    executor: "extension" as const,
    $or: [
      { status: "pending" as const, $or: [{ scheduled_for: null }, { scheduled_for: { $lte: now } }] },
      { status: "running" as const, lease_expires_at: { $lt: now } },
    ],
  };
}

function newTaskId(): string {
  return `task_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
}

const leaseExpired = (detail: string, currentStatus: string) =>
  new AppError(409, "LEASE_EXPIRED", detail, { extra: { current_status: currentStatus } });

const resultAlreadyReceived = (currentStatus: string) =>
  new AppError(409, "RESULT_ALREADY_RECEIVED", "This task already has its result; another one is never accepted.", {
    extra: { current_status: currentStatus },
  });

function asJsonObject(value: unknown): Json | null {
  if (value === undefined || value === null) return null;
  return typeof value === "object" && !Array.isArray(value) ? (value as Json) : { value };
}

function digestOf(body: TaskResultBody): string {
  const { lease_token: _token, ...rest } = body;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex");
}

interface NewPluginTask {
  owner: number;
  brand: number;
  action: PluginAction;
  params: Json;
  priority: number;
  timeoutSeconds: number;
  description?: string;
  maxRetries?: number;
  scheduledFor?: Date | null;
}

export interface PluginServiceDeps {
  lifecycle: TaskLifecycle;
  vinted: VintedService;
  config: PluginConfig;
  logger: Logger;
  isDraining: () => boolean;
  /** A long-poll authenticated before a logout must not claim work after it. */
  isSessionOpen: (principal: Principal) => Promise<boolean>;
}

export class PluginService implements ExternalTaskTypes {
  readonly tasks: TaskModel;
  readonly limiter: PollLimiter;
  readonly waiters: LongPollWaiters;
  private readonly syncLocks = new Map<number, Promise<unknown>>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(private readonly deps: PluginServiceDeps) {
    this.tasks = deps.lifecycle.tasks;
    this.limiter = new PollLimiter(deps.config.pollIntervalMs, deps.config.pollToleranceMs);
    this.waiters = new LongPollWaiters({
      recheckMs: deps.config.longPollRecheckMs,
      isDraining: deps.isDraining,
      findReady: (userIds) => this.sellersWithWork(userIds),
      logger: deps.logger,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Background: the lease sweeper
  // -------------------------------------------------------------------------------------------

  start(): void {
    this.waiters.open();
    if (this.sweepTimer) return;
    this.sweepTimer = setInterval(() => void this.sweep(), this.deps.config.leaseSweepMs);
    this.sweepTimer.unref();
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.waiters.close();
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.expireLeases();
    } catch (err) {
      this.deps.logger.warn({ err }, "plugin lease sweep failed");
    } finally {
      this.sweeping = false;
    }
  }

  /** Puts back (or fails) every extension task whose lease has ended; one seller's only when given. */
  async expireLeases(ownerUserId?: number): Promise<number> {
    const filter: Record<string, unknown> = { executor: "extension", status: "running", lease_expires_at: { $lt: new Date() } };
    if (ownerUserId !== undefined) filter.owner_user_id = ownerUserId;
    const expired = await allBrands(this.tasks.find(filter).limit(SWEEP_BATCH).lean<Task[]>());
    let n = 0;
    for (const task of expired) if (await this.expireLease(task)) n++;
    return n;
  }

  /** Back to the queue (woken by the lifecycle's listeners) or failed, by the one retry rule. */
  private async expireLease(task: Task): Promise<boolean> {
    const outcome = await this.deps.lifecycle.expireLease(task);
    if (!outcome) return false;
    this.deps.logger.warn({ task_id: task.task_id, attempt: task.attempt, requeued: outcome.outcome === "retried" }, "extension lease expired");
    return true;
  }

  /** Of these sellers, those with a task to claim now. */
  private async sellersWithWork(userIds: number[]): Promise<number[]> {
    if (userIds.length === 0) return [];
    const ids = await allBrands(this.tasks.distinct("owner_user_id", { owner_user_id: { $in: userIds }, ...claimableFilter(new Date()) }));
    return ids.filter((id): id is number => typeof id === "number");
  }

  // -------------------------------------------------------------------------------------------
  // Creation
  // -------------------------------------------------------------------------------------------

  handles(taskType: string): boolean {
    return taskType.startsWith(TASK_TYPE_PREFIX);
  }

  names(): string[] {
    return [...PLUGIN_TASK_TYPES];
  }

  /** POST /api/plugin/tasks: the caller's extension will run it. */
  async createPluginTask(principal: Principal, brand: BrandAccess, body: CreatePluginTaskBody): Promise<PluginTaskView> {
    const task = await this.insert({
      owner: principal.userId,
      brand: brand.brandId,
      action: body.action,
      params: body.params as Json,
      priority: body.priority ?? DEFAULT_PRIORITY,
      timeoutSeconds: body.timeout ?? DEFAULT_TIMEOUT_SECONDS,
    });
    return toPluginView(task);
  }

  /** POST /tasks/ with task_type vinted.<action> (ExternalTaskTypes): context_data are the action's params. */
  async create(principal: Principal, brand: BrandAccess, body: CreateTaskBody): Promise<Task> {
    const action = actionOf(body.task_type);
    if (!action) {
      throw validationError({ task_type: [`Unknown extension task type '${body.task_type}'. Known: ${PLUGIN_TASK_TYPES.join(", ")}`] });
    }
    const schema: z.ZodType = PLUGIN_PARAMS_SCHEMAS[action];
    const parsed = schema.safeParse(body.context_data);
    if (!parsed.success) {
      const errors = fieldErrorsOf(parsed.error);
      throw validationError(Object.fromEntries(Object.entries(errors).map(([k, v]) => [k === "non_field_errors" ? "context_data" : `context_data.${k}`, v])));
    }
    const seconds = Math.round(body.timeout_minutes * 60);
    return this.insert({
      owner: principal.userId,
      brand: brand.brandId,
      action,
      params: parsed.data as Json,
      priority: PRIORITY_NUMBER[body.priority],
      timeoutSeconds: Math.min(MAX_TIMEOUT_SECONDS, Math.max(MIN_TIMEOUT_SECONDS, seconds)),
      description: body.description,
      maxRetries: body.max_retries,
      scheduledFor: body.scheduled_for ? new Date(body.scheduled_for) : null,
    });
  }

  private async insert(t: NewPluginTask): Promise<Task> {
    const word = priorityWord(t.priority);
    // The seller's held long-poll is woken by the lifecycle's listeners.
    return this.deps.lifecycle.create({
      task_id: newTaskId(),
      brand: t.brand,
      created_by: t.owner,
      owner_user_id: t.owner,
      task_type: taskTypeOf(t.action),
      executor: "extension",
      priority: word,
      description: t.description ?? "",
      context_data: t.params,
      timeout_minutes: t.timeoutSeconds / 60,
      scheduled_for: t.scheduledFor ?? null,
      ...(t.maxRetries !== undefined ? { max_retries: t.maxRetries } : {}),
      plugin: defaultPluginState(t.priority, t.timeoutSeconds),
    });
  }

  /** Listener of the lifecycle: a task of this seller's became claimable (created, retried, lease expired). */
  wakeSeller(task: Task): void {
    if (task.executor === "extension" && task.status === "pending" && task.owner_user_id !== null) this.waiters.notify(task.owner_user_id);
  }

  // -------------------------------------------------------------------------------------------
  // Poll (claim), long-poll
  // -------------------------------------------------------------------------------------------

  /**
   * GET /api/plugin/tasks[?wait=N]: the seller's next task, leased, or "No pending tasks" — at once,
   * or when one arrives within N seconds. `clientGone` stops the wait without claiming anything.
   */
  async poll(principal: Principal, waitSeconds: number, clientGone: AbortSignal): Promise<PollResponse> {
    const userId = principal.userId;
    const decision = this.limiter.take(userId);
    if (!decision.ok) {
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      throw new AppError(429, "RATE_LIMITED", `Polling too fast: at most one poll every ${this.deps.config.pollIntervalMs / 1000}s; retry in ${seconds}s.`, {
        headers: { "Retry-After": String(seconds) },
      });
    }
    const deadline = Date.now() + waitSeconds * 1000;
    const waiter = waitSeconds > 0 ? this.waiters.register(userId) : null;
    const onGone = () => waiter?.wake("closing");
    clientGone.addEventListener("abort", onGone);
    try {
      for (;;) {
        if (clientGone.aborted) return NO_PENDING_TASKS;
        const task = await this.claim(userId);
        if (task) {
          this.limiter.release(userId);
          return toClaimedTask(task);
        }
        const remaining = deadline - Date.now();
        if (!waiter || remaining <= 0) return NO_PENDING_TASKS;
        const reason = await waiter.next(remaining);
        if (reason === "closing") return NO_PENDING_TASKS;
        if (!(await this.deps.isSessionOpen(principal))) throw tokenError.revoked();
      }
    } finally {
      clientGone.removeEventListener("abort", onGone);
      if (waiter) this.waiters.unregister(waiter);
    }
  }

  /**
   * One atomic claim of the seller's best pending task, with a fresh lease. An empty poll — the
   * common case — costs one indexed read: the write runs only when something is there to claim
   * (expired leases found on the way are put back first, so no sweep is needed in between).
   */
  async claim(userId: number): Promise<Task | null> {
    const due = await allBrands(this.tasks.find({ owner_user_id: userId, ...claimableFilter(new Date()) }).limit(50).lean<Task[]>());
    if (due.length === 0) return null;
    let requeued = false;
    for (const task of due) if (task.status === "running" && (await this.expireLease(task)) && task.retry_count < task.max_retries) requeued = true;
    if (!requeued && !due.some((task) => task.status === "pending")) return null;
    return this.deps.lifecycle.claimLease(userId, randomUUID(), DEFAULT_TIMEOUT_SECONDS);
  }

  // -------------------------------------------------------------------------------------------
  // Heartbeat, result
  // -------------------------------------------------------------------------------------------

  private async findOwned(userId: number, taskId: string): Promise<Task> {
    const key = /^\d+$/.test(taskId) ? { id: Number(taskId) } : { task_id: taskId };
    const task = await allBrands(this.tasks.findOne({ ...key, owner_user_id: userId, executor: "extension" }).lean<Task>());
    if (!task) throw taskNotFound();
    return task;
  }

  private isResend(task: Task, token: string, digest: string): boolean {
    return (task.status === "completed" || task.status === "failed") && task.run_token === token && task.plugin?.result_digest === digest;
  }

  /** Why a lease-holder's write was refused (409), after expiring the lease if that is the reason. */
  private async refusal(task: Task, token: string): Promise<AppError> {
    if (task.status === "running" && task.run_token === token && task.lease_expires_at && task.lease_expires_at.getTime() < Date.now()) {
      await this.expireLease(task);
      return leaseExpired("The lease expired before this arrived; the task went back to the queue or failed.", "expired");
    }
    if (task.status === "running" && task.run_token === token) {
      return leaseExpired("The lease changed meanwhile; try again.", task.status);
    }
    if ((task.status === "completed" || task.status === "failed") && task.plugin?.result_digest) return resultAlreadyReceived(task.status);
    if (task.status === "cancelled") return leaseExpired("The task was cancelled; its lease ended.", "cancelled");
    return leaseExpired("This lease token is not the task's current one (it expired and the task was handed out again, or it ended).", task.status);
  }

  /** POST /api/plugin/tasks/{task_id}/heartbeat: extends the lease, records progress and sync pages. */
  async heartbeat(userId: number, taskId: string, body: HeartbeatBody): Promise<{ status: "ok"; lease_expires_at: string }> {
    const task = await this.findOwned(userId, taskId);
    const now = new Date();
    const set: Json = {};
    const progress = body.progress;
    if (progress) {
      set.progress_message = progress.message;
      set.progress_percentage = progress.total > 0 ? Math.min(100, Math.round((progress.current / progress.total) * 100)) : 0;
      set["plugin.progress_current"] = progress.current;
      set["plugin.progress_total"] = progress.total;
      if (progress.partial) {
        set["plugin.sync_total_entries"] = { $max: [{ $ifNull: ["$plugin.sync_total_entries", 0] }, progress.partial.total_entries] };
      }
    }
    const updated = await this.deps.lifecycle.renewLease({ _id: task._id, brand: task.brand, run_token: body.lease_token }, set, DEFAULT_TIMEOUT_SECONDS);
    if (!updated) throw await this.refusal(await this.findOwned(userId, taskId), body.lease_token);
    // Pages of a sync are kept as they arrive: a sync cut off later keeps them (and marks nothing gone).
    if (progress?.partial && actionOf(updated.task_type) === "get_all_products") {
      await this.deps.vinted.upsertListings(userId, progress.partial.items, updated.task_id);
    }
    return { status: "ok", lease_expires_at: (updated.lease_expires_at ?? now).toISOString() };
  }

  /**
   * POST /api/plugin/tasks/{task_id}/result. Accepted once, from the current lease before it ends;
   * the same body sent again with the same token (its answer was lost) is acknowledged again without
   * doing anything; anything else is a 409 and changes nothing.
   */
  async result(userId: number, taskId: string, body: TaskResultBody): Promise<{ status: "received"; message: string }> {
    const task = await this.findOwned(userId, taskId);
    const digest = digestOf(body);
    if (task.status !== "running" || task.run_token !== body.lease_token || !task.lease_expires_at || task.lease_expires_at.getTime() < Date.now()) {
      if (this.isResend(task, body.lease_token, digest)) return { status: "received", message: "Task result already received" };
      throw await this.refusal(task, body.lease_token);
    }
    const action = actionOf(task.task_type);
    const applied = action ? await this.apply(task, action, body) : { resultData: asJsonObject(body.data), warning: null };
    const now = new Date();
    const executedAt = Number.isNaN(Date.parse(body.executed_at)) ? now : new Date(body.executed_at);
    const metrics = { execution_time_ms: body.execution_time_ms, memory_usage_mb: 0, cost_usd: 0, recorded_at: now };
    const set: Json = body.success
      ? {
          result_data: applied.resultData ?? {},
          progress_percentage: 100,
          error_message: null,
          error_details: applied.warning ? { warning: applied.warning } : null,
          "plugin.error_code": null,
        }
      : {
          result_data: applied.resultData,
          error_message: body.error ?? "The extension reported a failure",
          error_details: { error_code: body.error_code ?? null },
          "plugin.error_code": body.error_code ?? null,
        };
    Object.assign(set, {
      lease_expires_at: null,
      metrics,
      "plugin.executed_at": executedAt,
      "plugin.result_digest": digest,
    });
    const fence = { _id: task._id, brand: task.brand, run_token: body.lease_token };
    const lease = { aliveAt: now };
    const updated = body.success ? await this.deps.lifecycle.complete(fence, set, lease) : await this.deps.lifecycle.fail(fence, set, lease);
    if (!updated) {
      // An identical resend racing the first delivery finds it done: acknowledged like a resend.
      const now = await this.findOwned(userId, taskId);
      if (this.isResend(now, body.lease_token, digest)) return { status: "received", message: "Task result already received" };
      throw await this.refusal(now, body.lease_token);
    }
    return { status: "received", message: applied.warning ? `Task result saved; its data was not applied: ${applied.warning}` : "Task result saved successfully" };
  }

  /**
   * Applies a result to the seller's Vinted data; returns what the task keeps as result_data.
   * A success whose data does not match the action's result schema still completes the task (the
   * write did happen on Vinted), with a warning and nothing applied.
   */
  private async apply(task: Task, action: PluginAction, body: TaskResultBody): Promise<{ resultData: Json | null; warning: string | null }> {
    const owner = task.owner_user_id as number;
    const params = (task.context_data ?? {}) as Json;
    if (!body.success) {
      // A price batch stopped half-way reports which prices Vinted took: those are true now.
      if (action === "update_prices") {
        const partial = PLUGIN_RESULT_SCHEMAS.update_prices.safeParse(body.data);
        if (partial.success) await this.applyPrices(owner, params, partial.data.results, task.task_id);
      }
      return { resultData: asJsonObject(body.data), warning: null };
    }
    const schema: z.ZodType = PLUGIN_RESULT_SCHEMAS[action];
    const parsed = schema.safeParse(body.data);
    if (!parsed.success) {
      const problems = Object.entries(fieldErrorsOf(parsed.error))
        .map(([k, v]) => `${k}: ${v.join(", ")}`)
        .join("; ");
      return { resultData: action === "get_all_products" ? null : asJsonObject(body.data), warning: `data does not match the ${action} result (${problems})`.slice(0, 1000) };
    }
    const data = parsed.data as Json;
    const vinted = this.deps.vinted;
    switch (action) {
      case "get_user_data": {
        await vinted.storeAccount(owner, data, task.task_id);
        const { csrf_token: _secret, ...kept } = data;
        return { resultData: kept, warning: null };
      }
      case "get_all_products": {
        const result = PLUGIN_RESULT_SCHEMAS.get_all_products.parse(data);
        const outcome = await vinted.applyCompleteSync(owner, result.products, task.task_id, task.started_at ?? new Date(0), task.plugin?.sync_total_entries ?? null);
        return { resultData: { total: result.total, pages: result.pages, complete: result.complete, ...outcome }, warning: null };
      }
      case "create_product": {
        const result = PLUGIN_RESULT_SCHEMAS.create_product.parse(data);
        await vinted.applyItem(owner, result.item, task.task_id, pick(params, ["title", "price"]));
        return { resultData: data, warning: null };
      }
      case "update_product": {
        const result = PLUGIN_RESULT_SCHEMAS.update_product.parse(data);
        await vinted.applyItem(owner, result.item, task.task_id, pick(params, ["title", "price"]));
        return { resultData: data, warning: null };
      }
      case "delete_product": {
        const result = PLUGIN_RESULT_SCHEMAS.delete_product.parse(data);
        await vinted.markDeleted(owner, result.item_id, task.task_id);
        return { resultData: data, warning: null };
      }
      case "update_prices": {
        const result = PLUGIN_RESULT_SCHEMAS.update_prices.parse(data);
        await this.applyPrices(owner, params, result.results, task.task_id);
        return { resultData: data, warning: null };
      }
      case "get_stats": {
        const result = PLUGIN_RESULT_SCHEMAS.get_stats.parse(data);
        await vinted.storeStats(owner, result, task.task_id);
        return { resultData: data, warning: null };
      }
      case "upload_photo":
        return { resultData: data, warning: null };
    }
  }

  private async applyPrices(owner: number, params: Json, outcomes: Array<{ item_id: number; success: boolean }>, taskId: string): Promise<void> {
    const requested = PLUGIN_PARAMS_SCHEMAS.update_prices.safeParse(params);
    if (!requested.success) return;
    const priceOf = new Map(requested.data.updates.map((u) => [u.item_id, u.price]));
    const accepted = outcomes.filter((o) => o.success && priceOf.has(o.item_id)).map((o) => ({ item_id: o.item_id, price: priceOf.get(o.item_id)! }));
    await this.deps.vinted.applyPrices(owner, accepted, taskId);
  }

  // -------------------------------------------------------------------------------------------
  // Views, sync
  // -------------------------------------------------------------------------------------------

  async get(userId: number, taskId: string): Promise<PluginTaskView> {
    return toPluginView(await this.findOwned(userId, taskId));
  }

  async recent(userId: number, limit: number): Promise<{ results: PluginTaskView[] }> {
    const rows = await allBrands(
      this.tasks.find({ owner_user_id: userId, executor: "extension" }).sort({ created_at: -1, id: -1 }).limit(limit).lean<Task[]>(),
    );
    return { results: rows.map(toPluginView) };
  }

  /**
   * POST /api/sync/vinted: a get_all_products for the seller, or the one already pending/running
   * (in any brand). Concurrent calls in this process are serialised per seller.
   */
  async syncVinted(principal: Principal, brand: BrandAccess): Promise<{ message: string; task_id: string }> {
    const userId = principal.userId;
    const previous = this.syncLocks.get(userId) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.syncOnce(principal, brand));
    this.syncLocks.set(userId, run);
    try {
      return await run;
    } finally {
      if (this.syncLocks.get(userId) === run) this.syncLocks.delete(userId);
    }
  }

  private async activeSync(userId: number): Promise<Task | null> {
    return allBrands(
      this.tasks
        .findOne({ owner_user_id: userId, executor: "extension", task_type: taskTypeOf("get_all_products"), status: { $in: ["pending", "running"] } })
        .sort({ id: 1 })
        .lean<Task>(),
    );
  }

  private async syncOnce(principal: Principal, brand: BrandAccess): Promise<{ message: string; task_id: string }> {
    const existing = await this.activeSync(principal.userId);
    if (existing) return { message: "Sync already in progress", task_id: existing.task_id };
    const created = await this.insert({
      owner: principal.userId,
      brand: brand.brandId,
      action: "get_all_products",
      // The extension reads the wardrobe of the account logged in in its Vinted tab.
      params: {},
      priority: DEFAULT_PRIORITY,
      timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
      description: "Vinted sync",
    });
    // Another server process may have created one at the same moment: the oldest wins, ours goes
    // (only while still pending — if it was claimed already, both run; a sync is a read).
    const winner = await this.activeSync(principal.userId);
    if (winner && winner.task_id !== created.task_id) {
      if (await this.deps.lifecycle.remove(created, ["pending"])) return { message: "Sync already in progress", task_id: winner.task_id };
    }
    return { message: "Sync started", task_id: created.task_id };
  }
}

function pick(source: Json, keys: string[]): Json {
  return Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, source[k]]));
}
