/**
 * A batch's jobs before they run: which executor runs the task type, the jobs planned from the
 * request (by the type's own planner, or one per context with the extension action's parameters
 * checked), and their storage, undone as a whole when one loses its exclusive key.
 */
import { randomBytes } from "node:crypto";
import type { z } from "zod";
import { MAX_BATCH_JOBS } from "../../../shared/batches.js";
import type { FieldErrors } from "../../../shared/errors.js";
import { PLUGIN_PARAMS_SCHEMAS } from "../../../shared/plugin.js";
import { AppError, validationError } from "../http/errors.js";
import { fieldErrorsOf } from "../http/validation.js";
import { actionOf } from "../plugin/view.js";
import type { NewTask, TaskLifecycle } from "../tasks/lifecycle/index.js";
import { isSlotCollision } from "../tasks/exclusive.js";
import type { Task } from "../tasks/model.js";
import type { BatchModel } from "./model.js";
import type { BatchDispatch } from "./service.js";

/**
 * A batch kind: a task type's own say over its batches. It checks and expands the requested jobs
 * (a publication batch makes one job per product and marketplace) and may give each job an
 * exclusive key; a collision on one of those keys while the jobs are stored undoes the batch.
 */
export interface BatchJobPlanner {
  plan(brand: number, contexts: Record<string, unknown>[]): Promise<PlannedJob[]>;
  /** The error for a job whose exclusive key another live task took while the batch was stored. */
  collision(job: PlannedJob): AppError;
}

export interface PlannedJob {
  context_data: Record<string, unknown>;
  description?: string;
  exclusive_key?: string;
}

const MAX_FIELD_ERRORS = 20;

export function newJobTaskId(): string {
  return `task_${randomBytes(6).toString("hex")}`;
}

export class BatchJobs {
  private readonly planners = new Map<string, BatchJobPlanner>();

  constructor(
    private readonly lifecycle: TaskLifecycle,
    private readonly dispatch: Pick<BatchDispatch, "isServerType" | "serverTypes">,
    private readonly batches: BatchModel,
  ) {}

  usePlanner(taskType: string, planner: BatchJobPlanner): void {
    this.planners.set(taskType, planner);
  }

  async plan(brand: number, taskType: string, executor: "server" | "extension", contexts: Record<string, unknown>[]): Promise<PlannedJob[]> {
    const planner = this.planners.get(taskType);
    if (planner) {
      const planned = await planner.plan(brand, contexts);
      if (planned.length > MAX_BATCH_JOBS) throw validationError({ jobs: [`At most ${MAX_BATCH_JOBS} jobs per batch; this one would make ${planned.length}`] });
      return planned;
    }
    const params = executor === "extension" ? this.validateExtensionParams(taskType, contexts) : contexts;
    return params.map((context_data) => ({ context_data }));
  }

  /** Stores the jobs; when one of them loses its exclusive key to a concurrent writer, the batch is undone. */
  async store(brand: number, batchId: string, taskType: string, inputs: NewTask[]): Promise<void> {
    const planner = this.planners.get(taskType);
    try {
      await this.lifecycle.createMany(inputs);
    } catch (err) {
      if (!planner || !isSlotCollision(err)) throw err;
      await this.lifecycle.tasks.deleteMany({ brand, batch_id: batchId });
      await this.batches.deleteOne({ brand, batch_id: batchId });
      const taken = await this.takenKeys(brand, inputs);
      const lost = inputs.find((input) => input.exclusive_key && taken.has(input.exclusive_key)) ?? inputs[0];
      throw planner.collision({ context_data: lost.context_data ?? {}, exclusive_key: lost.exclusive_key ?? undefined });
    }
  }

  private async takenKeys(brand: number, inputs: NewTask[]): Promise<Set<string>> {
    const keys = inputs.flatMap((input) => (input.exclusive_key ? [input.exclusive_key] : []));
    const holders = await this.lifecycle.tasks.find({ brand, exclusive_slot: { $in: keys } }, { exclusive_slot: 1 }).lean<Task[]>();
    return new Set(holders.map((h) => h.exclusive_slot!));
  }

  executorOf(taskType: string): "server" | "extension" {
    if (this.dispatch.isServerType(taskType)) return "server";
    if (actionOf(taskType)) return "extension";
    const known = [...this.dispatch.serverTypes(), ...Object.keys(PLUGIN_PARAMS_SCHEMAS).map((a) => `vinted.${a}`)];
    throw new AppError(400, "VALIDATION_ERROR", "Validation failed", {
      field_errors: { task_type: [`Unknown task type '${taskType}'. Known types: ${known.join(", ")}`] },
      extra: { known_task_types: known },
    });
  }

  /** Every job's context_data must be the action's parameters; the first errors are reported by job index. */
  private validateExtensionParams(taskType: string, contexts: Record<string, unknown>[]): Record<string, unknown>[] {
    const schema: z.ZodType = PLUGIN_PARAMS_SCHEMAS[actionOf(taskType)!];
    const errors: FieldErrors = {};
    const parsed = contexts.map((context, i) => {
      const result = schema.safeParse(context);
      if (result.success) return result.data as Record<string, unknown>;
      if (Object.keys(errors).length < MAX_FIELD_ERRORS) {
        for (const [key, messages] of Object.entries(fieldErrorsOf(result.error))) {
          errors[`jobs.${i}.context_data${key === "non_field_errors" ? "" : `.${key}`}`] = messages;
        }
      }
      return context;
    });
    if (Object.keys(errors).length) throw validationError(errors);
    return parsed;
  }
}
