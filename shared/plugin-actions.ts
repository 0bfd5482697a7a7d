/**
 * The extension's actions: their names, the params each takes and the data each result carries.
 * Re-exported by shared/plugin.ts (the delivery contract), where callers import them from.
 */
import { z } from "zod";

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

export const PLUGIN_ACTIONS = [
  "get_user_data",
  "get_all_products",
  "create_product",
  "update_product",
  "delete_product",
  "update_prices",
  "get_stats",
  "upload_photo",
  "search_items",
] as const;
export const PluginActionSchema = z.enum(PLUGIN_ACTIONS);
export type PluginAction = z.infer<typeof PluginActionSchema>;

/** Actions that change the seller's Vinted account: never run twice blindly, one at a time per account. */
export const PLUGIN_WRITE_ACTIONS = [
  "create_product",
  "update_product",
  "delete_product",
  "update_prices",
  "upload_photo",
] as const satisfies readonly PluginAction[];

export function isWriteAction(action: PluginAction): boolean {
  return (PLUGIN_WRITE_ACTIONS as readonly PluginAction[]).includes(action);
}

// ---------------------------------------------------------------------------------------------
// Action params
// ---------------------------------------------------------------------------------------------

/** Vinted prices travel as decimal strings ("15.00") so no float rounding happens on the way. */
export const PriceSchema = z.string().regex(/^\d{1,7}(\.\d{1,2})?$/, "price must be a decimal string like \"15.00\"");
const VintedIdSchema = z.number().int().positive();

export const GetUserDataParamsSchema = z.object({});
export const GetAllProductsParamsSchema = z.object({
  /** Vinted user id; defaults to the account logged in in the Vinted tab. */
  user_id: VintedIdSchema.optional(),
});

const ProductFieldsSchema = z.object({
  title: z.string().trim().min(1).max(100),
  description: z.string().max(5000),
  price: PriceSchema,
  brand_id: VintedIdSchema,
  size_id: VintedIdSchema,
  catalog_id: VintedIdSchema,
  color_ids: z.array(VintedIdSchema).max(2),
  /** Vinted has one condition per item; the first id is used. */
  status_ids: z.array(VintedIdSchema).min(1),
  package_size_id: VintedIdSchema.optional(),
});

export const CreateProductParamsSchema = ProductFieldsSchema.extend({
  /** Photos the extension downloads from MarketHub and uploads to Vinted (bytes built in the page). */
  photo_urls: z.array(z.url()).max(20).optional(),
  /** Photos already uploaded in this session (upload_photo results). */
  photo_ids: z.array(VintedIdSchema).max(20).optional(),
});

export const UpdateProductParamsSchema = ProductFieldsSchema.partial()
  .extend({ item_id: VintedIdSchema })
  .refine((p) => Object.keys(p).some((k) => k !== "item_id"), {
    message: "update_product needs at least one field to change",
  });

export const DeleteProductParamsSchema = z.object({ item_id: VintedIdSchema });

export const PriceUpdateSchema = z.object({ item_id: VintedIdSchema, price: PriceSchema });
export const UpdatePricesParamsSchema = z.object({
  updates: z.array(PriceUpdateSchema).min(1).max(500),
});

export const GetStatsParamsSchema = z.object({
  item_id: VintedIdSchema,
  /** Owner of the item; defaults to the account logged in in the Vinted tab. */
  user_id: VintedIdSchema.optional(),
});

export const UploadPhotoParamsSchema = z.object({
  /** When given, the uploaded photo is also attached to this listing. */
  item_id: VintedIdSchema.optional(),
  photo_url: z.url(),
});

/** Vinted's catalog sort orders. */
export const CATALOG_SEARCH_ORDERS = ["relevance", "newest_first", "price_low_to_high", "price_high_to_low"] as const;
const IdFilterSchema = z.array(VintedIdSchema).min(1).max(10);

/**
 * A read of Vinted's catalog search (other sellers' listings), as a buyer filtering it would see it.
 * Kept small on purpose: catalogue scraping is what Vinted's anti-bot blocks first, so a search reads
 * at most 3 pages, paced like every other request, and needs a filter (no browsing the whole site).
 */
