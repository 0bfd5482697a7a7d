import { useEffect, useState } from "preact/hooks";
import type { BatchState, BatchStatus, BatchSummary, BatchView } from "../../../../shared/batches";
import { BATCH_STATES } from "../../../../shared/batches";
import type { Page } from "../../../../shared/common";
import { Badge, ConfirmDialog, Empty, ErrorBox, Facts, Loading, Notice, Pager, ProgressBar, Section, type ConfirmRequest } from "../components";
import { useI18n, useWord } from "../i18n";
import { api } from "../lib/api";
import { useAction, useResource } from "../lib/hooks";
import { href } from "../lib/router";

const PAGE_SIZE = 20;
/** spec/batches-and-dashboard-endpoints.md: a batch page polls its status every 5 seconds. */
export const BATCH_POLL_MS = 5_000;
/** The list refreshes more slowly: it is an index, the batch page is where one watches. */
const LIST_POLL_MS = 15_000;

export function Batches() {
  const { t, formatDate, formatNumber } = useI18n();
  const word = useWord();
  const [state, setState] = useState<BatchState | "">("");
  const [page, setPage] = useState(1);
  const list = useResource(() => api.get<Page<BatchView>>("/api/v1/batches/", { state: state || undefined, page, page_size: PAGE_SIZE }), `${state}:${page}`, {
    intervalMs: LIST_POLL_MS,
  });
  return (
    <>
      <div class="page-head">
        <h1>{t("batchesTitle")}</h1>
        <label class="inline-field">
          <span>{t("state")}</span>
          <select value={state} onChange={(e) => (setState(e.currentTarget.value as BatchState | ""), setPage(1))}>
            <option value="">{t("all")}</option>
            {BATCH_STATES.map((s) => (
              <option key={s} value={s}>
                {word("state", s)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={list.error} />
      {!list.data && !list.error && <Loading />}
      {list.data && list.data.results.length === 0 && <Empty>{t("batchesEmpty")}</Empty>}
      {list.data && list.data.results.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t("batchName")}</th>
                <th scope="col">{t("state")}</th>
                <th scope="col">{t("progress")}</th>
                <th scope="col">{t("jobs")}</th>
                <th scope="col">{t("created")}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.results.map((b) => (
                <tr key={b.batch_id} data-batch={b.batch_id}>
                  <td>
                    <a href={href(`batches/${b.batch_id}`)}>{b.name || b.batch_id}</a>
                    <div class="sub">
                      {b.task_type} · {b.account_id}
                    </div>
                  </td>
                  <td>
                    <Badge kind={b.state}>{word("state", b.state)}</Badge>
                  </td>
                  <td class="wide">
                    <ProgressBar value={b.progress_percentage} label={`${t("progress")} ${b.name || b.batch_id}`} />
                  </td>
                  <td>{formatNumber(b.total_jobs)}</td>
                  <td>{formatDate(b.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && <Pager page={page} count={list.data.count} pageSize={PAGE_SIZE} onPage={setPage} />}
    </>
  );
}

export function BatchPage({ batchId }: { batchId: string }) {
  const { t, formatDate, formatNumber } = useI18n();
  const word = useWord();
  const path = `/api/v1/batches/${encodeURIComponent(batchId)}`;
  const batch = useResource(() => api.get<BatchView>(`${path}/`), `batch:${batchId}`);
  const active = batch.data?.is_active ?? true;
  const status = useResource(() => api.get<BatchStatus>(`${path}/status`), `status:${batchId}`, { intervalMs: BATCH_POLL_MS, active });
  const summary = useResource(() => api.get<BatchSummary>(`${path}/summary`), `summary:${batchId}`);
  const action = useAction();
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);

  // The batch read that says it ended can be newer than the last status poll (its last job finished
  // in between): the counters are read once more when polling stops, or they would stay behind.
  useEffect(() => {
    if (!active) void status.reload();
  }, [active]);

  // Counters moved: the batch's state and its summary may have too.
  const fingerprint = status.data ? `${status.data.pending_jobs}/${status.data.completed_jobs}/${status.data.failed_jobs}/${status.data.suspended_jobs}/${status.data.is_active}` : "";
  useEffect(() => {
    if (!fingerprint) return;
    void batch.reload();
    void summary.reload();
  }, [fingerprint]);

  const afterAction = async () => {
    await Promise.all([batch.reload(), status.reload(), summary.reload()]);
  };
  const ask = (kind: "pause" | "resume" | "cancel") => {
    const messages = { pause: t("confirmPause"), resume: t("confirmResume"), cancel: t("confirmCancelBatch") };
    const labels = { pause: t("pause"), resume: t("resume"), cancel: t("cancelBatch") };
    setConfirm({
      message: messages[kind],
      confirmLabel: labels[kind],
      danger: kind === "cancel",
      reasonLabel: kind === "cancel" ? t("cancelReason") : undefined,
      onConfirm: (reason) =>
        void action.run(async () => {
          if (kind === "pause") {
            const res = await api.post<{ suspended_jobs: number }>(`${path}/pause`);
            await afterAction();
            return t("batchPaused", { count: res.suspended_jobs });
          }
          if (kind === "resume") {
            const res = await api.post<{ resumed_jobs: number }>(`${path}/resume`);
            await afterAction();
            return t("batchResumed", { count: res.resumed_jobs });
          }
          await api.post(`${path}/cancel${reason ? `?reason=${encodeURIComponent(reason)}` : ""}`);
          await afterAction();
          return t("batchCancelled");
        }),
    });
  };

  const b = batch.data;
  const s = status.data;
  const sum = summary.data;
  return (
    <>
      <p>
        <a href={href("batches")}>← {t("back")}</a>
      </p>
      <div class="page-head">
        <h1>{b?.name || t("batchTitle", { id: batchId })}</h1>
        {b && (
          <Badge kind={b.state}>
            <span data-testid="batch-state">{word("state", b.state)}</span>
          </Badge>
        )}
      </div>
      <ErrorBox error={batch.error ?? status.error} />
      <ErrorBox error={action.error} />
      <Notice text={action.message} />
      {!b && !batch.error && <Loading />}
      {b && s && (
        <Section
          title={t("progress")}
          actions={
            <div class="row">
              <button type="button" disabled={action.busy || b.state !== "active"} onClick={() => ask("pause")}>
                {t("pause")}
              </button>
              <button type="button" disabled={action.busy || b.state !== "paused"} onClick={() => ask("resume")}>
                {t("resume")}
              </button>
              <button type="button" class="danger" disabled={action.busy || !b.is_active} onClick={() => ask("cancel")}>
                {t("cancelBatch")}
              </button>
            </div>
          }
        >
          <ProgressBar value={s.progress_percentage} label={t("progress")} />
          {s.is_active && <p class="sub">{t("liveEvery5s")}</p>}
          <div class="counters" data-testid="batch-counters">
            <Counter name="total" label={t("total")} value={s.total_jobs} />
            <Counter name="pending" label={t("pending")} value={s.pending_jobs} />
            <Counter name="completed" label={t("completed")} value={s.completed_jobs} />
            <Counter name="failed" label={t("failed")} value={s.failed_jobs} />
            <Counter name="suspended" label={t("suspended")} value={s.suspended_jobs} />
          </div>
          <Facts
            items={[
              [t("taskType"), b.task_type],
              [t("account"), b.account_id],
              [t("totalCost"), formatNumber(s.total_cost, 2)],
              [t("totalMinutes"), formatNumber(s.total_minutes, 1)],
            ]}
          />
          <a href={href("tasks", { batch_id: batchId })}>{t("seeJobs")}</a>
        </Section>
      )}
      {sum && (
        <Section title={t("summary")}>
          <Facts
            items={[
              [t("durations"), `${t("avg")} ${fmt(sum.duration_seconds.avg)} · p50 ${fmt(sum.duration_seconds.p50)} · p95 ${fmt(sum.duration_seconds.p95)}`],
              [t("throughput"), sum.throughput_per_minute === null ? "—" : t("perMinute", { value: formatNumber(sum.throughput_per_minute, 1) })],
              [t("eta"), formatDate(sum.eta)],
              [t("startedAt"), formatDate(sum.timestamps.started_at)],
              [t("pausedAt"), formatDate(sum.timestamps.paused_at)],
              [t("completedAt"), formatDate(sum.timestamps.completed_at)],
              ...(sum.cancellation_reason ? [[t("cancellationReason"), sum.cancellation_reason] as [string, string]] : []),
            ]}
          />
          <h3>{t("topErrors")}</h3>
          {sum.top_errors.length === 0 ? (
            <p>{t("noErrors")}</p>
          ) : (
            <ul>
              {sum.top_errors.map((e) => (
                <li key={e.error_message}>
                  <strong>{e.count}×</strong> {e.error_message}{" "}
                  {e.example_job_ids.slice(0, 3).map((id) => (
                    <a key={id} class="chip" href={href(`tasks/${id}`)}>
                      {id}
                    </a>
                  ))}
                </li>
              ))}
            </ul>
          )}
        </Section>
      )}
      <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />
    </>
  );
}

function fmt(value: number | null): string {
  return value === null ? "—" : value.toFixed(2);
}

function Counter({ name, label, value }: { name: string; label: string; value: number }) {
  return (
    <div class="counter" data-counter={name}>
      <span class="counter-label">{label}</span>
      <span class="counter-value">{value}</span>
    </div>
  );
}
