/**
 * The task hub contract (spec/task-core-api.md): status and priority words, request bodies and the
 * list filters. Plain zod 4; the server registers these for OpenAPI and validation.
 */
import { z } from "zod";

export const TASK_STATUSES = ["pending", "running", "completed", "failed", "cancelled"] as const;
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
export const CANCELLABLE_STATUSES = ["pending", "running"] as const satisfies readonly TaskStatus[];

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

export const CreateTaskBodySchema = z.object({
  task_type: TaskTypeSchema,
  priority: TaskPrioritySchema.default("normal"),
  description: z.string().max(2000).default(""),
  context_data: ContextDataSchema.default({}),
  scheduled_for: z.iso.datetime({ offset: true }).nullish(),
  max_retries: z.number().int().min(0).max(20).default(3),
  /** Minutes; fractions allowed (0.5 = 30 s). */
  timeout_minutes: z.number().positive().max(24 * 60).default(60),
});
export type CreateTaskBody = z.infer<typeof CreateTaskBodySchema>;

/** PUT/PATCH: only these fields can change after creation. */
export const UpdateTaskBodySchema = z
  .object({
    priority: TaskPrioritySchema,
    description: z.string().max(2000),
    context_data: ContextDataSchema,
    scheduled_for: z.iso.datetime({ offset: true }).nullable(),
    max_retries: z.number().int().min(0).max(20),
    timeout_minutes: z.number().positive().max(24 * 60),
  })
  .partial()
  .strict();
export type UpdateTaskBody = z.infer<typeof UpdateTaskBodySchema>;

export const RetryTaskBodySchema = z
  .object({
    reset_progress: z.boolean().default(true),
    clear_errors: z.boolean().default(true),
    new_priority: TaskPrioritySchema.optional(),
  })
  .strict();
export type RetryTaskBody = z.infer<typeof RetryTaskBodySchema>;
