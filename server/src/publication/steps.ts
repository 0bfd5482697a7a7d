/**
 * The publication pipeline's step logic, as pure functions over a publication's step state: which
 * step runs next, what status and progress it shows, what a success or a failure writes, when a
 * failure is retried and after how long, and what a retry of a failed publication resets. No I/O:
 * the task lifecycle applies the patches (each one a conditional update) and runs the connectors.
 *
 * Steps: enhancement → publication → webhook. A step in `steps_completed` never runs again, so a
 * retry resumes at the step that failed.
 */

import { PIPELINE_STEPS, type PipelineStep, type PublicationStatus } from "../../../shared/publications.js";

export { PIPELINE_STEPS, type PipelineStep, type PublicationStatus };

/** The three steps plus the completion itself, as spec/product-tasks-endpoint.md counts them. */
export const TOTAL_STEPS = 4;

export type StepRetriesField = `${PipelineStep}_retries`;
export type StepResultField = `${PipelineStep}_result`;

export interface ErrorDetails {
  step: PipelineStep;
  error: string;
  marketplace_response: Record<string, unknown>;
  retries: number;
}

export interface StepState {
  status: PublicationStatus;
  steps_completed: PipelineStep[];
  enhancement_retries: number;
  publication_retries: number;
  webhook_retries: number;
  enhancement_result: Record<string, unknown>;
  publication_result: Record<string, unknown>;
  webhook_result: Record<string, unknown>;
  /** `{}` unless failed. */
  error_details: ErrorDetails | Record<string, never>;
  /**
   * Set (and saved) before the marketplace is first called. A publication step that finds it set
   * may have created its listing already (a crash between the marketplace's answer and our save):
   * it must look the listing up by reference before publishing again.
   */
  publication_started_at: string | null;
  /** Vinted: the extension task the publication was handed to; the step waits for its result. */
  publication_task_id: string | null;
}

/** A classified failure, from a connector, the enhancer or a webhook delivery. */
export interface StepFailure {
  kind: "transient" | "final";
  message: string;
  /** The other side's answer (marketplace, provider, endpoint). */
  response: Record<string, unknown>;
  /** Its Retry-After, when it gave one. */
  retry_after_ms: number | null;
}

export interface RetryPolicy {
  /** Automatic retries of one step (transient failures only). */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 3, baseDelayMs: 30_000, maxDelayMs: 15 * 60_000 };

export type StatePatch = Partial<StepState>;

export function initialState(): StepState {
  return {
    status: "pending",
    steps_completed: [],
    enhancement_retries: 0,
    publication_retries: 0,
    webhook_retries: 0,
    enhancement_result: {},
    publication_result: {},
    webhook_result: {},
    error_details: {},
    publication_started_at: null,
    publication_task_id: null,
  };
}

const retriesField = (step: PipelineStep): StepRetriesField => `${step}_retries`;
const resultField = (step: PipelineStep): StepResultField => `${step}_result`;

/** The first step not completed yet; null when all are (the publication is complete). */
export function nextStep(state: Pick<StepState, "steps_completed">): PipelineStep | null {
  return PIPELINE_STEPS.find((s) => !state.steps_completed.includes(s)) ?? null;
}

/** The status shown while `step` runs (the webhook step has no word of its own: still "published"). */
export function statusWhileRunning(step: PipelineStep): PublicationStatus {
  return step === "enhancement" ? "enhancing" : step === "publication" ? "publishing" : "published";
}

export function statusAfter(step: PipelineStep): PublicationStatus {
  return step === "enhancement" ? "enhanced" : step === "publication" ? "published" : "webhook_sent";
}

/** The status a publication waits in before `step` (where a retry puts it back). */
export function statusBefore(step: PipelineStep): PublicationStatus {
  return step === "enhancement" ? "pending" : step === "publication" ? "enhanced" : "published";
}

/** What starting `step` writes. The publication step stamps its first call to the marketplace. */
export function startStep(state: StepState, step: PipelineStep, now: Date): StatePatch {
  if (state.steps_completed.includes(step)) throw new Error(`step ${step} is already completed`);
  const patch: StatePatch = { status: statusWhileRunning(step) };
  if (step === "publication" && state.publication_started_at === null) patch.publication_started_at = now.toISOString();
  return patch;
}

/**
 * Before calling the marketplace: "lookup" when an earlier attempt may have created the listing
 * (then the connector's findByReference is asked first, and a found listing completes the step
 * without publishing again), "publish" on a first attempt.
 */
