/**
 * The seller's Vinted data as MarketHub keeps it (filled from extension task results): listings,
 * the Vinted account, stats snapshots. Plain zod 4; the server registers these for OpenAPI.
 */
import { z } from "zod";
import { PageQuerySchema, TimestampSchema, paginated } from "./common.js";

export const VINTED_PRODUCT_STATUSES = ["active", "gone"] as const;
export const VintedProductStatusSchema = z.enum(VINTED_PRODUCT_STATUSES);
export type VintedProductStatus = z.infer<typeof VintedProductStatusSchema>;

/**
 * Why a listing is gone: Vinted said so (`closed`: is_closed), MarketHub deleted it (`deleted`), or a
 * COMPLETE sync no longer had it (`missing_from_complete_sync`). A partial sync never marks anything.
 */
export const VINTED_GONE_REASONS = ["closed", "deleted", "missing_from_complete_sync"] as const;
export const VintedGoneReasonSchema = z.enum(VINTED_GONE_REASONS);
export type VintedGoneReason = z.infer<typeof VintedGoneReasonSchema>;

export const VintedProductViewSchema = z
  .object({
    vinted_id: z.number().int(),
    title: z.string(),
    /** Decimal string as Vinted shows it ("15.00"). */
    price: z.string().nullable(),
    currency: z.string().nullable(),
    brand_title: z.string().nullable(),
    size_title: z.string().nullable(),
    condition: z.string().nullable(),
    url: z.string().nullable(),
    photo_url: z.string().nullable(),
    view_count: z.number().int().nullable(),
    favourite_count: z.number().int().nullable(),
    is_draft: z.boolean(),
    is_reserved: z.boolean(),
    is_hidden: z.boolean(),
    status: VintedProductStatusSchema,
    gone_reason: VintedGoneReasonSchema.nullable(),
    gone_at: TimestampSchema.nullable(),
    first_seen_at: TimestampSchema,
    last_seen_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: "VintedProduct" });
export type VintedProductView = z.infer<typeof VintedProductViewSchema>;

export const VintedProductListResponseSchema = paginated(VintedProductViewSchema).meta({ id: "VintedProductList" });

export const VINTED_PRODUCT_ORDERING_FIELDS = [
  "vinted_id", "title", "price", "view_count", "favourite_count", "first_seen_at", "last_seen_at", "updated_at",
] as const;

export const VintedProductListQuerySchema = PageQuerySchema.extend({
  /** active (default), gone, or all. */
  status: z.enum(["active", "gone", "all"]).default("active"),
  /** Case-insensitive substring of the title. */
  search: z.string().trim().min(1).max(200).optional(),
  price_min: z.coerce.number().min(0).optional(),
  price_max: z.coerce.number().min(0).optional(),
  /** One field, `-` for descending; default `-last_seen_at`. */
  ordering: z
    .string()
    .refine((f) => (VINTED_PRODUCT_ORDERING_FIELDS as readonly string[]).includes(f.replace(/^-/, "")), {
      error: `Unknown ordering field. Choices: ${VINTED_PRODUCT_ORDERING_FIELDS.join(", ")} (prefix with '-' for descending)`,
    })
    .default("-last_seen_at"),
});
export type VintedProductListQuery = z.infer<typeof VintedProductListQuerySchema>;

export const VintedIdParamsSchema = z.object({
  vinted_id: z.string().regex(/^[1-9]\d{0,15}$/, "must be a Vinted item id").transform(Number),
});

export const VintedStatsSnapshotSchema = z
  .object({
    view_count: z.number().int(),
    favourite_count: z.number().int(),
    message_count: z.number().int().nullable(),
    captured_at: TimestampSchema,
  })
  .meta({ id: "VintedStatsSnapshot" });
export type VintedStatsSnapshotView = z.infer<typeof VintedStatsSnapshotSchema>;

/** Change between the first and the last snapshot shown (null with fewer than two). */
export const VintedStatsTrendSchema = z.object({
  views_change: z.number().int(),
  favourites_change: z.number().int(),
  since: TimestampSchema,
  until: TimestampSchema,
});

export const VintedProductDetailSchema = VintedProductViewSchema.extend({
  stats: z.object({
    /** Oldest first; the latest 100. */
    snapshots: z.array(VintedStatsSnapshotSchema),
    trend: VintedStatsTrendSchema.nullable(),
  }),
}).meta({ id: "VintedProductDetail" });
export type VintedProductDetail = z.infer<typeof VintedProductDetailSchema>;

export const VintedAccountViewSchema = z
  .object({
    vinted_user_id: z.number().int(),
    login: z.string(),
    email: z.string().nullable(),
    real_name: z.string().nullable(),
    business_account: z.unknown().nullable(),
    origin: z.string().nullable(),
    item_count: z.number().int().nullable(),
    updated_at: TimestampSchema,
  })
  .meta({ id: "VintedAccount" });
export type VintedAccountView = z.infer<typeof VintedAccountViewSchema>;

