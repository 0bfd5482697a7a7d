/**
 * Publishing a product (one publication task per marketplace, in the one task collection) and the
 * product-tasks view of spec/product-tasks-endpoint.md.
 */
import { randomBytes } from "node:crypto";
import type { PublishBody, PublishResponse, ProductTask, ProductTasksQuery, ProductTasksResponse, PublicationStatus } from "../../../shared/publications.js";
import type { TaskStatus } from "../../../shared/tasks.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { AppError } from "../http/errors.js";
import type { MarketplaceService } from "../marketplaces/index.js";
import type { ProductService } from "../products/index.js";
import type { TaskLifecycle } from "../tasks/lifecycle/index.js";
import type { Task } from "../tasks/model.js";
import { PUBLICATION_TASK_TYPE, stepStateOf } from "./pipeline.js";
import { currentStepText, nextStep, progressPercentage, statusWhileRunning, TOTAL_STEPS, type StepState } from "./steps.js";

/** Publications that block another publish of the same product to the same marketplace. */
const BLOCKING: readonly TaskStatus[] = ["pending", "running", "suspended", "completed"];

export class PublicationService {
  constructor(
    private readonly lifecycle: TaskLifecycle,
    private readonly products: ProductService,
    private readonly marketplaces: MarketplaceService,
    private readonly maxRetries: number,
  ) {}

  async publish(principal: Principal, brand: BrandAccess, body: PublishBody): Promise<PublishResponse> {
    await this.products.doc(brand, body.product_id);
    const connectors = body.marketplace_ids.map((id) => this.marketplaces.connector(id));
    for (const connector of connectors) {
      const live = await this.lifecycle.tasks
        .findOne({ brand: brand.brandId, task_type: PUBLICATION_TASK_TYPE, "context_data.product_id": body.product_id, "context_data.marketplace_id": connector.id, status: { $in: [...BLOCKING] } })
        .lean<Task>();
      if (live) {
        const how = live.status === "completed" ? "is already published on" : "is already being published to";
        throw new AppError(409, "ALREADY_PUBLISHED", `Product ${body.product_id} ${how} ${connector.name} (task ${live.task_id})`, {
          extra: { error: `Product ${body.product_id} ${how} ${connector.name}`, task_id: live.task_id, marketplace_id: connector.id },
        });
      }
    }
    const tasks: PublishResponse["tasks"] = [];
    for (const connector of connectors) {
      const task = await this.lifecycle.create({
        task_id: `task_${randomBytes(6).toString("hex")}`,
        brand: brand.brandId,
        created_by: principal.userId,
        task_type: PUBLICATION_TASK_TYPE,
        priority: "normal",
        description: `Publish product ${body.product_id} to ${connector.name}`,
        context_data: { product_id: body.product_id, marketplace_id: connector.id, enhance: body.enhance, options: body.options },
        max_retries: this.maxRetries,
      });
      tasks.push({ task_id: task.task_id, marketplace: connector.id, marketplace_name: connector.name, status: "pending" });
    }
    return { product_id: body.product_id, tasks };
  }

  async productTasks(brand: BrandAccess, productId: number, query: ProductTasksQuery): Promise<ProductTasksResponse> {
    const product = await this.products.doc(brand, productId);
    const match: Record<string, unknown> = { brand: brand.brandId, task_type: PUBLICATION_TASK_TYPE, "context_data.product_id": productId };
    if (query.marketplace_id !== undefined) {
      match["context_data.marketplace_id"] = this.marketplaces.connector(query.marketplace_id).id;
    }
    const rows = await this.lifecycle.tasks.find(match).sort({ created_at: -1, id: -1 }).lean<Task[]>();
    const views = rows.map((task) => this.view(task, product));
    const filtered = query.status ? views.filter((v) => v.status === query.status) : views;
    const page = filtered.slice(query.offset, query.offset + query.limit);
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

  private view(task: Task, product: { id: number; title: string; sku: string }): ProductTask {
    const marketplaceId = Number(task.context_data.marketplace_id);
    const name = this.marketplaces.connectors.byId(marketplaceId)?.name ?? `Marketplace ${marketplaceId}`;
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
