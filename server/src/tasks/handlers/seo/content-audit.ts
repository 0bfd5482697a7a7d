/**
 * `seo_content_audit`: every active listing of the seller's Vinted wardrobe and of the brand's
 * catalog scored for content quality (audit.ts), with what to fix, most widespread first.
 */
import { z } from "zod";
import type { ProductModels, ProductDoc } from "../../../products/model.js";
import type { VintedModels } from "../../../vinted/model.js";
import type { TaskHandler } from "../../executor/registry.js";
import { addToTotals, auditRecommendations, emptyTotals, scoreListing, type AuditTotals } from "./audit.js";
import { SLICE, activeListingSlice, vintedContent, type ListingContent } from "./listings.js";

export const ContentAuditParamsSchema = z.object({
  /** Also audit the brand's catalog products (MarketHub's own listings). */
  include_catalog: z.boolean().default(true),
});

interface AuditState {
  phase: "vinted" | "catalog" | "done";
  after: number;
  totals: AuditTotals;
  catalog: AuditTotals;
}

export function catalogContent(p: ProductDoc): ListingContent {
  return {
    source: "catalog",
    id: p.id,
    title: p.title ?? "",
    description: p.description || null,
    photos: p.photos?.length ?? 0,
    brand: p.brand_name ?? null,
    size: p.size ?? null,
    condition: p.condition ?? null,
    price: typeof p.price === "number" ? p.price : null,
    views: null,
    favourites: null,
  };
}

function summary(t: AuditTotals) {
  return {
    listings_audited: t.audited,
    average_score: t.audited ? Math.round((t.score_sum / t.audited) * 10) / 10 : null,
    score_distribution: t.bands,
    issues: t.issues,
    worst_listings: t.worst,
  };
}

export function contentAuditHandler(vinted: VintedModels, products: ProductModels): TaskHandler {
  return async (ctx) => {
    const params = ContentAuditParamsSchema.parse(ctx.task.context_data ?? {});
    const owner = ctx.task.created_by;
    const brand = ctx.task.brand;
    const state: AuditState = (ctx.resumeFrom as AuditState | null) ?? { phase: "vinted", after: 0, totals: emptyTotals(), catalog: emptyTotals() };
    const [vintedTotal, catalogTotal] = await Promise.all([
      vinted.Product.countDocuments({ owner, status: "active" }),
      params.include_catalog ? products.Product.countDocuments({ brand }) : Promise.resolve(0),
    ]);
    const total = Math.max(1, vintedTotal + catalogTotal);
    const progress = () => Math.min(99, ((state.totals.audited + state.catalog.audited) / total) * 100);

    while (state.phase === "vinted") {
      ctx.throwIfStopped();
      const slice = await activeListingSlice(vinted, owner, state.after);
      for (const doc of slice) {
        const listing = vintedContent(doc);
        addToTotals(state.totals, listing, scoreListing(listing));
      }
      if (slice.length < SLICE) state.phase = params.include_catalog ? "catalog" : "done";
      state.after = slice.length < SLICE ? 0 : slice[slice.length - 1].vinted_id;
      await ctx.checkpoint({ ...state }, progress());
    }
    while (state.phase === "catalog") {
      ctx.throwIfStopped();
      const slice = await products.Product.find({ brand, id: { $gt: state.after } }).sort({ id: 1 }).limit(SLICE).lean<ProductDoc[]>();
      for (const doc of slice) {
        const listing = catalogContent(doc);
        addToTotals(state.catalog, listing, scoreListing(listing));
      }
      if (slice.length < SLICE) state.phase = "done";
      else state.after = slice[slice.length - 1].id;
      await ctx.checkpoint({ ...state }, progress());
    }

    const recommendations = [...auditRecommendations(state.totals).map((r) => `Vinted: ${r}`), ...auditRecommendations(state.catalog).map((r) => `Catalog: ${r}`)];
    return {
      ...summary(state.totals),
      catalog: params.include_catalog ? summary(state.catalog) : null,
      insights_generated: recommendations.length,
      recommendations,
    };
  };
}
