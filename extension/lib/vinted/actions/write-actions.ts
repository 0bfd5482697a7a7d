import type {
  CreateProductParams,
  DeleteProductParams,
  DeleteProductResult,
  ItemResult,
  UpdateProductParams,
  UploadPhotoParams,
  UploadPhotoResult,
} from "../../../../shared/plugin";
import type { WardrobeItem } from "../api";
import { VintedError } from "../errors";
import { buildCreateBody, buildUpdateBody, changesAlreadyApplied, createdWithin, samePrice } from "../mapping";
import type { ActionContext } from "./context";

/** How far back a listing counts as "the one an interrupted create_product made". */
const RECENT_CREATION_WINDOW_MS = 24 * 3600_000;

async function findRecentlyCreated(params: CreateProductParams, ctx: ActionContext): Promise<WardrobeItem | undefined> {
  const user = await ctx.currentUser();
  const page = await ctx.api.wardrobePage(user.id, 1, "newest_first", { signal: ctx.signal });
  return page.items.find(
    (item) => item.title.trim() === params.title.trim() && samePrice(item.price, params.price) && createdWithin(item, RECENT_CREATION_WINDOW_MS),
  );
}

async function uploadPhotos(urls: string[], tempUuid: string, ctx: ActionContext): Promise<number[]> {
  const ids: number[] = [];
  for (const [index, url] of urls.entries()) {
    ctx.report({ current: index, total: urls.length + 1, message: `photo ${index + 1}/${urls.length}` });
    const bytes = await ctx.photos.fetch(url);
    const photo = await ctx.api.uploadPhoto(bytes, tempUuid, { signal: ctx.signal });
    ids.push(photo.id);
  }
  return ids;
}

export async function createProduct(params: CreateProductParams, ctx: ActionContext): Promise<ItemResult> {
  if (ctx.outcomeUnknown) {
    ctx.report({ current: 0, total: 1, message: "checking whether an earlier attempt already created it" });
    const existing = await findRecentlyCreated(params, ctx);
    if (existing) return { item: existing, recovered: true };
  }
  const tempUuid = crypto.randomUUID();
  const uploaded = await uploadPhotos(params.photo_urls ?? [], tempUuid, ctx);
  const photoIds = [...(params.photo_ids ?? []), ...uploaded];
  const item = await ctx.api.createItem(buildCreateBody(params, photoIds, ctx.currency, tempUuid), { signal: ctx.signal });
  return { item };
}

export async function updateProduct(params: UpdateProductParams, ctx: ActionContext): Promise<ItemResult> {
  const { item_id, ...changes } = params;
  const current = await ctx.api.itemForEditing(item_id, { signal: ctx.signal });
  if (ctx.outcomeUnknown && changesAlreadyApplied(current, changes)) return { item: current, recovered: true };
  const item = await ctx.api.updateItem(item_id, buildUpdateBody(current, changes, ctx.currency), { signal: ctx.signal });
  return { item };
}

export async function deleteProduct(params: DeleteProductParams, ctx: ActionContext): Promise<DeleteProductResult> {
  try {
    await ctx.api.deleteItem(params.item_id, { signal: ctx.signal });
    return { success: true, item_id: params.item_id };
  } catch (error) {
    // An interrupted earlier attempt may already have deleted it.
    if (ctx.outcomeUnknown && error instanceof VintedError && error.code === "ITEM_NOT_FOUND") {
      return { success: true, item_id: params.item_id, already_deleted: true };
    }
    throw error;
  }
}

export async function uploadPhoto(params: UploadPhotoParams, ctx: ActionContext): Promise<UploadPhotoResult> {
  const tempUuid = crypto.randomUUID();
  ctx.report({ current: 0, total: params.item_id ? 3 : 2, message: "downloading the photo" });
  const bytes = await ctx.photos.fetch(params.photo_url);
  ctx.report({ current: 1, total: params.item_id ? 3 : 2, message: "uploading the photo to Vinted" });
  const photo = await ctx.api.uploadPhoto(bytes, tempUuid, { signal: ctx.signal });
  const result: UploadPhotoResult = { photo_id: photo.id, temp_uuid: photo.temp_uuid ?? tempUuid, url: photo.url ?? null, attached: false };
  if (params.item_id === undefined) return result;
  ctx.report({ current: 2, total: 3, message: `attaching the photo to item ${params.item_id}` });
  const current = await ctx.api.itemForEditing(params.item_id, { signal: ctx.signal });
  await ctx.api.updateItem(params.item_id, buildUpdateBody(current, {}, ctx.currency, [photo.id]), { signal: ctx.signal });
  return { ...result, item_id: params.item_id, attached: true };
}