export const SearchItemsParamsSchema = z
  .object({
    search_text: z.string().trim().min(1).max(200).optional(),
    catalog_ids: IdFilterSchema.optional(),
    brand_ids: IdFilterSchema.optional(),
    size_ids: IdFilterSchema.optional(),
    order: z.enum(CATALOG_SEARCH_ORDERS).default("relevance"),
    /** Vinted caps per_page at 96. */
    per_page: z.number().int().min(1).max(96).default(48),
    max_pages: z.number().int().min(1).max(3).default(1),
  })
  .refine((p) => p.search_text !== undefined || p.catalog_ids !== undefined || p.brand_ids !== undefined, {
    message: "search_items needs search_text, catalog_ids or brand_ids",
  });

export const PLUGIN_PARAMS_SCHEMAS = {
  get_user_data: GetUserDataParamsSchema,
  get_all_products: GetAllProductsParamsSchema,
  create_product: CreateProductParamsSchema,
  update_product: UpdateProductParamsSchema,
  delete_product: DeleteProductParamsSchema,
  update_prices: UpdatePricesParamsSchema,
  get_stats: GetStatsParamsSchema,
  upload_photo: UploadPhotoParamsSchema,
  search_items: SearchItemsParamsSchema,
} as const satisfies Record<PluginAction, z.ZodType>;

export type PluginParams = { [A in PluginAction]: z.infer<(typeof PLUGIN_PARAMS_SCHEMAS)[A]> };
export type GetAllProductsParams = PluginParams["get_all_products"];
export type CreateProductParams = PluginParams["create_product"];
export type UpdateProductParams = PluginParams["update_product"];
export type DeleteProductParams = PluginParams["delete_product"];
export type UpdatePricesParams = PluginParams["update_prices"];
export type GetStatsParams = PluginParams["get_stats"];
export type UploadPhotoParams = PluginParams["upload_photo"];
export type SearchItemsParams = PluginParams["search_items"];

/** A task's action together with params already validated for that action. */
export type PluginCommand = { [A in PluginAction]: { action: A; params: PluginParams[A] } }[PluginAction];

export function parsePluginCommand(action: string, params: unknown): { ok: true; command: PluginCommand } | { ok: false; error: string } {
  const actionResult = PluginActionSchema.safeParse(action);
  if (!actionResult.success) return { ok: false, error: `unknown action "${action}"` };
  const schema: z.ZodType = PLUGIN_PARAMS_SCHEMAS[actionResult.data];
  const paramsResult = schema.safeParse(params ?? {});
  if (!paramsResult.success) return { ok: false, error: z.prettifyError(paramsResult.error) };
  // The schema for this action produced these params, so the pairing is sound.
  return { ok: true, command: { action: actionResult.data, params: paramsResult.data } as PluginCommand };
}

// ---------------------------------------------------------------------------------------------
// Result data (TaskResultBody.data per action)
// ---------------------------------------------------------------------------------------------

export const GetUserDataResultSchema = z.object({
  user_id: z.number().int(),
  login: z.string(),
  email: z.string().nullable(),
  anon_id: z.string().nullable(),
  /** Not sent by the extension: the page's CSRF token is a session secret that never leaves the browser. */
  csrf_token: z.string().optional(),
  real_name: z.string().nullable(),
  business_account: z.unknown().nullable(),
  /** Vinted country site the data came from, e.g. "https://www.vinted.fr". */
  origin: z.string(),
  item_count: z.number().int().nullable(),
});
export type GetUserDataResult = z.infer<typeof GetUserDataResultSchema>;

/**
 * A wardrobe listing as Vinted returned it. The envelope only asks for an object: each listing is
 * read on its own by VintedItemSchema (shared/vinted.ts) where the result is applied, so a listing
 * whose shape Vinted changed is reported there instead of costing the whole sync.
 */
export const VintedProductSchema = z.record(z.string(), z.unknown());
export type VintedProduct = z.infer<typeof VintedProductSchema>;

export const GetAllProductsResultSchema = z.object({
  products: z.array(VintedProductSchema),
  total: z.number().int(),
  complete: z.literal(true),
  pages: z.number().int(),
});
export type GetAllProductsResult = z.infer<typeof GetAllProductsResultSchema>;

