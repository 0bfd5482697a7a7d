/**
 * Task monitoring (spec/tasks-infrastructure-overview.md, task_monitoring): per-task metrics, the
 * metrics dashboard and worker health (alert rules and their alerts: alerts.ts). Every endpoint is
 * brand-scoped except the worker processes themselves, which are shared infrastructure.
 */
import { z } from "zod";
import { PageQuerySchema, TimestampSchema, commaListOf, paginated } from "./common.js";
import { TaskStatusSchema, TASK_STATUSES } from "./tasks.js";

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

const DateOrDateTimeSchema = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);
const NonNegativeQueryNumber = z.coerce.number().min(0);

function orderingOf(fields: readonly string[], max = 3) {
  return z
    .string()
    .transform((raw) => raw.split(",").map((v) => v.trim()).filter(Boolean))
    .pipe(
      // Checked as a whole so the error is reported under `ordering`, not `ordering.0`.
      z
        .array(z.string())
        .min(1)
        .max(max)
        .refine((list) => list.every((f) => fields.includes(f.replace(/^-/, ""))), {
          error: `Unknown ordering field. Choices: ${fields.join(", ")} (prefix with '-' for descending)`,
        }),
    );
}

const TaskTypeFilterSchema = z
  .string()
  .max(500)
  .transform((raw) => raw.split(",").map((v) => v.trim()).filter(Boolean))
  .pipe(z.array(z.string().max(100)).min(1, "at least one task type"));

// ---------------------------------------------------------------------------------------------
// Per-task metrics: GET /tasks/monitoring/metrics/ and /metrics/{id}/
// ---------------------------------------------------------------------------------------------

/**
 * `?search=` keywords that stand for a threshold rather than text. A search equal to one of them
 * (case-insensitive; "high memory" and "high-memory" count too) matches tasks over the threshold
 * as well as tasks whose type, description or task_id contain the word. Each metric also lists
 * the keywords it meets in `flags`.
 */
export const METRIC_SEARCH_KEYWORDS = {
  /** Peak resident memory of the worker process during the run, in MB. */
  high_memory: { field: "memory_usage_mb", gte: 512 },
  /** Wall-clock run time, in ms (one minute). */
  slow: { field: "execution_time_ms", gte: 60_000 },
  /** Cost reported by the handler, in USD. */
  expensive: { field: "cost_usd", gte: 1 },
} as const satisfies Record<string, { field: "memory_usage_mb" | "execution_time_ms" | "cost_usd"; gte: number }>;
export type MetricSearchKeyword = keyof typeof METRIC_SEARCH_KEYWORDS;
export const METRIC_FLAGS = Object.keys(METRIC_SEARCH_KEYWORDS) as MetricSearchKeyword[];

export const METRIC_ORDERING_FIELDS = [
  "id", "task_type", "status", "execution_time", "execution_time_ms", "memory_usage_mb", "cost_usd", "recorded_at", "completed_at",
] as const;

const searchDescription =
  "Text in task_type, description or task_id (case-insensitive). The keywords " +
  Object.entries(METRIC_SEARCH_KEYWORDS)
    .map(([k, v]) => `\`${k}\` (${v.field} >= ${v.gte})`)
    .join(", ") +
  " also match every task over that threshold.";

export const MetricListQuerySchema = PageQuerySchema.extend({
  task_type: TaskTypeFilterSchema.optional().meta({ description: "One or more task types, comma-separated" }),
  status: commaListOf(TASK_STATUSES).optional().meta({ description: "One or more task statuses, comma-separated" }),
  execution_time__gte: NonNegativeQueryNumber.optional().meta({ description: "execution_time_ms >= value" }),
  execution_time__lte: NonNegativeQueryNumber.optional().meta({ description: "execution_time_ms <= value" }),
  memory_usage_mb__gte: NonNegativeQueryNumber.optional(),
  memory_usage_mb__lte: NonNegativeQueryNumber.optional(),
  cost_usd__gte: NonNegativeQueryNumber.optional(),
  cost_usd__lte: NonNegativeQueryNumber.optional(),
  recorded_after: DateOrDateTimeSchema.optional().meta({ description: "metrics recorded at or after (a date means its start, UTC)" }),
  recorded_before: DateOrDateTimeSchema.optional().meta({ description: "metrics recorded at or before (a date means its end, UTC)" }),
  search: z.string().trim().min(1).max(200).optional().meta({ description: searchDescription }),
  ordering: orderingOf(METRIC_ORDERING_FIELDS).optional().meta({ description: "Default -recorded_at" }),
});
export type MetricListQuery = z.infer<typeof MetricListQuerySchema>;

