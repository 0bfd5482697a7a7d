/**
 * Vinted listings arrive in several shapes (shared/vinted.ts VintedItemSchema reads them all once):
 * wardrobe items (price `{amount, currency_code}`, brand and size as strings), edit-form items
 * (price "15.00", brand_id…), the spec's examples (`brand: {title}`, `size_title`). These helpers
 * turn a read item into the stored listing's fields, and never invent what it does not carry.
 */
import { readVintedItem, type VintedItem, type VintedPrice } from "../../../shared/vinted.js";
import type { VintedProductDoc } from "./model.js";

type Json = Record<string, unknown>;

/** A listing as read from an extension result: typed, and as Vinted sent it (kept as `raw`). */
export interface VintedListing {
  item: VintedItem;
  raw: Json;
}

/** Listings read from raw items, and one line per listing Vinted sent something unexpected in. */
export interface ListingsReading {
  listings: VintedListing[];
  problems: string[];
}

/** The problems reported for one result: enough to see what changed on Vinted's side, not a flood. */
const PROBLEMS_KEPT = 20;

export function readListings(raws: readonly unknown[]): ListingsReading {
  const listings: VintedListing[] = [];
  const problems: string[] = [];
  raws.forEach((raw, index) => {
    const reading = readVintedItem(raw);
    if (reading.item && reading.raw) listings.push({ item: reading.item, raw: reading.raw });
    if (reading.problems.length > 0 && problems.length < PROBLEMS_KEPT) {
      const which = reading.item ? `listing ${reading.item.id}` : `item #${index + 1} (not stored)`;
      problems.push(`${which}: ${reading.problems.join("; ")}`);
    }
  });
  return { listings, problems };
}

const text = (v: string | null | undefined): string | null => (typeof v === "string" && v.trim() !== "" ? v : null);

/** A read Vinted price → a two-decimal string and its value. */
export function priceFields(price: Pick<VintedPrice, "value">): { price: string; price_value: number } {
  return { price: price.value.toFixed(2), price_value: Math.round(price.value * 100) / 100 };
}

function titleOf(v: VintedItem["brand"]): string | null {
  return typeof v === "string" ? text(v) : text(v?.title);
}

function firstPhotoUrl(item: VintedItem): string | null {
  const photo = item.photo ?? item.photos?.[0];
  return photo ? (text(photo.url) ?? text(photo.full_size_url)) : null;
}

export type ListingFields = Partial<Omit<VintedProductDoc, "owner" | "vinted_id" | "status" | "gone_reason" | "gone_at" | "first_seen_at" | "created_at" | "updated_at">>;

/** Only the fields this item actually carries: an edit-form answer without view_count keeps the stored one. */
export function listingFields({ item, raw }: VintedListing): ListingFields {
  const fields: ListingFields = { raw };
  const title = text(item.title);
  if (title !== null) fields.title = title;
  if (item.price) Object.assign(fields, priceFields(item.price));
  const currency = item.price?.currency ?? text(item.currency);
  if (currency !== null) fields.currency = currency;
  const brand = text(item.brand_title) ?? titleOf(item.brand);
  if (brand !== null) fields.brand_title = brand;
  const size = text(item.size_title) ?? titleOf(item.size);
  if (size !== null) fields.size_title = size;
  const condition = text(item.status_title) ?? titleOf(item.status);
  if (condition !== null) fields.condition = condition;
  const url = text(item.url);
  if (url !== null) fields.url = url;
  const photo = firstPhotoUrl(item);
  if (photo !== null) fields.photo_url = photo;
  if (typeof item.view_count === "number") fields.view_count = item.view_count;
  if (typeof item.favourite_count === "number") fields.favourite_count = item.favourite_count;
  for (const flag of ["is_draft", "is_reserved", "is_hidden"] as const) {
    const value = item[flag];
    if (typeof value === "boolean") fields[flag] = value;
  }
  return fields;
}
