import {
  BatchListQuerySchema,
  BatchListResponseSchema,
  BatchParamsSchema,
  BatchSchema,
  BatchStatusSchema,
  CancelBatchQuerySchema,
  CancelBatchResponseSchema,
  BatchSummarySchema,
  CreateBatchBodySchema,
  PauseBatchResponseSchema,
  ResumeBatchResponseSchema,
} from "../../../shared/batches.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import type { RequestHandler } from "express";
import type { BatchService } from "./service.js";

const tags = ["batches"];
const notFound = { 404: "Batch not found (or another brand's)" };

export interface BatchRouteOptions {
  /** Limits how often one caller polls status. */
  statusRateLimit?: RequestHandler;
}

/** spec/batches-and-dashboard-endpoints.md: batches of jobs for a selling account. */
export function registerBatchRoutes(api: ApiRouter, batches: BatchService, options: BatchRouteOptions = {}): void {
  defineRoute(api, {
    method: "get",
    path: "/api/v1/batches/",
    summary: "List the brand's batches (filters is_active, account_id, state, task_type; ordering)",
    tags,
    auth: "brand",
    request: { query: BatchListQuerySchema },
    response: BatchListResponseSchema,
    handler: ({ req, brand, query }) => batches.list(req, brand, query),
  });

  defineRoute(api, {
    method: "post",
    path: "/api/v1/batches/",
    summary: "Create a batch of up to 100,000 jobs of one task type for an account (from jobs or product_ids)",
    description:
      "task_type marketplace_publication publishes many products at once: context_data {marketplace_ids, enhance, options} makes one " +
      "publication per product and marketplace (409 ALREADY_PUBLISHED, nothing created, when one is already live).",
    tags,
    auth: "brand",
    request: { body: CreateBatchBodySchema },
    status: 201,
    response: BatchSchema,
    errors: { 404: "A marketplace of a publication batch does not exist", 409: "CONFLICT: the account is suspended; ALREADY_PUBLISHED (publication batch)", 429: "RATE_LIMITED: the jobs would pass the brand's queued quota (queued_task_limit, room)" },
    handler: ({ principal, brand, body }) => batches.create(principal, brand, body),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/batches/:batch_id/",
    summary: "One batch with its counts per status",
    tags,
    auth: "brand",
    request: { params: BatchParamsSchema },
    response: BatchSchema,
    errors: notFound,
    handler: ({ brand, params }) => batches.get(brand, params.batch_id),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/batches/:batch_id/status",
    summary: "Live status for polling (one document read whatever the batch's size; ETag / 304)",
    tags,
    auth: "brand",
    rateLimit: options.statusRateLimit,
    request: { params: BatchParamsSchema },
    response: BatchStatusSchema,
    errors: { ...notFound, 429: "RATE_LIMITED: polled too often" },
    handler: async ({ brand, params, res }) => {
      res.setHeader("Cache-Control", "private, no-cache");
      return batches.status(brand, params.batch_id);
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/batches/:batch_id/summary",
    summary: "Everything about one batch: counts, durations (avg, p50, p95), cost, throughput, ETA, top errors",
    tags,
    auth: "brand",
    request: { params: BatchParamsSchema },
    response: BatchSummarySchema,
    errors: notFound,
    handler: ({ brand, params }) => batches.summary(brand, params.batch_id),
  });

  defineRoute(api, {
    method: "post",
    path: "/api/v1/batches/:batch_id/pause",
    summary: "Pause: pending and scheduled jobs become suspended; running ones finish",
    tags,
    auth: "brand",
    request: { params: BatchParamsSchema },
    response: PauseBatchResponseSchema,
    errors: { ...notFound, 409: "CONFLICT: the batch is not active" },
    handler: async ({ brand, params }) => {
      const { suspended } = await batches.pause(brand, params.batch_id);
      return { success: true as const, message: "Batch paused successfully" as const, batch_id: params.batch_id, suspended_jobs: suspended };
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/api/v1/batches/:batch_id/resume",
    summary: "Resume: suspended jobs are queued again",
    tags,
    auth: "brand",
    request: { params: BatchParamsSchema },
    response: ResumeBatchResponseSchema,
    errors: { ...notFound, 409: "CONFLICT: the batch is not paused" },
    handler: async ({ brand, params }) => {
      const { resumed } = await batches.resume(brand, params.batch_id);
      return { success: true as const, message: "Batch resumed successfully" as const, batch_id: params.batch_id, resumed_jobs: resumed };
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/api/v1/batches/:batch_id/cancel",
    summary: "Cancel for good: pending, scheduled and suspended jobs cancelled, running ones stopped",
    tags,
    auth: "brand",
    request: { params: BatchParamsSchema, query: CancelBatchQuerySchema },
    response: CancelBatchResponseSchema,
    errors: { ...notFound, 409: "CONFLICT: the batch has already finished or been cancelled" },
    handler: async ({ brand, params, query }) => {
      const reason = query.reason ?? null;
      await batches.cancel(brand, params.batch_id, reason);
      return { success: true as const, message: "Batch cancelled successfully" as const, reason };
    },
  });
}
