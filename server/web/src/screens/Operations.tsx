import { useState } from "preact/hooks";
import type { Page } from "../../../../shared/common";
import type { AlertRuleView, AlertView } from "../../../../shared/alerts";
import type { WorkersOverview } from "../../../../shared/monitoring";
import type { PeriodicTaskView, ValidateCronResponse } from "../../../../shared/scheduling";
import { Badge, Empty, ErrorBox, Loading, Section } from "../components";
import { useI18n } from "../i18n";
import { api } from "../lib/api";
import { useAction, useResource } from "../lib/hooks";

const OPERATIONS_POLL_MS = 30_000;
const MONITORING = "/tasks/monitoring";
const PERIODIC = "/tasks/scheduled/periodic-tasks";

export function Operations() {
  const { t } = useI18n();
  return (
    <>
      <h1>{t("operationsTitle")}</h1>
      <Workers />
      <Alerts />
      <Rules />
      <Periodic />
      <CronChecker />
    </>
  );
}

function Workers() {
  const { t, formatDate } = useI18n();
  const workers = useResource(() => api.get<WorkersOverview>(`${MONITORING}/workers/overview/`), "workers", { intervalMs: OPERATIONS_POLL_MS });
  const w = workers.data;
  return (
    <Section title={t("workers")}>
      <ErrorBox error={workers.error} />
      {!w && !workers.error && <Loading />}
      {w && w.workers.length === 0 && <Empty>{t("workersEmpty")}</Empty>}
      {w && w.workers.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t("worker")}</th>
                <th scope="col">{t("status")}</th>
                <th scope="col">{t("heartbeat")}</th>
                <th scope="col">{t("startedAt")}</th>
              </tr>
            </thead>
            <tbody>
              {w.workers.map((worker) => (
                <tr key={worker.worker_id}>
                  <td>
                    <code>{worker.worker_id.slice(0, 12)}</code>
                  </td>
                  <td>
                    <Badge kind={worker.status}>{worker.status}</Badge>
                  </td>
                  <td>{formatDate(worker.last_heartbeat)}</td>
                  <td>{formatDate(worker.started_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="sub">
            {t("runningJobs")}: {w.totals.running_jobs_in_brand}
          </p>
        </div>
      )}
    </Section>
  );
}

function Alerts() {
  const { t, formatDate } = useI18n();
  const alerts = useResource(() => api.get<Page<AlertView>>(`${MONITORING}/alerts/`, { page_size: 50 }), "alerts", { intervalMs: OPERATIONS_POLL_MS });
  const action = useAction();
  const act = (id: number, verb: "acknowledge" | "resolve") =>
    void action.run(async () => {
      await api.post(`${MONITORING}/alerts/${id}/${verb}/`, {});
      await alerts.reload();
    });
  return (
    <Section title={t("alerts")}>
      <ErrorBox error={alerts.error ?? action.error} />
      {!alerts.data && !alerts.error && <Loading />}
      {alerts.data && alerts.data.results.length === 0 && <Empty>{t("alertsEmpty")}</Empty>}
      {alerts.data?.results.map((a) => (
        <article class="publication" key={a.id}>
          <div class="page-head">
            <h3>{a.rule_name}</h3>
            <Badge kind={a.severity}>{a.severity}</Badge>
            <Badge kind={a.status}>{a.status}</Badge>
          </div>
          <p>{a.message}</p>
          <p class="sub">{formatDate(a.triggered_at)}</p>
          <div class="row">
            <button type="button" disabled={action.busy || a.status !== "active"} onClick={() => act(a.id, "acknowledge")}>
              {t("acknowledge")}
            </button>
            <button type="button" disabled={action.busy || a.status === "resolved"} onClick={() => act(a.id, "resolve")}>
              {t("resolve")}
            </button>
          </div>
        </article>
      ))}
    </Section>
  );
}

function Rules() {
  const { t } = useI18n();
  const rules = useResource(() => api.get<Page<AlertRuleView>>(`${MONITORING}/alert-rules/`, { page_size: 50 }), "rules");
  return (
    <Section title={t("alertRules")}>
      <ErrorBox error={rules.error} />
      {rules.data && rules.data.results.length === 0 && <Empty>{t("alertRulesEmpty")}</Empty>}
      {rules.data && rules.data.results.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t("name")}</th>
                <th scope="col">{t("threshold")}</th>
                <th scope="col">{t("severity")}</th>
                <th scope="col">{t("enabled")}</th>
                <th scope="col">{t("state")}</th>
              </tr>
            </thead>
            <tbody>
              {rules.data.results.map((r) => (
                <tr key={r.id}>
                  <td>{r.name}</td>
                  <td>
                    {r.metric} {r.comparator} {r.threshold} ({r.window_minutes} min)
                  </td>
                  <td>{r.severity}</td>
                  <td>{r.enabled ? t("yes") : t("no")}</td>
                  <td>{r.state}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function Periodic() {
  const { t } = useI18n();
  const periodic = useResource(() => api.get<Page<PeriodicTaskView>>(`${PERIODIC}/`, { page_size: 50 }), "periodic");
  return (
    <Section title={t("periodicTasks")}>
      <ErrorBox error={periodic.error} />
      {periodic.data && periodic.data.results.length === 0 && <Empty>{t("periodicEmpty")}</Empty>}
      {periodic.data && periodic.data.results.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t("name")}</th>
                <th scope="col">{t("schedule")}</th>
                <th scope="col">{t("timezone")}</th>
                <th scope="col">{t("nextRun")}</th>
                <th scope="col">{t("enabled")}</th>
              </tr>
            </thead>
            <tbody>
              {periodic.data.results.map((p) => (
                <tr key={p.id}>
                  <td>
                    {p.name}
                    <div class="sub">{p.task_type}</div>
                  </td>
                  <td>
                    <code>{p.cron_expression}</code>
                    <div class="sub">{p.cron_description}</div>
                  </td>
                  <td>{p.timezone}</td>
                  <td>{p.next_run_at_local ?? "—"}</td>
                  <td>{p.enabled ? t("yes") : t("no")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function CronChecker() {
  const { t } = useI18n();
  const [expression, setExpression] = useState("0 9 * * 1-5");
  const [zone, setZone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
  const [answer, setAnswer] = useState<ValidateCronResponse | null>(null);
  const action = useAction();
  return (
    <Section title={t("cronChecker")}>
      <form
        class="row wrap"
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            setAnswer(await api.post<ValidateCronResponse>(`${PERIODIC}/validate-cron/`, { cron_expression: expression, timezone: zone, count: 5 }));
          });
        }}
      >
        <label class="field">
          <span>{t("cronExpression")}</span>
          <input value={expression} onInput={(e) => setExpression(e.currentTarget.value)} required />
        </label>
        <label class="field">
          <span>{t("timezone")}</span>
          <input value={zone} onInput={(e) => setZone(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          {t("check")}
        </button>
      </form>
      <ErrorBox error={action.error} />
      {answer && !answer.valid && (
        <div class="alert alert-error" role="alert">
          <strong>{t("cronInvalid")}</strong>
          <ul>
            {answer.errors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        </div>
      )}
      {answer?.valid && (
        <div data-testid="cron-answer">
          <p>{answer.description}</p>
          {answer.warnings.map((w) => (
            <p key={w} class="sub">
              {w}
            </p>
          ))}
          <h3>{t("nextRunsIn", { zone: answer.timezone })}</h3>
          <ol>
            {answer.next_runs_local.map((run) => (
              <li key={run}>
                <time>{run}</time>
              </li>
            ))}
          </ol>
        </div>
      )}
    </Section>
  );
}
