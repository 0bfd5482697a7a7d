/**
 * The seller's own listings as the SEO task types read them: the synced Vinted wardrobe of the task's
 * creator (one seller, one Vinted account) and the brand's catalog, reduced to what content quality
 * and search depend on. Read in slices ordered by id, so a long run checkpoints after each slice.
 */
import type { VintedModels, VintedProductDoc } from "../../../vinted/model.js";

/** What a listing shows a buyer searching: the fields the audit scores and the keywords come from. */
export interface ListingContent {
  source: "vinted" | "catalog";
  id: number;
  title: string;
  /** null when the sync did not carry one (a wardrobe page has none; an edit form has it). */
  description: string | null;
  photos: number;
  brand: string | null;
  size: string | null;
  condition: string | null;
  price: number | null;
  views: number | null;
  favourites: number | null;
}

type Json = Record<string, unknown>;

function photoCount(raw: Json, photoUrl: string | null): number {
  if (Array.isArray(raw.photos)) return raw.photos.length;
  return photoUrl ? 1 : 0;
}

export function vintedContent(doc: VintedProductDoc): ListingContent {
  const raw = (doc.raw ?? {}) as Json;
  return {
    source: "vinted",
    id: doc.vinted_id,
    title: doc.title ?? "",
    description: typeof raw.description === "string" ? raw.description : null,
    photos: photoCount(raw, doc.photo_url ?? null),
    brand: doc.brand_title ?? null,
    size: doc.size_title ?? null,
    condition: doc.condition ?? null,
    price: doc.price_value ?? null,
    views: doc.view_count ?? null,
    favourites: doc.favourite_count ?? null,
  };
}

export const SLICE = 500;

/** The seller's active listings after `afterId`, one slice. */
export async function activeListingSlice(models: VintedModels, owner: number, afterId: number): Promise<VintedProductDoc[]> {
  return models.Product.find({ owner, status: "active", vinted_id: { $gt: afterId } })
    .sort({ vinted_id: 1 })
    .limit(SLICE)
    .lean<VintedProductDoc[]>();
}

/** Views and favourites each listing gained over [since, until], from its stats snapshots (views only grow). */
export async function gainsSince(models: VintedModels, owner: number, since: Date): Promise<Map<number, { views: number; favourites: number; snapshots: number }>> {
  const rows = await models.StatsSnapshot.aggregate<{ _id: number; vmin: number; vmax: number; fmin: number; fmax: number; n: number }>([
    { $match: { owner, captured_at: { $gte: since } } },
    { $group: { _id: "$vinted_id", vmin: { $min: "$view_count" }, vmax: { $max: "$view_count" }, fmin: { $min: "$favourite_count" }, fmax: { $max: "$favourite_count" }, n: { $sum: 1 } } },
  ]);
  return new Map(rows.map((r) => [r._id, { views: r.vmax - r.vmin, favourites: Math.max(0, r.fmax - r.fmin), snapshots: r.n }]));
}

const STOPWORDS = new Set(
  (
    "the and for with from this that you your are was new neuf avec pour les des une dans sur par pas est sans tres très bon etat état " +
    "taille size homme femme men women kids enfant porte porté worn good very comme like"
  ).split(" "),
);

/** The distinct words of a text a buyer might search: lower case, accents kept, 3+ letters, no stopwords or numbers. */
export function keywordsOf(text: string): Set<string> {
  const words = text.toLowerCase().normalize("NFC").match(/[\p{L}][\p{L}\p{N}'-]{2,}/gu) ?? [];
  return new Set(words.map((w) => w.replace(/['-]+$/, "")).filter((w) => w.length >= 3 && !STOPWORDS.has(w)));
}