// ---------------------------------------------------------------------------------------------
// Raw Vinted data, read the same way by the server and the extension
// ---------------------------------------------------------------------------------------------

const PriceAmountSchema = z.union([z.string(), z.number()]);

/**
 * A Vinted price as Vinted sends it: "15.00", 15, or {amount: "15.0", currency_code: "EUR"}
 * (wardrobe items). Parsed to the amount as given, its value, and the currency when it says one.
 */
export const VintedPriceSchema = z
  .union([PriceAmountSchema, z.looseObject({ amount: PriceAmountSchema, currency_code: z.string().optional() })])
  .transform((raw, ctx) => {
    const amount = typeof raw === "object" ? raw.amount : raw;
    const value = typeof amount === "number" ? amount : amount.trim() === "" ? Number.NaN : Number(amount);
    if (!Number.isFinite(value)) {
      ctx.addIssue({ code: "custom", message: `not a price: ${JSON.stringify(amount)}` });
      return z.NEVER;
    }
    const currency = typeof raw === "object" && raw.currency_code?.trim() ? raw.currency_code : null;
    return { amount: String(amount), value, currency };
  });
export type VintedPrice = z.output<typeof VintedPriceSchema>;

/** The price, or null when `raw` is not one. */
export function parseVintedPrice(raw: unknown): VintedPrice | null {
  const parsed = VintedPriceSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** A brand, size or condition: a string in wardrobe items, `{title}` in the spec's examples. */
const VintedTitledSchema = z.union([z.string(), z.looseObject({ title: z.string().nullish() })]);

const VintedPhotoSchema = z.looseObject({
  id: z.number().int().nullish(),
  url: z.string().nullish(),
  full_size_url: z.string().nullish(),
});

const optionalInt = z.number().int().nullish();
const optionalCount = z.number().int().min(0).nullish();
const optionalString = z.string().nullish();
const optionalFlag = z.boolean().nullish();

/**
 * A Vinted listing in any of the shapes it arrives in (vinted-notes.md): wardrobe items (price
 * `{amount, currency_code}`, brand/size/status as strings, no description), edit-form items (price
 * "15.00", `currency`, brand_id, size_id…), the spec's examples (`brand: {title}`, `size_title`).
 * Only `id` is required; every other known field is typed when present, and fields Vinted adds
 * later pass through untouched, so a change on Vinted's side never stops a sync.
 */
export const VintedItemSchema = z.looseObject({
  id: z.number().int().positive(),
  title: optionalString,
  description: optionalString,
  price: VintedPriceSchema.nullish(),
  currency: optionalString,
  brand: VintedTitledSchema.nullish(),
  brand_title: optionalString,
  brand_id: optionalInt,
  size: VintedTitledSchema.nullish(),
  size_title: optionalString,
  size_id: optionalInt,
  /** The condition ("Très bon état"), not the listing's state. */
  status: VintedTitledSchema.nullish(),
  status_title: optionalString,
  status_id: optionalInt,
  catalog_id: optionalInt,
  color1_id: optionalInt,
  color2_id: optionalInt,
  /** The first colour's name, or `color: {title}`, where the shape carries one. */
  color1: optionalString,
  color: VintedTitledSchema.nullish(),
  package_size_id: optionalInt,
  is_unisex: optionalFlag,
  is_draft: optionalFlag,
  /** Sold and closed, or removed: the only thing from Vinted that marks a listing gone. */
  is_closed: optionalFlag,
  is_reserved: optionalFlag,
  is_hidden: optionalFlag,
  view_count: optionalCount,
  favourite_count: optionalCount,
  url: optionalString,
  photo: VintedPhotoSchema.nullish(),
  photos: z.array(VintedPhotoSchema).nullish(),
  created_at_ts: z.union([z.string(), z.number()]).nullish(),
});
export type VintedItem = z.output<typeof VintedItemSchema>;

/** One raw listing read: the typed item (null when even its id is unusable), as sent, and what was wrong with it. */
export interface VintedItemReading {
  item: VintedItem | null;
  raw: Record<string, unknown> | null;
  problems: string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Reads one raw listing. A known field of the wrong type is left out (and named in `problems`)
 * rather than costing the whole listing; only a listing without a usable id is dropped.
 */
export function readVintedItem(raw: unknown): VintedItemReading {
  if (!isRecord(raw)) return { item: null, raw: null, problems: [`not an object: ${JSON.stringify(raw)?.slice(0, 80)}`] };
  const first = VintedItemSchema.safeParse(raw);
  if (first.success) return { item: first.data, raw, problems: [] };
  const problems = first.error.issues.map((issue) => `${issue.path.join(".") || "(item)"}: ${issue.message}`);
  const badFields = new Set(first.error.issues.map((issue) => String(issue.path[0] ?? "")));
  if (badFields.has("id") || badFields.has("")) return { item: null, raw, problems };
  const second = VintedItemSchema.safeParse(Object.fromEntries(Object.entries(raw).filter(([field]) => !badFields.has(field))));
  return second.success ? { item: second.data, raw, problems } : { item: null, raw, problems };
}
