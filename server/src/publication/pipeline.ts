/**
 * The `marketplace_publication` task type: runs a publication's steps (enhancement → publication →
 * webhook) with the pure logic of steps.ts. The step state lives on the task (`publication`) and is
 * saved after every move, fenced by the run: a crash resumes where the state says, a retry of a
 * failed publication resumes at the failed step, and a completed step never runs again.
 *
 * Transient failures are retried inside the run with backoff (steps.ts counts them per step); a
 * final refusal, or a transient one past its budget, fails the task at once through the lifecycle.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { PUBLICATION_TASK_TYPE } from "../../../shared/publications.js";
import type { Enhancer } from "../enhancement/index.js";
import type { EnhancedCopy, MarketplaceService, PublishedListing } from "../marketplaces/index.js";
import { isPublicationError } from "../marketplaces/index.js";
import type { ProductService, PublishableProduct } from "../products/index.js";
import { PermanentTaskError, TaskWaiting, type TaskContext, type TaskHandler } from "../tasks/executor/registry.js";
import type { WebhookService } from "../webhooks/index.js";
import { newEvent } from "../webhooks/index.js";
import {
  applyPatch,
  completeStep,
  initialState,
  nextStep,
  noWebhookResult,
  onStepFailure,
  publicationPlan,
  publicationResult,
  resumeAfterFailure,
  startStep,
  type PipelineStep,
  type RetryPolicy,
  type StatePatch,
  type StepFailure,
  type StepState,
} from "./steps.js";

export { PUBLICATION_TASK_TYPE };

/** What a publication task is asked to do (its context_data). */
export const PublicationContextSchema = z.object({
  product_id: z.number().int(),
  marketplace_id: z.number().int(),
  enhance: z.boolean().default(true),
  options: z.record(z.string(), z.unknown()).default({}),
});
export type PublicationContext = z.infer<typeof PublicationContextSchema>;

export interface PipelineDeps {
  products: ProductService;
  marketplaces: MarketplaceService;
  webhooks: WebhookService;
  enhancer: Enhancer;
  policy: RetryPolicy;
}

type StepOutcome =
  | { ok: true; result: Record<string, unknown> }
  /** `patch`: what the failure also resets (a handed-off task that ended without a listing is forgotten). */
  | { ok: false; failure: StepFailure; patch?: StatePatch }
  /** Handed off as task `wait` (Vinted: the seller's extension): the run ends, the task waits for it. */
  | { ok: "waiting"; wait: string };

/** The stored step state of a task (a fresh one for a task that never ran). */
export function stepStateOf(publication: Record<string, unknown> | null | undefined): StepState {
  return publication ? { ...initialState(), ...(publication as Partial<StepState>) } : initialState();
}

export function publicationHandler(deps: PipelineDeps): TaskHandler {
  return async (ctx) => {
    const input = PublicationContextSchema.parse(ctx.task.context_data);
    let state = stepStateOf(ctx.task.publication);
    if (state.status === "failed") state = applyPatch(state, resumeAfterFailure(state));
    const save = async (next: StepState) => {
      state = next;
      if (!(await ctx.record({ publication: state }))) ctx.throwIfStopped();
    };
    await save(state);
    const product = await deps.products.publishable(ctx.task.brand, input.product_id);
    for (let step = nextStep(state); step !== null; step = nextStep(state)) {
      ctx.throwIfStopped();
      await save(applyPatch(state, startStep(state, step, new Date())));
      const outcome = await runStep(deps, ctx, input, product, state, step);
      if (outcome.ok === "waiting") {
        await save(applyPatch(state, { publication_task_id: outcome.wait }));
        const name = deps.marketplaces.connector(input.marketplace_id).name;
        throw new TaskWaiting(outcome.wait, `Waiting for the extension to publish to ${name} (task ${outcome.wait})`);
      }
      if (outcome.ok) {
        await save(applyPatch(state, completeStep(state, step, outcome.result)));
        continue;
      }
      const decision = onStepFailure(state, step, outcome.failure, deps.policy);
      await save(applyPatch(state, { ...outcome.patch, ...decision.patch }));
      if (decision.action === "fail") throw new PermanentTaskError(outcome.failure.message, { ...state.error_details });
      await sleep(decision.delay_ms, undefined, { signal: ctx.signal });
    }
    return { publication_result: state.publication_result };
  };
}

async function runStep(deps: PipelineDeps, ctx: TaskContext, input: PublicationContext, product: PublishableProduct, state: StepState, step: PipelineStep): Promise<StepOutcome> {
  switch (step) {
    case "enhancement":
      return enhancementStep(deps, ctx, input, product);
    case "publication":
      return publicationStep(deps, ctx, input, product, state);
    case "webhook":
      return webhookStep(deps, ctx, input, product, state);
  }
}

