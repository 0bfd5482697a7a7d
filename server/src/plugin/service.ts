/**
 * Extension tasks (spec/plugin-polling-api.md): created through /api/plugin/tasks, /tasks/ (task
 * types `vinted.<action>`) or a sync request, and the seller's views of them.
 *
 * Plugin tasks are tasks of the one collection: executor "extension", task_type "vinted.<action>",
 * owned by the seller (`owner_user_id`), in a brand (personal or X-Brand-ID), visible in /tasks/.
 * The document keeps the hub's vocabulary (status, the 0–10 `priority_rank` and its word,
 * timeout_minutes); the plugin's words (executing, priority, timeout in seconds) are mapped at the
 * edge by view.ts. Delivery (delivery.ts),
 * leases (leases.ts) and results (results.ts) are the other parts of the module.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { PLUGIN_PARAMS_SCHEMAS, type CreatePluginTaskBody, type PluginAction, type PluginTaskView } from "../../../shared/plugin.js";
import type { CreateTaskBody } from "../../../shared/tasks.js";
import { allBrands } from "../brands/scope.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { validationError } from "../http/errors.js";
import { fieldErrorsOf } from "../http/validation.js";
import type { TaskLifecycle } from "../tasks/lifecycle/index.js";
import { PRIORITY_RANK, priorityWord, type Task, type TaskModel } from "../tasks/model.js";
import type { ExternalTaskTypes } from "../tasks/service.js";
import { findOwnedTask } from "./results.js";
import {
  DEFAULT_PRIORITY,
  DEFAULT_TIMEOUT_SECONDS,
  MAX_TIMEOUT_SECONDS,
  MIN_TIMEOUT_SECONDS,
  PLUGIN_TASK_TYPES,
  TASK_TYPE_PREFIX,
  actionOf,
  defaultPluginState,
  taskTypeOf,
  toPluginView,
} from "./view.js";

type Json = Record<string, unknown>;

function newTaskId(): string {
  return `task_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
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
  /** At most one live task holds it (server/src/tasks/exclusive.ts). */
  exclusiveKey?: string;
  /** Not claimed within this many seconds: cancelled instead (plugin.claim_by). */
  claimWithinSeconds?: number;
}

export class PluginService implements ExternalTaskTypes {
  private readonly tasks: TaskModel;
  private readonly syncLocks = new Map<number, Promise<unknown>>();

  constructor(private readonly lifecycle: TaskLifecycle) {
    this.tasks = lifecycle.tasks;
  }

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
      priority: PRIORITY_RANK[body.priority],
      timeoutSeconds: Math.min(MAX_TIMEOUT_SECONDS, Math.max(MIN_TIMEOUT_SECONDS, seconds)),
      description: body.description,
      maxRetries: body.max_retries,
      scheduledFor: body.scheduled_for ? new Date(body.scheduled_for) : null,
    });
  }

  /** A task for the seller's extension asked for by a server feature (a Vinted publication, a catalog search). */
  async createOnBehalf(
    t: Pick<NewPluginTask, "owner" | "brand" | "action" | "params" | "description" | "exclusiveKey" | "claimWithinSeconds" | "maxRetries"> & { timeoutSeconds?: number },
  ): Promise<Task> {
    return this.insert({ ...t, priority: DEFAULT_PRIORITY, timeoutSeconds: t.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS });
  }

  private async insert(t: NewPluginTask): Promise<Task> {
    // The seller's held long-poll is woken by the lifecycle's listeners.
    return this.lifecycle.create({
      task_id: newTaskId(),
      brand: t.brand,
      created_by: t.owner,
      owner_user_id: t.owner,
      task_type: taskTypeOf(t.action),
      executor: "extension",
      priority: priorityWord(t.priority),
      priority_rank: t.priority,
      description: t.description ?? "",
      context_data: t.params,
      timeout_minutes: t.timeoutSeconds / 60,
      scheduled_for: t.scheduledFor ?? null,
      ...(t.maxRetries !== undefined ? { max_retries: t.maxRetries } : {}),
      plugin: { ...defaultPluginState(), claim_by: t.claimWithinSeconds ? new Date(Date.now() + t.claimWithinSeconds * 1000) : null },
      ...(t.exclusiveKey ? { exclusive_key: t.exclusiveKey, exclusive_slot: t.exclusiveKey } : {}),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Views, sync
  // -------------------------------------------------------------------------------------------

  async get(userId: number, taskId: string): Promise<PluginTaskView> {
    return toPluginView(await findOwnedTask(this.lifecycle.plainTasks, userId, taskId));
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
      if (await this.lifecycle.remove(created, ["pending"])) return { message: "Sync already in progress", task_id: winner.task_id };
    }
    return { message: "Sync started", task_id: created.task_id };
  }
}
