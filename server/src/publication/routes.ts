import type { RequestHandler } from "express";
import {
  ProductTasksParamsSchema,
  ProductTasksQuerySchema,
  ProductTasksResponseSchema,
  PUBLICATION_ROUTES,
  PublishBodySchema,
  PublishResponseSchema,
  RecentPublicationsQuerySchema,
  RecentPublicationsResponseSchema,
} from "../../../shared/publications.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import { AppError } from "../http/errors.js";
import type { PublicationService } from "./service.js";

const tags = ["publication"];
const NO_CREDENTIALS = "Authentication credentials were not provided.";

/** spec/product-tasks-endpoint.md answers a request without credentials with 403, not 401. */
const forbiddenWithoutCredentials: RequestHandler = (req, _res, next) => {
  if (!req.headers.authorization) next(new AppError(403, "NOT_AUTHENTICATED", NO_CREDENTIALS));
  else next();
};

export function registerPublicationRoutes(api: ApiRouter, publications: PublicationService): void {
  defineRoute(api, {
    method: "post",
    path: "/api/v1/marketplaces/listings/publish/",
    summary: "Publish a product to marketplaces: one publication task per marketplace (enhancement → publication → webhook)",
    tags,
    auth: "brand",
    request: { body: PublishBodySchema },
    status: 202,
    response: PublishResponseSchema,
    errors: { 404: "Product or marketplace not found", 409: "Already published, or being published, on that marketplace" },
    handler: ({ principal, brand, body }) => publications.publish(principal, brand, body),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/marketplaces/listings/product-tasks/:product_id/",
    summary: "Every publication task of one product, with summaries by status and by marketplace",
    tags,
    auth: "brand",
    beforeAuth: forbiddenWithoutCredentials,
    request: { params: ProductTasksParamsSchema, query: ProductTasksQuerySchema },
    response: ProductTasksResponseSchema,
    errors: { 404: "Product with id … not found / Marketplace with id … not found" },
    handler: ({ brand, params, query }) => publications.productTasks(brand, params.product_id, query),
  });

  defineRoute(api, {
    method: "get",
    path: PUBLICATION_ROUTES.recent,
    summary: "The brand's publications across products: those in progress first, then the most recently ended (limit ≤ 50)",
    tags,
    auth: "brand",
    request: { query: RecentPublicationsQuerySchema },
    response: RecentPublicationsResponseSchema,
    handler: ({ brand, query }) => publications.recent(brand, query),
  });
}
