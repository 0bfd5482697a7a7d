/**
 * Scheduling (spec/tasks-infrastructure-overview.md, task_scheduling, `/tasks/scheduled/`): periodic
 * tasks that create a task of their `task_type` on a cron schedule, in an IANA time zone.
 * The cron grammar itself is checked on the server (server/src/scheduling/cron.ts), which reports
 * every problem in words; these schemas check shapes, ranges and the time zone.
 */
import { z } from "zod";
import { UserRefSchema } from "./auth.js";
import { BrandRefSchema } from "./brands.js";
import { PageQuerySchema, QueryBooleanSchema, TimestampSchema, paginated } from "./common.js";
import { ContextDataSchema, TaskPrioritySchema } from "./tasks.js";

// ---------------------------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------------------------

let canonicalZones: Map<string, string> | null = null;

/**
 * An IANA zone name as the runtime's time-zone database knows it, spelled canonically when the
 * case differs ("europe/paris" → "Europe/Paris"); aliases ("US/Eastern") are kept as written.
 * Offsets ("+01:00", "UTC+1") and unknown names give null.
 */
export function canonicalTimeZone(name: string): string | null {
  const text = name.trim();
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(text)) return null;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: text });
  } catch {
    return null;
  }
  canonicalZones ??= new Map(["UTC", ...Intl.supportedValuesOf("timeZone")].map((z) => [z.toLowerCase(), z]));
  return canonicalZones.get(text.toLowerCase()) ?? text;
}

export const TimeZoneSchema = z
  .string()
  .max(64)
  .transform((name, ctx) => {
    const zone = canonicalTimeZone(name);
    if (zone === null) {
      ctx.addIssue({ code: "custom", message: `Unknown time zone '${name}': use an IANA name such as Europe/Paris, America/New_York or UTC` });
      return z.NEVER;
    }
    return zone;
  })
  .meta({ description: "IANA time zone name; the schedule is read on its wall clock (DST included).", example: "Europe/Paris" });

// ---------------------------------------------------------------------------------------------
// Periodic tasks
// ---------------------------------------------------------------------------------------------

export const CronExpressionSchema = z
  .string({ error: () => "Ce champ est requis" })
  .trim()
  .min(1, "Ce champ est requis")
  .max(200)
  .meta({
    description:
      "5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first; names JAN-DEC / SUN-SAT, ranges, steps, lists, L, nL, n#k, and @yearly/@monthly/@weekly/@daily/@hourly.",
    example: "0 9 * * 1-5",
  });

const TaskTypeNameSchema = z
  .string({ error: () => "Ce champ est requis" })
  .trim()
  .min(1, "Ce champ est requis")
  .max(100)
  .regex(/^[a-z0-9_.:-]+$/i, "Only letters, digits, '_', '.', ':' and '-' are allowed");

/** The fields a periodic task is made of (all writable). */
const periodicTaskFields = {
  /** Defaulted from the task type and the schedule's description when not given. */
  name: z.string().trim().min(1).max(200),
  task_type: TaskTypeNameSchema,
  cron_expression: CronExpressionSchema,
  timezone: TimeZoneSchema,
  context_data: ContextDataSchema,
  priority: TaskPrioritySchema,
  description: z.string().max(2000),
  /** false = paused: nothing fires until it is resumed. */
  enabled: z.boolean(),
  max_retries: z.number().int().min(0).max(20),
  /** Minutes; fractions allowed (0.5 = 30 s). */
  timeout_minutes: z.number().positive().max(24 * 60),
};

/** POST: `{"cron_expression": "0 9 * * 1-5", "task_type": "report_generation"}` is enough. */
export const CreatePeriodicTaskBodySchema = z
  .object({
    name: periodicTaskFields.name.optional(),
    task_type: periodicTaskFields.task_type,
    cron_expression: periodicTaskFields.cron_expression,
    timezone: periodicTaskFields.timezone.default("UTC"),
    context_data: periodicTaskFields.context_data.default({}),
    priority: periodicTaskFields.priority.default("normal"),
    description: periodicTaskFields.description.default(""),
    enabled: periodicTaskFields.enabled.default(true),
    max_retries: periodicTaskFields.max_retries.default(3),
    timeout_minutes: periodicTaskFields.timeout_minutes.default(60),
  })
  .strict()
  .meta({ id: "CreatePeriodicTaskRequest" });
export type CreatePeriodicTaskBody = z.infer<typeof CreatePeriodicTaskBodySchema>;

/** PATCH: any of the writable fields. */
export const PatchPeriodicTaskBodySchema = z.object(periodicTaskFields).partial().strict().meta({ id: "PatchPeriodicTaskRequest" });
export type PatchPeriodicTaskBody = z.infer<typeof PatchPeriodicTaskBodySchema>;

/** PUT: the required fields again (task_type, cron_expression); the others change only when given. */
export const PutPeriodicTaskBodySchema = PatchPeriodicTaskBodySchema.extend({
  task_type: periodicTaskFields.task_type,
  cron_expression: periodicTaskFields.cron_expression,
})
  .strict()
  .meta({ id: "PutPeriodicTaskRequest" });
export type PutPeriodicTaskBody = z.infer<typeof PutPeriodicTaskBodySchema>;

