/**
 * The task hub contract (spec/task-core-api.md): status and priority words, request bodies and the
 * list filters. Plain zod 4; the server registers these for OpenAPI and validation.
 */
import { z } from "zod";
import { BrandRefSchema } from "./brands.js";
import { UserRefSchema } from "./auth.js";
import { PageQuerySchema, QueryBooleanSchema, TimestampSchema, commaListOf, paginated } from "./common.js";

/**
 * `suspended`: held back (a paused batch) until resumed; never claimed. A task scheduled for later
 * is `pending` with a future `scheduled_for`. The transitions between these words are listed once,
 * in server/src/tasks/lifecycle/table.ts.
 */
export const TASK_STATUSES = ["pending", "running", "completed", "failed", "cancelled", "suspended"] as const;
export const TaskStatusSchema = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

export const TASK_PRIORITIES = ["low", "normal", "high", "critical"] as const;
export const TaskPrioritySchema = z.enum(TASK_PRIORITIES, {
  error: () => `Valeur invalide. Choix: ${TASK_PRIORITIES.join(", ")}`,
});
export type TaskPriority = z.infer<typeof TaskPrioritySchema>;

/** Statuses from which a task may be retried (spec: INVALID_OPERATION otherwise). */
export const RETRYABLE_STATUSES = ["failed", "cancelled"] as const satisfies readonly TaskStatus[];
/** Statuses in which a task can still be cancelled. */
export const CANCELLABLE_STATUSES = ["pending", "running", "suspended"] as const satisfies readonly TaskStatus[];

const TaskTypeSchema = z
  .string({ error: () => "Ce champ est requis" })
  .trim()
  .min(1, "Ce champ est requis")
  .max(100)
  .regex(/^[a-z0-9_.:-]+$/i, "Only letters, digits, '_', '.', ':' and '-' are allowed");

/** Free-form JSON object; keys starting with `$` or containing `.` are refused (they could reach a query). */
export const ContextDataSchema = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    const bad = findUnsafeKey(value);
    if (bad) ctx.addIssue({ code: "custom", message: `Key '${bad}' is not allowed: keys may not start with '$' or contain '.'` });
  });

function findUnsafeKey(value: unknown, depth = 0): string | null {
  if (depth > 20 || value === null || typeof value !== "object") return null;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k.startsWith("$") || k.includes(".")) return k;
    const nested = findUnsafeKey(v, depth + 1);
    if (nested) return nested;
  }
  return null;
}

/**
 * Like `.strict()`, but each unknown key is reported under its own name (`field_errors.status`),
 * as the spec's field errors are, rather than as one non-field error.
 */
function refuseUnknownKeys(known: readonly string[], message: string) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) ctx.addIssue({ code: "custom", path: [key], message });
    }
  };
}

const CREATE_FIELDS = ["task_type", "priority", "description", "context_data", "scheduled_for", "max_retries", "timeout_minutes"] as const;

export const CreateTaskBodySchema = z
  .looseObject({
  task_type: TaskTypeSchema,
  priority: TaskPrioritySchema.default("normal"),
  description: z.string().max(2000).default(""),
  context_data: ContextDataSchema.default({}),
  scheduled_for: z.iso.datetime({ offset: true }).nullish(),
  max_retries: z.number().int().min(0).max(20).default(3),
  /** Minutes; fractions allowed (0.5 = 30 s). */
  timeout_minutes: z.number().positive().max(24 * 60).default(60),
  })
  .superRefine(refuseUnknownKeys(CREATE_FIELDS, `Unknown field. Fields: ${CREATE_FIELDS.join(", ")}`))
  .meta({ id: "CreateTaskRequest" });
export type CreateTaskBody = z.infer<typeof CreateTaskBodySchema>;

/** PUT/PATCH: only these fields can change after creation. */
export const MODIFIABLE_TASK_FIELDS = ["priority", "description", "context_data", "scheduled_for", "max_retries", "timeout_minutes"] as const;
export const UpdateTaskBodySchema = z
  .looseObject({
    priority: TaskPrioritySchema,
    description: z.string().max(2000),
    context_data: ContextDataSchema,
    scheduled_for: z.iso.datetime({ offset: true }).nullable(),
    max_retries: z.number().int().min(0).max(20),
    timeout_minutes: z.number().positive().max(24 * 60),
  })
  .partial()
  .superRefine(refuseUnknownKeys(MODIFIABLE_TASK_FIELDS, `This field cannot be modified. Modifiable fields: ${MODIFIABLE_TASK_FIELDS.join(", ")}`));
