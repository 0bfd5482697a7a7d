import type { ProductTask, ProductTasksResponse } from "../../../../../shared/publications";
import { Badge, Empty, ErrorBox, Facts, Json, ProgressBar, Section } from "../../components";
import { useI18n, useWord } from "../../i18n";
import { api } from "../../lib/api";
import { useAction } from "../../lib/hooks";

/** A product's publications, one card per marketplace, with a Retry for the failed ones. */
export function PublicationList({ data, error, onRetried }: { data: ProductTasksResponse | null; error: unknown; onRetried(): void }) {
  const { t } = useI18n();
  const action = useAction();
  const retry = (taskId: string) =>
    void action.run(async () => {
      await api.post(`/tasks/${encodeURIComponent(taskId)}/retry/`, {});
      onRetried();
    });
  return (
    <Section title={t("publications")}>
      <ErrorBox error={error} />
      <ErrorBox error={action.error} />
      {data && data.tasks.length === 0 && <Empty>{t("publicationsEmpty")}</Empty>}
      {data?.tasks.map((task) => <PublicationCard key={task.task_id} task={task} retrying={action.busy} onRetry={() => retry(task.task_id)} />)}
    </Section>
  );
}

function listingUrl(task: ProductTask): string | null {
  const { url, permalink } = task.publication_result;
  return typeof url === "string" ? url : typeof permalink === "string" ? permalink : null;
}

function PublicationCard({ task, retrying, onRetry }: { task: ProductTask; retrying: boolean; onRetry(): void }) {
  const { t, formatDate } = useI18n();
  const word = useWord();
  const listing = listingUrl(task);
  return (
    <article class="publication" data-publication={task.task_id} data-status={task.status}>
      <div class="page-head">
        <h3>{task.marketplace_name}</h3>
        <Badge kind={task.status}>{word("pubstatus", task.status)}</Badge>
      </div>
      <ProgressBar value={task.progress_percentage} label={`${t("progress")} ${task.marketplace_name}`} />
      <Facts
        items={[
          [t("step"), `${task.current_step} (${task.steps_completed.length}/${task.total_steps})`],
          [t("retries"), `${task.enhancement_retries} / ${task.publication_retries} / ${task.webhook_retries}`],
          [t("startedAt"), formatDate(task.started_at)],
          [t("completedAt"), formatDate(task.completed_at)],
        ]}
      />
      {listing && (
        <a href={listing} target="_blank" rel="noreferrer">
          {t("viewListing")}
        </a>
      )}
      <PublicationError task={task} />
      {task.status === "failed" && (
        <button type="button" disabled={retrying} onClick={onRetry}>
          {t("retryTask")}
        </button>
      )}
    </article>
  );
}

/** The failed step, its error, and the marketplace's own answer. */
function PublicationError({ task }: { task: ProductTask }) {
  const { t } = useI18n();
  if (!("step" in task.error_details)) return null;
  const details = task.error_details;
  return (
    <div class="alert alert-error">
      <strong>
        {t("error")} ({details.step}): {details.error}
      </strong>
      <details>
        <summary>{t("marketplaceAnswer")}</summary>
        <Json value={details.marketplace_response} />
      </details>
    </div>
  );
}
