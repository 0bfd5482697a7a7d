import type { Request } from "express";
import type { Connection, PipelineStage, SortOrder } from "mongoose";
import type { Page } from "../../../shared/common.js";
import { DASHBOARD_PERIODS, METRIC_FLAGS, METRIC_SEARCH_KEYWORDS, type DashboardQuery, type MetricListQuery, type MetricSearchKeyword, type MetricsDashboard, type TaskMetricRecord } from "../../../shared/monitoring.js";
import { brandFilter } from "../brands/scope.js";
import type { BrandAccess } from "../http/context.js";
import { AppError } from "../http/errors.js";
import { skipOf, toPage } from "../http/pagination.js";
import { taskModel, type Task, type TaskModel } from "../tasks/model.js";
import { taskNotFound } from "../tasks/service.js";
import { DURATION_FIELD, durationStatsStages, round, successRate, toDurationStats, type DurationRow } from "./aggregations.js";

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function dateBound(value: string, endOfDay: boolean): Date {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return new Date(`${value}T${endOfDay ? "23:59:59.999" : "00:00:00.000"}Z`);
  return new Date(value);
}

/** "high_memory", "High Memory", "high-memory" → "high_memory"; null when not a keyword. */
export function searchKeyword(search: string): MetricSearchKeyword | null {
  const normalized = search.trim().toLowerCase().replace(/[\s-]+/g, "_");
  return (METRIC_FLAGS as string[]).includes(normalized) ? (normalized as MetricSearchKeyword) : null;
}

const METRIC_FIELD = {
  execution_time_ms: "metrics.execution_time_ms",
  memory_usage_mb: "metrics.memory_usage_mb",
  cost_usd: "metrics.cost_usd",
} as const;

/** The mongo filter of GET /tasks/monitoring/metrics/ (brand added by the caller). */
export function metricListFilter(q: MetricListQuery): Record<string, unknown> {
  const filter: Record<string, unknown> = { metrics: { $ne: null } };
  const and: Record<string, unknown>[] = [];
  if (q.task_type) filter.task_type = { $in: q.task_type };
  if (q.status) filter.status = { $in: q.status };
  const ranges: Array<[string, "$gte" | "$lte", number | Date | undefined]> = [
    [METRIC_FIELD.execution_time_ms, "$gte", q.execution_time__gte],
    [METRIC_FIELD.execution_time_ms, "$lte", q.execution_time__lte],
    [METRIC_FIELD.memory_usage_mb, "$gte", q.memory_usage_mb__gte],
    [METRIC_FIELD.memory_usage_mb, "$lte", q.memory_usage_mb__lte],
    [METRIC_FIELD.cost_usd, "$gte", q.cost_usd__gte],
    [METRIC_FIELD.cost_usd, "$lte", q.cost_usd__lte],
    ["metrics.recorded_at", "$gte", q.recorded_after ? dateBound(q.recorded_after, false) : undefined],
    ["metrics.recorded_at", "$lte", q.recorded_before ? dateBound(q.recorded_before, true) : undefined],
  ];
  for (const [field, op, value] of ranges) {
    if (value === undefined) continue;
    filter[field] = { ...(filter[field] as object | undefined), [op]: value };
  }
  if (q.search) {
    const pattern = { $regex: escapeRegex(q.search).replace(/\s+/g, "[\\s_]+"), $options: "i" };
    const or: Record<string, unknown>[] = [{ task_type: pattern }, { description: pattern }, { task_id: pattern }];
    const keyword = searchKeyword(q.search);
    if (keyword) {
      const { field, gte } = METRIC_SEARCH_KEYWORDS[keyword];
      or.push({ [METRIC_FIELD[field]]: { $gte: gte } });
    }
    and.push({ $or: or });
  }
  if (and.length) filter.$and = and;
  return filter;
}

const SORT_FIELD: Record<string, string> = {
  execution_time: METRIC_FIELD.execution_time_ms,
  execution_time_ms: METRIC_FIELD.execution_time_ms,
  memory_usage_mb: METRIC_FIELD.memory_usage_mb,
  cost_usd: METRIC_FIELD.cost_usd,
  recorded_at: "metrics.recorded_at",
};

