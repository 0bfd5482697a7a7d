import { CreateWebhookBodySchema, WebhookCreatedSchema, WebhookDeliverySchema, WebhookIdParamsSchema, WebhookListResponseSchema, WebhookSchema } from "../../../shared/webhooks.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import type { WebhookService } from "./service.js";

const tags = ["webhooks"];
const notFound = { 404: "Webhook not found (or another brand's)" };

/** `/api/v1/webhooks/`: the brand's endpoints for publication events (brand-scoped). */
export function registerWebhookRoutes(api: ApiRouter, webhooks: WebhookService): void {
  defineRoute(api, {
    method: "post",
    path: "/api/v1/webhooks/",
    summary: "Register an endpoint for events; the answer shows its signing secret, once",
    description: "Deliveries carry `MarketHub-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>`. Private and loopback addresses are refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true.",
    tags,
    auth: "brand",
    request: { body: CreateWebhookBodySchema },
    status: 201,
    response: WebhookCreatedSchema,
    handler: ({ principal, brand, body }) => webhooks.create(principal, brand, body),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/webhooks/",
    summary: "The brand's webhook endpoints (secrets are never shown again)",
    tags,
    auth: "brand",
    response: WebhookListResponseSchema,
    handler: ({ req, brand }) => webhooks.list(req, brand),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/webhooks/:id/",
    summary: "One webhook endpoint",
    tags,
    auth: "brand",
    request: { params: WebhookIdParamsSchema },
    response: WebhookSchema,
    errors: notFound,
    handler: ({ brand, params }) => webhooks.get(brand, params.id),
  });

  defineRoute(api, {
    method: "delete",
    path: "/api/v1/webhooks/:id/",
    summary: "Delete a webhook endpoint",
    tags,
    auth: "brand",
    request: { params: WebhookIdParamsSchema },
    status: 204,
    response: null,
    errors: notFound,
    handler: ({ brand, params }) => webhooks.remove(brand, params.id),
  });

  defineRoute(api, {
    method: "post",
    path: "/api/v1/webhooks/:id/test/",
    summary: "Send a signed `ping` event to the endpoint once and show its answer",
    tags,
    auth: "brand",
    request: { params: WebhookIdParamsSchema },
    response: WebhookDeliverySchema,
    errors: notFound,
    handler: ({ brand, params }) => webhooks.test(brand, params.id),
  });
}