export const PeriodicTaskSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    task_type: z.string(),
    cron_expression: z.string(),
    timezone: z.string(),
    /** The schedule in words ("At 09:00, Monday through Friday"). */
    cron_description: z.string().nullable(),
    context_data: z.record(z.string(), z.unknown()),
    priority: TaskPrioritySchema,
    description: z.string(),
    enabled: z.boolean(),
    max_retries: z.number().int(),
    timeout_minutes: z.number(),
    /** When it last fired (created a task). */
    last_run_at: TimestampSchema.nullable(),
    /** The next occurrence it will fire for; null while paused. */
    next_run_at: TimestampSchema.nullable(),
    /** next_run_at on the schedule's wall clock, with the zone's offset. */
    next_run_at_local: z.string().nullable(),
    total_run_count: z.number().int(),
    /** The public task_id of the last task it created (GET /tasks/{task_id}/). */
    last_task_id: z.string().nullable(),
    brand: BrandRefSchema,
    created_by: UserRefSchema,
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: "PeriodicTask" });
export type PeriodicTaskView = z.infer<typeof PeriodicTaskSchema>;

export const PeriodicTaskListResponseSchema = paginated(PeriodicTaskSchema).meta({ id: "PeriodicTaskList" });

export const PERIODIC_TASK_ORDERING_FIELDS = ["id", "name", "task_type", "created_at", "updated_at", "next_run_at", "last_run_at", "total_run_count"] as const;

const OrderingSchema = z
  .string()
  .transform((raw) => raw.split(",").map((v) => v.trim()).filter(Boolean))
  .pipe(
    z
      .array(
        z.string().refine((f) => (PERIODIC_TASK_ORDERING_FIELDS as readonly string[]).includes(f.replace(/^-/, "")), {
          error: `Unknown ordering field. Choices: ${PERIODIC_TASK_ORDERING_FIELDS.join(", ")} (prefix with '-' for descending)`,
        }),
      )
      .min(1)
      .max(5),
  );

export const PeriodicTaskListQuerySchema = PageQuerySchema.extend({
  enabled: QueryBooleanSchema.optional(),
  /** One type or a comma-separated list. */
  task_type: z.string().max(500).transform((raw) => raw.split(",").map((v) => v.trim()).filter(Boolean)).optional(),
  /** In name, description, task_type and cron_expression. */
  search: z.string().trim().min(1).max(200).optional(),
  /** Default `-created_at`. */
  ordering: OrderingSchema.optional(),
});
export type PeriodicTaskListQuery = z.infer<typeof PeriodicTaskListQuerySchema>;

export const PeriodicTaskIdParamsSchema = z.object({
  id: z.string().regex(/^[1-9]\d{0,15}$/, "must be a periodic task id (a positive integer)").transform(Number),
});

// ---------------------------------------------------------------------------------------------
// validate-cron
// ---------------------------------------------------------------------------------------------

export const NEXT_RUNS_MAX = 50;

export const ValidateCronBodySchema = z
  .object({
    cron_expression: z.string({ error: () => "Ce champ est requis" }).max(1000),
    /** An unknown zone is reported in `errors` (valid: false), like a bad expression. Default UTC. */
    timezone: z.string().max(100).optional(),
    /** How many next runs to list (default 5, at most 50). */
    count: z.number().int().min(1).max(NEXT_RUNS_MAX).default(5),
    /** List the runs after this instant instead of after now. */
    after: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .meta({ id: "ValidateCronRequest" });
export type ValidateCronBody = z.infer<typeof ValidateCronBodySchema>;

export const ValidateCronResponseSchema = z
  .object({
    valid: z.boolean(),
    cron_expression: z.string(),
    timezone: z.string(),
    /** Every problem found, in words; empty when valid. */
    errors: z.array(z.string()),
    /** Valid, but worth knowing (day-of-month OR day-of-week rule, runs faster than the scheduler tick). */
    warnings: z.array(z.string()),
    /** cronstrue's wording; null when invalid. */
    description: z.string().nullable(),
    /** Whether the expression has a seconds field (6 fields). */
    has_seconds: z.boolean(),
    /** The next runs as UTC instants. */
    next_runs: z.array(TimestampSchema),
    /** The same runs on the zone's wall clock, with its offset ("2025-03-30T03:30:00+02:00"). */
    next_runs_local: z.array(z.string()),
  })
  .meta({ id: "ValidateCronResponse" });
export type ValidateCronResponse = z.infer<typeof ValidateCronResponseSchema>;

// ---------------------------------------------------------------------------------------------
// cron-jobs: the schedules that will fire
// ---------------------------------------------------------------------------------------------

export const CronJobListQuerySchema = PageQuerySchema.extend({
  /** Next runs listed per job (default 5, at most 20). */
  next_runs: z.coerce.number().int().min(1).max(20).default(5),
});
export type CronJobListQuery = z.infer<typeof CronJobListQuerySchema>;

export const CronJobSchema = z
  .object({
    /** The periodic task's id. */
    id: z.number().int(),
    periodic_task: z.number().int(),
    name: z.string(),
    task_type: z.string(),
    priority: TaskPrioritySchema,
    cron_expression: z.string(),
    timezone: z.string(),
    cron_description: z.string().nullable(),
    enabled: z.boolean(),
    /** Due now: the next scheduler tick fires it. */
    is_due: z.boolean(),
    next_run_at: TimestampSchema.nullable(),
    /** The coming occurrences after next_run_at (UTC), next_run_at first. */
    next_runs: z.array(TimestampSchema),
    next_runs_local: z.array(z.string()),
    last_run_at: TimestampSchema.nullable(),
    last_task_id: z.string().nullable(),
    total_run_count: z.number().int(),
  })
  .meta({ id: "CronJob" });
export type CronJobView = z.infer<typeof CronJobSchema>;

export const CronJobListResponseSchema = paginated(CronJobSchema).meta({ id: "CronJobList" });
