import { useState } from "preact/hooks";
import type { Page } from "../../../../shared/common";
import { CANCELLABLE_STATUSES, RETRYABLE_STATUSES, TASK_PRIORITIES, TASK_STATUSES, type TaskStatus, type TaskView } from "../../../../shared/tasks";
import { Badge, ConfirmDialog, Empty, ErrorBox, Facts, Json, Loading, Notice, Pager, ProgressBar, Section, type ConfirmRequest } from "../components";
import { useI18n, useWord } from "../i18n";
import { api } from "../lib/api";
import { useAction, useResource } from "../lib/hooks";
import { href, navigate } from "../lib/router";

const PAGE_SIZE = 20;
const LIST_POLL_MS = 10_000;
const TASK_POLL_MS = 5_000;
const FILTERS = ["status", "priority", "task_type", "created_after", "created_before", "search", "batch_id"] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

function readFilters(query: URLSearchParams): Filters {
  return Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ""])) as Filters;
}

export function Tasks({ query }: { query: URLSearchParams }) {
  const { t, formatDate } = useI18n();
  const word = useWord();
  const applied = readFilters(query);
  const page = Number(query.get("page") ?? "1") || 1;
  const [draft, setDraft] = useState<Filters>(applied);
  const key = query.toString();
  const list = useResource(() => api.get<Page<TaskView>>("/tasks/", { ...applied, page, page_size: PAGE_SIZE, ordering: "-created_at" }), key, { intervalMs: LIST_POLL_MS });
  const set = (name: keyof Filters) => (e: Event) => setDraft({ ...draft, [name]: (e.currentTarget as HTMLInputElement).value });
  const apply = (next: Filters, nextPage = 1) => navigate("tasks", { ...next, ...(nextPage > 1 ? { page: String(nextPage) } : {}) });
  return (
    <>
      <h1>{t("tasksTitle")}</h1>
      <form
        class="filters card"
        onSubmit={(e) => {
          e.preventDefault();
          apply(draft);
        }}
      >
        <label class="field">
          <span>{t("status")}</span>
          <select value={draft.status} onChange={set("status")}>
            <option value="">{t("all")}</option>
            {TASK_STATUSES.map((s) => (
              <option key={s} value={s}>
                {word("status", s)}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>{t("priority")}</span>
          <select value={draft.priority} onChange={set("priority")}>
            <option value="">{t("all")}</option>
            {TASK_PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {word("priority", p)}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>{t("taskType")}</span>
          <input value={draft.task_type} onInput={set("task_type")} />
        </label>
        <label class="field">
          <span>{t("createdAfter")}</span>
          <input type="date" value={draft.created_after} onInput={set("created_after")} />
        </label>
        <label class="field">
          <span>{t("createdBefore")}</span>
          <input type="date" value={draft.created_before} onInput={set("created_before")} />
        </label>
        <label class="field">
          <span>{t("search")}</span>
          <input type="search" value={draft.search} onInput={set("search")} />
        </label>
        {draft.batch_id && (
          <label class="field">
            <span>{t("batch")}</span>
            <input value={draft.batch_id} onInput={set("batch_id")} />
          </label>
        )}
        <div class="row">
          <button type="submit" class="primary">
            {t("applyFilters")}
          </button>
          <button
            type="button"
            onClick={() => {
              const empty = readFilters(new URLSearchParams());
              setDraft(empty);
              apply(empty);
            }}
          >
            {t("clearFilters")}
          </button>
        </div>
      </form>
      <ErrorBox error={list.error} />
      {!list.data && !list.error && <Loading />}
      {list.data && list.data.results.length === 0 && <Empty>{t("tasksEmpty")}</Empty>}
      {list.data && list.data.results.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">ID</th>
                <th scope="col">{t("taskType")}</th>
                <th scope="col">{t("status")}</th>
                <th scope="col">{t("priority")}</th>
                <th scope="col">{t("progress")}</th>
                <th scope="col">{t("created")}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.results.map((task) => (
                <tr key={task.task_id} data-task={task.task_id}>
                  <td>
                    <a href={href(`tasks/${task.task_id}`)}>{task.task_id}</a>
                  </td>
                  <td>{task.task_type}</td>
                  <td>
                    <Badge kind={task.status}>{word("status", task.status)}</Badge>
                  </td>
                  <td>{word("priority", task.priority)}</td>
                  <td class="wide">
                    <ProgressBar value={task.progress_percentage} label={`${t("progress")} ${task.task_id}`} />
                  </td>
                  <td>{formatDate(task.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && <Pager page={page} count={list.data.count} pageSize={PAGE_SIZE} onPage={(p) => apply(applied, p)} />}
    </>
  );
}

const isOneOf = (list: readonly TaskStatus[], status: TaskStatus) => list.includes(status);

export function TaskPage({ taskId }: { taskId: string }) {
  const { t, formatDate, formatNumber } = useI18n();
  const word = useWord();
  const path = `/tasks/${encodeURIComponent(taskId)}/`;
  const [live, setLive] = useState(true);
  const task = useResource(
    async () => {
      const value = await api.get<TaskView>(path);
      setLive(value.status === "pending" || value.status === "running");
      return value;
    },
    taskId,
    { intervalMs: TASK_POLL_MS, active: live },
  );
  const action = useAction();
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const x = task.data;
  return (
    <>
      <p>
        <a href={href("tasks")}>← {t("back")}</a>
      </p>
      <div class="page-head">
        <h1>{t("taskTitle", { id: taskId })}</h1>
        {x && <Badge kind={x.status}>{word("status", x.status)}</Badge>}
      </div>
      <ErrorBox error={task.error} />
      <ErrorBox error={action.error} />
      <Notice text={action.message} />
      {!x && !task.error && <Loading />}
      {x && (
        <>
          <Section
            title={x.task_type}
            actions={
              <div class="row">
                <button
                  type="button"
                  class="danger"
                  disabled={action.busy || !isOneOf(CANCELLABLE_STATUSES, x.status)}
                  onClick={() =>
                    setConfirm({
                      message: t("confirmCancelTask"),
                      confirmLabel: t("cancelTask"),
                      danger: true,
                      onConfirm: () =>
                        void action.run(async () => {
                          await api.post(`${path}cancel/`);
                          await task.reload();
                          return t("taskCancelled");
                        }),
                    })
                  }
                >
                  {t("cancelTask")}
                </button>
                <button
                  type="button"
                  disabled={action.busy || !isOneOf(RETRYABLE_STATUSES, x.status)}
                  onClick={() =>
                    void action.run(async () => {
                      await api.post(`${path}retry/`, {});
                      setLive(true);
                      await task.reload();
                      return t("taskRetried");
                    })
                  }
                >
                  {t("retryTask")}
                </button>
              </div>
            }
          >
            <ProgressBar value={x.progress_percentage} label={t("progress")} />
            {x.progress_message && <p class="sub">{x.progress_message}</p>}
            <Facts
              items={[
                [t("description"), x.description || "—"],
                [t("priority"), word("priority", x.priority)],
                [t("retries"), `${x.retry_count} / ${x.max_retries}`],
                [t("created"), formatDate(x.created_at)],
                [t("startedAt"), formatDate(x.started_at)],
                [t("completedAt"), formatDate(x.completed_at)],
                [t("batch"), x.batch_id ? <a href={href(`batches/${x.batch_id}`)}>{x.batch_id}</a> : "—"],
              ]}
            />
          </Section>
          {x.error_message && (
            <Section title={t("error")}>
              <p class="error-text">{x.error_message}</p>
              {x.error_details && <Json value={x.error_details} />}
            </Section>
          )}
          {x.metrics && (
            <Section title={t("metrics")}>
              <Facts
                items={[
                  [t("executionTime"), `${formatNumber(x.metrics.execution_time_ms)} ms`],
                  [t("memory"), `${formatNumber(x.metrics.memory_usage_mb, 1)} MB`],
                  [t("costUsd"), formatNumber(x.metrics.cost_usd, 4)],
                ]}
              />
            </Section>
          )}
          {x.persistent_job && (
            <Section title={t("checkpoints")}>
              <Facts
                items={[
                  [t("state"), x.persistent_job.state],
                  [t("checkpoints"), String(x.persistent_job.checkpoint_count)],
                  [t("canResume"), x.persistent_job.can_resume ? t("yes") : t("no")],
                  [t("progress"), `${formatNumber(x.persistent_job.progress_percentage, 1)} %`],
                ]}
              />
            </Section>
          )}
          {x.result_data && (
            <Section title={t("result")}>
              <Json value={x.result_data} />
            </Section>
          )}
          <Section title={t("context")}>
            <Json value={x.context_data} />
          </Section>
        </>
      )}
      <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />
    </>
  );
}