export const TaskMetricRecordSchema = z
  .object({
    /** The task's integer id (the metrics are one-to-one with the task). */
    id: z.number().int(),
    task_id: z.string(),
    task_type: z.string(),
    status: TaskStatusSchema,
    description: z.string(),
    execution_time_ms: z.number(),
    memory_usage_mb: z.number(),
    cost_usd: z.number(),
    recorded_at: TimestampSchema.nullable(),
    started_at: TimestampSchema.nullable(),
    completed_at: TimestampSchema.nullable(),
    retry_count: z.number().int(),
    /** Search keywords whose threshold this run meets (high_memory, slow, expensive). */
    flags: z.array(z.enum(METRIC_FLAGS as [MetricSearchKeyword, ...MetricSearchKeyword[]])),
  })
  .meta({ id: "TaskMetricRecord" });
export type TaskMetricRecord = z.infer<typeof TaskMetricRecordSchema>;

export const TaskMetricListResponseSchema = paginated(TaskMetricRecordSchema).meta({ id: "TaskMetricList" });

// ---------------------------------------------------------------------------------------------
// Dashboard: GET /tasks/monitoring/metrics/dashboard/
// ---------------------------------------------------------------------------------------------

/** Period → throughput bucket size: 1h in 5-minute buckets, 24h hourly, 7d in 6-hour buckets. */
export const DASHBOARD_PERIODS = {
  "1h": { periodSeconds: 3_600, bucketSeconds: 300 },
  "24h": { periodSeconds: 86_400, bucketSeconds: 3_600 },
  "7d": { periodSeconds: 604_800, bucketSeconds: 21_600 },
} as const;
export type DashboardPeriod = keyof typeof DASHBOARD_PERIODS;

export const DashboardQuerySchema = z.object({
  period: z.enum(Object.keys(DASHBOARD_PERIODS) as [DashboardPeriod, ...DashboardPeriod[]]).default("24h"),
  task_type: TaskTypeFilterSchema.optional().meta({ description: "Limit every figure to these task types (comma-separated)" }),
});
export type DashboardQuery = z.infer<typeof DashboardQuerySchema>;

/**
 * Percentiles interpolate linearly between the closest ranks (numpy's default, Excel's
 * PERCENTILE.INC): for n sorted values, p lies at position p·(n−1).
 */
export const DurationStatsSchema = z
  .object({
    count: z.number().int(),
    avg_ms: z.number(),
    min_ms: z.number(),
    p50_ms: z.number(),
    p95_ms: z.number(),
    max_ms: z.number(),
  })
  .meta({ id: "DurationStats" });
export type DurationStats = z.infer<typeof DurationStatsSchema>;

export const ThroughputBucketSchema = z.object({
  bucket_start: TimestampSchema,
  bucket_end: TimestampSchema,
  completed: z.number().int(),
  failed: z.number().int(),
});

const StatusCountsSchema = z.object({
  tasks: z.number().int(),
  pending: z.number().int(),
  running: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
});

export const MetricsDashboardSchema = z
  .object({
    generated_at: TimestampSchema,
    period: z.enum(Object.keys(DASHBOARD_PERIODS) as [DashboardPeriod, ...DashboardPeriod[]]),
    /** The throughput window: whole buckets, the last one holding now. */
    window: z.object({ start: TimestampSchema, end: TimestampSchema, bucket_seconds: z.number().int(), bucket_count: z.number().int() }),
    /** Every task of the brand by its current status (all time). */
    totals: StatusCountsSchema,
    /** completed / (completed + failed) × 100 over all time, one decimal; null when nothing finished. */
    success_rate: z.number().nullable(),
    /** Tasks that finished (completed_at) within the window. */
    period_totals: z.object({ completed: z.number().int(), failed: z.number().int(), success_rate: z.number().nullable() }),
    /** Run time of tasks completed within the window. */
    durations: z.object({ overall: DurationStatsSchema.nullable(), by_task_type: z.record(z.string(), DurationStatsSchema) }),
    throughput: z.array(ThroughputBucketSchema),
    /** Cost of runs whose metrics were recorded within the window; all_time_usd: every run of the brand. */
    cost: z.object({ total_usd: z.number(), by_task_type: z.record(z.string(), z.number()), all_time_usd: z.number() }),
  })
  .meta({ id: "MetricsDashboard" });
