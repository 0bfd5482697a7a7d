/**
 * `publication.failed`: sent when a publication task fails, however it failed (a marketplace's
 * refusal, a retry budget spent, a timeout, a lost worker). It listens to the lifecycle rather than
 * hooking the pipeline's own failure path, so no way of failing is forgotten; the transition is
 * only announced by the process that made it, so each failure is sent once.
 *
 * Delivery runs beside the task (the transition does not wait for a slow endpoint) with the
 * sender's retries and backoff; its outcome is logged.
 */
import type { Logger } from "pino";
import type { ProductService } from "../products/index.js";
import type { TaskEvents } from "../tasks/lifecycle/index.js";
import type { Task } from "../tasks/model.js";
import type { WebhookService } from "../webhooks/index.js";
import { newEvent } from "../webhooks/index.js";
import { PUBLICATION_TASK_TYPE, stepStateOf } from "./pipeline.js";

export const PUBLICATION_FAILED = "publication.failed";

export interface FailureWebhookDeps {
  webhooks: WebhookService;
  products: ProductService;
  marketplaceName(id: number): string;
  logger: Logger;
}

export function announceFailedPublications(events: TaskEvents, deps: FailureWebhookDeps): { idle(): Promise<void> } {
  const inFlight = new Set<Promise<void>>();
  events.on("task.status_changed", ({ to, task }) => {
    if (to !== "failed" || task.task_type !== PUBLICATION_TASK_TYPE) return;
    const sending = sendFailure(deps, task).catch((err: unknown) => deps.logger.error({ err, task_id: task.task_id }, "publication.failed webhook could not be sent"));
    inFlight.add(sending);
    void sending.finally(() => inFlight.delete(sending));
  });
  return { idle: async () => void (await Promise.all([...inFlight])) };
}

async function sendFailure(deps: FailureWebhookDeps, task: Task): Promise<void> {
  const endpoints = await deps.webhooks.endpointsFor(task.brand, PUBLICATION_FAILED);
  if (endpoints.length === 0) return;
  const event = newEvent(PUBLICATION_FAILED, await failureData(deps, task));
  await Promise.all(
    endpoints.map(async (endpoint) => {
      const report = await deps.webhooks.deliver(endpoint, event);
      deps.logger.info(
        { task_id: task.task_id, endpoint_id: endpoint.id, event_id: event.id, delivered: report.delivered, attempts: report.attempts, status_code: report.status_code },
        "publication.failed webhook sent",
      );
    }),
  );
}

async function failureData(deps: FailureWebhookDeps, task: Task): Promise<Record<string, unknown>> {
  const productId = Number(task.context_data.product_id);
  const marketplaceId = Number(task.context_data.marketplace_id);
  const state = stepStateOf(task.publication);
  const stepDetails = "step" in state.error_details ? state.error_details : null;
  return {
    task_id: task.task_id,
    product_id: productId,
    product_sku: await skuOf(deps.products, task.brand, productId),
    marketplace_id: marketplaceId,
    marketplace_name: deps.marketplaceName(marketplaceId),
    steps_completed: state.steps_completed,
    // The pipeline's own account when a step failed; the task's when it failed around the steps (timeout, lost worker).
    error_details: stepDetails ?? { step: null, error: task.error_message ?? "Publication failed", marketplace_response: {}, retries: task.retry_count },
    failed_at: (task.completed_at ?? new Date()).toISOString(),
  };
}

async function skuOf(products: ProductService, brand: number, productId: number): Promise<string | null> {
  try {
    return (await products.doc(brand, productId)).sku;
  } catch {
    return null; // deleted meanwhile: the failure is still worth announcing
  }
}
