/**
 * The seller's Vinted data, filled from the results of extension tasks. Keyed by the seller (the
 * MarketHub user whose extension read it), not by brand: one seller has one Vinted account, whatever
 * brand the task that read it was created in. So these collections are not brandScoped; every query
 * filters on `owner` instead (the routes are user-scoped).
 */
import { Schema, type Connection, type Model } from "mongoose";
import { VINTED_GONE_REASONS, VINTED_PRODUCT_STATUSES, type VintedGoneReason, type VintedProductStatus } from "../../../shared/vinted.js";
import { bindModel } from "../db/models.js";

export interface VintedProductDoc {
  owner: number;
  vinted_id: number;
  title: string;
  price: string | null;
  /** `price` as a number, for range filters and sorting. */
  price_value: number | null;
  currency: string | null;
  brand_title: string | null;
  size_title: string | null;
  condition: string | null;
  url: string | null;
  photo_url: string | null;
  view_count: number | null;
  favourite_count: number | null;
  is_draft: boolean;
  is_reserved: boolean;
  is_hidden: boolean;
  status: VintedProductStatus;
  gone_reason: VintedGoneReason | null;
  gone_at: Date | null;
  first_seen_at: Date;
  /** When Vinted last showed the listing (a sync page, a write's answer): complete syncs compare to it. */
  last_seen_at: Date;
  last_task_id: string | null;
  /** The listing as Vinted last sent it. */
  raw: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export interface VintedAccountDoc {
  owner: number;
  vinted_user_id: number;
  login: string;
  email: string | null;
  real_name: string | null;
  business_account: unknown;
  origin: string | null;
  item_count: number | null;
  last_task_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface VintedStatsSnapshotDoc {
  owner: number;
  vinted_id: number;
  view_count: number;
  favourite_count: number;
  message_count: number | null;
  captured_at: Date;
  task_id: string | null;
}

const timestamps = { createdAt: "created_at", updatedAt: "updated_at" } as const;

const ProductSchema = new Schema<VintedProductDoc>(
  {
    owner: { type: Number, required: true },
    vinted_id: { type: Number, required: true },
    title: { type: String, default: "" },
    price: { type: String, default: null },
    price_value: { type: Number, default: null },
    currency: { type: String, default: null },
    brand_title: { type: String, default: null },
    size_title: { type: String, default: null },
    condition: { type: String, default: null },
    url: { type: String, default: null },
    photo_url: { type: String, default: null },
    view_count: { type: Number, default: null },
    favourite_count: { type: Number, default: null },
    is_draft: { type: Boolean, default: false },
    is_reserved: { type: Boolean, default: false },
    is_hidden: { type: Boolean, default: false },
    status: { type: String, enum: VINTED_PRODUCT_STATUSES, default: "active" },
    gone_reason: { type: String, enum: [...VINTED_GONE_REASONS, null], default: null },
    gone_at: { type: Date, default: null },
    first_seen_at: { type: Date, required: true },
    last_seen_at: { type: Date, required: true },
    last_task_id: { type: String, default: null },
    raw: { type: Schema.Types.Mixed, default: () => ({}) },
  },
  { collection: "vinted_products", timestamps, minimize: false, versionKey: false },
);
ProductSchema.index({ owner: 1, vinted_id: 1 }, { unique: true });
ProductSchema.index({ owner: 1, status: 1, last_seen_at: -1 });

const AccountSchema = new Schema<VintedAccountDoc>(
  {
    owner: { type: Number, required: true, unique: true },
    vinted_user_id: { type: Number, required: true },
    login: { type: String, required: true },
    email: { type: String, default: null },
    real_name: { type: String, default: null },
    business_account: { type: Schema.Types.Mixed, default: null },
    origin: { type: String, default: null },
    item_count: { type: Number, default: null },
    last_task_id: { type: String, default: null },
  },
  { collection: "vinted_accounts", timestamps, minimize: false, versionKey: false },
);

const SnapshotSchema = new Schema<VintedStatsSnapshotDoc>(
  {
    owner: { type: Number, required: true },
    vinted_id: { type: Number, required: true },
    view_count: { type: Number, required: true },
    favourite_count: { type: Number, required: true },
    message_count: { type: Number, default: null },
    captured_at: { type: Date, required: true },
    task_id: { type: String, default: null },
  },
  { collection: "vinted_stats_snapshots", versionKey: false },
);
SnapshotSchema.index({ owner: 1, vinted_id: 1, captured_at: -1 });

export interface VintedModels {
  Product: Model<VintedProductDoc>;
  Account: Model<VintedAccountDoc>;
  StatsSnapshot: Model<VintedStatsSnapshotDoc>;
}

export function vintedModels(connection: Connection): VintedModels {
  return {
    Product: bindModel(connection, "VintedProduct", ProductSchema),
    Account: bindModel(connection, "VintedAccount", AccountSchema),
    StatsSnapshot: bindModel(connection, "VintedStatsSnapshot", SnapshotSchema),
  };
}
