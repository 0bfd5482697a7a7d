import { IdParamsSchema } from "../../../shared/common.js";
import { DashboardQuerySchema, MetricListQuerySchema, MetricsDashboardSchema, TaskMetricListResponseSchema, TaskMetricRecordSchema, WorkersOverviewQuerySchema, WorkersOverviewSchema } from "../../../shared/monitoring.js";
import { AlertActionBodySchema, AlertListQuerySchema, AlertListResponseSchema, AlertRuleBodySchema, AlertRuleListQuerySchema, AlertRuleListResponseSchema, AlertRulePatchSchema, AlertRuleSchema, AlertSchema } from "../../../shared/alerts.js";
import { TaskIdParamsSchema } from "../../../shared/tasks.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import type { Monitoring } from "./index.js";

const tags = ["monitoring"];
const BASE = "/tasks/monitoring";

/** spec/tasks-infrastructure-overview.md, task_monitoring: metrics, workers, alert rules and alerts. */
export function registerMonitoringRoutes(api: ApiRouter, monitoring: Monitoring): void {
  const { metrics, workers, alerts } = monitoring;

  // Fixed paths before /metrics/:id/.
  defineRoute(api, {
    method: "get",
    path: `${BASE}/metrics/dashboard/`,
    summary: "Totals, success rate, p50/p95 duration per task type, throughput buckets and cost over a period (1h, 24h, 7d)",
    description:
      "`totals` and `success_rate` cover every task of the brand (current status). Everything else covers the window: " +
      "`period=1h` in 5-minute buckets, `24h` (default) hourly, `7d` in 6-hour buckets, aligned on multiples of the bucket size, " +
      "the last bucket holding now, empty buckets included. Durations are those of tasks completed in the window; percentiles " +
      "interpolate linearly between the closest ranks (numpy's default). Cost sums the runs whose metrics were recorded in the window.",
    tags,
    auth: "brand",
    request: { query: DashboardQuerySchema },
    response: MetricsDashboardSchema,
    handler: ({ brand, query }) => metrics.dashboard(brand, query),
  });

  defineRoute(api, {
    method: "get",
    path: `${BASE}/metrics/`,
    summary: "Per-task metrics (run time, peak memory, cost), filtered, searched, ordered and paginated",
    description:
      "One row per task that has finished at least one run (the runner records the metrics of its last run). " +
      "`search` matches task_type, description and task_id; the keywords high_memory (>= 512 MB), slow (>= 60 000 ms) and " +
      "expensive (>= 1 USD) also match every task over that threshold, and each row lists the keywords it meets in `flags`.",
    tags,
    auth: "brand",
    request: { query: MetricListQuerySchema },
    response: TaskMetricListResponseSchema,
    handler: ({ req, brand, query }) => metrics.list(req, brand, query),
  });

  defineRoute(api, {
    method: "get",
    path: `${BASE}/metrics/:id/`,
    summary: "The metrics of one task (by id or task_id)",
    tags,
    auth: "brand",
    request: { params: TaskIdParamsSchema },
    response: TaskMetricRecordSchema,
    errors: { 404: "Task not found or access denied (TASK_NOT_FOUND), or no metrics recorded yet (NOT_FOUND)" },
    handler: ({ brand, params }) => metrics.get(brand, params.id),
  });

  defineRoute(api, {
    method: "get",
    path: `${BASE}/workers/overview/`,
    summary: "Worker processes: heartbeat, status (alive/stale/stopped) and running jobs (ids of the caller's brand only)",
    description:
      "Worker processes serve every brand, so every caller sees all of them; `running_jobs.count` counts all their tasks, " +
      "`running_jobs.task_ids` names only the caller's brand's. A worker is stale when its heartbeat is older than " +
      "3 × TASK_HEARTBEAT_MS (or its process is gone) without a clean stop.",
    tags,
    auth: "brand",
    request: { query: WorkersOverviewQuerySchema },
    response: WorkersOverviewSchema,
    handler: ({ brand, query }) => workers.overview(brand, query),
  });

  defineRoute(api, {
    method: "get",
    path: `${BASE}/alert-rules/`,
    summary: "The brand's alert rules with their last evaluation",
    tags,
    auth: "brand",
    request: { query: AlertRuleListQuerySchema },
    response: AlertRuleListResponseSchema,
    handler: ({ req, brand, query }) => alerts.listRules(req, brand, query),
  });

  defineRoute(api, {
    method: "post",
    path: `${BASE}/alert-rules/`,
    summary: "Create an alert rule: metric, comparator, threshold over window_minutes, optionally for one task_type",
    description:
      "Every server process evaluates the enabled rules every ALERT_EVAL_MS. failure_rate (percent of finished tasks that failed), " +
      "failed_count, avg_duration_ms and p95_duration_ms (completed tasks) and total_cost_usd look at the last window_minutes; " +
      "queue_depth counts pending tasks due now. While the condition holds the rule has one open alert (active or acknowledged); " +
      "when it stops holding, or there is no data, the alert resolves itself.",
    tags,
    auth: "brand",
    request: { body: AlertRuleBodySchema },
    status: 201,
    response: AlertRuleSchema,
    handler: ({ principal, brand, body }) => alerts.createRule(principal, brand, body),
  });

  defineRoute(api, {
    method: "get",
    path: `${BASE}/alert-rules/:id/`,
    summary: "One alert rule",
    tags,
    auth: "brand",
    request: { params: IdParamsSchema },
    response: AlertRuleSchema,
    errors: { 404: "Alert rule not found" },
    handler: ({ brand, params }) => alerts.getRule(brand, params.id),
  });

  defineRoute(api, {
    method: "put",
    path: `${BASE}/alert-rules/:id/`,
    summary: "Replace an alert rule (omitted optional fields take their defaults)",
    tags,
    auth: "brand",
    request: { params: IdParamsSchema, body: AlertRuleBodySchema },
    response: AlertRuleSchema,
    errors: { 404: "Alert rule not found" },
    handler: ({ brand, params, body }) => alerts.updateRule(brand, params.id, body),
  });

  defineRoute(api, {
    method: "patch",
    path: `${BASE}/alert-rules/:id/`,
    summary: "Change some fields of an alert rule; disabling it resolves its open alert",
    tags,
    auth: "brand",
    request: { params: IdParamsSchema, body: AlertRulePatchSchema },
    response: AlertRuleSchema,
    errors: { 404: "Alert rule not found" },
    handler: ({ brand, params, body }) => alerts.updateRule(brand, params.id, body),
  });

  defineRoute(api, {
    method: "delete",
    path: `${BASE}/alert-rules/:id/`,
    summary: "Delete an alert rule; its open alert is resolved, past alerts are kept",
    tags,
    auth: "brand",
    request: { params: IdParamsSchema },
    status: 204,
    response: null,
    errors: { 404: "Alert rule not found" },
    handler: ({ brand, params }) => alerts.deleteRule(brand, params.id),
  });

  defineRoute(api, {
    method: "get",
    path: `${BASE}/alerts/`,
    summary: "Alerts raised by the brand's rules (active by default; ?status=active|acknowledged|resolved|all)",
    tags,
    auth: "brand",
    request: { query: AlertListQuerySchema },
    response: AlertListResponseSchema,
    handler: ({ req, brand, query }) => alerts.listAlerts(req, brand, query),
  });

  defineRoute(api, {
    method: "get",
    path: `${BASE}/alerts/:id/`,
    summary: "One alert",
    tags,
    auth: "brand",
    request: { params: IdParamsSchema },
    response: AlertSchema,
    errors: { 404: "Alert not found" },
    handler: ({ brand, params }) => alerts.getAlert(brand, params.id),
  });

  defineRoute(api, {
    method: "post",
    path: `${BASE}/alerts/:id/acknowledge/`,
    summary: "Acknowledge an active alert (it stays open until its condition clears or it is resolved)",
    tags,
    auth: "brand",
    request: { params: IdParamsSchema, body: AlertActionBodySchema },
    response: AlertSchema,
    errors: { 404: "Alert not found", 400: "INVALID_OPERATION: the alert is not active (current_status, allowed_statuses)" },
    handler: ({ principal, brand, params, body }) => alerts.acknowledge(principal, brand, params.id, body),
  });

  defineRoute(api, {
    method: "post",
    path: `${BASE}/alerts/:id/resolve/`,
    summary: "Resolve an active or acknowledged alert (a condition that still holds raises a new one at the next evaluation)",
    description: "To keep an ongoing problem quiet without losing track of it, acknowledge the alert instead: it stays open until the condition clears.",
    tags,
    auth: "brand",
    request: { params: IdParamsSchema, body: AlertActionBodySchema },
    response: AlertSchema,
    errors: { 404: "Alert not found", 400: "INVALID_OPERATION: already resolved (current_status, allowed_statuses)" },
    handler: ({ principal, brand, params, body }) => alerts.resolve(principal, brand, params.id, body),
  });
}
