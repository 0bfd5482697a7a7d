import { Schema, type Connection, type Model } from "mongoose";
import { ALERT_COMPARATORS, ALERT_METRICS, ALERT_RESOLUTIONS, ALERT_RULE_STATES, ALERT_SEVERITIES, ALERT_STATUSES, type AlertComparator, type AlertMetric, type AlertSeverity, type AlertStatus } from "../../../shared/alerts.js";
import { brandScoped } from "../brands/scope.js";
import { bindModel } from "../db/models.js";

export type EvaluatedRuleState = Exclude<(typeof ALERT_RULE_STATES)[number], "pending" | "disabled">;

export interface AlertRule {
  id: number;
  brand: number;
  created_by: number;
  name: string;
  description: string;
  metric: AlertMetric;
  comparator: AlertComparator;
  threshold: number;
  window_minutes: number;
  task_type: string | null;
  severity: AlertSeverity;
  enabled: boolean;
  /** Written by the evaluator; reset when the rule changes. */
  last_state: EvaluatedRuleState | null;
  last_value: number | null;
  last_evaluated_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const alertRuleSchema = new Schema<AlertRule>(
  {
    id: { type: Number, required: true, unique: true },
    created_by: { type: Number, required: true },
    name: { type: String, required: true },
    description: { type: String, default: "" },
    metric: { type: String, enum: ALERT_METRICS, required: true },
    comparator: { type: String, enum: ALERT_COMPARATORS, required: true },
    threshold: { type: Number, required: true },
    window_minutes: { type: Number, required: true },
    task_type: { type: String, default: null },
    severity: { type: String, enum: ALERT_SEVERITIES, default: "warning" },
    enabled: { type: Boolean, default: true },
    last_state: { type: String, default: null },
    last_value: { type: Number, default: null },
    last_evaluated_at: { type: Date, default: null },
  },
  { collection: "task_alert_rules", timestamps: { createdAt: "created_at", updatedAt: "updated_at" }, minimize: false, versionKey: false },
);
alertRuleSchema.plugin(brandScoped);
// A rule's name is its handle in the UI: one per brand.
alertRuleSchema.index({ brand: 1, name: 1 }, { unique: true });
alertRuleSchema.index({ enabled: 1 });

export interface Alert {
  id: number;
  brand: number;
  rule: number;
  rule_name: string;
  metric: AlertMetric;
  comparator: AlertComparator;
  threshold: number;
  window_minutes: number;
  task_type: string | null;
  severity: AlertSeverity;
  status: AlertStatus;
  /** true while active or acknowledged: at most one open alert per rule (unique partial index). */
  open: boolean;
  message: string;
  value: number;
  last_value: number | null;
  triggered_at: Date;
  last_evaluated_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by: number | null;
  resolved_at: Date | null;
  resolved_by: number | null;
  resolution: (typeof ALERT_RESOLUTIONS)[number] | null;
  note: string | null;
}

export const alertSchema = new Schema<Alert>(
  {
    id: { type: Number, required: true, unique: true },
    rule: { type: Number, required: true },
    rule_name: { type: String, required: true },
    metric: { type: String, enum: ALERT_METRICS, required: true },
    comparator: { type: String, enum: ALERT_COMPARATORS, required: true },
    threshold: { type: Number, required: true },
    window_minutes: { type: Number, required: true },
    task_type: { type: String, default: null },
    severity: { type: String, enum: ALERT_SEVERITIES, default: "warning" },
    status: { type: String, enum: ALERT_STATUSES, default: "active" },
    open: { type: Boolean, default: true },
    message: { type: String, default: "" },
    value: { type: Number, required: true },
    last_value: { type: Number, default: null },
    triggered_at: { type: Date, required: true },
    last_evaluated_at: { type: Date, required: true },
    acknowledged_at: { type: Date, default: null },
    acknowledged_by: { type: Number, default: null },
    resolved_at: { type: Date, default: null },
    resolved_by: { type: Number, default: null },
    resolution: { type: String, enum: ALERT_RESOLUTIONS, default: null },
    note: { type: String, default: null },
  },
  { collection: "task_alerts", minimize: false, versionKey: false },
);
alertSchema.plugin(brandScoped);
/**
 * Every server process evaluates every rule: this index is what keeps two of them from raising the
 * same alert twice. The loser of the race gets a duplicate-key error and updates the winner's alert.
 */
alertSchema.index({ rule: 1 }, { unique: true, partialFilterExpression: { open: true }, name: "one_open_alert_per_rule" });
alertSchema.index({ brand: 1, status: 1, triggered_at: -1 });

export type AlertRuleModel = Model<AlertRule>;
export type AlertModel = Model<Alert>;

export function alertModels(connection: Connection): { rules: AlertRuleModel; alerts: AlertModel } {
  return {
    rules: bindModel(connection, "TaskAlertRule", alertRuleSchema),
    alerts: bindModel(connection, "TaskAlert", alertSchema),
  };
}
