import { PIPELINE_STEPS, type PipelineStep, type ProductTask, type PublicationStatus } from "../../../shared/publications";
import { t, type MessageKey } from "../../lib/i18n";

const STEP_TEXT: Record<PipelineStep, MessageKey> = {
  enhancement: "publicationStepEnhancement",
  publication: "publicationStepPublication",
  webhook: "publicationStepWebhook",
};

const STATUS_TEXT: Record<PublicationStatus, MessageKey> = {
  pending: "statusPending",
  enhancing: "statusEnhancing",
  enhanced: "statusEnhanced",
  publishing: "statusPublishing",
  published: "statusPublished",
  webhook_sent: "statusWebhookSent",
  completed: "statusCompleted",
  failed: "statusFailed",
};

/** The step a publication is at: the one that failed, else the first not completed (null once all are). */
function currentStep(task: ProductTask): PipelineStep | null {
  if (task.status === "completed") return null;
  if (task.status === "failed" && "step" in task.error_details) return task.error_details.step;
  return PIPELINE_STEPS.find((step) => !task.steps_completed.includes(step)) ?? null;
}

function stepText(step: PipelineStep | null): string {
  if (step === null) return t("publicationStepDone");
  return `${t("publicationStepOf", PIPELINE_STEPS.indexOf(step) + 1, PIPELINE_STEPS.length)} · ${t(STEP_TEXT[step])}`;
}

function listingUrl(task: ProductTask): string | null {
  const url = task.publication_result.listing_url;
  return task.status === "completed" && typeof url === "string" && /^https:\/\//.test(url) ? url : null;
}

function PublicationRow(props: { task: ProductTask }) {
  const { task } = props;
  const step = currentStep(task);
  const percent = Math.max(0, Math.min(100, Math.round(task.progress_percentage)));
  const url = listingUrl(task);
  return (
    <li data-task-id={task.task_id} data-status={task.status}>
      <div class="pub-head">
        <span class="pub-title">
          {task.product_title} <span class="muted">· {task.marketplace_name}</span>
        </span>
        <span class={`badge ${task.status}`} data-testid="publication-status">{t(STATUS_TEXT[task.status])}</span>
      </div>
      <span class="muted pub-step" data-testid="publication-step" data-step={step ?? "done"}>{stepText(step)}</span>
      <div
        class="progress"
        role="progressbar"
        aria-label={t("publicationProgress", task.product_title, task.marketplace_name)}
        aria-valuenow={percent}
        aria-valuemin={0}
        aria-valuemax={100}
      >
        <div style={{ width: `${percent}%` }} />
      </div>
      {task.status === "failed" && "error" in task.error_details && <span class="err error">{task.error_details.error}</span>}
      {url && (
        <a href={url} target="_blank" rel="noreferrer" data-testid="publication-listing">
          {t("publicationListing")}
        </a>
      )}
    </li>
  );
}

/** The seller's publications to marketplaces, in progress first; nothing when they have none. */
export function Publications(props: { publications: ProductTask[] | null; inProgress: number }) {
  const { publications, inProgress } = props;
  if (!publications || publications.length === 0) return null;
  return (
    <section aria-labelledby="publications-heading">
      <h2 id="publications-heading">
        {t("publications")}
        {inProgress > 0 && <span class="count" data-testid="publications-in-progress"> · {t("publicationsInProgress", inProgress)}</span>}
      </h2>
      <ul class="publications" data-testid="publications">
        {publications.map((task) => (
          <PublicationRow key={task.task_id} task={task} />
        ))}
      </ul>
    </section>
  );
}
