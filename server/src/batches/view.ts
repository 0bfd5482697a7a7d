import type { BatchStatus, BatchView } from "../../../shared/batches.js";
import type { Batch } from "./model.js";

const round2 = (n: number) => Math.round(n * 100) / 100;
const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** Completed jobs over all jobs, as the spec computes it. */
export function progressOf(b: Pick<Batch, "completed_jobs" | "total_jobs">): number {
  return b.total_jobs > 0 ? round2((b.completed_jobs / b.total_jobs) * 100) : 0;
}

export function toBatchStatus(b: Batch): BatchStatus {
  return {
    batch_id: b.batch_id,
    is_active: b.is_active,
    total_jobs: b.total_jobs,
    // Queued or running: the jobs still to finish (the spec's pending + completed + failed add up to total).
    pending_jobs: b.pending_jobs + b.running_jobs,
    completed_jobs: b.completed_jobs,
    failed_jobs: b.failed_jobs,
    suspended_jobs: b.suspended_jobs,
    total_cost: round2(b.total_cost),
    total_minutes: round2(b.total_minutes),
    progress_percentage: progressOf(b),
    started_at: iso(b.started_at),
    completed_at: iso(b.completed_at),
  };
}

export function toBatchView(b: Batch): BatchView {
  return {
    batch_id: b.batch_id,
    account_id: b.account_id,
    name: b.name,
    description: b.description,
    task_type: b.task_type,
    executor: b.executor,
    state: b.state,
    is_active: b.is_active,
    priority: b.priority,
    concurrency: b.concurrency ?? null,
    scheduled_for: iso(b.scheduled_for),
    cost_per_job: b.cost_per_job,
    total_jobs: b.total_jobs,
    counts: {
      pending: b.pending_jobs,
      running: b.running_jobs,
      completed: b.completed_jobs,
      failed: b.failed_jobs,
      cancelled: b.cancelled_jobs,
      suspended: b.suspended_jobs,
    },
    total_cost: round2(b.total_cost),
    total_minutes: round2(b.total_minutes),
    progress_percentage: progressOf(b),
    cancellation_reason: b.cancellation_reason ?? null,
    created_at: b.created_at.toISOString(),
    started_at: iso(b.started_at),
    paused_at: iso(b.paused_at),
    completed_at: iso(b.completed_at),
  };
}
