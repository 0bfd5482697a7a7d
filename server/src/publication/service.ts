/**
 * Publishing a product (one publication task per marketplace, in the one task collection) and the
 * product-tasks view of spec/product-tasks-endpoint.md.
 */
import { randomBytes } from "node:crypto";
import type {
  PublishBody,
  PublishResponse,
  ProductTask,
  ProductTasksQuery,
  ProductTasksResponse,
  PublicationStatus,
  RecentPublicationsQuery,
  RecentPublicationsResponse,
} from "../../../shared/publications.js";
import type { TaskStatus } from "../../../shared/tasks.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { AppError } from "../http/errors.js";
import type { MarketplaceService } from "../marketplaces/index.js";
import type { ProductService } from "../products/index.js";
import type { TaskLifecycle } from "../tasks/lifecycle/index.js";
import { takeExclusiveSlot } from "../tasks/exclusive.js";
import type { Task } from "../tasks/model.js";
import { PUBLICATION_TASK_TYPE, stepStateOf } from "./pipeline.js";
import { currentStepText, nextStep, progressPercentage, statusWhileRunning, TOTAL_STEPS, type StepState } from "./steps.js";

/** What the summaries of product-tasks need of each task. */
const SUMMARY_FIELDS = { task_id: 1, status: 1, "context_data.marketplace_id": 1, "publication.status": 1, "publication.steps_completed": 1, created_at: 1, id: 1 } as const;

/** Publications not ended yet. */
const IN_PROGRESS: readonly TaskStatus[] = ["pending", "running", "suspended"];

/** Publications that block another publish of the same product to the same marketplace. */
const BLOCKING: readonly TaskStatus[] = ["pending", "running", "suspended", "completed"];

export class PublicationService {
  constructor(
    private readonly lifecycle: TaskLifecycle,
    private readonly products: ProductService,
    private readonly marketplaces: MarketplaceService,
    private readonly maxRetries: number,
  ) {}

  /**
   * One task per marketplace. The read below answers the usual refusal before anything is created;
   * the guarantee is the task's exclusive key, taken in the write that creates it (two concurrent
   * publishes of the same product to the same marketplace cannot both create a task).
   */
  async publish(principal: Principal, brand: BrandAccess, body: PublishBody): Promise<PublishResponse> {
    await this.products.doc(brand, body.product_id);
    const connectors = body.marketplace_ids.map((id) => this.marketplaces.connector(id));
    for (const connector of connectors) {
      const live = await this.lifecycle.tasks
        .findOne({ brand: brand.brandId, task_type: PUBLICATION_TASK_TYPE, "context_data.product_id": body.product_id, "context_data.marketplace_id": connector.id, status: { $in: [...BLOCKING] } })
        .lean<Task>();
      if (live) throw alreadyPublished(body.product_id, connector, live);
    }
    const created: Task[] = [];
    for (const connector of connectors) {
      const key = publicationKey(brand.brandId, body.product_id, connector.id);
      const outcome = await takeExclusiveSlot(this.lifecycle.tasks, brand.brandId, key, () =>
        this.lifecycle.create({
          task_id: `task_${randomBytes(6).toString("hex")}`,
          brand: brand.brandId,
          created_by: principal.userId,
          task_type: PUBLICATION_TASK_TYPE,
          priority: "normal",
          description: `Publish product ${body.product_id} to ${connector.name}`,
          context_data: { product_id: body.product_id, marketplace_id: connector.id, enhance: body.enhance, options: body.options },
          max_retries: this.maxRetries,
          exclusive_key: key,
          exclusive_slot: key,
        }),
      );
      if (!outcome.taken) {
        // Lost a race on one marketplace: the call creates nothing rather than part of what it asked.
        for (const task of created) await this.lifecycle.remove(task, ["pending"]);
        throw alreadyPublished(body.product_id, connector, outcome.holder);
      }
      created.push(outcome.value);
    }
    return {
      product_id: body.product_id,
      tasks: created.map((task, i) => ({ task_id: task.task_id, marketplace: connectors[i].id, marketplace_name: connectors[i].name, status: "pending" as const })),
    };
  }

  /**
   * Statuses and summaries need every task of the product, but only their status words: those are
   * read with a narrow projection, and whole documents only for the page shown.
   */
  async productTasks(brand: BrandAccess, productId: number, query: ProductTasksQuery): Promise<ProductTasksResponse> {
    const product = await this.products.doc(brand, productId);
    const match: Record<string, unknown> = { brand: brand.brandId, task_type: PUBLICATION_TASK_TYPE, "context_data.product_id": productId };
    if (query.marketplace_id !== undefined) {
      match["context_data.marketplace_id"] = this.marketplaces.connector(query.marketplace_id).id;
    }
    const rows = await this.lifecycle.tasks.find(match, SUMMARY_FIELDS).sort({ created_at: -1, id: -1 }).lean<Task[]>();
    const summaries = rows.map((task) => ({ task_id: task.task_id, status: publicationStatus(task, stepStateOf(task.publication)), marketplace_name: this.marketplaceName(task) }));
    const filtered = query.status ? summaries.filter((v) => v.status === query.status) : summaries;
    const shown = filtered.slice(query.offset, query.offset + query.limit).map((v) => v.task_id);
    const docs = shown.length ? await this.lifecycle.tasks.find({ brand: brand.brandId, task_id: { $in: shown } }).lean<Task[]>() : [];
    const byId = new Map(docs.map((d) => [d.task_id, d]));
    const page = shown.flatMap((id) => (byId.has(id) ? [this.view(byId.get(id)!, product)] : []));
    return {
      product_id: String(productId),
      product_title: product.title,
      product_sku: product.sku,
      total_tasks: filtered.length,
      showing: page.length,
      offset: query.offset,
      limit: query.limit,
      has_more: query.offset + page.length < filtered.length,
      status_summary: countBy(filtered, (v) => v.status),
      marketplace_summary: countBy(filtered, (v) => v.marketplace_name),
      tasks: page,
    };
  }

