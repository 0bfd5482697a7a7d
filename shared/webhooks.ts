/**
 * Webhook endpoints of a brand (`/api/v1/webhooks/`). Each delivery is signed:
 * `MarketHub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the endpoint's secret>`.
 * The secret is shown once, in the answer that creates the endpoint.
 */
import { z } from "zod";
import { IntegerIdSchema, IntegerIdStringSchema, TimestampSchema, paginated } from "./common.js";

export const WEBHOOK_EVENTS = ["publication.published", "publication.failed"] as const;
export const WebhookEventTypeSchema = z.enum(WEBHOOK_EVENTS);
export type WebhookEventType = z.infer<typeof WebhookEventTypeSchema>;

/** Sent by POST …/test/ only, to check an endpoint. */
export const PING_EVENT = "ping";

export const SIGNATURE_HEADER = "MarketHub-Signature";
export const EVENT_HEADER = "MarketHub-Event";
export const DELIVERY_HEADER = "MarketHub-Delivery";

export const CreateWebhookBodySchema = z
  .object({
    url: z.string().trim().max(2000).url(),
    events: z.array(WebhookEventTypeSchema).min(1).max(WEBHOOK_EVENTS.length).refine((e) => new Set(e).size === e.length, "Each event once"),
    description: z.string().trim().max(200).default(""),
  })
  .strict()
  .meta({ id: "CreateWebhookRequest" });
export type CreateWebhookBody = z.infer<typeof CreateWebhookBodySchema>;

export const WebhookSchema = z
  .object({
    id: IntegerIdSchema,
    url: z.string(),
    events: z.array(WebhookEventTypeSchema),
    description: z.string(),
    created_at: TimestampSchema,
  })
  .meta({ id: "Webhook" });
export type Webhook = z.infer<typeof WebhookSchema>;

export const WebhookCreatedSchema = WebhookSchema.extend({
  /** The signing secret: shown this once, keep it. */
  secret: z.string(),
}).meta({ id: "WebhookCreated" });
export type WebhookCreated = z.infer<typeof WebhookCreatedSchema>;

export const WebhookListResponseSchema = paginated(WebhookSchema).meta({ id: "WebhookList" });

export const WebhookIdParamsSchema = z.object({ id: IntegerIdStringSchema });

/** One delivery attempt as recorded (webhook_result): the endpoint's status and its answer, cut. */
export const WebhookDeliverySchema = z
  .object({
    delivered: z.boolean(),
    attempts: z.number().int(),
    status_code: z.number().int().nullable(),
    /** The endpoint's answer, at most 1,000 characters. */
    response: z.string(),
    error: z.string().nullable(),
  })
  .meta({ id: "WebhookDelivery" });
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>;
