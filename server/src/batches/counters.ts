/**
 * Batch counters follow the lifecycle's events: every status change of a batch job moves them by
 * exact numbers in one atomic pipeline update of the batch document, which also decides whether the
 * batch has finished. Nothing else writes them, so `status` is one document read at any size.
 */
import type { TaskStatus } from "../../../shared/tasks.js";
import type { TaskStatusChanged, TasksBulkStatusChanged } from "../tasks/lifecycle/index.js";
import type { Task } from "../tasks/model.js";
import { COUNTER_OF, type Batch, type BatchModel } from "./model.js";

type Expr = number | Record<string, unknown>;

export interface CounterChange {
  /** Counter field → amount added. */
  deltas: Record<string, Expr>;
  /** Run slots given back (jobs that left `running`). */
  releasedSlots: number;
  /** The first claim of a job starts the batch. */
  startedAt?: Date;
  at: Date;
}

const UNFINISHED = { $add: ["$pending_jobs", "$running_jobs", "$suspended_jobs"] };

/**
 * The pipeline: add the deltas, then derive state, is_active and completed_at from the counters.
 * Every change marks the counters unverified: once the batch is quiet they are checked against a
 * count of its jobs (recount.ts), which repairs what a process killed between a job's status write
 * and this update left behind.
 */
export function counterPipeline(change: CounterChange): Record<string, unknown>[] {
  const counters: Record<string, unknown> = { counts_verified: false };
  for (const [field, delta] of Object.entries(change.deltas)) counters[field] = { $add: [`$${field}`, delta] };
  if (change.releasedSlots > 0) counters.running_slots = { $max: [0, { $subtract: ["$running_slots", change.releasedSlots] }] };
  if (change.startedAt) counters.started_at = { $ifNull: ["$started_at", change.startedAt] };
  return [{ $set: counters }, ...derivedStages(change.at)];
}

/** state, is_active and completed_at as the counters imply them. */
export function derivedStages(at: Date): Record<string, unknown>[] {
  return [
    {
      $set: {
        state: {
          $cond: [
            { $eq: ["$state", "cancelled"] },
            "cancelled",
            { $cond: [{ $eq: [UNFINISHED, 0] }, "completed", { $cond: [{ $eq: ["$state", "completed"] }, "active", "$state"] }] },
          ],
        },
      },
    },
    {
      $set: {
        is_active: { $in: ["$state", ["active", "paused"]] },
        completed_at: {
          $cond: [
            { $eq: ["$state", "completed"] },
            { $ifNull: ["$completed_at", at] },
            { $cond: [{ $eq: ["$state", "cancelled"] }, "$completed_at", null] },
          ],
        },
        updated_at: at,
      },
    },
  ];
}

/** Minutes of work a finished run took (its metrics, else its timestamps). */
export function runMinutes(task: Task): number {
  const ms = task.metrics?.execution_time_ms ?? (task.started_at && task.completed_at ? task.completed_at.getTime() - task.started_at.getTime() : 0);
  return Math.max(0, ms) / 60_000;
}

export function changeOfEvent(event: TaskStatusChanged): CounterChange {
  const deltas: Record<string, Expr> = { [COUNTER_OF[event.from]]: -1 };
  deltas[COUNTER_OF[event.to]] = (deltas[COUNTER_OF[event.to]] as number | undefined ?? 0) + 1;
  if (event.to === "completed") {
    deltas.total_cost = "$cost_per_job" as unknown as Expr;
    deltas.total_minutes = runMinutes(event.task);
  }
  const at = new Date();
  return { deltas, releasedSlots: event.from === "running" ? 1 : 0, startedAt: event.to === "running" ? event.task.started_at ?? at : undefined, at };
}

export function changeOfBulk(event: TasksBulkStatusChanged): CounterChange {
  const deltas: Record<string, number> = {};
  let moved = 0;
  for (const [from, count] of Object.entries(event.counts) as Array<[TaskStatus, number]>) {
    deltas[COUNTER_OF[from]] = (deltas[COUNTER_OF[from]] ?? 0) - count;
    moved += count;
  }
  deltas[COUNTER_OF[event.to]] = (deltas[COUNTER_OF[event.to]] ?? 0) + moved;
  return { deltas, releasedSlots: event.counts.running ?? 0, at: event.at };
}

export function changeOfCreated(count: number): CounterChange {
  return { deltas: { total_jobs: count, pending_jobs: count }, releasedSlots: 0, at: new Date() };
}

export function changeOfDeleted(task: Task): CounterChange {
  return { deltas: { total_jobs: -1, [COUNTER_OF[task.status]]: -1 }, releasedSlots: task.status === "running" ? 1 : 0, at: new Date() };
}

export async function applyCounterChange(batches: BatchModel, brand: number, batchId: string, change: CounterChange): Promise<Batch | null> {
  return batches
    .findOneAndUpdate({ brand, batch_id: batchId }, counterPipeline(change), { returnDocument: "after", updatePipeline: true, timestamps: false })
    .lean<Batch>();
}
