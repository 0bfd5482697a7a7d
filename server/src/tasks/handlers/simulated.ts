import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { PermanentTaskError, type TaskHandler } from "../executor/registry.js";

/** `simulated`: configurable work for tests and demos (steps, delays, failures, cost, checkpoints). */
/** The longest simulated run (steps × step_ms): a demo task never holds a worker slot for days. */
export const SIMULATED_MAX_RUN_MS = 6 * 3600_000;

export const SimulatedParamsSchema = z
  .object({
    steps: z.number().int().min(0).max(10_000).default(5),
    step_ms: z.number().int().min(0).max(600_000).default(100),
    /** Fail the first N attempts (then succeed): exercises retries and backoff. */
    fail_times: z.number().int().min(0).max(100).default(0),
    fail_permanently: z.boolean().default(false),
    fail_message: z.string().max(1000).default("simulated failure"),
    cost_per_step: z.number().min(0).max(1000).default(0),
    /** Save a checkpoint every N steps (0: never), so a crashed run can resume. */
    checkpoint_every: z.number().int().min(0).max(10_000).default(1),
    /** Ignore cancellation and timeouts (to show that the runner still stops waiting for it). */
    ignore_abort: z.boolean().default(false),
  })
  .refine((p) => p.steps * p.step_ms <= SIMULATED_MAX_RUN_MS, {
    message: `steps × step_ms must be at most ${SIMULATED_MAX_RUN_MS} ms (${SIMULATED_MAX_RUN_MS / 3600_000} h)`,
    path: ["step_ms"],
  });

export const simulatedHandler: TaskHandler = async (ctx) => {
  const params = SimulatedParamsSchema.parse(ctx.task.context_data ?? {});
  const attempt = ctx.task.attempt;
  if (params.fail_permanently) throw new PermanentTaskError(params.fail_message);
  if (attempt <= params.fail_times) throw new Error(`${params.fail_message} (attempt ${attempt})`);
  const resumedFrom = typeof ctx.resumeFrom?.step === "number" ? ctx.resumeFrom.step : 0;
  let executed = 0;
  for (let step = resumedFrom + 1; step <= params.steps; step++) {
    if (!params.ignore_abort) ctx.throwIfStopped();
    await sleep(params.step_ms, undefined, params.ignore_abort ? {} : { signal: ctx.signal });
    executed++;
    ctx.reportCost(params.cost_per_step);
    const percentage = (step / params.steps) * 100;
    if (params.checkpoint_every && step % params.checkpoint_every === 0) await ctx.checkpoint({ step }, percentage);
    else await ctx.progress(percentage, `step ${step}/${params.steps}`);
  }
  return { steps_completed: params.steps, resumed_from_step: resumedFrom, steps_executed_this_run: executed, attempt };
};
