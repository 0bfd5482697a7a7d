/**
 * Batches of jobs (spec/batches-and-dashboard-endpoints.md): one task type, up to 100,000 jobs for
 * one selling account, followed, paused, resumed and cancelled together. Jobs are ordinary tasks
 * carrying `batch_id` and `account_id`.
 */
import { z } from "zod";
import { AccountIdSchema } from "./accounts.js";
import { PageQuerySchema, QueryBooleanSchema, TimestampSchema, paginated } from "./common.js";
import { TASK_PRIORITIES, TASK_STATUSES, type TaskStatus } from "./tasks.js";

export const MAX_BATCH_JOBS = 100_000;

/** active: jobs still to run; paused: held by pause; completed: every job finished; cancelled: by cancel. */
export const BATCH_STATES = ["active", "paused", "completed", "cancelled"] as const;
export type BatchState = (typeof BATCH_STATES)[number];

export const BatchIdSchema = z.string().regex(/^batch-\d{8}-[a-z0-9]{6}$/, "must be a batch id (batch-YYYYMMDD-xxxxxx)");
export const BatchParamsSchema = z.object({ batch_id: BatchIdSchema });

const JsonObjectSchema = z.record(z.string(), z.unknown());

export const CreateBatchBodySchema = z
  .object({
    account_id: AccountIdSchema,
    task_type: z.string().trim().min(1).max(100),
    name: z.string().trim().max(200).default(""),
    description: z.string().max(2000).default(""),
    /** One job per entry, its own context_data (merged over the shared `context_data`). */
    jobs: z
      .array(z.object({ context_data: JsonObjectSchema.default({}) }).strict())
      .min(1)
      .max(MAX_BATCH_JOBS)
      .optional(),
    /** One job per product: its context_data is `{product_id}` (over the shared `context_data`). */
    product_ids: z
      .array(z.union([z.string().min(1).max(100), z.number().int()]))
      .min(1)
      .max(MAX_BATCH_JOBS)
      .optional(),
    /** Given to every job (a job's own keys win). */
    context_data: JsonObjectSchema.default({}),
    priority: z.enum(TASK_PRIORITIES).default("normal"),
    scheduled_for: z.iso.datetime({ offset: true }).nullable().default(null),
    /** At most this many jobs of the batch run at once (server jobs); unlimited when null. */
    concurrency: z.number().int().min(1).max(10_000).nullable().default(null),
    max_retries: z.number().int().min(0).max(10).default(3),
    timeout_minutes: z.number().positive().max(1440).default(60),
    /** What one completed job costs the account (credits or postpaid money). */
    cost_per_job: z.number().min(0).max(1e6).default(1),
  })
  .strict()
  .refine((b) => (b.jobs === undefined) !== (b.product_ids === undefined), {
    message: "Give exactly one of jobs or product_ids",
    path: ["jobs"],
  })
  .meta({ id: "CreateBatchBody" });
export type CreateBatchBody = z.infer<typeof CreateBatchBodySchema>;

export const BatchCountsSchema = z.object(Object.fromEntries(TASK_STATUSES.map((s) => [s, z.number().int()])) as Record<TaskStatus, z.ZodNumber>);

export const BatchSchema = z
  .object({
    batch_id: z.string(),
    account_id: z.string(),
    name: z.string(),
    description: z.string(),
    task_type: z.string(),
    executor: z.enum(["server", "extension"]),
    state: z.enum(BATCH_STATES),
    is_active: z.boolean(),
    priority: z.enum(TASK_PRIORITIES),
    concurrency: z.number().int().nullable(),
    scheduled_for: TimestampSchema.nullable(),
    cost_per_job: z.number(),
    total_jobs: z.number().int(),
    /** Jobs per status, kept by every status change. */
    counts: BatchCountsSchema,
    total_cost: z.number(),
    total_minutes: z.number(),
    progress_percentage: z.number(),
    cancellation_reason: z.string().nullable(),
    created_at: TimestampSchema,
    started_at: TimestampSchema.nullable(),
    paused_at: TimestampSchema.nullable(),
    completed_at: TimestampSchema.nullable(),
  })
  .meta({ id: "Batch" });
export type BatchView = z.infer<typeof BatchSchema>;

export const BATCH_ORDERINGS = ["created_at", "-created_at", "total_jobs", "-total_jobs", "completed_at", "-completed_at"] as const;

export const BatchListQuerySchema = PageQuerySchema.extend({
  is_active: QueryBooleanSchema.optional(),
  account_id: AccountIdSchema.optional(),
  state: z.enum(BATCH_STATES).optional(),
  task_type: z.string().max(100).optional(),
  ordering: z.enum(BATCH_ORDERINGS).default("-created_at"),
});
export type BatchListQuery = z.infer<typeof BatchListQuerySchema>;

export const BatchListResponseSchema = paginated(BatchSchema).meta({ id: "BatchList" });

/** GET /batches/{id}/status, exactly the spec's fields (pending_jobs counts queued and running jobs). */
export const BatchStatusSchema = z
  .object({
    batch_id: z.string(),
    is_active: z.boolean(),
    total_jobs: z.number().int(),
    pending_jobs: z.number().int(),
    completed_jobs: z.number().int(),
    failed_jobs: z.number().int(),
    suspended_jobs: z.number().int(),
    total_cost: z.number(),
    total_minutes: z.number(),
    progress_percentage: z.number(),
    started_at: TimestampSchema.nullable(),
    completed_at: TimestampSchema.nullable(),
  })
  .meta({ id: "BatchStatus" });
export type BatchStatus = z.infer<typeof BatchStatusSchema>;

export const CancelBatchQuerySchema = z.object({ reason: z.string().trim().min(1).max(500).optional() });

export const CancelBatchResponseSchema = z
  .object({ success: z.literal(true), message: z.literal("Batch cancelled successfully"), reason: z.string().nullable() })
  .meta({ id: "CancelBatchResponse" });

export const PauseBatchResponseSchema = z
  .object({ success: z.literal(true), message: z.literal("Batch paused successfully"), batch_id: z.string(), suspended_jobs: z.number().int() })
  .meta({ id: "PauseBatchResponse" });

export const ResumeBatchResponseSchema = z
  .object({ success: z.literal(true), message: z.literal("Batch resumed successfully"), batch_id: z.string(), resumed_jobs: z.number().int() })
  .meta({ id: "ResumeBatchResponse" });

const DurationStatsSchema = z.object({ avg: z.number().nullable(), p50: z.number().nullable(), p95: z.number().nullable() });

export const BatchSummarySchema = z
  .object({
    batch: BatchSchema,
    counts: BatchCountsSchema,
    /** Seconds per completed job. */
    duration_seconds: DurationStatsSchema,
    cost: z.object({ total: z.number(), per_job: z.number(), unpaid_jobs: z.number().int() }),
    /** Jobs finished per minute since the batch started. */
    throughput_per_minute: z.number().nullable(),
    /** When the remaining jobs should be done at the current throughput (null when finished or unknown). */
    eta: TimestampSchema.nullable(),
    top_errors: z.array(z.object({ error_message: z.string(), count: z.number().int(), example_job_ids: z.array(z.string()) })),
    timestamps: z.object({
      created_at: TimestampSchema,
      started_at: TimestampSchema.nullable(),
      paused_at: TimestampSchema.nullable(),
      completed_at: TimestampSchema.nullable(),
    }),
    cancellation_reason: z.string().nullable(),
  })
  .meta({ id: "BatchSummary" });
export type BatchSummary = z.infer<typeof BatchSummarySchema>;
