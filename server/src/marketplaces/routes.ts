import { ConnectionBodySchema, MarketplaceIdParamsSchema, MarketplaceListResponseSchema, MarketplaceSchema } from "../../../shared/marketplaces.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import type { MarketplaceService } from "./service.js";

const tags = ["marketplaces"];
const notFound = { 404: "Marketplace with id … not found" };

/** `/api/v1/marketplaces/`: what a brand can publish to, and its connections (brand-scoped). */
export function registerMarketplaceRoutes(api: ApiRouter, marketplaces: MarketplaceService): void {
  defineRoute(api, {
    method: "get",
    path: "/api/v1/marketplaces/",
    summary: "The marketplaces the brand can publish to, and whether each is connected",
    tags,
    auth: "brand",
    response: MarketplaceListResponseSchema,
    handler: ({ brand, principal }) => marketplaces.list(brand, principal),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/marketplaces/:id/",
    summary: "One marketplace and the brand's connection to it (never its secrets)",
    tags,
    auth: "brand",
    request: { params: MarketplaceIdParamsSchema },
    response: MarketplaceSchema,
    errors: notFound,
    handler: ({ brand, principal, params }) => marketplaces.get(brand, principal, params.id),
  });

  defineRoute(api, {
    method: "put",
    path: "/api/v1/marketplaces/:id/connection",
    summary: "Connect the brand (or replace its credentials): MercadoLibre's OAuth tokens, stored encrypted",
    description: "MercadoLibre: access_token, refresh_token, client_id, client_secret, site_id (user_id optional, else read with the token). Vinted needs none (400).",
    tags,
    auth: "brand",
    request: { params: MarketplaceIdParamsSchema, body: ConnectionBodySchema },
    response: MarketplaceSchema,
    errors: notFound,
    handler: ({ brand, principal, params, body }) => marketplaces.connect(brand, principal, params.id, body),
  });

  defineRoute(api, {
    method: "delete",
    path: "/api/v1/marketplaces/:id/connection",
    summary: "Disconnect the brand (its stored credentials are deleted)",
    tags,
    auth: "brand",
    request: { params: MarketplaceIdParamsSchema },
    status: 204,
    response: null,
    errors: notFound,
    handler: ({ brand, params }) => marketplaces.disconnect(brand, params.id),
  });
}
