import type { CreateProductParams, UpdateProductParams } from "../../../shared/plugin";
import { parseVintedPrice } from "../../../shared/vinted";
import type { EditableItem, WardrobeItem } from "./api";

type ProductChanges = Omit<UpdateProductParams, "item_id">;

/** Fields of the item_upload body that the edit form sends back; anything else is display-only. */
const UPLOAD_BODY_FIELDS = [
  "id", "currency", "temp_uuid", "title", "description", "brand_id", "brand", "size_id", "catalog_id",
  "isbn", "is_unisex", "status_id", "video_game_rating_id", "price", "package_size_id", "shipment_prices",
  "color_ids", "assigned_photos", "measurement_length", "measurement_width", "item_attributes",
  "manufacturer", "manufacturer_labelling",
] as const;

export interface AssignedPhoto {
  id: number;
  orientation: number;
}

function uploadEnvelope(item: Record<string, unknown>, uploadSessionId: string): Record<string, unknown> {
  return { item, feedback_id: null, push_up: false, parcel: null, upload_session_id: uploadSessionId };
}

export function buildCreateBody(params: CreateProductParams, photoIds: number[], currency: string, tempUuid: string): Record<string, unknown> {
  const item = {
    id: null,
    currency,
    temp_uuid: tempUuid,
    title: params.title,
    description: params.description,
    brand_id: params.brand_id,
    size_id: params.size_id,
    catalog_id: params.catalog_id,
    status_id: params.status_ids[0],
    price: params.price,
    package_size_id: params.package_size_id ?? null,
    color_ids: params.color_ids,
    assigned_photos: photoIds.map((id): AssignedPhoto => ({ id, orientation: 0 })),
    is_unisex: null,
    isbn: null,
  };
  return uploadEnvelope(item, tempUuid);
}

/** The amount of a Vinted price as Vinted wrote it ("15.0"), or null when it is not a price. */
export function priceAmount(price: unknown): string | null {
  return parseVintedPrice(price)?.amount ?? null;
}

export function samePrice(a: unknown, b: unknown): boolean {
  const left = parseVintedPrice(a);
  const right = parseVintedPrice(b);
  return left !== null && right !== null && Math.round(left.value * 100) === Math.round(right.value * 100);
}

function colorIdsOf(item: EditableItem): number[] {
  if (Array.isArray(item.color_ids)) return item.color_ids.filter((id): id is number => typeof id === "number");
  return [item.color1_id, item.color2_id].filter((id): id is number => typeof id === "number");
}

export function assignedPhotosOf(item: EditableItem): AssignedPhoto[] {
  const source = Array.isArray(item.assigned_photos) ? item.assigned_photos : Array.isArray(item.photos) ? item.photos : [];
  return source.flatMap((photo: unknown) => {
    if (typeof photo !== "object" || photo === null) return [];
    const { id, orientation } = photo as { id?: unknown; orientation?: unknown };
    return typeof id === "number" ? [{ id, orientation: typeof orientation === "number" ? orientation : 0 }] : [];
  });
}

/** The full PUT body: the item as the edit form loaded it, with the requested changes applied. */
export function buildUpdateBody(
  current: EditableItem,
  changes: ProductChanges,
  currency: string,
  extraPhotoIds: number[] = [],
): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const field of UPLOAD_BODY_FIELDS) if (field in current) item[field] = current[field];
  item.id = current.id;
  item.currency = typeof current.currency === "string" ? current.currency : currency;
  item.price = priceAmount(current.price);
  item.status_id = current.status_id ?? null;
  item.color_ids = colorIdsOf(current);
  item.assigned_photos = [...assignedPhotosOf(current), ...extraPhotoIds.map((id) => ({ id, orientation: 0 }))];

  const { status_ids, ...direct } = changes;
  for (const [key, value] of Object.entries(direct)) if (value !== undefined) item[key] = value;
  if (status_ids?.length) item.status_id = status_ids[0];
  const uploadSessionId = typeof current.temp_uuid === "string" ? current.temp_uuid : crypto.randomUUID();
  return uploadEnvelope(item, uploadSessionId);
}

/** True when the item already carries every requested change (a retried write already happened). */
export function changesAlreadyApplied(current: EditableItem, changes: ProductChanges): boolean {
  return Object.entries(changes).every(([key, value]) => {
    if (value === undefined) return true;
    if (key === "price") return samePrice(current.price, value);
    if (key === "status_ids") return Array.isArray(value) && current.status_id === value[0];
    if (key === "color_ids") return JSON.stringify(colorIdsOf(current)) === JSON.stringify(value);
    return current[key] === value;
  });
}

export function createdWithin(item: WardrobeItem, windowMs: number, now = Date.now()): boolean {
  const raw = item.created_at_ts;
  if (raw === undefined || raw === null) return true;
  const ms = typeof raw === "number" ? raw * (raw < 1e12 ? 1000 : 1) : Date.parse(raw);
  return Number.isNaN(ms) || now - ms <= windowMs;
}
