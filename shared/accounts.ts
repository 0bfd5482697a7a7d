/**
 * Selling accounts (spec/batches-and-dashboard-endpoints.md): the shops a brand manages (a Vinted
 * shop, a MercadoLibre account…), each with its balance and how it is billed.
 */
import { z } from "zod";
import { PageQuerySchema, TimestampSchema, paginated } from "./common.js";

export const ACCOUNT_STATUSES = ["active", "suspended"] as const;
export const BILLING_TYPES = ["credits", "postpaid"] as const;

export const AccountIdSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$/, "2–64 letters, digits, '-' or '_' (e.g. acc-chile-001)");

/** Money and credits: never negative, cents at most. */
const AmountSchema = z.number().min(0).max(1e12);

export const AccountSchema = z
  .object({
    account_id: z.string(),
    name: z.string(),
    status: z.enum(ACCOUNT_STATUSES),
    balance: z.number(),
    billing_type: z.enum(BILLING_TYPES),
    /** The marketplace connection the account belongs to (e.g. "vinted:my-shop"), if any. */
    marketplace_connection: z.string().nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: "Account" });
export type AccountView = z.infer<typeof AccountSchema>;

/** The `account` block of the dashboard overview. */
export const AccountSummarySchema = AccountSchema.pick({ account_id: true, name: true, status: true, balance: true, billing_type: true }).meta({
  id: "AccountSummary",
});

export const CreateAccountBodySchema = z
  .object({
    account_id: AccountIdSchema.optional(),
    name: z.string().trim().min(1).max(200),
    status: z.enum(ACCOUNT_STATUSES).default("active"),
    balance: AmountSchema.default(0),
    billing_type: z.enum(BILLING_TYPES).default("postpaid"),
    marketplace_connection: z.string().trim().min(1).max(200).nullable().default(null),
  })
  .strict()
  .meta({ id: "CreateAccountBody" });
export type CreateAccountBody = z.infer<typeof CreateAccountBodySchema>;

export const UpdateAccountBodySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    status: z.enum(ACCOUNT_STATUSES),
    balance: AmountSchema,
    billing_type: z.enum(BILLING_TYPES),
    marketplace_connection: z.string().trim().min(1).max(200).nullable(),
  })
  .partial()
  .strict()
  .meta({ id: "UpdateAccountBody" });
export type UpdateAccountBody = z.infer<typeof UpdateAccountBodySchema>;

export const TopUpBodySchema = z
  .object({ amount: z.number().positive().max(1e12) })
  .strict()
  .meta({ id: "TopUpBody" });

export const AccountParamsSchema = z.object({ account_id: AccountIdSchema });

export const AccountListQuerySchema = PageQuerySchema.extend({
  status: z.enum(ACCOUNT_STATUSES).optional(),
  billing_type: z.enum(BILLING_TYPES).optional(),
});
export type AccountListQuery = z.infer<typeof AccountListQuerySchema>;

export const AccountListResponseSchema = paginated(AccountSchema).meta({ id: "AccountList" });
