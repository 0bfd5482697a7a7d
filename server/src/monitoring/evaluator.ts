import type { Connection } from "mongoose";
import type { Logger } from "pino";
import { allBrands } from "../brands/scope.js";
import { nextSequence } from "../db/counters.js";
import type { BackgroundService } from "../lifecycle/services.js";
import { RepeatingWork } from "../lifecycle/repeating.js";
import { taskModel, type TaskModel } from "../tasks/model.js";
import { COMPARATOR_SYMBOL, compare, measureRuleMetric } from "./aggregations.js";
import { alertModels, type Alert, type AlertModel, type AlertRule, type AlertRuleModel, type EvaluatedRuleState } from "./alert-model.js";
import { resolveOpenAlerts } from "./alerts-service.js";

const DUPLICATE_KEY = 11000;
/** Rules measured at once by one evaluation. */
const PARALLEL_RULES = 4;

export interface EvaluationSummary {
  evaluated: number;
  firing: number;
  raised: number;
  resolved: number;
}

function describe(rule: AlertRule, value: number): string {
  const scope = rule.metric === "queue_depth" ? "now" : `over the last ${rule.window_minutes} min`;
  const type = rule.task_type ? ` for task_type ${rule.task_type}` : "";
  return `${rule.metric} is ${value} (${COMPARATOR_SYMBOL[rule.comparator]} ${rule.threshold}) ${scope}${type}`;
}

/**
 * Evaluates every enabled alert rule of every brand each interval. Every server process runs one;
 * they agree through the database: an alert is raised by inserting it under a unique partial index
 * (one open alert per rule), so the second process to see the same condition updates the first
 * one's alert instead of raising another, and resolving is an idempotent conditional update.
 */
export class AlertEvaluator implements BackgroundService {
  readonly name = "alert-evaluator";
  private readonly rules: AlertRuleModel;
  private readonly alerts: AlertModel;
  private readonly tasks: TaskModel;
  private readonly loop: RepeatingWork;

  constructor(
    private readonly connection: Connection,
    private readonly options: { intervalMs: number },
    private readonly logger: Logger,
  ) {
    ({ rules: this.rules, alerts: this.alerts } = alertModels(connection));
    this.tasks = taskModel(connection);
    this.loop = new RepeatingWork("alert evaluation", options.intervalMs, () => this.evaluateOnce(), logger);
  }

  async start(): Promise<void> {
    this.loop.start();
  }

  /** Stops the schedule and waits for an evaluation in progress. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }

  async evaluateOnce(now = new Date()): Promise<EvaluationSummary> {
    const rules = await allBrands(this.rules.find({ enabled: true }).lean<AlertRule[]>());
    const summary: EvaluationSummary = { evaluated: 0, firing: 0, raised: 0, resolved: 0 };
    for (let i = 0; i < rules.length; i += PARALLEL_RULES) {
      await Promise.all(
        rules.slice(i, i + PARALLEL_RULES).map((rule) =>
          this.evaluateRule(rule, now, summary).catch((err: unknown) => this.logger.warn({ err, rule: rule.id }, "could not evaluate an alert rule")),
        ),
      );
    }
    summary.resolved += await this.resolveOrphans(now);
    return summary;
  }

  private async evaluateRule(rule: AlertRule, now: Date, summary: EvaluationSummary): Promise<void> {
    const value = await measureRuleMetric(this.tasks, rule, now);
    const holds = value !== null && compare(value, rule.comparator, rule.threshold);
    const state: EvaluatedRuleState = value === null ? "no_data" : holds ? "firing" : "ok";
    const marked = await this.rules.updateOne(
      { brand: rule.brand, id: rule.id, enabled: true },
      { $set: { last_state: state, last_value: value, last_evaluated_at: now } },
      { timestamps: false },
    );
    if (marked.matchedCount === 0) return; // disabled or deleted meanwhile: its alerts were resolved then
    summary.evaluated++;
    if (holds) {
      summary.firing++;
      if (await this.raise(rule, value, now)) summary.raised++;
    } else {
      // No data cannot hold a condition: an open alert is resolved.
      summary.resolved += await resolveOpenAlerts(this.alerts, rule.brand, rule.id, "auto", now, { last_value: value, last_evaluated_at: now });
    }
  }

  /** Raises the rule's alert, or refreshes the one already open; true when a new alert was raised. */
  private async raise(rule: AlertRule, value: number, now: Date): Promise<boolean> {
    const refresh = () =>
      this.alerts.updateOne({ brand: rule.brand, rule: rule.id, open: true }, { $set: { last_value: value, last_evaluated_at: now } });
    if ((await refresh()).matchedCount > 0) return false;
    const alert: Omit<Alert, "acknowledged_at" | "acknowledged_by" | "resolved_at" | "resolved_by" | "resolution" | "note"> = {
      id: await nextSequence(this.connection, "task_alerts"),
      brand: rule.brand,
      rule: rule.id,
      rule_name: rule.name,
      metric: rule.metric,
      comparator: rule.comparator,
      threshold: rule.threshold,
      window_minutes: rule.window_minutes,
      task_type: rule.task_type ?? null,
      severity: rule.severity,
      status: "active",
      open: true,
      message: describe(rule, value),
      value,
      last_value: value,
      triggered_at: now,
      last_evaluated_at: now,
    };
    try {
      await this.alerts.create(alert);
    } catch (err) {
      if ((err as { code?: number }).code !== DUPLICATE_KEY) throw err;
      await refresh(); // another process raised it first
      return false;
    }
    // A rule disabled or deleted while this alert was being raised must not leave it open.
    const still = await this.rules.findOne({ brand: rule.brand, id: rule.id }, { enabled: 1 }).lean();
    if (!still?.enabled) await resolveOpenAlerts(this.alerts, rule.brand, rule.id, still ? "rule_disabled" : "rule_deleted", now);
    this.logger.info({ rule: rule.id, brand: rule.brand, value }, "alert raised");
    return true;
  }

  /** Open alerts whose rule is gone or disabled (a crash between the two writes of a delete/disable). */
  private async resolveOrphans(now: Date): Promise<number> {
    const openRuleIds = (await allBrands(this.alerts.distinct("rule", { open: true }))) as number[];
    if (openRuleIds.length === 0) return 0;
    const rules = await allBrands(this.rules.find({ id: { $in: openRuleIds } }, { id: 1, enabled: 1 }).lean());
    const byId = new Map(rules.map((r) => [r.id, r.enabled]));
    let resolved = 0;
    for (const ruleId of openRuleIds) {
      const enabled = byId.get(ruleId);
      if (enabled) continue;
      const result = await allBrands(
        this.alerts.updateMany(
          { rule: ruleId, open: true },
          { $set: { status: "resolved", open: false, resolved_at: now, resolution: enabled === undefined ? "rule_deleted" : "rule_disabled" } },
        ),
      );
      resolved += result.modifiedCount;
    }
    return resolved;
  }
}
