/**
 * The Vinted catalog side of competitor analysis: which searches to ask the seller's extension for
 * (one per listing asked about, or per largest brand-and-size group of the wardrobe), and what the
 * other sellers' listings found say about the seller's: where its price sits among theirs, and the
 * words their titles use that it lacks.
 */
import type { CatalogItem, SearchItemsParams, SearchItemsResult } from "../../../../../shared/plugin.js";
import { parseVintedPrice } from "../../../../../shared/vinted.js";
import type { VintedProductDoc } from "../../../vinted/model.js";
import { keywordsOf } from "./listings.js";

/** A search and the seller's listings it is the competition of. */
export interface SearchSubject {
  label: string;
  params: SearchItemsParams;
  vinted_ids: number[];
}

const idOf = (raw: Record<string, unknown>, key: string): number | null => {
  const v = raw[key];
  return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : null;
};

/** The listing's own words a buyer would type: its brand, then the first words of its title. */
function searchTextOf(doc: Pick<VintedProductDoc, "title" | "brand_title">): string {
  const brand = doc.brand_title?.trim() ?? "";
  const words = [...keywordsOf(doc.title ?? "")].filter((w) => !brand.toLowerCase().split(/\s+/).includes(w)).slice(0, 2);
  return [brand, ...words].filter(Boolean).join(" ").slice(0, 200);
}

/** Ids Vinted filters on, when the sync carried them (an edit-form item does; a wardrobe page does not). */
function idFilters(raw: Record<string, unknown>): Pick<SearchItemsParams, "brand_ids" | "size_ids" | "catalog_ids"> {
  const out: Pick<SearchItemsParams, "brand_ids" | "size_ids" | "catalog_ids"> = {};
  for (const [field, key] of [["brand_ids", "brand_id"], ["size_ids", "size_id"], ["catalog_ids", "catalog_id"]] as const) {
    const id = idOf(raw, key);
    if (id !== null) out[field] = [id];
  }
  return out;
}

const baseParams = { order: "relevance", per_page: 48, max_pages: 1 } as const;

/** One search per listing asked about (those with words to search on), at most `max`. */
export function listingSubjects(docs: VintedProductDoc[], max: number): SearchSubject[] {
  const out: SearchSubject[] = [];
  for (const doc of docs) {
    const text = searchTextOf(doc);
    if (!text) continue;
    out.push({ label: doc.title, params: { ...baseParams, search_text: text, ...idFilters(doc.raw ?? {}) }, vinted_ids: [doc.vinted_id] });
    if (out.length >= max) break;
  }
  return out;
}

/** One search per brand-and-size group, the largest groups first, at most `max`. */
export function groupSubjects(docs: VintedProductDoc[], max: number): SearchSubject[] {
  const groups = new Map<string, VintedProductDoc[]>();
  for (const doc of docs) {
    if (!doc.brand_title) continue;
    const key = `${doc.brand_title}|${doc.size_title ?? ""}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(doc);
  }
  return [...groups.entries()]
    .sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
    .slice(0, max)
    .map(([key, members]) => {
      const [brand, size] = key.split("|");
      const ids = idFilters(members[0].raw ?? {});
      return {
        label: size ? `${brand}, size ${size}` : brand,
        params: { ...baseParams, search_text: brand.slice(0, 200), ...(ids.brand_ids ? { brand_ids: ids.brand_ids } : {}), ...(ids.size_ids ? { size_ids: ids.size_ids } : {}) },
        vinted_ids: members.map((m) => m.vinted_id),
      };
    });
}

const median = (xs: number[]) => quantile(xs, 0.5);

function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return Math.round((s[lo] + (s[hi] - s[lo]) * (at - lo)) * 100) / 100;
}

export type PricePosition = "below" | "within" | "above";

export interface ListingVsCatalog {
  vinted_id: number;
  title: string;
  search: string;
  competitors: number;
  price: number | null;
  competitor_median_price: number | null;
  competitor_price_range: [number, number] | null;
  /** Where the price sits against the competitors' middle half (25th–75th percentile). */
  price_position: PricePosition | null;
  /** Share of competitors cheaper than this listing, 0–100. */
  price_percentile: number | null;
  competitor_median_favourites: number | null;
  /** Words at least a quarter of the competitors' titles use (two at least) that this listing's title, brand and description lack. */
  missing_keywords: string[];
}

const favouritesOf = (item: CatalogItem) => (typeof item.favourite_count === "number" ? item.favourite_count : null);

/** Other sellers only: the seller's own listings show up in searches too. */
export function competitorsIn(result: SearchItemsResult, ownIds: Set<number>): CatalogItem[] {
  return result.items.filter((item) => !ownIds.has(item.id));
}

export function compareWithCatalog(doc: VintedProductDoc, search: string, competitors: CatalogItem[]): ListingVsCatalog {
  const prices = competitors.map((c) => parseVintedPrice(c.price)?.value).filter((p): p is number => typeof p === "number" && p > 0);
  const p25 = quantile(prices, 0.25);
  const p75 = quantile(prices, 0.75);
  const price = doc.price_value;
  const position: PricePosition | null = price === null || p25 === null || p75 === null ? null : price < p25 ? "below" : price > p75 ? "above" : "within";
  // Its brand is searchable whether or not the title repeats it.
  const own = keywordsOf(`${doc.title} ${doc.brand_title ?? ""} ${typeof doc.raw?.description === "string" ? doc.raw.description : ""}`);
  const counts = new Map<string, number>();
  for (const c of competitors) for (const w of keywordsOf(c.title)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const threshold = Math.max(2, Math.ceil(competitors.length / 4));
  const missing = [...counts.entries()]
    .filter(([w, n]) => n >= threshold && !own.has(w))
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 5)
    .map(([w]) => w);
  const favourites = competitors.map(favouritesOf).filter((f): f is number => f !== null);
  return {
    vinted_id: doc.vinted_id,
    title: doc.title,
    search,
    competitors: competitors.length,
    price,
    competitor_median_price: median(prices),
    competitor_price_range: p25 !== null && p75 !== null ? [p25, p75] : null,
    price_position: position,
    price_percentile: price === null || prices.length === 0 ? null : Math.round((prices.filter((p) => p < price).length / prices.length) * 100),
    competitor_median_favourites: median(favourites),
    missing_keywords: missing,
  };
}

/** What the comparisons add up to, most widespread first. */
export function catalogRecommendations(rows: ListingVsCatalog[]): string[] {
  const out: string[] = [];
  const above = rows.filter((r) => r.price_position === "above").length;
  const below = rows.filter((r) => r.price_position === "below").length;
  if (above) out.push(`${above} listing(s) are priced above the middle half of similar Vinted listings of other sellers`);
  if (below) out.push(`${below} listing(s) are priced below the middle half of similar Vinted listings: room to ask more`);
  const words = new Map<string, number>();
  for (const r of rows) for (const w of r.missing_keywords) words.set(w, (words.get(w) ?? 0) + 1);
  const top = [...words.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5);
  if (top.length) out.push(`Competitors' titles use ${top.map(([w, n]) => `"${w}" (${n} listing(s) lack it)`).join(", ")}: add them where they are true`);
  return out;
}
