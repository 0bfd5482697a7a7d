/**
 * A brand's connection to one marketplace. The credentials are sealed (AES-256-GCM, bound to the
 * brand and marketplace); `details` holds only what may be shown. `version` grows on every change,
 * so a token refresh is stored only over the credentials it was made from.
 */
import { Schema, type Connection, type Model } from "mongoose";
import { brandScoped } from "../brands/scope.js";
import { bindModel } from "../db/models.js";
import type { SealedValue } from "../secrets/index.js";

export interface MarketplaceConnectionDoc {
  brand: number;
  marketplace_id: number;
  sealed: SealedValue;
  details: Record<string, string | number | null>;
  version: number;
  connected_at: Date;
  updated_at: Date;
}

const SealedSchema = new Schema<SealedValue>({ v: Number, iv: String, tag: String, data: String }, { _id: false });

const ConnectionSchema = new Schema<MarketplaceConnectionDoc>(
  {
    marketplace_id: { type: Number, required: true },
    sealed: { type: SealedSchema, required: true },
    details: { type: Schema.Types.Mixed, default: () => ({}) },
    version: { type: Number, required: true, default: 1 },
    connected_at: { type: Date, required: true },
  },
  { collection: "marketplace_connections", timestamps: { createdAt: false, updatedAt: "updated_at" }, minimize: false, versionKey: false },
);
brandScoped(ConnectionSchema);
ConnectionSchema.index({ brand: 1, marketplace_id: 1 }, { unique: true });

export function connectionModel(connection: Connection): Model<MarketplaceConnectionDoc> {
  return bindModel(connection, "MarketplaceConnection", ConnectionSchema);
}

export const sealingContext = (brand: number, marketplaceId: number) => `marketplace-connection:${brand}:${marketplaceId}`;
