/**
 * The publication batch kind: a batch of `marketplace_publication` jobs, one per product and
 * marketplace, each holding the same exclusive key as a single publish (one live publication per
 * product and marketplace), so the batch's counters move as its publications finish.
 */
import { PublicationBatchJobSchema, type PublicationBatchJob } from "../../../shared/publications.js";
import { RETRYABLE_STATUSES } from "../../../shared/tasks.js";
import type { FieldErrors } from "../../../shared/errors.js";
import type { BatchJobPlanner, PlannedJob } from "../batches/service.js";
import { AppError, validationError } from "../http/errors.js";
import { fieldErrorsOf } from "../http/validation.js";
import type { MarketplaceService } from "../marketplaces/index.js";
import type { ProductService } from "../products/index.js";
import type { TaskModel } from "../tasks/model.js";
import type { Task } from "../tasks/model.js";
import { alreadyPublished, publicationKey } from "./service.js";

const MAX_FIELD_ERRORS = 20;
/** Conflicts named in a refusal's detail; the rest are counted. */
const MAX_NAMED_CONFLICTS = 5;

interface PlannedPublication {
  product_id: number;
  marketplace_id: number;
  enhance: boolean;
  options: Record<string, unknown>;
}

export class PublicationBatchPlanner implements BatchJobPlanner {
  constructor(
    private readonly tasks: TaskModel,
    private readonly products: ProductService,
    private readonly marketplaces: MarketplaceService,
  ) {}

  async plan(brand: number, contexts: Record<string, unknown>[]): Promise<PlannedJob[]> {
    const jobs = this.parse(contexts);
    const publications = jobs.flatMap((job) => (job.marketplace_ids ?? [job.marketplace_id!]).map((marketplace_id) => ({ product_id: job.product_id, marketplace_id, enhance: job.enhance, options: job.options })));
    const names = this.marketplaceNames(jobs);
    await this.assertProductsExist(brand, jobs);
    const planned = publications.map((p) => ({
      context_data: { ...p },
      description: `Publish product ${p.product_id} to ${names.get(p.marketplace_id)}`,
      exclusive_key: publicationKey(brand, p.product_id, p.marketplace_id),
    }));
    await this.claimKeys(brand, planned);
    return planned;
  }

  collision(job: PlannedJob): AppError {
    const p = job.context_data as unknown as PlannedPublication;
    const connector = this.marketplaces.connector(p.marketplace_id);
    return alreadyPublished(p.product_id, connector, null);
  }

  private parse(contexts: Record<string, unknown>[]): PublicationBatchJob[] {
    const errors: FieldErrors = {};
    const jobs = contexts.map((context, i) => {
      const parsed = PublicationBatchJobSchema.safeParse(context);
      if (parsed.success) return parsed.data;
      if (Object.keys(errors).length < MAX_FIELD_ERRORS) {
        for (const [key, messages] of Object.entries(fieldErrorsOf(parsed.error))) {
          errors[`jobs.${i}.context_data${key === "non_field_errors" ? "" : `.${key}`}`] = messages;
        }
      }
      return null;
    });
    if (Object.keys(errors).length) throw validationError(errors);
    return jobs as PublicationBatchJob[];
  }

  /** Every marketplace named must exist (404 otherwise, as a single publish answers). */
  private marketplaceNames(jobs: PublicationBatchJob[]): Map<number, string> {
    const ids = new Set(jobs.flatMap((job) => job.marketplace_ids ?? [job.marketplace_id!]));
    return new Map([...ids].map((id) => [id, this.marketplaces.connector(id).name]));
  }

  /** One read for all the products, whatever their number. */
  private async assertProductsExist(brand: number, jobs: PublicationBatchJob[]): Promise<void> {
    const wanted = [...new Set(jobs.map((job) => job.product_id))];
    const found = await this.products.models.Product.find({ brand, id: { $in: wanted } }, { id: 1 }).lean<Array<{ id: number }>>();
    const known = new Set(found.map((p) => p.id));
    const errors: FieldErrors = {};
    jobs.forEach((job, i) => {
      if (!known.has(job.product_id) && Object.keys(errors).length < MAX_FIELD_ERRORS) errors[`jobs.${i}.context_data.product_id`] = [`Product with id ${job.product_id} not found`];
    });
    if (Object.keys(errors).length) throw validationError(errors);
  }

  /**
   * Refuses the batch when a live publication (pending, running, suspended, completed) holds one of
   * its keys; keys kept by ended publications (failed, cancelled) are freed, as a single publish does.
   */
  private async claimKeys(brand: number, planned: PlannedJob[]): Promise<void> {
    const keys = planned.map((job) => job.exclusive_key!);
    if (new Set(keys).size !== keys.length) throw validationError({ jobs: ["Each product and marketplace once per batch"] });
    const holders = await this.tasks.find({ brand, exclusive_slot: { $in: keys } }, { task_id: 1, status: 1, exclusive_slot: 1, context_data: 1 }).lean<Task[]>();
    const ended = holders.filter((h) => (RETRYABLE_STATUSES as readonly string[]).includes(h.status));
    const live = holders.filter((h) => !ended.includes(h));
    if (live.length > 0) throw this.refusal(live);
    if (ended.length > 0) {
      await this.tasks.updateMany(
        { brand, _id: { $in: ended.map((h) => h._id) }, status: { $in: [...RETRYABLE_STATUSES] } },
        { $set: { exclusive_slot: null } },
      );
    }
  }

  private refusal(live: Task[]): AppError {
    const named = live.slice(0, MAX_NAMED_CONFLICTS).map((task) => {
      const p = task.context_data as unknown as PlannedPublication;
      const name = this.marketplaces.connectors.byId(p.marketplace_id)?.name ?? `Marketplace ${p.marketplace_id}`;
      return `product ${p.product_id} on ${name} (task ${task.task_id}, ${task.status})`;
    });
    const more = live.length > named.length ? ` and ${live.length - named.length} more` : "";
    const detail = `Already published, or being published: ${named.join("; ")}${more}`;
    return new AppError(409, "ALREADY_PUBLISHED", detail, {
      extra: { error: detail, conflicts: live.map((t) => ({ task_id: t.task_id, product_id: t.context_data.product_id, marketplace_id: t.context_data.marketplace_id, status: t.status })) },
    });
  }
}
