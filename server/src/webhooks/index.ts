/**
 * Webhooks: brands' endpoints, signed deliveries (HMAC-SHA256 over timestamp and body) with
 * retries, and the SSRF guard. The publication pipeline's webhook step uses `service.endpointsFor`
 * and `service.deliver` (or `service.sender.sendOnce` to keep its own retry count).
 */
import type { Connection } from "mongoose";
import type { WebhooksConfig } from "../config.js";
import type { ApiRouter } from "../http/define-route.js";
import type { SecretBox } from "../secrets/index.js";
import { WebhookSender } from "./delivery.js";
import { registerWebhookRoutes } from "./routes.js";
import { WebhookService } from "./service.js";

export { WebhookSender, newEvent, type DeliveryAttempt, type DeliveryReport, type WebhookEvent, type WebhookTarget } from "./delivery.js";
export { WebhookService, type WebhookEndpoint } from "./service.js";
export { signatureHeader, verifySignature } from "./signing.js";

export interface WebhooksModule {
  service: WebhookService;
  init(): Promise<void>;
  registerRoutes(api: ApiRouter): void;
}

export function createWebhooksModule(connection: Connection, config: WebhooksConfig, secrets: SecretBox): WebhooksModule {
  const service = new WebhookService(connection, secrets, new WebhookSender(config), config.allowPrivateNetworks);
  return {
    service,
    init: () => service.init(),
    registerRoutes: (api) => registerWebhookRoutes(api, service),
  };
}