export function metricSort(ordering: string[] | undefined): Record<string, SortOrder> {
  const sort: Record<string, SortOrder> = {};
  for (const field of ordering ?? ["-recorded_at"]) {
    const name = field.replace(/^-/, "");
    sort[SORT_FIELD[name] ?? name] = field.startsWith("-") ? -1 : 1;
  }
  if (!("id" in sort)) sort.id = -1;
  return sort;
}

function flagsOf(metrics: NonNullable<Task["metrics"]>): MetricSearchKeyword[] {
  return METRIC_FLAGS.filter((flag) => {
    const { field, gte } = METRIC_SEARCH_KEYWORDS[flag];
    return (metrics[field] ?? 0) >= gte;
  });
}

function toMetricRecord(t: Task): TaskMetricRecord {
  const m = t.metrics!;
  return {
    id: t.id,
    task_id: t.task_id,
    task_type: t.task_type,
    status: t.status,
    description: t.description ?? "",
    execution_time_ms: m.execution_time_ms ?? 0,
    memory_usage_mb: m.memory_usage_mb ?? 0,
    cost_usd: m.cost_usd ?? 0,
    recorded_at: iso(m.recorded_at),
    started_at: iso(t.started_at),
    completed_at: iso(t.completed_at),
    retry_count: t.retry_count ?? 0,
    flags: flagsOf(m),
  };
}

const PROJECTION = {
  id: 1, task_id: 1, task_type: 1, status: 1, description: 1, metrics: 1, started_at: 1, completed_at: 1, retry_count: 1, brand: 1,
} as const;

interface StatusRow {
  _id: string;
  n: number;
  cost: number;
}

/** Per-task metrics and the metrics dashboard, read from the metrics the runner stores on each task. */
export class MetricsService {
  private readonly tasks: TaskModel;

  constructor(connection: Connection) {
    this.tasks = taskModel(connection);
  }

  /**
   * Indexes for the monitoring reads on the tasks collection: the metrics list and cost (by
   * recording time) and the dashboard/alert windows (by status and completion time). Default index
   * names, so the same keys declared elsewhere later are a no-op, not a conflict.
   */
  async init(): Promise<void> {
    await Promise.all([
      this.tasks.collection.createIndex({ brand: 1, "metrics.recorded_at": -1 }),
      this.tasks.collection.createIndex({ brand: 1, status: 1, completed_at: -1 }),
    ]);
  }

  async list(req: Request, brand: BrandAccess, query: MetricListQuery): Promise<Page<TaskMetricRecord>> {
    const filter = brandFilter(brand, metricListFilter(query));
    const [count, rows] = await Promise.all([
      this.tasks.countDocuments(filter),
      this.tasks.find(filter, PROJECTION).sort(metricSort(query.ordering)).skip(skipOf(query)).limit(query.page_size).lean<Task[]>(),
    ]);
    return toPage(req, query, count, rows.map(toMetricRecord));
  }

  /** `123` or `task_…` within the brand. */
  async get(brand: BrandAccess, idOrTaskId: string): Promise<TaskMetricRecord> {
    const key = /^\d+$/.test(idOrTaskId) ? { id: Number(idOrTaskId) } : { task_id: idOrTaskId };
    const task = await this.tasks.findOne(brandFilter(brand, key), PROJECTION).lean<Task>();
    if (!task) throw taskNotFound();
    if (!task.metrics) throw new AppError(404, "NOT_FOUND", "No metrics recorded for this task yet (they are written when a run ends)");
    return toMetricRecord(task);
  }

