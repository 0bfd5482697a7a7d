/**
 * Publication of a product to marketplaces (spec/product-tasks-endpoint.md): the publish request,
 * the step and status words, and the product-tasks view. A publication is a task of the one task
 * collection whose steps are enhancement → publication → webhook.
 */
import { z } from "zod";
import { IntegerIdSchema, IntegerIdStringSchema, TimestampSchema } from "./common.js";

export const PIPELINE_STEPS = ["enhancement", "publication", "webhook"] as const;
export const PipelineStepSchema = z.enum(PIPELINE_STEPS);
export type PipelineStep = z.infer<typeof PipelineStepSchema>;

export const PUBLICATION_STATUSES = ["pending", "enhancing", "enhanced", "publishing", "published", "webhook_sent", "completed", "failed"] as const;
export const PublicationStatusSchema = z.enum(PUBLICATION_STATUSES, {
  error: () => `Valid values: ${PUBLICATION_STATUSES.join(", ")}`,
});
export type PublicationStatus = z.infer<typeof PublicationStatusSchema>;

const JsonObjectSchema = z.record(z.string(), z.unknown());

/** POST /api/v1/marketplaces/listings/publish/ */
export const PublishBodySchema = z
  .object({
    product_id: IntegerIdSchema,
    marketplace_ids: z.array(IntegerIdSchema).min(1).max(10).refine((ids) => new Set(ids).size === ids.length, "Each marketplace once"),
    /** Run the enhancement step (false: it completes at once with the product's own copy). */
    enhance: z.boolean().default(true),
    /** Per marketplace code: its own fields (mercadolibre: category_id, listing_type_id, available_quantity…; vinted: catalog_id, brand_id, size_id, status_id…). */
    options: z.record(z.string(), JsonObjectSchema).default({}),
  })
  .strict()
  .meta({ id: "PublishRequest" });
export type PublishBody = z.infer<typeof PublishBodySchema>;

export const ErrorDetailsSchema = z.union([
  z.object({ step: PipelineStepSchema, error: z.string(), marketplace_response: JsonObjectSchema, retries: z.number().int() }),
  z.object({}).strict(),
]);

export const ProductTaskSchema = z
  .object({
    task_id: z.string(),
    product: z.number().int(),
    marketplace: z.number().int(),
    status: PublicationStatusSchema,
    current_step: z.string(),
    steps_completed: z.array(PipelineStepSchema),
    total_steps: z.number().int(),
    progress_percentage: z.number(),
    enhancement_retries: z.number().int(),
    publication_retries: z.number().int(),
    webhook_retries: z.number().int(),
    enhancement_result: JsonObjectSchema,
    publication_result: JsonObjectSchema,
    webhook_result: JsonObjectSchema,
    error_details: ErrorDetailsSchema,
    started_at: TimestampSchema.nullable(),
    completed_at: TimestampSchema.nullable(),
    product_title: z.string(),
    product_sku: z.string(),
    marketplace_name: z.string(),
  })
  .meta({ id: "ProductTask" });
export type ProductTask = z.infer<typeof ProductTaskSchema>;

export const PRODUCT_TASKS_LIMIT_MAX = 100;

export const ProductTasksParamsSchema = z.object({ product_id: IntegerIdStringSchema });

export const ProductTasksQuerySchema = z.object({
  status: PublicationStatusSchema.optional(),
  marketplace_id: IntegerIdStringSchema.optional(),
  /** Default 50; more than 100 is applied as 100 (the answer's `limit` is the one applied). */
  limit: z.coerce.number().int().min(1).default(50).transform((n) => Math.min(n, PRODUCT_TASKS_LIMIT_MAX)),
  offset: z.coerce.number().int().min(0).default(0),
});
export type ProductTasksQuery = z.infer<typeof ProductTasksQuerySchema>;

export const ProductTasksResponseSchema = z
  .object({
    /** A string, as the spec shows it ("123"); tasks[].product is the integer. */
    product_id: z.string(),
    product_title: z.string(),
    product_sku: z.string(),
    total_tasks: z.number().int(),
    showing: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
    has_more: z.boolean(),
    status_summary: z.record(z.string(), z.number().int()),
    /** By marketplace name. */
    marketplace_summary: z.record(z.string(), z.number().int()),
    tasks: z.array(ProductTaskSchema),
  })
  .meta({ id: "ProductTasks" });
export type ProductTasksResponse = z.infer<typeof ProductTasksResponseSchema>;

/** One created publication task in the publish answer. */
export const PublishedTaskSchema = z.object({
  task_id: z.string(),
  marketplace: z.number().int(),
  marketplace_name: z.string(),
  status: PublicationStatusSchema,
});

export const PublishResponseSchema = z
  .object({ product_id: z.number().int(), tasks: z.array(PublishedTaskSchema) })
  .meta({ id: "PublishResponse" });
export type PublishResponse = z.infer<typeof PublishResponseSchema>;

export const RECENT_PUBLICATIONS_LIMIT_MAX = 50;

/** GET /api/v1/marketplaces/listings/recent/ */
export const RecentPublicationsQuerySchema = z.object({
  /** Default 10; more than 50 is applied as 50. */
  limit: z.coerce.number().int().min(1).default(10).transform((n) => Math.min(n, RECENT_PUBLICATIONS_LIMIT_MAX)),
});
export type RecentPublicationsQuery = z.infer<typeof RecentPublicationsQuerySchema>;

/**
 * The brand's publications across its products, for a glance (the extension's popup): those in
 * progress first (newest first), then the most recently ended, `limit` in all.
 */
export const RecentPublicationsResponseSchema = z
  .object({
    /** Publications of the brand not ended yet (all of them, not only those shown). */
    in_progress: z.number().int(),
    results: z.array(ProductTaskSchema),
  })
  .meta({ id: "RecentPublications" });
export type RecentPublicationsResponse = z.infer<typeof RecentPublicationsResponseSchema>;

export const PUBLICATION_ROUTES = {
  recent: "/api/v1/marketplaces/listings/recent/",
} as const;

/** The task type of a publication (one product to one marketplace): also the task type of a publication batch. */
export const PUBLICATION_TASK_TYPE = "marketplace_publication";

/**
 * A publication batch (POST /api/v1/batches/ with task_type marketplace_publication): each job's
 * context_data (the shared context_data merged with a job's own, or with `{product_id}` for each of
 * `product_ids`). `marketplace_ids` makes one job per product and marketplace.
 */
export const PublicationBatchJobSchema = z
  .object({
    product_id: z.coerce.number().int().positive(),
    marketplace_id: IntegerIdSchema.optional(),
    marketplace_ids: PublishBodySchema.shape.marketplace_ids.optional(),
    enhance: PublishBodySchema.shape.enhance,
    options: PublishBodySchema.shape.options,
  })
  .strict()
  .refine((job) => (job.marketplace_id === undefined) !== (job.marketplace_ids === undefined), {
    message: "Give exactly one of marketplace_id or marketplace_ids",
    path: ["marketplace_ids"],
  });
export type PublicationBatchJob = z.infer<typeof PublicationBatchJobSchema>;
