/**
 * A brand's webhook endpoints, and the deliveries to them. The secret is generated here, shown
 * once, and kept sealed: it is opened only to sign.
 */
import { randomBytes } from "node:crypto";
import type { Request } from "express";
import type { Connection, Model } from "mongoose";
import type { Page } from "../../../shared/common.js";
import { PING_EVENT, type CreateWebhookBody, type Webhook, type WebhookCreated, type WebhookDelivery, type WebhookEventType } from "../../../shared/webhooks.js";
import { brandFilter } from "../brands/scope.js";
import { nextSequence } from "../db/counters.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { AppError, validationError } from "../http/errors.js";
import { toPage } from "../http/pagination.js";
import type { SecretBox } from "../secrets/index.js";
import { refusalOf } from "./address-guard.js";
import { newEvent, type WebhookEvent, type WebhookSender, type WebhookTarget } from "./delivery.js";
import { secretContext, webhookModel, type WebhookDoc } from "./model.js";

const webhookNotFound = (id: number) => new AppError(404, "NOT_FOUND", `Webhook with id ${id} not found`);

/** An endpoint as a delivery needs it: where, and the secret to sign with. */
export interface WebhookEndpoint extends WebhookTarget {
  id: number;
}

export class WebhookService {
  readonly Webhook: Model<WebhookDoc>;

  constructor(
    private readonly connection: Connection,
    private readonly secrets: SecretBox,
    readonly sender: WebhookSender,
    private readonly allowPrivateNetworks: boolean,
  ) {
    this.Webhook = webhookModel(connection);
  }

  async init(): Promise<void> {
    await this.Webhook.init();
  }

  async create(principal: Principal, brand: BrandAccess, body: CreateWebhookBody): Promise<WebhookCreated> {
    const refusal = refusalOf(new URL(body.url), this.allowPrivateNetworks);
    if (refusal) throw validationError({ url: [refusal] });
    const id = await nextSequence(this.connection, "webhooks");
    const secret = `whsec_${randomBytes(24).toString("base64url")}`;
    const doc = await this.Webhook.create({
      id,
      brand: brand.brandId,
      url: body.url,
      events: body.events,
      description: body.description,
      sealed_secret: this.secrets.seal(secret, secretContext(id)),
      created_by: principal.userId,
    });
    return { ...view(doc.toObject()), secret };
  }

  async list(req: Request, brand: BrandAccess): Promise<Page<Webhook>> {
    const docs = await this.Webhook.find(brandFilter(brand)).sort({ id: 1 }).lean<WebhookDoc[]>();
    return toPage(req, { page: 1, page_size: Math.max(1, docs.length) }, docs.length, docs.map(view));
  }

  async get(brand: BrandAccess, id: number): Promise<Webhook> {
    const doc = await this.Webhook.findOne(brandFilter(brand, { id })).lean<WebhookDoc>();
    if (!doc) throw webhookNotFound(id);
    return view(doc);
  }

  async remove(brand: BrandAccess, id: number): Promise<void> {
    const deleted = await this.Webhook.deleteOne(brandFilter(brand, { id }));
    if (deleted.deletedCount === 0) throw webhookNotFound(id);
  }

  /** Sends a signed `ping` event once, and answers what the endpoint said. */
  async test(brand: BrandAccess, id: number): Promise<WebhookDelivery> {
    const doc = await this.Webhook.findOne(brandFilter(brand, { id })).lean<WebhookDoc>();
    if (!doc) throw webhookNotFound(id);
    const event = newEvent(PING_EVENT, { webhook_id: id, message: "MarketHub webhook test" });
    const attempt = await this.sender.sendOnce(this.endpoint(doc), event);
    return { delivered: attempt.outcome === "delivered", attempts: 1, status_code: attempt.status_code, response: attempt.response, error: attempt.error };
  }

  /** The brand's endpoints subscribed to `type` (none: the webhook step completes and says so). */
  async endpointsFor(brandId: number, type: WebhookEventType): Promise<WebhookEndpoint[]> {
    const docs = await this.Webhook.find({ brand: brandId, events: type }).sort({ id: 1 }).lean<WebhookDoc[]>();
    return docs.map((d) => this.endpoint(d));
  }

  /** Delivers one event to one endpoint with retries (see WebhookSender.deliver). */
  deliver(endpoint: WebhookEndpoint, event: WebhookEvent, onAttempt?: Parameters<WebhookSender["deliver"]>[2]) {
    return this.sender.deliver(endpoint, event, onAttempt);
  }

  private endpoint(doc: WebhookDoc): WebhookEndpoint {
    return { id: doc.id, url: doc.url, secret: this.secrets.open(doc.sealed_secret, secretContext(doc.id)) };
  }
}

function view(doc: WebhookDoc): Webhook {
  return { id: doc.id, url: doc.url, events: doc.events, description: doc.description ?? "", created_at: doc.created_at.toISOString() };
}
