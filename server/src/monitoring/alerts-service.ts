import type { Request } from "express";
import type { Connection } from "mongoose";
import type { UserRef } from "../../../shared/auth.js";
import type { Page } from "../../../shared/common.js";
import { ALERT_TRANSITIONS, alertRuleProblems, type AlertActionBody, type AlertListQuery, type AlertRuleBody, type AlertRuleListQuery, type AlertRulePatch, type AlertRuleView, type AlertView } from "../../../shared/alerts.js";
import { authModels } from "../auth/model.js";
import { brandFilter } from "../brands/scope.js";
import { nextSequence } from "../db/counters.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { invalidOperation, notFound, validationError } from "../http/errors.js";
import { skipOf, toPage } from "../http/pagination.js";
import { alertModels, type Alert, type AlertModel, type AlertRule, type AlertRuleModel } from "./alert-model.js";

const DUPLICATE_KEY = 11000;
const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export const ruleNotFound = () => notFound("Alert rule not found");
export const alertNotFound = () => notFound("Alert not found");

const nameTaken = () => validationError({ name: ["An alert rule with this name already exists in this brand"] });

function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: number }).code === DUPLICATE_KEY;
}

/** Resolves every open alert of a rule (used when the rule is disabled or deleted, and by the evaluator). */
export async function resolveOpenAlerts(
  alerts: AlertModel,
  brandId: number,
  ruleId: number,
  resolution: Alert["resolution"],
  now: Date,
  extra: Partial<Alert> = {},
): Promise<number> {
  const result = await alerts.updateMany(
    { brand: brandId, rule: ruleId, open: true },
    { $set: { status: "resolved", open: false, resolved_at: now, resolution, ...extra } },
  );
  return result.modifiedCount;
}

/** Alert rules (CRUD) and the alerts they raise (list, acknowledge, resolve), brand-scoped. */
export class AlertsService {
  readonly rules: AlertRuleModel;
  readonly alerts: AlertModel;

  constructor(private readonly connection: Connection) {
    ({ rules: this.rules, alerts: this.alerts } = alertModels(connection));
  }

  async init(): Promise<void> {
    await Promise.all([this.rules.init(), this.alerts.init()]);
  }

  private async usersById(ids: Array<number | null | undefined>): Promise<Map<number, UserRef>> {
    const wanted = [...new Set(ids.filter((id): id is number => typeof id === "number"))];
    if (wanted.length === 0) return new Map();
    const users = await authModels(this.connection).User.find({ _id: { $in: wanted } }, { username: 1 }).lean();
    return new Map(users.map((u) => [u._id, { id: u._id, username: u.username }]));
  }

  private userRef(users: Map<number, UserRef>, id: number | null): UserRef | null {
    if (id === null || id === undefined) return null;
    return users.get(id) ?? { id, username: "" };
  }

  // ---------------------------------------------------------------------------------------------
  // Rules
  // ---------------------------------------------------------------------------------------------

