/**
 * Task monitoring's alert rules and the alerts they raise (spec/tasks-infrastructure-overview.md,
 * task_monitoring): /tasks/monitoring/alert-rules/ and /tasks/monitoring/alerts/, brand-scoped.
 */
import { z } from "zod";
import { UserRefSchema } from "./auth.js";
import { PageQuerySchema, TimestampSchema, commaListOf, paginated } from "./common.js";

// ---------------------------------------------------------------------------------------------
// Alert rules: /tasks/monitoring/alert-rules/
// ---------------------------------------------------------------------------------------------

/**
 * What a rule measures over its window (the last window_minutes; queue_depth is "now"):
 * - failure_rate: failed / (completed + failed) × 100 among tasks finished in the window (no data when none finished);
 * - failed_count: tasks that failed (for good, after their retries) in the window;
 * - avg_duration_ms / p95_duration_ms: run time of tasks completed in the window (no data when none);
 * - queue_depth: pending tasks due now (scheduled_for unset or past), ignoring the window;
 * - total_cost_usd: cost of runs recorded in the window.
 */
export const ALERT_METRICS = ["failure_rate", "failed_count", "avg_duration_ms", "p95_duration_ms", "queue_depth", "total_cost_usd"] as const;
export const AlertMetricSchema = z.enum(ALERT_METRICS, { error: () => `Valeur invalide. Choix: ${ALERT_METRICS.join(", ")}` });
export type AlertMetric = z.infer<typeof AlertMetricSchema>;

export const ALERT_COMPARATORS = ["gt", "gte", "lt", "lte"] as const;
export const AlertComparatorSchema = z.enum(ALERT_COMPARATORS, { error: () => `Valeur invalide. Choix: ${ALERT_COMPARATORS.join(", ")}` });
export type AlertComparator = z.infer<typeof AlertComparatorSchema>;

export const ALERT_SEVERITIES = ["info", "warning", "critical"] as const;
export const AlertSeveritySchema = z.enum(ALERT_SEVERITIES, { error: () => `Valeur invalide. Choix: ${ALERT_SEVERITIES.join(", ")}` });
export type AlertSeverity = z.infer<typeof AlertSeveritySchema>;

/** ok / firing / no_data: the last evaluation; pending: not evaluated since created or changed; disabled. */
export const ALERT_RULE_STATES = ["pending", "ok", "firing", "no_data", "disabled"] as const;

export const ALERT_WINDOW_MAX_MINUTES = 7 * 24 * 60;

const RuleTaskTypeSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9_.:-]+$/i, "Only letters, digits, '_', '.', ':' and '-' are allowed");

const ruleFields = {
  name: z.string({ error: () => "Ce champ est requis" }).trim().min(1, "Ce champ est requis").max(100),
  description: z.string().max(1000),
  metric: AlertMetricSchema,
  comparator: AlertComparatorSchema,
  threshold: z.number({ error: () => "A number is required" }).min(0, "must be 0 or more"),
  window_minutes: z.number().int().min(1).max(ALERT_WINDOW_MAX_MINUTES),
  /** Only tasks of this type count; null: every type. */
  task_type: RuleTaskTypeSchema.nullable(),
  severity: AlertSeveritySchema,
  enabled: z.boolean(),
};

/** failure_rate is a percentage: its threshold cannot exceed 100. */
export function alertRuleProblems(rule: { metric?: AlertMetric; threshold?: number }): Record<string, string[]> {
  if (rule.metric === "failure_rate" && rule.threshold !== undefined && rule.threshold > 100) {
    return { threshold: ["failure_rate is a percentage: the threshold must be between 0 and 100"] };
  }
  return {};
}

const checkRule = (rule: { metric?: AlertMetric; threshold?: number }, ctx: z.RefinementCtx) => {
  for (const [path, messages] of Object.entries(alertRuleProblems(rule))) {
    for (const message of messages) ctx.addIssue({ code: "custom", path: [path], message });
  }
};

/** POST and PUT: the whole rule (optional fields take their defaults). */
export const AlertRuleBodySchema = z
  .object({
    name: ruleFields.name,
    description: ruleFields.description.default(""),
    metric: ruleFields.metric,
    comparator: ruleFields.comparator,
    threshold: ruleFields.threshold,
    window_minutes: ruleFields.window_minutes.default(15),
    task_type: ruleFields.task_type.default(null),
    severity: ruleFields.severity.default("warning"),
    enabled: ruleFields.enabled.default(true),
  })
  .strict()
  .superRefine(checkRule)
  .meta({ id: "AlertRuleRequest" });