  async dashboard(brand: BrandAccess, query: DashboardQuery, now = new Date()): Promise<MetricsDashboard> {
    const { periodSeconds, bucketSeconds } = DASHBOARD_PERIODS[query.period];
    const bucketMs = bucketSeconds * 1000;
    const bucketCount = periodSeconds / bucketSeconds;
    // Buckets sit on multiples of their size (so they do not shift between two reads); the last holds now.
    const lastBucketStart = Math.floor(now.getTime() / bucketMs) * bucketMs;
    const start = new Date(lastBucketStart - (bucketCount - 1) * bucketMs);
    const end = new Date(lastBucketStart + bucketMs);
    const base: Record<string, unknown> = { brand: brand.brandId };
    if (query.task_type) base.task_type = { $in: query.task_type };
    const finishedInWindow = { completed_at: { $gte: start, $lt: end } };

    const [statusRows, durationFacets, bucketRows, costRows] = await Promise.all([
      this.tasks.aggregate<StatusRow>([
        { $match: base },
        { $group: { _id: "$status", n: { $sum: 1 }, cost: { $sum: { $ifNull: ["$metrics.cost_usd", 0] } } } },
      ]),
      this.tasks.aggregate<{ by_type: DurationRow[]; overall: DurationRow[] }>([
        { $match: { ...base, status: "completed", ...finishedInWindow, [DURATION_FIELD]: { $ne: null } } },
        { $sort: { [DURATION_FIELD]: 1 } },
        { $facet: { by_type: durationStatsStages("$task_type"), overall: durationStatsStages(null) } },
      ]),
      this.tasks.aggregate<{ _id: number; completed: number; failed: number }>([
        { $match: { ...base, status: { $in: ["completed", "failed"] }, ...finishedInWindow } },
        {
          $group: {
            _id: { $floor: { $divide: [{ $subtract: ["$completed_at", start] }, bucketMs] } },
            completed: { $sum: { $cond: [{ $eq: ["$status", "completed"] }, 1, 0] } },
            failed: { $sum: { $cond: [{ $eq: ["$status", "failed"] }, 1, 0] } },
          },
        },
      ] as PipelineStage[]),
      this.tasks.aggregate<{ _id: string; cost: number }>([
        { $match: { ...base, "metrics.recorded_at": { $gte: start, $lt: end } } },
        { $group: { _id: "$task_type", cost: { $sum: { $ifNull: ["$metrics.cost_usd", 0] } } } },
      ]),
    ]);

    const totals = { tasks: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
    let allTimeCost = 0;
    for (const row of statusRows) {
      totals.tasks += row.n;
      if (row._id in totals) totals[row._id as keyof typeof totals] += row.n;
      allTimeCost += row.cost;
    }

    const byBucket = new Map(bucketRows.map((r) => [r._id, r]));
    const throughput = Array.from({ length: bucketCount }, (_, i) => {
      const row = byBucket.get(i);
      return {
        bucket_start: new Date(start.getTime() + i * bucketMs).toISOString(),
        bucket_end: new Date(start.getTime() + (i + 1) * bucketMs).toISOString(),
        completed: row?.completed ?? 0,
        failed: row?.failed ?? 0,
      };
    });
    const periodCompleted = throughput.reduce((n, b) => n + b.completed, 0);
    const periodFailed = throughput.reduce((n, b) => n + b.failed, 0);

    const facets = durationFacets[0] ?? { by_type: [], overall: [] };
    const byType = [...facets.by_type].sort((a, b) => String(a._id).localeCompare(String(b._id)));
    const costByType = [...costRows].sort((a, b) => a._id.localeCompare(b._id));

    return {
      generated_at: now.toISOString(),
      period: query.period,
      window: { start: start.toISOString(), end: end.toISOString(), bucket_seconds: bucketSeconds, bucket_count: bucketCount },
      totals,
      success_rate: successRate(totals.completed, totals.failed),
      period_totals: { completed: periodCompleted, failed: periodFailed, success_rate: successRate(periodCompleted, periodFailed) },
      durations: {
        overall: facets.overall[0] ? toDurationStats(facets.overall[0]) : null,
        by_task_type: Object.fromEntries(byType.map((row) => [String(row._id), toDurationStats(row)])),
      },
      throughput,
      cost: {
        total_usd: round(costRows.reduce((n, r) => n + r.cost, 0), 6),
        by_task_type: Object.fromEntries(costByType.map((r) => [r._id, round(r.cost, 6)])),
        all_time_usd: round(allTimeCost, 6),
      },
    };
  }
}
