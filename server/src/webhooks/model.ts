/** A brand's webhook endpoints; the signing secret is sealed at rest like marketplace credentials. */
import { Schema, type Connection, type Model } from "mongoose";
import { WEBHOOK_EVENTS, type WebhookEventType } from "../../../shared/webhooks.js";
import { brandScoped } from "../brands/scope.js";
import { bindModel } from "../db/models.js";
import type { SealedValue } from "../secrets/index.js";

export interface WebhookDoc {
  id: number;
  brand: number;
  url: string;
  events: WebhookEventType[];
  description: string;
  sealed_secret: SealedValue;
  created_by: number;
  created_at: Date;
}

const SealedSchema = new Schema<SealedValue>({ v: Number, iv: String, tag: String, data: String }, { _id: false });

const WebhookSchema = new Schema<WebhookDoc>(
  {
    id: { type: Number, required: true, unique: true },
    url: { type: String, required: true },
    events: { type: [String], enum: WEBHOOK_EVENTS, required: true },
    description: { type: String, default: "" },
    sealed_secret: { type: SealedSchema, required: true },
    created_by: { type: Number, required: true },
  },
  { collection: "webhooks", timestamps: { createdAt: "created_at", updatedAt: false }, versionKey: false },
);
brandScoped(WebhookSchema);
WebhookSchema.index({ brand: 1, events: 1 });

export function webhookModel(connection: Connection): Model<WebhookDoc> {
  return bindModel(connection, "Webhook", WebhookSchema);
}

export const secretContext = (id: number) => `webhook-secret:${id}`;