export function publicationPlan(state: Pick<StepState, "publication_started_at">): "publish" | "lookup_then_publish" {
  return state.publication_started_at === null ? "publish" : "lookup_then_publish";
}

export function completeStep(state: StepState, step: PipelineStep, result: Record<string, unknown>): StatePatch {
  const steps = state.steps_completed.includes(step) ? state.steps_completed : [...state.steps_completed, step];
  const done = nextStep({ steps_completed: steps }) === null;
  return { steps_completed: steps, [resultField(step)]: result, status: done ? "completed" : statusAfter(step), error_details: {} };
}

/** The publication step's result from a listing (spec: success, marketplace_id, listing_url). */
export function publicationResult(listing: { marketplace_id: string; listing_url: string }): Record<string, unknown> {
  return { success: true, marketplace_id: listing.marketplace_id, listing_url: listing.listing_url };
}

/** The webhook step when the brand has no endpoint for the event: it completes, and says so. */
export function noWebhookResult(event: string): Record<string, unknown> {
  return { status_code: null, response: `No webhook endpoint is registered for ${event}: nothing was sent.` };
}

export type FailureDecision =
  | { action: "retry"; delay_ms: number; patch: StatePatch }
  | { action: "fail"; patch: StatePatch };

/** Backoff before retry n (1-based): base · 2^(n-1), capped; a Retry-After wins (capped too). */
export function retryDelayMs(retry: number, retryAfterMs: number | null, policy: RetryPolicy): number {
  if (retryAfterMs !== null) return Math.min(Math.max(0, retryAfterMs), policy.maxDelayMs);
  return Math.min(policy.baseDelayMs * 2 ** (retry - 1), policy.maxDelayMs);
}

/**
 * A failed attempt of `step`: a transient failure within the retry budget is retried later (the
 * status goes back to the one before the step); anything else fails the publication with
 * error_details naming the step, the error, the other side's answer and the retries made.
 */
export function onStepFailure(state: StepState, step: PipelineStep, failure: StepFailure, policy: RetryPolicy = DEFAULT_RETRY_POLICY): FailureDecision {
  const retries = state[retriesField(step)];
  if (failure.kind === "transient" && retries < policy.maxRetries) {
    return {
      action: "retry",
      delay_ms: retryDelayMs(retries + 1, failure.retry_after_ms, policy),
      patch: { [retriesField(step)]: retries + 1, status: statusBefore(step) },
    };
  }
  return {
    action: "fail",
    patch: { status: "failed", error_details: { step, error: failure.message, marketplace_response: failure.response, retries } },
  };
}

/**
 * A retry of a failed publication: it resumes at the failed step with a fresh retry budget for
 * that step. Completed steps and their results are kept, never redone.
 */
export function resumeAfterFailure(state: StepState): StatePatch {
  if (state.status !== "failed") throw new Error(`only a failed publication can be retried (status ${state.status})`);
  const step = nextStep(state);
  if (step === null) return { status: "completed", error_details: {} };
  return { status: statusBefore(step), error_details: {}, [retriesField(step)]: 0 };
}

/** `current_step` as the spec words it. */
export function currentStepText(
  state: Pick<StepState, "status" | "steps_completed" | "error_details"> & Partial<Pick<StepState, "publication_task_id">>,
  marketplaceName: string,
): string {
  switch (state.status) {
    case "pending":
      return "Waiting to start";
    case "enhancing":
      return "Enhancing the listing";
    case "enhanced":
      return "Enhanced, waiting to publish";
    case "publishing":
      return state.publication_task_id ? `Waiting for the extension to publish to ${marketplaceName}` : `Publishing to ${marketplaceName}`;
    case "published":
      return state.steps_completed.includes("publication") && nextStep(state) === "webhook" ? "Published, sending webhook" : "Published";
    case "webhook_sent":
      return "Webhook sent";
    case "completed":
      return "Process completed successfully";
    case "failed": {
      const step = "step" in state.error_details ? state.error_details.step : nextStep(state);
      return `Failed during ${step ?? "completion"}`;
    }
  }
}

/** 25% per step completed, the completion itself being the fourth (a completed publication is 100%). */
export function progressPercentage(state: Pick<StepState, "status" | "steps_completed">): number {
  const done = state.steps_completed.length + (state.status === "completed" ? 1 : 0);
  return Math.round((done / TOTAL_STEPS) * 1000) / 10;
}

/** The state after applying a patch (what the lifecycle's update leaves), for callers and tests. */
export function applyPatch(state: StepState, patch: StatePatch): StepState {
  return { ...state, ...patch };
}
