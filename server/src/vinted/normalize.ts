/**
 * Vinted listings arrive in several shapes: wardrobe items (price `{amount, currency_code}`, brand and
 * size as strings), edit-form items (price "15.00", brand_id…), the spec's examples (`brand: {title}`,
 * `size_title`). These helpers read what each carries, and never invent what it does not.
 */
import { parseVintedPrice } from "../../../shared/vinted.js";
import type { VintedProductDoc } from "./model.js";

type Json = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v : null);
const int = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : null);
const obj = (v: unknown): Json | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null);

/** A Vinted price (shared/vinted.ts reads it) → a two-decimal string, its value and its currency. */
export function readPrice(price: unknown, currency?: unknown): { price: string | null; price_value: number | null; currency: string | null } {
  const parsed = parseVintedPrice(price);
  if (!parsed) return { price: null, price_value: null, currency: str(currency) };
  return { price: parsed.value.toFixed(2), price_value: Math.round(parsed.value * 100) / 100, currency: parsed.currency ?? str(currency) };
}

function titleOf(v: unknown): string | null {
  return str(v) ?? str(obj(v)?.title);
}

function firstPhotoUrl(item: Json): string | null {
  const photo = obj(item.photo);
  if (photo) return str(photo.url) ?? str(photo.full_size_url);
  if (Array.isArray(item.photos)) {
    const first = obj(item.photos[0]);
    if (first) return str(first.url) ?? str(first.full_size_url);
  }
  return null;
}

/** The numeric id of a listing, or null when the object is not one. */
export function listingId(item: unknown): number | null {
  const id = obj(item)?.id;
  return typeof id === "number" && Number.isInteger(id) && id > 0 ? id : null;
}

export type ListingFields = Partial<Omit<VintedProductDoc, "owner" | "vinted_id" | "status" | "gone_reason" | "gone_at" | "first_seen_at" | "created_at" | "updated_at">>;

/** Only the fields this item actually carries: an edit-form answer without view_count keeps the stored one. */
export function listingFields(item: Json): ListingFields {
  const fields: ListingFields = { raw: item };
  const title = str(item.title);
  if (title !== null) fields.title = title;
  if ("price" in item) {
    const p = readPrice(item.price, item.currency);
    if (p.price !== null) Object.assign(fields, { price: p.price, price_value: p.price_value });
    if (p.currency !== null) fields.currency = p.currency;
  } else if (str(item.currency)) {
    fields.currency = str(item.currency);
  }
  const brand = str(item.brand_title) ?? titleOf(item.brand);
  if (brand !== null) fields.brand_title = brand;
  const size = str(item.size_title) ?? titleOf(item.size);
  if (size !== null) fields.size_title = size;
  const condition = str(item.status_title) ?? titleOf(item.status);
  if (condition !== null) fields.condition = condition;
  const url = str(item.url);
  if (url !== null) fields.url = url;
  const photo = firstPhotoUrl(item);
  if (photo !== null) fields.photo_url = photo;
  const views = int(item.view_count);
  if (views !== null) fields.view_count = views;
  const favourites = int(item.favourite_count);
  if (favourites !== null) fields.favourite_count = favourites;
  for (const flag of ["is_draft", "is_reserved", "is_hidden"] as const) {
    if (typeof item[flag] === "boolean") fields[flag] = item[flag] as boolean;
  }
  return fields;
}

/** Vinted says the listing is over (sold and closed, or removed). */
export function isClosed(item: Json): boolean {
  return item.is_closed === true;
}
