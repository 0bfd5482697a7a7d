/**
 * GET /batches/{id}/summary: what a person wants to know about one batch. Read on demand (not
 * polled), so it may look at the jobs themselves: one `$facet` aggregation for durations and errors.
 */
import type { BatchSummary } from "../../../shared/batches.js";
import type { TaskModel } from "../tasks/model.js";
import type { Batch } from "./model.js";
import { toBatchView } from "./view.js";

const TOP_ERRORS = 5;
const EXAMPLES = 3;
const round2 = (n: number) => Math.round(n * 100) / 100;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

interface Facets {
  durations: Array<{ ms: number | null }>;
  errors: Array<{ _id: string | null; count: number; examples: string[] }>;
}

export async function summarize(tasks: TaskModel, batch: Batch, now = new Date()): Promise<BatchSummary> {
  const [facets] = await tasks.aggregate<Facets>([
    { $match: { brand: batch.brand, batch_id: batch.batch_id } },
    {
      $facet: {
        durations: [{ $match: { status: "completed" } }, { $project: { _id: 0, ms: "$metrics.execution_time_ms" } }],
        errors: [
          { $match: { status: "failed" } },
          { $group: { _id: "$error_message", count: { $sum: 1 }, examples: { $push: "$task_id" } } },
          { $sort: { count: -1, _id: 1 } },
          { $limit: TOP_ERRORS },
          { $project: { count: 1, examples: { $slice: ["$examples", EXAMPLES] } } },
        ],
      },
    },
  ]);
  const seconds = (facets?.durations ?? [])
    .map((d) => d.ms)
    .filter((ms): ms is number => typeof ms === "number")
    .map((ms) => ms / 1000)
    .sort((a, b) => a - b);
  const avg = seconds.length ? round2(seconds.reduce((n, s) => n + s, 0) / seconds.length) : null;
  const finished = batch.completed_jobs + batch.failed_jobs + batch.cancelled_jobs;
  const end = batch.completed_at ?? now;
  const minutes = batch.started_at ? (end.getTime() - batch.started_at.getTime()) / 60_000 : 0;
  const throughput = minutes > 0 ? round2((batch.completed_jobs + batch.failed_jobs) / minutes) : null;
  const remaining = batch.pending_jobs + batch.running_jobs;
  const eta = batch.state === "active" && remaining > 0 && throughput ? new Date(now.getTime() + (remaining / throughput) * 60_000).toISOString() : null;
  const view = toBatchView(batch);
  return {
    batch: view,
    counts: view.counts,
    duration_seconds: { avg, p50: percentile(seconds, 50), p95: percentile(seconds, 95) },
    cost: { total: round2(batch.total_cost), per_job: batch.cost_per_job, unpaid_jobs: batch.unpaid_jobs },
    throughput_per_minute: finished > 0 ? throughput : null,
    eta,
    top_errors: (facets?.errors ?? []).map((e) => ({ error_message: e._id ?? "(no message)", count: e.count, example_job_ids: e.examples })),
    timestamps: { created_at: view.created_at, started_at: view.started_at, paused_at: view.paused_at, completed_at: view.completed_at },
    cancellation_reason: batch.cancellation_reason ?? null,
  };
}
