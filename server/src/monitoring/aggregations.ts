/**
 * Aggregation building blocks shared by the dashboard and the alert evaluator. Figures are computed
 * in the database; only one small row per group comes back.
 */
import type { PipelineStage } from "mongoose";
import type { DurationStats } from "../../../shared/monitoring.js";
import type { AlertComparator, AlertMetric } from "../../../shared/alerts.js";
import type { TaskModel } from "../tasks/model.js";

export const DURATION_FIELD = "metrics.execution_time_ms";

export const round = (n: number, decimals: number) => {
  const f = 10 ** decimals;
  return Math.round(n * f) / f;
};

/** completed / (completed + failed) × 100, one decimal; null when nothing finished. */
export function successRate(completed: number, failed: number): number | null {
  return completed + failed > 0 ? round((completed / (completed + failed)) * 100, 1) : null;
}

/**
 * The p-th percentile (0 ≤ p ≤ 1) of `$values`, an ascending array: linear interpolation between the
 * closest ranks, at position p·(n−1) — numpy's default and Excel's PERCENTILE.INC. For 1..10 (×100):
 * p50 = 550, p95 = 955.
 */
function percentileOfSorted(p: number) {
  return {
    $let: {
      vars: { pos: { $multiply: [p, { $subtract: [{ $size: "$values" }, 1] }] } },
      in: {
        $let: {
          vars: {
            lo: { $arrayElemAt: ["$values", { $floor: "$$pos" }] },
            hi: { $arrayElemAt: ["$values", { $ceil: "$$pos" }] },
          },
          in: { $add: ["$$lo", { $multiply: [{ $subtract: ["$$hi", "$$lo"] }, { $subtract: ["$$pos", { $floor: "$$pos" }] }] }] },
        },
      },
    },
  };
}

/**
 * After a `$sort` on the duration: one row per `groupId` with count, avg, min, p50, p95, max. The
 * sorted values are collected only inside the database ($push keeps the input order) and dropped
 * by the projection.
 */
export function durationStatsStages(groupId: unknown): PipelineStage.FacetPipelineStage[] {
  return [
    {
      $group: {
        _id: groupId,
        values: { $push: `$${DURATION_FIELD}` },
        count: { $sum: 1 },
        avg: { $avg: `$${DURATION_FIELD}` },
        min: { $min: `$${DURATION_FIELD}` },
        max: { $max: `$${DURATION_FIELD}` },
      },
    },
    { $project: { _id: 1, count: 1, avg: 1, min: 1, max: 1, p50: percentileOfSorted(0.5), p95: percentileOfSorted(0.95) } },
  ];
}

export interface DurationRow {
  _id: unknown;
  count: number;
  avg: number;
  min: number;
  max: number;
  p50: number;
  p95: number;
}

export function toDurationStats(row: DurationRow): DurationStats {
  return {
    count: row.count,
    avg_ms: round(row.avg, 2),
    min_ms: round(row.min, 2),
    p50_ms: round(row.p50, 2),
    p95_ms: round(row.p95, 2),
    max_ms: round(row.max, 2),
  };
}

export const COMPARATOR_SYMBOL: Record<AlertComparator, string> = { gt: ">", gte: ">=", lt: "<", lte: "<=" };

export function compare(value: number, comparator: AlertComparator, threshold: number): boolean {
  switch (comparator) {
    case "gt":
      return value > threshold;
    case "gte":
      return value >= threshold;
    case "lt":
      return value < threshold;
    case "lte":
      return value <= threshold;
  }
}

export interface MeasuredScope {
  brand: number;
  metric: AlertMetric;
  window_minutes: number;
  task_type: string | null;
}

/**
 * The value an alert rule compares, over the window ending at `now` (see ALERT_METRICS in
 * shared/monitoring.ts); null when there is nothing to measure (no finished or completed task).
 */
export async function measureRuleMetric(tasks: TaskModel, scope: MeasuredScope, now: Date): Promise<number | null> {
  const since = new Date(now.getTime() - scope.window_minutes * 60_000);
  const base: Record<string, unknown> = { brand: scope.brand };
  if (scope.task_type) base.task_type = scope.task_type;
  switch (scope.metric) {
    case "failure_rate":
    case "failed_count": {
      const [row] = await tasks.aggregate<{ completed: number; failed: number }>([
        { $match: { ...base, status: { $in: ["completed", "failed"] }, completed_at: { $gte: since, $lte: now } } },
        {
          $group: {
            _id: null,
            completed: { $sum: { $cond: [{ $eq: ["$status", "completed"] }, 1, 0] } },
            failed: { $sum: { $cond: [{ $eq: ["$status", "failed"] }, 1, 0] } },
          },
        },
      ]);
      if (scope.metric === "failed_count") return row?.failed ?? 0;
      const finished = (row?.completed ?? 0) + (row?.failed ?? 0);
      return row && finished > 0 ? round((row.failed / finished) * 100, 2) : null;
    }
    case "avg_duration_ms":
    case "p95_duration_ms": {
      const completedInWindow = { ...base, status: "completed", completed_at: { $gte: since, $lte: now }, [DURATION_FIELD]: { $ne: null } };
      if (scope.metric === "avg_duration_ms") {
        const [row] = await tasks.aggregate<{ avg: number }>([
          { $match: completedInWindow },
          { $group: { _id: null, avg: { $avg: `$${DURATION_FIELD}` } } },
        ]);
        return row ? round(row.avg, 2) : null;
      }
      const [row] = await tasks.aggregate<DurationRow>([
        { $match: completedInWindow },
        { $sort: { [DURATION_FIELD]: 1 } },
        ...(durationStatsStages(null) as PipelineStage[]),
      ]);
      return row ? round(row.p95, 2) : null;
    }
    case "queue_depth":
      return tasks.countDocuments({ ...base, status: "pending", $or: [{ scheduled_for: null }, { scheduled_for: { $lte: now } }] });
    case "total_cost_usd": {
      const [row] = await tasks.aggregate<{ cost: number }>([
        { $match: { ...base, "metrics.recorded_at": { $gte: since, $lte: now } } },
        { $group: { _id: null, cost: { $sum: { $ifNull: ["$metrics.cost_usd", 0] } } } },
      ]);
      return round(row?.cost ?? 0, 6);
    }
  }
}
