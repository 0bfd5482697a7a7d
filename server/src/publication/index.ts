/**
 * The publication pipeline: the `marketplace_publication` task type (pipeline.ts, run by the task
 * executor), publishing and the product-tasks view (service.ts), and their routes.
 */
import type { Logger } from "pino";
import type { ApiRouter } from "../http/define-route.js";
import type { TaskLifecycle } from "../tasks/lifecycle/index.js";
import type { TaskRegistry } from "../tasks/executor/registry.js";
import type { Task } from "../tasks/model.js";
import { announceFailedPublications } from "./failure-webhook.js";
import { publicationHandler, PUBLICATION_TASK_TYPE, type PipelineDeps } from "./pipeline.js";
import { registerPublicationRoutes } from "./routes.js";
import { PublicationService } from "./service.js";

export { PUBLICATION_TASK_TYPE } from "./pipeline.js";
export { PublicationService } from "./service.js";
export { PublicationBatchPlanner } from "./batch-planner.js";

export interface PublicationModule {
  service: PublicationService;
  registerRoutes(api: ApiRouter): void;
  /** Resolves once the publication.failed deliveries under way have ended. */
  idle(): Promise<void>;
}

/**
 * A publication cancelled while it waits for the seller's extension takes that extension task with
 * it while the extension has not started it (once started, it may already have created the listing:
 * it is left to finish, and its outcome stays on its own task).
 */
function cancelWorkNotStarted(lifecycle: TaskLifecycle): void {
  lifecycle.events.on("task.status_changed", async ({ from, to, task }) => {
    if (to !== "cancelled" || from !== "suspended" || task.task_type !== PUBLICATION_TASK_TYPE || !task.waiting_for) return;
    const awaited = await lifecycle.tasks.findOne({ brand: task.brand, task_id: task.waiting_for }).lean<Task>();
    if (awaited?.status === "pending") await lifecycle.cancel(awaited);
  });
}

/** Publication tasks may be retried by the seller this many times after failing. */
const USER_RETRIES = 5;

export function createPublicationModule(lifecycle: TaskLifecycle, registry: TaskRegistry, deps: PipelineDeps, logger: Logger): PublicationModule {
  registry.register(PUBLICATION_TASK_TYPE, { handler: publicationHandler(deps), description: "Publish a product to one marketplace (enhancement → publication → webhook)" });
  const service = new PublicationService(lifecycle, deps.products, deps.marketplaces, USER_RETRIES);
  const failures = announceFailedPublications(lifecycle.events, {
    webhooks: deps.webhooks,
    products: deps.products,
    marketplaceName: (id) => deps.marketplaces.connectors.byId(id)?.name ?? `Marketplace ${id}`,
    logger: logger.child({ module: "publication" }),
  });
  cancelWorkNotStarted(lifecycle);
  return { service, registerRoutes: (api) => registerPublicationRoutes(api, service), idle: () => failures.idle() };
}
