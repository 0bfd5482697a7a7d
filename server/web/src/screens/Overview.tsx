import { useMemo, useState } from "preact/hooks";
import type { AccountView } from "../../../../shared/accounts";
import type { Page } from "../../../../shared/common";
import type { DashboardOverview, Timeseries } from "../../../../shared/dashboard";
import { TimeChart } from "../Chart";
import { Empty, ErrorBox, Loading } from "../components";
import { useI18n } from "../i18n";
import { api } from "../lib/api";
import { useResource } from "../lib/hooks";

/** The spec's refresh period for the overview. */
const OVERVIEW_REFRESH_MS = 30_000;

function Card({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div class="metric" data-metric={testId}>
      <span class="metric-label">{label}</span>
      <span class="metric-value">{value}</span>
    </div>
  );
}

export function Overview() {
  const { t, formatNumber } = useI18n();
  const [accountId, setAccountId] = useState("");
  const accounts = useResource(() => api.get<Page<AccountView>>("/api/v1/accounts/", { page_size: 100 }), "accounts");
  const query = { account_id: accountId || undefined };
  const overview = useResource(() => api.get<DashboardOverview>("/api/v1/dashboard/overview", query), `overview:${accountId}`, { intervalMs: OVERVIEW_REFRESH_MS });
  const series = useResource(() => api.get<Timeseries>("/api/v1/dashboard/timeseries", { ...query, interval: "hour", periods: 24 }), `series:${accountId}`, {
    intervalMs: OVERVIEW_REFRESH_MS,
  });
  const m = overview.data?.metrics;
  return (
    <>
      <div class="page-head">
        <h1>{t("overviewTitle")}</h1>
        <label class="inline-field">
          <span>{t("account")}</span>
          <select value={accountId} onChange={(e) => setAccountId(e.currentTarget.value)}>
            <option value="">{t("allAccounts")}</option>
            {accounts.data?.results.map((a) => (
              <option key={a.account_id} value={a.account_id}>
                {a.name} ({a.account_id})
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={overview.error ?? series.error} />
      {!m && !overview.error && <Loading />}
      {m && (
        <div class="metrics">
          <Card testId="jobs_today" label={t("jobsToday")} value={formatNumber(m.jobs_today)} />
          <Card testId="success_rate" label={t("successRate")} value={`${formatNumber(m.success_rate_percentage, 1)} %`} />
          <Card testId="active_batches" label={t("activeBatches")} value={formatNumber(m.active_batches)} />
          <Card testId="pending_jobs" label={t("pendingJobs")} value={formatNumber(m.pending_jobs)} />
        </div>
      )}
      {overview.data?.account && (
        <p>
          {overview.data.account.name}: {t("balance")} {formatNumber(overview.data.account.balance, 2)} ({overview.data.account.billing_type})
        </p>
      )}
      {series.data && <Charts data={series.data} />}
    </>
  );
}

function Charts({ data }: { data: Timeseries }) {
  const { t, formatNumber } = useI18n();
  const { times, jobs, cost, totals } = useMemo(() => {
    const times = data.points.map((p) => Date.parse(p.bucket) / 1000);
    const pick = (f: (p: Timeseries["points"][number]) => number) => data.points.map(f);
    const totals = data.points.reduce((acc, p) => ({ created: acc.created + p.created, completed: acc.completed + p.completed, failed: acc.failed + p.failed, cost: acc.cost + p.cost }), {
      created: 0,
      completed: 0,
      failed: 0,
      cost: 0,
    });
    return {
      times,
      totals,
      jobs: [
        { label: t("seriesCreated"), color: "#1f5fbf", values: pick((p) => p.created) },
        { label: t("seriesCompleted"), color: "#1b7a3a", values: pick((p) => p.completed) },
        { label: t("seriesFailed"), color: "#b3261e", values: pick((p) => p.failed) },
      ],
      cost: [{ label: t("seriesCost"), color: "#7a4b00", values: pick((p) => p.cost) }],
    };
  }, [data, t]);
  if (totals.created + totals.completed + totals.failed === 0) return <Empty>{t("chartEmpty")}</Empty>;
  const jobsSummary = `${t("seriesCreated")} ${totals.created}, ${t("seriesCompleted")} ${totals.completed}, ${t("seriesFailed")} ${totals.failed}`;
  return (
    <div class="charts">
      <TimeChart title={t("chartJobs")} times={times} series={jobs} summary={jobsSummary} />
      <TimeChart title={t("chartCost")} times={times} series={cost} summary={`${t("seriesCost")} ${formatNumber(totals.cost, 2)}`} />
    </div>
  );
}