export type MetricsDashboard = z.infer<typeof MetricsDashboardSchema>;

// ---------------------------------------------------------------------------------------------
// Workers: GET /tasks/monitoring/workers/overview/
// ---------------------------------------------------------------------------------------------

export const WORKER_STATUSES = ["alive", "stale", "stopped"] as const;
export const WorkerStatusSchema = z.enum(WORKER_STATUSES);
export type WorkerStatus = z.infer<typeof WorkerStatusSchema>;

export const WorkersOverviewQuerySchema = z.object({
  status: commaListOf(WORKER_STATUSES).optional().meta({ description: "alive, stale and/or stopped (comma-separated); default all" }),
  inactive_within_hours: z.coerce.number().int().min(0).max(24 * 90).default(24).meta({
    description:
      "Stopped and stale workers are listed until their last sign of life (stopped_at or last heartbeat) is older than this many hours (default 24); alive workers always are",
  }),
});
export type WorkersOverviewQuery = z.infer<typeof WorkersOverviewQuerySchema>;

/**
 * What a seller may see of the server processes: their state and load, and which of the caller's
 * brand's tasks each runs. Host names and pids are operators' business (the task_workers
 * collection and the logs), never a seller's.
 */
export const WorkerViewSchema = z
  .object({
    /** An opaque id of the process, stable for its lifetime (not its host name or pid). */
    worker_id: z.string(),
    started_at: TimestampSchema,
    last_heartbeat: TimestampSchema,
    stopped_at: TimestampSchema.nullable(),
    /** alive: heartbeat fresh; stale: silent for longer than stale_after_ms (or its process is gone) without stopping; stopped: shut down cleanly. */
    status: WorkerStatusSchema,
    heartbeat_age_ms: z.number().int(),
    /** This is the server process that answered. */
    is_current_process: z.boolean(),
    /** count: every task the worker runs (all brands); task_ids: only those of the caller's brand. */
    running_jobs: z.object({ count: z.number().int(), task_ids: z.array(z.string()) }),
  })
  .meta({ id: "WorkerView" });
export type WorkerView = z.infer<typeof WorkerViewSchema>;

/** What the extension polls of the answering server process cost since it started. */
export const PluginPollCountersSchema = z
  .object({
    /** Polls answered 200 "No pending tasks" (written to the access log at debug only). */
    empty: z.number().int(),
    /** Claim attempts answered from memory: the seller had nothing to claim. */
    without_database: z.number().int(),
    /** Claim attempts that went to the database. */
    database_claims: z.number().int(),
    /** Tasks handed out. */
    claimed: z.number().int(),
  })
  .meta({ id: "PluginPollCounters" });
export type PluginPollCounters = z.infer<typeof PluginPollCountersSchema>;

export const WorkersOverviewSchema = z
  .object({
    generated_at: TimestampSchema,
    stale_after_ms: z.number().int(),
    totals: z.object({
      workers: z.number().int(),
      alive: z.number().int(),
      stale: z.number().int(),
      stopped: z.number().int(),
      /** Tasks running on the listed workers, all brands. */
      running_jobs: z.number().int(),
      /** Of which the caller's brand. */
      running_jobs_in_brand: z.number().int(),
    }),
    workers: z.array(WorkerViewSchema),
    /** The extension polls this process answered (its memory, not the database's). */
    plugin_polls: PluginPollCountersSchema,
  })
  .meta({ id: "WorkersOverview" });
export type WorkersOverview = z.infer<typeof WorkersOverviewSchema>;