export type UpdateTaskBody = z.infer<typeof UpdateTaskBodySchema>;

/**
 * PUT replaces the modifiable fields, so it names every one of them (scheduled_for may be null); a
 * partial body is refused with each missing field named — PATCH is the partial update.
 */
export const ReplaceTaskBodySchema = UpdateTaskBodySchema.superRefine((body, ctx) => {
  for (const field of MODIFIABLE_TASK_FIELDS) {
    if ((body as Record<string, unknown>)[field] === undefined) {
      ctx.addIssue({ code: "custom", path: [field], message: "Ce champ est requis (PUT replaces every modifiable field; use PATCH to change some)" });
    }
  }
});

export const RetryTaskBodySchema = z
  .object({
    reset_progress: z.boolean().default(true),
    clear_errors: z.boolean().default(true),
    new_priority: TaskPrioritySchema.optional(),
  })
  .strict();
export type RetryTaskBody = z.infer<typeof RetryTaskBodySchema>;

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

const JsonObjectSchema = z.record(z.string(), z.unknown());

export const TaskMetricsSchema = z
  .object({
    execution_time_ms: z.number(),
    memory_usage_mb: z.number(),
    cost_usd: z.number(),
    recorded_at: TimestampSchema.nullable(),
  })
  .meta({ id: "TaskMetrics" });

export const PersistentJobSummarySchema = z
  .object({
    state: z.enum(["running", "interrupted", "resumed", "completed", "failed", "cancelled"]),
    can_resume: z.boolean(),
    checkpoint_count: z.number().int(),
    last_checkpoint_at: TimestampSchema.nullable(),
    progress_percentage: z.number(),
    interrupted_at: TimestampSchema.nullable(),
    resumed_at: TimestampSchema.nullable(),
    resume_count: z.number().int(),
  })
  .meta({ id: "PersistentJobSummary" });
export type PersistentJobSummary = z.infer<typeof PersistentJobSummarySchema>;

export const TaskSchema = z
  .object({
    id: z.number().int(),
    task_id: z.string(),
    task_type: z.string(),
    executor: z.enum(["server", "extension"]),
    status: TaskStatusSchema,
    priority: TaskPrioritySchema,
    description: z.string(),
    progress_percentage: z.number(),
    progress_message: z.string().nullable(),
    brand: BrandRefSchema,
    created_by: UserRefSchema,
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
    started_at: TimestampSchema.nullable(),
    completed_at: TimestampSchema.nullable(),
    cancelled_at: TimestampSchema.nullable(),
    scheduled_for: TimestampSchema.nullable(),
    context_data: JsonObjectSchema,
    result_data: JsonObjectSchema.nullable(),
    error_message: z.string().nullable(),
    error_details: JsonObjectSchema.nullable(),
    retry_count: z.number().int(),
    max_retries: z.number().int(),
    timeout_minutes: z.number(),
    is_periodic: z.boolean(),
    periodic_task: z.number().int().nullable(),
    batch_id: z.string().nullable(),
    /** The selling account a batch job works for (accounts/). */
    account_id: z.string().nullable(),
    metrics: TaskMetricsSchema.nullable(),
    persistent_job: PersistentJobSummarySchema.nullable(),
  })
  .meta({ id: "Task" });
export type TaskView = z.infer<typeof TaskSchema>;

export const TaskListResponseSchema = paginated(TaskSchema).meta({ id: "TaskList" });

export const RetryTaskResponseSchema = z
  .object({
    message: z.string(),
    task_id: z.string(),
    new_status: TaskStatusSchema,
    retry_count: z.number().int(),
    max_retries: z.number().int(),
    estimated_start: TimestampSchema,
  })
  .meta({ id: "RetryTaskResponse" });
export type RetryTaskResponse = z.infer<typeof RetryTaskResponseSchema>;

