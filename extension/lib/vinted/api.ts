import { z } from "zod";
import type { SearchItemsParams } from "../../../shared/plugin";
import type { VintedClient, RequestOptions } from "./client";
import { VintedError } from "./errors";

/** Every Vinted path the extension uses; all are relative to the tab's location.origin. */
export const VINTED_PATHS = {
  home: "/",
  currentUser: "/api/v2/users/current",
  wardrobe: (userId: number, page: number, perPage: number, order: WardrobeOrder) =>
    `/api/v2/wardrobe/${userId}/items?page=${page}&per_page=${perPage}&order=${order}`,
  itemUpload: (itemId: number) => `/api/v2/item_upload/items/${itemId}`,
  createItem: "/api/v2/item_upload/items",
  deleteItem: (itemId: number) => `/api/v2/items/${itemId}/delete`,
  photos: "/api/v2/photos",
  catalogItems: (query: URLSearchParams) => `/api/v2/catalog/items?${query.toString()}`,
  refreshSession: "/web/api/auth/refresh",
} as const;

/** Vinted caps per_page at 96. */
export const WARDROBE_PAGE_SIZE = 96;
export type WardrobeOrder = "relevance" | "newest_first";

export const CurrentUserSchema = z.looseObject({
  id: z.number().int(),
  login: z.string(),
  email: z.string().nullish(),
  real_name: z.string().nullish(),
  business: z.boolean().nullish(),
  business_account: z.unknown().optional(),
  item_count: z.number().int().nullish(),
});
export type CurrentUser = z.infer<typeof CurrentUserSchema>;

export const WardrobeItemSchema = z.looseObject({
  id: z.number().int(),
  title: z.string(),
  price: z.unknown(),
  view_count: z.number().int().nullish(),
  favourite_count: z.number().int().nullish(),
  created_at_ts: z.union([z.string(), z.number()]).nullish(),
});
export type WardrobeItem = z.infer<typeof WardrobeItemSchema>;

const WardrobePageSchema = z.object({
  items: z.array(WardrobeItemSchema),
  pagination: z.looseObject({
    current_page: z.number().int(),
    total_pages: z.number().int(),
    total_entries: z.number().int(),
  }),
});
export type WardrobePage = z.infer<typeof WardrobePageSchema>;

/** An item as the edit form loads it (GET item_upload/items/{id}): the base of every PUT. */
export const EditableItemSchema = z.looseObject({ id: z.number().int() });
export type EditableItem = z.infer<typeof EditableItemSchema>;
const ItemEnvelopeSchema = z.object({ item: EditableItemSchema });

export const UploadedPhotoSchema = z.looseObject({
  id: z.number().int(),
  temp_uuid: z.string().nullish(),
  url: z.string().nullish(),
});
export type UploadedPhoto = z.infer<typeof UploadedPhotoSchema>;

const CatalogItemSchema = z.looseObject({ id: z.number().int(), title: z.string(), price: z.unknown() });
export type CatalogItem = z.infer<typeof CatalogItemSchema>;

const CatalogPageSchema = z.object({
  items: z.array(CatalogItemSchema),
  pagination: z.looseObject({
    current_page: z.number().int(),
    total_pages: z.number().int(),
    total_entries: z.number().int(),
  }),
});
export type CatalogPage = z.infer<typeof CatalogPageSchema>;

/** The catalog search query as the site's own search page sends it (ids comma-separated). */
export function catalogQuery(params: SearchItemsParams, page: number): URLSearchParams {
  const query = new URLSearchParams({ page: String(page), per_page: String(params.per_page), order: params.order });
  if (params.search_text) query.set("search_text", params.search_text);
  for (const key of ["catalog_ids", "brand_ids", "size_ids"] as const) {
    const ids = params[key];
    if (ids?.length) query.set(key, ids.join(","));
  }
  return query;
}

export interface PhotoBytes {
  base64: string;
  contentType: string;
  filename: string;
}

function parseOrThrow<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
  const result = schema.safeParse(json);
  if (!result.success) throw new VintedError("VINTED_ERROR", `Unexpected Vinted answer for ${what}: ${result.error.issues[0]?.message ?? "invalid"}`);
  return result.data;
}

type CallOptions = Pick<RequestOptions, "signal" | "onWait">;

export class VintedApi {
  constructor(private readonly client: VintedClient) {}

  async currentUser(options: CallOptions = {}): Promise<CurrentUser> {
    const { json } = await this.client.request("GET", VINTED_PATHS.currentUser, options);
    return parseOrThrow(z.object({ user: CurrentUserSchema }), json, "users/current").user;
  }

  async wardrobePage(userId: number, page: number, order: WardrobeOrder, options: CallOptions = {}): Promise<WardrobePage> {
    const { json } = await this.client.request("GET", VINTED_PATHS.wardrobe(userId, page, WARDROBE_PAGE_SIZE, order), options);
    return parseOrThrow(WardrobePageSchema, json, "wardrobe");
  }

  async catalogPage(params: SearchItemsParams, page: number, options: CallOptions = {}): Promise<CatalogPage> {
    const { json } = await this.client.request("GET", VINTED_PATHS.catalogItems(catalogQuery(params, page)), options);
    return parseOrThrow(CatalogPageSchema, json, "catalog/items");
  }

  async itemForEditing(itemId: number, options: CallOptions = {}): Promise<EditableItem> {
    const { json } = await this.client.request("GET", VINTED_PATHS.itemUpload(itemId), options);
    return parseOrThrow(ItemEnvelopeSchema, json, "item_upload").item;
  }

  async createItem(body: Record<string, unknown>, options: CallOptions = {}): Promise<EditableItem> {
    const { json } = await this.client.request("POST", VINTED_PATHS.createItem, { ...options, write: true, body: { kind: "json", json: JSON.stringify(body) } });
    return parseOrThrow(ItemEnvelopeSchema, json, "item creation").item;
  }

  async updateItem(itemId: number, body: Record<string, unknown>, options: CallOptions = {}): Promise<EditableItem> {
    const { json } = await this.client.request("PUT", VINTED_PATHS.itemUpload(itemId), { ...options, write: true, body: { kind: "json", json: JSON.stringify(body) } });
    return parseOrThrow(ItemEnvelopeSchema, json, "item update").item;
  }

  async deleteItem(itemId: number, options: CallOptions = {}): Promise<void> {
    await this.client.request("POST", VINTED_PATHS.deleteItem(itemId), { ...options, write: true, body: { kind: "json", json: "{}" } });
  }

  async uploadPhoto(photo: PhotoBytes, tempUuid: string, options: CallOptions = {}): Promise<UploadedPhoto> {
    const { json } = await this.client.request("POST", VINTED_PATHS.photos, {
      ...options,
      write: true,
      body: {
        kind: "multipart",
        fields: [
          ["photo[type]", "item"],
          ["photo[temp_uuid]", tempUuid],
        ],
        file: { field: "photo[file]", filename: photo.filename, contentType: photo.contentType, base64: photo.base64 },
      },
    });
    return parseOrThrow(UploadedPhotoSchema, json, "photo upload");
  }
}
