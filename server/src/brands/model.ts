import { Schema, type Connection, type Model } from "mongoose";
import type { BrandRole } from "../../../shared/brands.js";
import { BRAND_ROLES } from "../../../shared/brands.js";
import { bindModel } from "../db/models.js";

export interface BrandDoc {
  /** Integer id from the "brands" counter. */
  _id: number;
  name: string;
  /** Created with a user's account; its owner can never be removed from it. */
  personal: boolean;
  created_by: number;
  created_at: Date;
  updated_at: Date;
}

export interface BrandMemberDoc {
  brand_id: number;
  user_id: number;
  role: BrandRole;
  /** True only on a user's membership of their own personal brand: the default X-Brand-ID. */
  personal: boolean;
  created_at: Date;
}

const BrandSchema = new Schema<BrandDoc>(
  {
    _id: { type: Number, required: true },
    name: { type: String, required: true },
    personal: { type: Boolean, required: true },
    created_by: { type: Number, required: true },
  },
  { collection: "brands", timestamps: { createdAt: "created_at", updatedAt: "updated_at" }, versionKey: false },
);

const BrandMemberSchema = new Schema<BrandMemberDoc>(
  {
    brand_id: { type: Number, required: true },
    user_id: { type: Number, required: true },
    role: { type: String, enum: BRAND_ROLES, required: true },
    personal: { type: Boolean, default: false },
  },
  { collection: "brand_members", timestamps: { createdAt: "created_at", updatedAt: false }, versionKey: false },
);
BrandMemberSchema.index({ brand_id: 1, user_id: 1 }, { unique: true });
BrandMemberSchema.index({ user_id: 1, brand_id: 1 });

export interface BrandModels {
  Brand: Model<BrandDoc>;
  BrandMember: Model<BrandMemberDoc>;
}

export function brandModels(connection: Connection): BrandModels {
  return {
    Brand: bindModel(connection, "Brand", BrandSchema),
    BrandMember: bindModel(connection, "BrandMember", BrandMemberSchema),
  };
}