  private async ruleViews(brand: BrandAccess, rules: AlertRule[]): Promise<AlertRuleView[]> {
    const [users, open] = await Promise.all([
      this.usersById(rules.map((r) => r.created_by)),
      rules.length
        ? this.alerts.find(brandFilter(brand, { rule: { $in: rules.map((r) => r.id) }, open: true }), { id: 1, rule: 1 }).lean()
        : Promise.resolve([]),
    ]);
    const openByRule = new Map(open.map((a) => [a.rule, a.id]));
    return rules.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description ?? "",
      metric: r.metric,
      comparator: r.comparator,
      threshold: r.threshold,
      window_minutes: r.window_minutes,
      task_type: r.task_type ?? null,
      severity: r.severity,
      enabled: r.enabled,
      state: !r.enabled ? "disabled" : (r.last_state ?? "pending"),
      last_value: r.last_value ?? null,
      last_evaluated_at: iso(r.last_evaluated_at),
      open_alert_id: openByRule.get(r.id) ?? null,
      created_by: this.userRef(users, r.created_by) ?? { id: r.created_by, username: "" },
      created_at: r.created_at.toISOString(),
      updated_at: r.updated_at.toISOString(),
    }));
  }

  private async findRule(brand: BrandAccess, id: number): Promise<AlertRule> {
    const rule = await this.rules.findOne(brandFilter(brand, { id })).lean<AlertRule>();
    if (!rule) throw ruleNotFound();
    return rule;
  }

  async listRules(req: Request, brand: BrandAccess, query: AlertRuleListQuery): Promise<Page<AlertRuleView>> {
    const filter: Record<string, unknown> = {};
    if (query.enabled !== undefined) filter.enabled = query.enabled;
    if (query.metric) filter.metric = { $in: query.metric };
    const scoped = brandFilter(brand, filter);
    const [count, rows] = await Promise.all([
      this.rules.countDocuments(scoped),
      this.rules.find(scoped).sort({ id: 1 }).skip(skipOf(query)).limit(query.page_size).lean<AlertRule[]>(),
    ]);
    return toPage(req, query, count, await this.ruleViews(brand, rows));
  }

  async getRule(brand: BrandAccess, id: number): Promise<AlertRuleView> {
    const [view] = await this.ruleViews(brand, [await this.findRule(brand, id)]);
    return view;
  }

  async createRule(principal: Principal, brand: BrandAccess, body: AlertRuleBody): Promise<AlertRuleView> {
    const id = await nextSequence(this.connection, "task_alert_rules");
    try {
      const rule = await this.rules.create({ ...body, id, brand: brand.brandId, created_by: principal.userId });
      const [view] = await this.ruleViews(brand, [rule.toObject()]);
      return view;
    } catch (err) {
      if (isDuplicateKey(err)) throw nameTaken();
      throw err;
    }
  }

  /** PUT (body: the whole rule, defaults applied) or PATCH (a subset, checked again once merged). */
  async updateRule(brand: BrandAccess, id: number, body: AlertRuleBody | AlertRulePatch): Promise<AlertRuleView> {
    const current = await this.findRule(brand, id);
    const problems = alertRuleProblems({ metric: body.metric ?? current.metric, threshold: body.threshold ?? current.threshold });
    if (Object.keys(problems).length) throw validationError(problems);
    let updated: AlertRule | null;
    try {
      updated = await this.rules
        .findOneAndUpdate(
          brandFilter(brand, { id }),
          // The last evaluation described the old rule: the state is pending until the next one.
          { $set: { ...body, last_state: null, last_value: null, last_evaluated_at: null } },
          { returnDocument: "after", runValidators: true },
        )
        .lean<AlertRule>();
    } catch (err) {
      if (isDuplicateKey(err)) throw nameTaken();
      throw err;
    }
    if (!updated) throw ruleNotFound();
    if (!updated.enabled) await resolveOpenAlerts(this.alerts, brand.brandId, id, "rule_disabled", new Date());
    return this.getRule(brand, id);
  }

  /** Deletes the rule; its open alerts are resolved (rule_deleted) and every alert stays as history. */
  async deleteRule(brand: BrandAccess, id: number): Promise<void> {
    const deleted = await this.rules.deleteOne(brandFilter(brand, { id }));
    if (deleted.deletedCount !== 1) throw ruleNotFound();
    await resolveOpenAlerts(this.alerts, brand.brandId, id, "rule_deleted", new Date());
  }

  // ---------------------------------------------------------------------------------------------
  // Alerts
  // ---------------------------------------------------------------------------------------------

  private async alertViews(alerts: Alert[]): Promise<AlertView[]> {
    const users = await this.usersById(alerts.flatMap((a) => [a.acknowledged_by, a.resolved_by]));
    return alerts.map((a) => ({
      id: a.id,
      rule_id: a.rule,
      rule_name: a.rule_name,
      metric: a.metric,
      comparator: a.comparator,
      threshold: a.threshold,
      window_minutes: a.window_minutes,
      task_type: a.task_type ?? null,
      severity: a.severity,
      status: a.status,
      message: a.message ?? "",
      value: a.value,
      last_value: a.last_value ?? null,
      triggered_at: a.triggered_at.toISOString(),
      last_evaluated_at: a.last_evaluated_at.toISOString(),
      acknowledged_at: iso(a.acknowledged_at),
      acknowledged_by: this.userRef(users, a.acknowledged_by ?? null),
      resolved_at: iso(a.resolved_at),
      resolved_by: this.userRef(users, a.resolved_by ?? null),
      resolution: a.resolution ?? null,
      note: a.note ?? null,
    }));
  }

  async listAlerts(req: Request, brand: BrandAccess, query: AlertListQuery): Promise<Page<AlertView>> {
    const filter: Record<string, unknown> = { status: { $in: query.status } };
    if (query.severity) filter.severity = { $in: query.severity };
    if (query.rule_id) filter.rule = query.rule_id;
    const scoped = brandFilter(brand, filter);
    const [count, rows] = await Promise.all([
      this.alerts.countDocuments(scoped),
      this.alerts.find(scoped).sort({ triggered_at: -1, id: -1 }).skip(skipOf(query)).limit(query.page_size).lean<Alert[]>(),
    ]);
    return toPage(req, query, count, await this.alertViews(rows));
  }

  async getAlert(brand: BrandAccess, id: number): Promise<AlertView> {
    const alert = await this.alerts.findOne(brandFilter(brand, { id })).lean<Alert>();
    if (!alert) throw alertNotFound();
    const [view] = await this.alertViews([alert]);
    return view;
  }

  /** One atomic conditional update; when it matches nothing, says why (missing, or wrong status). */
  private async transition(
    brand: BrandAccess,
    id: number,
    action: keyof typeof ALERT_TRANSITIONS,
    set: Record<string, unknown>,
  ): Promise<AlertView> {
    const allowed = ALERT_TRANSITIONS[action];
    const updated = await this.alerts
      .findOneAndUpdate(brandFilter(brand, { id, status: { $in: [...allowed] } }), { $set: set }, { returnDocument: "after" })
      .lean<Alert>();
    if (updated) return (await this.alertViews([updated]))[0];
    const current = await this.alerts.findOne(brandFilter(brand, { id }), { status: 1 }).lean<Alert>();
    if (!current) throw alertNotFound();
    throw invalidOperation(`Cannot ${action} an alert that is ${current.status}`, {
      current_status: current.status,
      allowed_statuses: [...allowed],
    });
  }

  acknowledge(principal: Principal, brand: BrandAccess, id: number, body: AlertActionBody): Promise<AlertView> {
    return this.transition(brand, id, "acknowledge", {
      status: "acknowledged",
      acknowledged_at: new Date(),
      acknowledged_by: principal.userId,
      ...(body.note ? { note: body.note } : {}),
    });
  }

  /** Resolved by hand; if the condition still holds, the next evaluation raises a new alert. */
  resolve(principal: Principal, brand: BrandAccess, id: number, body: AlertActionBody): Promise<AlertView> {
    return this.transition(brand, id, "resolve", {
      status: "resolved",
      open: false,
      resolved_at: new Date(),
      resolved_by: principal.userId,
      resolution: "manual",
      ...(body.note ? { note: body.note } : {}),
    });
  }
}
