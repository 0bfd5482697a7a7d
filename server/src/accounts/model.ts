import { Schema, type Connection, type Model, type Types } from "mongoose";
import { ACCOUNT_STATUSES, BILLING_TYPES } from "../../../shared/accounts.js";
import { brandScoped } from "../brands/scope.js";
import { bindModel } from "../db/models.js";

export interface Account {
  _id: Types.ObjectId;
  brand: number;
  account_id: string;
  name: string;
  status: (typeof ACCOUNT_STATUSES)[number];
  /** Credits left (billing_type credits) or money spent so far (postpaid). Never negative. */
  balance: number;
  billing_type: (typeof BILLING_TYPES)[number];
  marketplace_connection: string | null;
  created_by: number;
  created_at: Date;
  updated_at: Date;
}

/** A selling account of a brand; `account_id` is unique within the brand. */
export const accountSchema = new Schema<Account>(
  {
    account_id: { type: String, required: true },
    name: { type: String, required: true },
    status: { type: String, enum: ACCOUNT_STATUSES, default: "active" },
    balance: { type: Number, default: 0, min: 0 },
    billing_type: { type: String, enum: BILLING_TYPES, default: "postpaid" },
    marketplace_connection: { type: String, default: null },
    created_by: { type: Number, required: true },
  },
  { collection: "accounts", timestamps: { createdAt: "created_at", updatedAt: "updated_at" }, minimize: false, versionKey: false },
);
accountSchema.plugin(brandScoped);
accountSchema.index({ brand: 1, account_id: 1 }, { unique: true });

export type AccountModel = Model<Account>;

export function accountModel(connection: Connection): AccountModel {
  return bindModel(connection, "Account", accountSchema);
}
