/**
 * Turns the seller's synced Vinted listings into products of the current brand, keeping the link
 * to the Vinted item (`source`). Importing twice never duplicates: a listing already imported in
 * the brand is reported with its product, whoever imported it (a unique index settles races).
 * The Vinted data is the seller's own (keyed by user), read here and never changed.
 */
import type { Connection } from "mongoose";
import type { ImportVintedBody, ImportVintedResponse, ProductCondition } from "../../../shared/products.js";
import { readVintedItem, type VintedItem } from "../../../shared/vinted.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { vintedModels, type VintedProductDoc } from "../vinted/model.js";
import type { ProductDoc } from "./model.js";
import { productView, type ProductService } from "./service.js";

const DUPLICATE_KEY = 11000;

/** Vinted's condition labels (as the wardrobe shows them, fr/en/es) and status ids. */
const CONDITION_BY_LABEL: Record<string, ProductCondition> = {
  "neuf avec étiquette": "new_with_tags",
  "new with tags": "new_with_tags",
  "nuevo con etiquetas": "new_with_tags",
  "neuf sans étiquette": "new_without_tags",
  "new without tags": "new_without_tags",
  "nuevo sin etiquetas": "new_without_tags",
  "très bon état": "very_good",
  "very good": "very_good",
  "muy bueno": "very_good",
  "bon état": "good",
  good: "good",
  bueno: "good",
  satisfaisant: "satisfactory",
  satisfactory: "satisfactory",
  satisfactorio: "satisfactory",
};
const CONDITION_BY_STATUS_ID: Record<number, ProductCondition> = { 6: "new_with_tags", 1: "new_without_tags", 2: "very_good", 3: "good", 4: "satisfactory" };

/** The stored listing's Vinted item, typed (shared/vinted.ts); fields of a wrong type are left out. */
function itemOf(listing: Pick<VintedProductDoc, "vinted_id" | "raw">): Partial<VintedItem> {
  return readVintedItem({ ...listing.raw, id: listing.vinted_id }).item ?? {};
}

export function conditionOf(listing: Pick<VintedProductDoc, "vinted_id" | "condition" | "raw">, item = itemOf(listing)): ProductCondition | null {
  const label = listing.condition?.trim().toLowerCase();
  if (label && CONDITION_BY_LABEL[label]) return CONDITION_BY_LABEL[label];
  return typeof item.status_id === "number" ? (CONDITION_BY_STATUS_ID[item.status_id] ?? null) : null;
}

const text = (v: string | null | undefined) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);

/** Vinted's own ids, kept so that publishing back to Vinted needs no new choices. */
function vintedAttributes(item: Partial<VintedItem>): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const key of ["catalog_id", "brand_id", "size_id", "status_id"] as const) {
    const value = item[key];
    if (typeof value === "number") attributes[`vinted_${key}`] = value;
  }
  const colors = [item.color1_id, item.color2_id].filter((v): v is number => typeof v === "number");
  if (colors.length > 0) attributes.vinted_color_ids = colors;
  return attributes;
}

export function productFromListing(listing: VintedProductDoc, brand: number, createdBy: number, importedAt: Date): Omit<ProductDoc, "id" | "created_at" | "updated_at"> {
  const item = itemOf(listing);
  return {
    brand,
    title: (listing.title ?? "").trim().slice(0, 200) || `Vinted item ${listing.vinted_id}`,
    sku: `VINTED-${listing.vinted_id}`,
    description: text(item.description)?.slice(0, 10_000) ?? "",
    price: listing.price_value ?? 0,
    currency: (listing.currency ?? "EUR").toUpperCase(),
    brand_name: listing.brand_title ?? null,
    size: listing.size_title ?? null,
    condition: conditionOf(listing, item),
    category: null,
    color: text(item.color1) ?? (typeof item.color === "string" ? text(item.color) : text(item.color?.title)),
    attributes: vintedAttributes(item),
    photos: [],
    source: { marketplace: "vinted", vinted_id: listing.vinted_id, url: listing.url ?? null, photo_url: listing.photo_url ?? null, imported_at: importedAt },
    created_by: createdBy,
  };
}

export class VintedImport {
  constructor(
    private readonly connection: Connection,
    private readonly products: ProductService,
  ) {}

  async run(principal: Principal, brand: BrandAccess, body: ImportVintedBody): Promise<ImportVintedResponse> {
    const listings = await this.listings(principal.userId, body.vinted_ids);
    const found = new Set(listings.map((l) => l.vinted_id));
    const notFound = (body.vinted_ids ?? []).filter((id) => !found.has(id));
    const existing = await this.imported(brand.brandId, [...found]);
    const result: ImportVintedResponse = { created: [], already_imported: [], not_found: [...new Set(notFound)] };
    const now = new Date();
    for (const listing of listings) {
      const productId = existing.get(listing.vinted_id);
      if (productId !== undefined) {
        result.already_imported.push({ vinted_id: listing.vinted_id, product_id: productId });
        continue;
      }
      const created = await this.importOne(listing, brand.brandId, principal.userId, now);
      if ("product" in created) result.created.push(productView(created.product));
      else result.already_imported.push({ vinted_id: listing.vinted_id, product_id: created.existingId });
    }
    return result;
  }

  private async listings(owner: number, ids: number[] | undefined): Promise<VintedProductDoc[]> {
    const { Product } = vintedModels(this.connection);
    const filter: Record<string, unknown> = ids ? { owner, vinted_id: { $in: ids } } : { owner, status: "active" };
    return Product.find(filter).sort({ vinted_id: 1 }).lean<VintedProductDoc[]>();
  }

  private async imported(brand: number, vintedIds: number[]): Promise<Map<number, number>> {
    if (vintedIds.length === 0) return new Map();
    const rows = await this.products.models.Product.find({ brand, "source.vinted_id": { $in: vintedIds } }, { id: 1, "source.vinted_id": 1 }).lean<ProductDoc[]>();
    return new Map(rows.map((r) => [r.source!.vinted_id, r.id]));
  }

  private async importOne(listing: VintedProductDoc, brand: number, createdBy: number, now: Date): Promise<{ product: ProductDoc } | { existingId: number }> {
    const doc = productFromListing(listing, brand, createdBy, now);
    for (let attempt = 0; ; attempt++) {
      try {
        return { product: await this.products.insertDoc(doc) };
      } catch (err) {
        const e = err as { code?: number; keyPattern?: Record<string, unknown> };
        if (e.code !== DUPLICATE_KEY) throw err;
        if (e.keyPattern && "sku" in e.keyPattern && attempt < 3) {
          // The seller already uses this SKU for another product: keep both, distinctly.
          doc.sku = `VINTED-${listing.vinted_id}-${attempt + 2}`;
          continue;
        }
        const raced = await this.imported(brand, [listing.vinted_id]);
        const existingId = raced.get(listing.vinted_id);
        if (existingId === undefined) throw err;
        return { existingId };
      }
    }
  }
}