export const CancelTaskResponseSchema = z
  .object({
    message: z.string(),
    task_id: z.string(),
    previous_status: TaskStatusSchema,
    cancelled_at: TimestampSchema,
  })
  .meta({ id: "CancelTaskResponse" });
export type CancelTaskResponse = z.infer<typeof CancelTaskResponseSchema>;

const QueueCountsSchema = z.object({ pending: z.number().int(), running: z.number().int(), total_today: z.number().int() });

export const QueueStatsResponseSchema = z
  .object({
    total_tasks: z.number().int(),
    queues: z.object({ critical: QueueCountsSchema, high: QueueCountsSchema, normal: QueueCountsSchema, low: QueueCountsSchema }),
    status_distribution: z.object(Object.fromEntries(TASK_STATUSES.map((s) => [s, z.number().int()])) as Record<TaskStatus, z.ZodNumber>),
    avg_processing_time_minutes: z.object({ critical: z.number(), high: z.number(), normal: z.number(), low: z.number() }),
  })
  .meta({ id: "QueueStats" });
export type QueueStatsResponse = z.infer<typeof QueueStatsResponseSchema>;

export const TypeStatsResponseSchema = z
  .object({
    task_types: z.record(
      z.string(),
      z.object({
        total: z.number().int(),
        completed: z.number().int(),
        failed: z.number().int(),
        avg_duration_minutes: z.number(),
        success_rate: z.number(),
      }),
    ),
  })
  .meta({ id: "TypeStats" });
export type TypeStatsResponse = z.infer<typeof TypeStatsResponseSchema>;

// ---------------------------------------------------------------------------------------------
// List filters (GET /tasks/)
// ---------------------------------------------------------------------------------------------

const splitCommas = (raw: string) => raw.split(",").map((v) => v.trim()).filter(Boolean);

/** Fields `ordering` accepts (each may be prefixed with `-`). */
export const TASK_ORDERING_FIELDS = [
  "id", "created_at", "updated_at", "started_at", "completed_at", "scheduled_for",
  "priority", "status", "task_type", "progress_percentage", "retry_count", "execution_time",
] as const;

const OrderingSchema = z.string().transform((raw, ctx) => {
  const fields = splitCommas(raw);
  const unknown = fields.filter((f) => !(TASK_ORDERING_FIELDS as readonly string[]).includes(f.replace(/^-/, "")));
  if (unknown.length > 0 || fields.length === 0) {
    ctx.addIssue({
      code: "custom",
      message: `Unknown ordering field${unknown.length ? ` (${unknown.join(", ")})` : ""}. Choices: ${TASK_ORDERING_FIELDS.join(", ")} (prefix with '-' for descending)`,
    });
    return z.NEVER;
  }
  if (fields.length > 5) {
    ctx.addIssue({ code: "custom", message: "At most 5 ordering fields" });
    return z.NEVER;
  }
  return fields;
});

const DateOrDateTimeSchema = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

export const TaskListQuerySchema = PageQuerySchema.extend({
  /** `active` is accepted as pending+running (spec: `?is_periodic=true&status=active`). */
  status: commaListOf(TASK_STATUSES, { active: ["pending", "running"] }).optional(),
  priority: commaListOf(TASK_PRIORITIES).optional(),
  task_type: z.string().max(500).transform((raw) => raw.split(",").map((v) => v.trim()).filter(Boolean)).optional(),
  task_type__startswith: z.string().min(1).max(100).optional(),
  created_after: DateOrDateTimeSchema.optional(),
  created_before: DateOrDateTimeSchema.optional(),
  search: z.string().trim().min(1).max(200).optional(),
  has_metrics: QueryBooleanSchema.optional(),
  is_resumable: QueryBooleanSchema.optional(),
  is_periodic: QueryBooleanSchema.optional(),
  execution_time__gte: z.coerce.number().min(0).optional(),
  ordering: OrderingSchema.optional(),
  batch_id: z.string().max(100).optional(),
  account_id: z.string().max(100).optional(),
});
export type TaskListQuery = z.infer<typeof TaskListQuerySchema>;

export const TaskIdParamsSchema = z.object({
  /** The integer `id` or the public `task_id` ("task_…"). */
  id: z.string().regex(/^(\d{1,15}|task_[A-Za-z0-9]{4,64})$/, "must be a task id (123 or task_…)"),
});
