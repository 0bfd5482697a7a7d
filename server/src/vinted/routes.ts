import {
  VintedAccountViewSchema,
  VintedIdParamsSchema,
  VintedProductDetailSchema,
  VintedProductListQuerySchema,
  VintedProductListResponseSchema,
} from "../../../shared/vinted.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import type { VintedService } from "./service.js";

const tags = ["vinted"];

/** The seller's Vinted data (user-scoped: a seller only ever sees their own). */
export function registerVintedRoutes(api: ApiRouter, vinted: VintedService): void {
  defineRoute(api, {
    method: "get",
    path: "/api/v1/vinted/products",
    summary: "Your Vinted listings as the last syncs saw them (status active/gone/all, search, price range, ordering)",
    tags,
    auth: "user",
    request: { query: VintedProductListQuerySchema },
    response: VintedProductListResponseSchema,
    handler: ({ req, principal, query }) => vinted.listProducts(req, principal.userId, query),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/vinted/products/:vinted_id",
    summary: "One of your Vinted listings with its stats snapshots and their trend",
    tags,
    auth: "user",
    request: { params: VintedIdParamsSchema },
    response: VintedProductDetailSchema,
    errors: { 404: "Not one of your listings" },
    handler: ({ principal, params }) => vinted.product(principal.userId, params.vinted_id),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/vinted/account",
    summary: "The Vinted account your extension last read (get_user_data)",
    tags,
    auth: "user",
    response: VintedAccountViewSchema,
    errors: { 404: "No Vinted account known yet" },
    handler: ({ principal }) => vinted.account(principal.userId),
  });
}