async function enhancementStep(deps: PipelineDeps, ctx: TaskContext, input: PublicationContext, product: PublishableProduct): Promise<StepOutcome> {
  const connector = deps.marketplaces.connector(input.marketplace_id);
  if (!input.enhance) {
    return { ok: true, result: { success: true, skipped: true, enhanced_title: product.title.slice(0, connector.titleMaxLength), enhanced_description: product.description, keywords: [] } };
  }
  const outcome = await deps.enhancer.enhance({ product, marketplace: { code: connector.code, name: connector.name, titleMaxLength: connector.titleMaxLength } });
  if (outcome.ok) {
    ctx.reportCost(outcome.usage.cost_usd);
    return { ok: true, result: { ...outcome.result } };
  }
  const { kind, message, provider_response, retry_after_ms } = outcome.error;
  return { ok: false, failure: { kind, message, response: provider_response, retry_after_ms } };
}

function copyOf(result: Record<string, unknown>): EnhancedCopy | null {
  const { enhanced_title, enhanced_description, keywords } = result;
  if (typeof enhanced_title !== "string" || typeof enhanced_description !== "string") return null;
  return { title: enhanced_title, description: enhanced_description, keywords: Array.isArray(keywords) ? keywords.filter((k): k is string => typeof k === "string") : [] };
}

async function publicationStep(deps: PipelineDeps, ctx: TaskContext, input: PublicationContext, product: PublishableProduct, state: StepState): Promise<StepOutcome> {
  const connector = deps.marketplaces.connector(input.marketplace_id);
  const handle = await deps.marketplaces.handle(ctx.task.brand, input.marketplace_id);
  const reference = ctx.task.task_id;
  if (state.publication_task_id !== null && connector.handedOffOutcome) {
    const handed = await connector.handedOffOutcome(state.publication_task_id);
    if (handed.state === "waiting") return { ok: "waiting", wait: state.publication_task_id };
    if (handed.state === "published") return { ok: true, result: listingResult(handed.listing) };
    // Ended without a listing: this attempt fails; a retry of the publication hands it off anew.
    return { ok: false, failure: failureOf(handed.error), patch: { publication_task_id: null } };
  }
  if (publicationPlan(state) === "lookup_then_publish") {
    // An earlier attempt may have created the listing before we could save it.
    const found = await connector.findByReference(reference, handle);
    if (isPublicationError(found)) return { ok: false, failure: failureOf(found) };
    if (found) return { ok: true, result: listingResult(found) };
  }
  const outcome = await connector.publish(
    { product, enhancement: copyOf(state.enhancement_result), options: optionsFor(input.options, connector.code), reference, brand: ctx.task.brand, user: ctx.task.created_by },
    handle,
  );
  if (outcome.outcome === "published") return { ok: true, result: listingResult(outcome.listing) };
  if (outcome.outcome === "failed") return { ok: false, failure: failureOf(outcome.error) };
  return { ok: "waiting", wait: outcome.task_id };
}

function optionsFor(options: Record<string, unknown>, code: string): Record<string, unknown> {
  const own = options[code];
  return own && typeof own === "object" && !Array.isArray(own) ? (own as Record<string, unknown>) : {};
}

function listingResult(listing: PublishedListing): Record<string, unknown> {
  return { ...publicationResult(listing), listing_status: listing.status };
}

function failureOf(error: { kind: "transient" | "final"; message: string; marketplace_response: Record<string, unknown>; retry_after_ms: number | null }): StepFailure {
  return { kind: error.kind, message: error.message, response: error.marketplace_response, retry_after_ms: error.retry_after_ms };
}

async function webhookStep(deps: PipelineDeps, ctx: TaskContext, input: PublicationContext, product: PublishableProduct, state: StepState): Promise<StepOutcome> {
  const type = "publication.published";
  const endpoints = await deps.webhooks.endpointsFor(ctx.task.brand, type);
  if (endpoints.length === 0) return { ok: true, result: noWebhookResult(type) };
  const event = newEvent(type, {
    task_id: ctx.task.task_id,
    product_id: input.product_id,
    product_sku: product.sku,
    marketplace_id: input.marketplace_id,
    publication_result: state.publication_result,
  });
  let last: Record<string, unknown> = {};
  for (const endpoint of endpoints) {
    const attempt = await deps.webhooks.sender.sendOnce(endpoint, event);
    last = { status_code: attempt.status_code, response: attempt.response, endpoint_id: endpoint.id };
    if (attempt.outcome !== "delivered") {
      return {
        ok: false,
        failure: { kind: attempt.outcome, message: attempt.error ?? `Webhook endpoint answered ${attempt.status_code}`, response: last, retry_after_ms: attempt.retry_after_ms },
      };
    }
  }
  return { ok: true, result: last };
}
