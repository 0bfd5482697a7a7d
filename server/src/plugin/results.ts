/**
 * What the extension sends about a lease: heartbeats (the lease extended, progress, sync pages) and
 * the result, accepted once, from the current lease before it ends. Every write is fenced on the
 * lease (status running, token, not ended) by the lifecycle, so a stale or late holder changes
 * nothing; the refusal says why (409).
 */
import { createHash } from "node:crypto";
import type { HeartbeatBody, ReleaseTaskBody, TaskResultBody } from "../../../shared/plugin.js";
import type { PlainCollection } from "../db/plain-collection.js";
import { AppError, permissionDenied } from "../http/errors.js";
import type { TaskLifecycle } from "../tasks/lifecycle/index.js";
import type { Task, TaskModel } from "../tasks/model.js";
import { taskNotFound } from "../tasks/service.js";
import { asJsonObject, type AppliedResult, type VintedResultApplier } from "../vinted/apply-results.js";
import type { ExtensionLeases } from "./leases.js";
import { actionOf } from "./view.js";

type Json = Record<string, unknown>;

const leaseExpired = (detail: string, currentStatus: string) =>
  new AppError(409, "LEASE_EXPIRED", detail, { extra: { current_status: currentStatus } });

const resultAlreadyReceived = (currentStatus: string) =>
  new AppError(409, "RESULT_ALREADY_RECEIVED", "This task already has its result; another one is never accepted.", {
    extra: { current_status: currentStatus },
  });

function digestOf(body: TaskResultBody): string {
  const { lease_token: _token, ...rest } = body;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex");
}

function isResend(task: Task, token: string, digest: string): boolean {
  return (task.status === "completed" || task.status === "failed") && task.run_token === token && task.plugin?.result_digest === digest;
}

const leaseTokenRequired = (currentStatus: string) =>
  new AppError(
    409,
    "LEASE_TOKEN_REQUIRED",
    "This task was handed out more than once (an earlier lease expired): send the lease_token of your claim, so a late answer of the earlier lease cannot be taken for yours.",
    { extra: { current_status: currentStatus } },
  );

/**
 * The lease a result without `lease_token` (spec/plugin-polling-api.md's body) speaks for. Only the
 * task's seller can hold its lease, so while the current lease is the only one the task ever had the
 * poster holds it; after an earlier one expired, either lease could be answering, and only the token
 * tells which. A task that is not running (finished, back in the queue) gets a token that matches
 * nothing, so the usual refusal — or, for an identical resend, the acknowledgement — follows.
 */
function tokenOfOnlyLease(task: Task): string {
  if (task.status === "running" && task.run_token) {
    if ((task.attempt ?? 1) > 1) throw leaseTokenRequired(task.status);
    return task.run_token;
  }
  if ((task.status === "completed" || task.status === "failed") && task.run_token && task.plugin?.result_digest) return task.run_token;
  return "";
}

/** One of the seller's extension tasks, by `123` or `task_…`; 404 for anything else. */
export async function findOwnedTask(tasks: PlainCollection, userId: number, taskId: string): Promise<Task> {
  const key = /^\d+$/.test(taskId) ? { id: Number(taskId) } : { task_id: taskId };
  const task = await tasks.findOne<Task>({ ...key, owner_user_id: userId, executor: "extension" });
  if (!task) throw taskNotFound();
  return task;
}

/** A success's notes for the task: data not applied at all (warning), or listings applied without some field (data_problems). */
function detailsOf(applied: AppliedResult): Json | null {
  const details: Json = {};
  if (applied.warning) details.warning = applied.warning;
  if (applied.problems?.length) details.data_problems = applied.problems;
  return Object.keys(details).length > 0 ? details : null;
}

function receivedMessage(applied: AppliedResult): string {
  if (applied.warning) return `Task result saved; its data was not applied: ${applied.warning}`;
  if (applied.problems?.length) return `Task result saved; some Vinted fields had an unexpected type and were left out (${applied.problems.length} listing(s), see the task's error_details.data_problems)`;
  return "Task result saved successfully";
}

export interface ResultDeps {
  lifecycle: TaskLifecycle;
  leases: ExtensionLeases;
  applier: VintedResultApplier;
  memberBrandIds?: ((userId: number) => Promise<number[]>) | null;
}

export class ExtensionResults {
  constructor(private readonly deps: ResultDeps) {}

  /** A seller removed from the task's brand writes nothing into it (403). */
  private async assertMember(userId: number, task: Task): Promise<void> {
    if (!this.deps.memberBrandIds) return;
    if ((await this.deps.memberBrandIds(userId)).includes(task.brand)) return;
    throw permissionDenied("You are no longer a member of this task's brand: its results are not accepted from you.");
  }

