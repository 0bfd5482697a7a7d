/**
 * Brands are the tenants: every brand-scoped resource belongs to one, and `X-Brand-ID` picks which
 * one a request acts for (default: the caller's personal brand).
 */
import { z } from "zod";
import { EmailSchema, IntegerIdSchema, IntegerIdStringSchema, TimestampSchema, paginated } from "./common.js";

export const BRAND_ID_HEADER = "X-Brand-ID";

export const BRAND_ROLES = ["owner", "member"] as const;
export const BrandRoleSchema = z.enum(BRAND_ROLES);
export type BrandRole = z.infer<typeof BrandRoleSchema>;

/** The `brand` shape of the specs: `{"id": 9, "name": "Humari"}`. */
export const BrandRefSchema = z.object({ id: IntegerIdSchema, name: z.string() }).meta({ id: "BrandRef" });
export type BrandRef = z.infer<typeof BrandRefSchema>;

/** A brand as seen by one of its members: `role` is the caller's. */
export const BrandSchema = BrandRefSchema.extend({
  personal: z.boolean(),
  role: BrandRoleSchema,
  created_at: TimestampSchema,
}).meta({ id: "Brand" });
export type Brand = z.infer<typeof BrandSchema>;

export const BrandListResponseSchema = paginated(BrandSchema).meta({ id: "BrandList" });

export const CreateBrandBodySchema = z
  .object({ name: z.string().trim().min(1).max(100) })
  .meta({ id: "CreateBrandRequest" });
export type CreateBrandBody = z.infer<typeof CreateBrandBodySchema>;

export const BrandMemberSchema = z
  .object({
    user: z.object({ id: IntegerIdSchema, username: z.string(), email: z.string() }),
    role: BrandRoleSchema,
    joined_at: TimestampSchema,
  })
  .meta({ id: "BrandMember" });
export type BrandMember = z.infer<typeof BrandMemberSchema>;

export const BrandMemberListResponseSchema = paginated(BrandMemberSchema).meta({ id: "BrandMemberList" });

/** A member is named by the email they registered with, or by user id: exactly one of the two. */
export const AddBrandMemberBodySchema = z
  .object({
    email: EmailSchema.optional(),
    user_id: IntegerIdSchema.optional(),
    role: BrandRoleSchema.default("member"),
  })
  .refine((b) => (b.email === undefined) !== (b.user_id === undefined), {
    message: "give exactly one of email and user_id",
  })
  .meta({ id: "AddBrandMemberRequest" });
export type AddBrandMemberBody = z.infer<typeof AddBrandMemberBodySchema>;

export const BrandMemberParamsSchema = z.object({ id: IntegerIdStringSchema, userId: IntegerIdStringSchema });

/** The header value, validated like a path id: a non-integer is a 400, not a silent default. */
export const BrandIdHeaderSchema = IntegerIdStringSchema;