  /**
   * The brand's publications in progress (newest first), then the most recently ended ones, `limit`
   * in all, each in the product-tasks shape with its product's title and SKU.
   */
  async recent(brand: BrandAccess, query: RecentPublicationsQuery): Promise<RecentPublicationsResponse> {
    const ofBrand = { brand: brand.brandId, task_type: PUBLICATION_TASK_TYPE };
    const live = { ...ofBrand, status: { $in: [...IN_PROGRESS] } };
    const [inProgress, running] = await Promise.all([
      this.lifecycle.tasks.countDocuments(live),
      this.lifecycle.tasks.find(live).sort({ created_at: -1, id: -1 }).limit(query.limit).lean<Task[]>(),
    ]);
    const ended =
      running.length < query.limit
        ? await this.lifecycle.tasks
            .find({ ...ofBrand, status: { $nin: [...IN_PROGRESS] } })
            .sort({ updated_at: -1, id: -1 })
            .limit(query.limit - running.length)
            .lean<Task[]>()
        : [];
    const tasks = [...running, ...ended];
    const products = await this.productsOf(brand.brandId, tasks);
    return { in_progress: inProgress, results: tasks.map((task) => this.view(task, products.get(Number(task.context_data.product_id)))) };
  }

  /** Title and SKU of the tasks' products in one read; a product deleted since is named by its id. */
  private async productsOf(brandId: number, tasks: Task[]): Promise<Map<number, { id: number; title: string; sku: string }>> {
    const ids = [...new Set(tasks.map((t) => Number(t.context_data.product_id)))];
    const found = ids.length ? await this.products.models.Product.find({ brand: brandId, id: { $in: ids } }, { id: 1, title: 1, sku: 1 }).lean<Array<{ id: number; title: string; sku: string }>>() : [];
    const byId = new Map(found.map((p) => [p.id, { id: p.id, title: p.title, sku: p.sku }]));
    for (const id of ids) if (!byId.has(id)) byId.set(id, { id, title: `Product ${id}`, sku: "" });
    return byId;
  }

  private marketplaceName(task: Pick<Task, "context_data">): string {
    const marketplaceId = Number(task.context_data.marketplace_id);
    return this.marketplaces.connectors.byId(marketplaceId)?.name ?? `Marketplace ${marketplaceId}`;
  }

  private view(task: Task, product: { id: number; title: string; sku: string } | undefined): ProductTask {
    product ??= { id: Number(task.context_data.product_id), title: "", sku: "" };
    const marketplaceId = Number(task.context_data.marketplace_id);
    const name = this.marketplaceName(task);
    const stored = stepStateOf(task.publication);
    const state: StepState = { ...stored, status: publicationStatus(task, stored) };
    return {
      task_id: task.task_id,
      product: product.id,
      marketplace: marketplaceId,
      status: state.status,
      current_step: currentStepText(state, name),
      steps_completed: state.steps_completed,
      total_steps: TOTAL_STEPS,
      progress_percentage: progressPercentage(state),
      enhancement_retries: state.enhancement_retries,
      publication_retries: state.publication_retries,
      webhook_retries: state.webhook_retries,
      enhancement_result: state.enhancement_result,
      publication_result: state.publication_result,
      webhook_result: state.webhook_result,
      error_details: state.status === "failed" ? state.error_details : {},
      started_at: task.started_at ? task.started_at.toISOString() : null,
      completed_at: task.status === "completed" && task.completed_at ? task.completed_at.toISOString() : null,
      product_title: product.title,
      product_sku: product.sku,
      marketplace_name: name,
    };
  }
}

/** The exclusive key of a publication: one live task per brand, product and marketplace. */
export function publicationKey(brand: number, productId: number, marketplaceId: number): string {
  return `${PUBLICATION_TASK_TYPE}:${brand}:${productId}:${marketplaceId}`;
}

export function alreadyPublished(productId: number, connector: { id: number; name: string }, live: Task | null): AppError {
  const how = live?.status === "completed" ? "is already published on" : "is already being published to";
  const task = live ? ` (task ${live.task_id})` : "";
  return new AppError(409, "ALREADY_PUBLISHED", `Product ${productId} ${how} ${connector.name}${task}`, {
    extra: { error: `Product ${productId} ${how} ${connector.name}`, task_id: live?.task_id ?? null, marketplace_id: connector.id },
  });
}

/**
 * The task's hub status decides the end (a publication is completed or failed once its task is);
 * while the task lives, the pipeline's own word says where it is.
 */
function publicationStatus(task: Task, state: StepState): PublicationStatus {
  if (task.status === "completed") return "completed";
  if (task.status === "failed" || task.status === "cancelled") return "failed";
  if (state.status === "completed") return "webhook_sent";
  if (state.status === "failed") return task.status === "pending" ? "pending" : statusWhileRunning(nextStep(state) ?? "webhook");
  return state.status;
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