export type AlertRuleBody = z.infer<typeof AlertRuleBodySchema>;

/** PATCH: any subset; the merged rule is checked again by the server. */
export const AlertRulePatchSchema = z
  .object(ruleFields)
  .partial()
  .strict()
  .superRefine(checkRule)
  .meta({ id: "AlertRulePatch" });
export type AlertRulePatch = z.infer<typeof AlertRulePatchSchema>;

/** What a rule watches, as rules and the alerts they raise both show it. */
const RULE_CONDITION = {
  metric: AlertMetricSchema,
  comparator: AlertComparatorSchema,
  threshold: z.number(),
  window_minutes: z.number().int(),
  task_type: z.string().nullable(),
  severity: AlertSeveritySchema,
};

export const AlertRuleSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    description: z.string(),
    ...RULE_CONDITION,
    enabled: z.boolean(),
    state: z.enum(ALERT_RULE_STATES),
    last_value: z.number().nullable(),
    last_evaluated_at: TimestampSchema.nullable(),
    /** The rule's alert that is active or acknowledged, if any. */
    open_alert_id: z.number().int().nullable(),
    created_by: UserRefSchema,
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: "AlertRule" });
export type AlertRuleView = z.infer<typeof AlertRuleSchema>;

export const AlertRuleListQuerySchema = PageQuerySchema.extend({
  enabled: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
  metric: commaListOf(ALERT_METRICS).optional(),
});
export type AlertRuleListQuery = z.infer<typeof AlertRuleListQuerySchema>;

export const AlertRuleListResponseSchema = paginated(AlertRuleSchema).meta({ id: "AlertRuleList" });

// ---------------------------------------------------------------------------------------------
// Alerts: /tasks/monitoring/alerts/
// ---------------------------------------------------------------------------------------------

export const ALERT_STATUSES = ["active", "acknowledged", "resolved"] as const;
export const AlertStatusSchema = z.enum(ALERT_STATUSES);
export type AlertStatus = z.infer<typeof AlertStatusSchema>;

/** Where an alert may go from each status. */
export const ALERT_TRANSITIONS = {
  acknowledge: ["active"],
  resolve: ["active", "acknowledged"],
} as const satisfies Record<string, readonly AlertStatus[]>;

/** auto: the condition no longer held; manual: resolved through the API; rule_disabled / rule_deleted. */
export const ALERT_RESOLUTIONS = ["auto", "manual", "rule_disabled", "rule_deleted"] as const;

export const AlertSchema = z
  .object({
    id: z.number().int(),
    rule_id: z.number().int(),
    rule_name: z.string(),
    ...RULE_CONDITION,
    status: AlertStatusSchema,
    message: z.string(),
    /** The measured value when the alert fired, and at the latest evaluation. */
    value: z.number(),
    last_value: z.number().nullable(),
    triggered_at: TimestampSchema,
    last_evaluated_at: TimestampSchema,
    acknowledged_at: TimestampSchema.nullable(),
    acknowledged_by: UserRefSchema.nullable(),
    resolved_at: TimestampSchema.nullable(),
    resolved_by: UserRefSchema.nullable(),
    resolution: z.enum(ALERT_RESOLUTIONS).nullable(),
    note: z.string().nullable(),
  })
  .meta({ id: "Alert" });
export type AlertView = z.infer<typeof AlertSchema>;

export const AlertListQuerySchema = PageQuerySchema.extend({
  /** Default active; `all`, or several statuses comma-separated. */
  status: z
    .string()
    .default("active")
    .pipe(commaListOf([...ALERT_STATUSES, "all"] as const))
    .transform((list) => (list.includes("all") ? [...ALERT_STATUSES] : list) as AlertStatus[])
    .meta({ description: "active (default), acknowledged, resolved, or all; several comma-separated" }),
  severity: commaListOf(ALERT_SEVERITIES).optional(),
  rule_id: z.coerce.number().int().positive().optional(),
});
export type AlertListQuery = z.infer<typeof AlertListQuerySchema>;

export const AlertListResponseSchema = paginated(AlertSchema).meta({ id: "AlertList" });

/** Optional body of acknowledge/resolve. */
export const AlertActionBodySchema = z
  .object({ note: z.string().trim().max(1000).optional() })
  .strict()
  .meta({ id: "AlertActionRequest" });
export type AlertActionBody = z.infer<typeof AlertActionBodySchema>;