export const ItemResultSchema = z.object({
  item: z.looseObject({ id: z.number().int() }),
  /** true when a retried write found its earlier effect on Vinted instead of writing again. */
  recovered: z.boolean().optional(),
});
export type ItemResult = z.infer<typeof ItemResultSchema>;

export const DeleteProductResultSchema = z.object({
  success: z.literal(true),
  item_id: z.number().int(),
  already_deleted: z.boolean().optional(),
});
export type DeleteProductResult = z.infer<typeof DeleteProductResultSchema>;

export const PriceUpdateOutcomeSchema = z.object({
  item_id: z.number().int(),
  success: z.boolean(),
  /**
   * On success, the listing as Vinted has it after the change (the PUT's answer, or the edit form's
   * item when it already had the price): lets the server record listings it has not synced yet.
   */
  item: z.looseObject({ id: z.number().int() }).optional(),
  error: z.string().optional(),
  error_code: z.string().optional(),
});
export const UpdatePricesResultSchema = z.object({
  updated: z.number().int(),
  failed: z.number().int(),
  total: z.number().int(),
  results: z.array(PriceUpdateOutcomeSchema),
});
export type UpdatePricesResult = z.infer<typeof UpdatePricesResultSchema>;

export const GetStatsResultSchema = z.object({
  item_id: z.number().int(),
  view_count: z.number().int(),
  favourite_count: z.number().int(),
  /** Vinted exposes no per-item message count in the wardrobe listing. */
  message_count: z.number().int().nullable(),
  captured_at: z.string(),
});
export type GetStatsResult = z.infer<typeof GetStatsResultSchema>;

export const UploadPhotoResultSchema = z.object({
  photo_id: z.number().int(),
  temp_uuid: z.string(),
  url: z.string().nullable(),
  item_id: z.number().int().optional(),
  attached: z.boolean(),
});
export type UploadPhotoResult = z.infer<typeof UploadPhotoResultSchema>;

/** A catalog search hit as Vinted returns it (extra fields kept): another seller's listing. */
export const CatalogItemSchema = z.looseObject({
  id: z.number().int(),
  title: z.string(),
  price: z.unknown(),
});
export type CatalogItem = z.infer<typeof CatalogItemSchema>;

export const SearchItemsResultSchema = z.object({
  items: z.array(CatalogItemSchema),
  /** What Vinted says the search matches in all (more than the pages read). */
  total_entries: z.number().int().min(0),
  pages_read: z.number().int().min(0),
});
export type SearchItemsResult = z.infer<typeof SearchItemsResultSchema>;

export const PLUGIN_RESULT_SCHEMAS = {
  get_user_data: GetUserDataResultSchema,
  get_all_products: GetAllProductsResultSchema,
  create_product: ItemResultSchema,
  update_product: ItemResultSchema,
  delete_product: DeleteProductResultSchema,
  update_prices: UpdatePricesResultSchema,
  get_stats: GetStatsResultSchema,
  upload_photo: UploadPhotoResultSchema,
  search_items: SearchItemsResultSchema,
} as const satisfies Record<PluginAction, z.ZodType>;

export type PluginResultData = { [A in PluginAction]: z.infer<(typeof PLUGIN_RESULT_SCHEMAS)[A]> };

/**
 * Results as spec/plugin-polling-api.md shows them, leaner than what the extension sends: the server
 * accepts these too and fills in the rest from the task's params (the item id) and the result's
 * arrival. A documented `get_all_products` counts as complete only when it has `total` listings.
 */
export const DOCUMENTED_RESULT_SCHEMAS = {
  get_user_data: GetUserDataResultSchema.partial({ origin: true, item_count: true }),
  get_all_products: GetAllProductsResultSchema.pick({ products: true, total: true }),
  delete_product: DeleteProductResultSchema.pick({ success: true }),
  update_prices: UpdatePricesResultSchema.omit({ results: true }),
  get_stats: GetStatsResultSchema.pick({ view_count: true, favourite_count: true }).extend({
    message_count: GetStatsResultSchema.shape.message_count.optional(),
  }),
} as const satisfies Partial<Record<PluginAction, z.ZodType>>;