  /** Why a lease-holder's write was refused (409), after expiring the lease if that is the reason. */
  private async refusal(task: Task, token: string): Promise<AppError> {
    if (task.status === "running" && task.run_token === token && task.lease_expires_at && task.lease_expires_at.getTime() < Date.now()) {
      await this.deps.leases.expire(task);
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
    const task = await findOwnedTask(this.deps.lifecycle.plainTasks, userId, taskId);
    this.deps.leases.copies.drop(task.task_id);
    await this.assertMember(userId, task);
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
    const updated = await this.deps.lifecycle.renewLease({ _id: task._id, brand: task.brand, run_token: body.lease_token }, set);
    if (!updated) throw await this.refusal(await findOwnedTask(this.deps.lifecycle.plainTasks, userId, taskId), body.lease_token);
    // Pages of a sync are kept as they arrive: a sync cut off later keeps them (and marks nothing gone).
    if (progress?.partial && actionOf(updated.task_type) === "get_all_products") {
      await this.deps.applier.applySyncPage(userId, progress.partial.items, updated.task_id);
    }
    return { status: "ok", lease_expires_at: (updated.lease_expires_at ?? now).toISOString() };
  }

  /**
   * POST /api/plugin/tasks/{task_id}/result. Accepted once, from the current lease before it ends;
   * the same body sent again with the same token (its answer was lost) is acknowledged again without
   * doing anything; anything else is a 409 and changes nothing.
   */
  async result(userId: number, taskId: string, body: TaskResultBody): Promise<{ status: "received"; message: string }> {
    const task = this.deps.leases.copies.take(userId, taskId, body.lease_token) ?? (await findOwnedTask(this.deps.lifecycle.plainTasks, userId, taskId));
    await this.assertMember(userId, task);
    const digest = digestOf(body);
    const token = body.lease_token ?? tokenOfOnlyLease(task);
    if (task.status !== "running" || task.run_token !== token || !task.lease_expires_at || task.lease_expires_at.getTime() < Date.now()) {
      if (isResend(task, token, digest)) return { status: "received", message: "Task result already received" };
      throw await this.refusal(task, token);
    }
    const action = actionOf(task.task_type);
    const applied = action ? await this.deps.applier.apply(task, action, body) : { resultData: asJsonObject(body.data), warning: null };
    const now = new Date();
    const executedAt = body.executed_at === undefined || Number.isNaN(Date.parse(body.executed_at)) ? now : new Date(body.executed_at);
    const metrics = { execution_time_ms: body.execution_time_ms, memory_usage_mb: 0, cost_usd: 0, recorded_at: now };
    const set: Json = body.success
      ? {
          result_data: applied.resultData ?? {},
          progress_percentage: 100,
          error_message: null,
          error_details: detailsOf(applied),
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
    const fence = { _id: task._id, brand: task.brand, run_token: token };
    const lease = { aliveAt: now };
    const updated = body.success ? await this.deps.lifecycle.complete(fence, set, lease) : await this.deps.lifecycle.fail(fence, set, lease);
    if (!updated) {
      // An identical resend racing the first delivery finds it done: acknowledged like a resend.
      const now = await findOwnedTask(this.deps.lifecycle.plainTasks, userId, taskId);
      if (isResend(now, token, digest)) return { status: "received", message: "Task result already received" };
      throw await this.refusal(now, token);
    }
    return { status: "received", message: receivedMessage(applied) };
  }

  /**
   * POST /api/plugin/tasks/{task_id}/release: the lease holder hands the task back unfinished (its
   * Vinted account cannot run it now). Pending again, no attempt counted, its views say why; fenced
   * like a result, so a stale or ended lease changes nothing (409).
   */
  async release(userId: number, taskId: string, body: ReleaseTaskBody): Promise<{ status: "released"; message: string }> {
    const task = await findOwnedTask(this.deps.lifecycle.plainTasks, userId, taskId);
    this.deps.leases.copies.drop(task.task_id);
    const now = new Date();
    const set: Json = {
      error_message: body.reason,
      error_details: { error_code: body.reason_code },
      progress_message: null,
      scheduled_for: body.retry_after_ms ? new Date(now.getTime() + body.retry_after_ms) : null,
    };
    const released = await this.deps.lifecycle.release({ _id: task._id, brand: task.brand, run_token: body.lease_token }, set, { aliveAt: now });
    if (!released) throw await this.refusal(await findOwnedTask(this.deps.lifecycle.plainTasks, userId, taskId), body.lease_token);
    const when = body.retry_after_ms ? ` (not before ${new Date(now.getTime() + body.retry_after_ms).toISOString()})` : "";
    return { status: "released", message: `Task handed back: queued again${when}, no attempt counted` };
  }
}
