/**
 * `seo_competitor_analysis` on the seller's own wardrobe: each listing against the similar ones —
 * same brand and size (the peers a buyer filtering Vinted sees side by side), or same brand when
 * that group is too small — on price, views and favourites gained, photos and title length, so
 * the seller sees which listings lose to their own neighbours and why. Vinted catalog search
 * results (other sellers) are not read: that needs an extension action the plugin does not have.
 */
import { z } from "zod";
import type { VintedModels, VintedProductDoc } from "../../../vinted/model.js";
import type { TaskHandler } from "../../executor/registry.js";
import { gainsSince, vintedContent } from "./listings.js";

export const CompetitorAnalysisParamsSchema = z.object({
  /** Only these listings are compared (all active ones otherwise). */
  vinted_ids: z.array(z.number().int().positive()).min(1).max(5_000).optional(),
  window_days: z.number().int().min(1).max(365).default(30),
  /** A peer group needs at least this many other listings. */
  min_peers: z.number().int().min(1).max(100).default(3),
  top: z.number().int().min(1).max(100).default(20),
});

const median = (xs: number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round2 = (x: number) => Math.round(x * 100) / 100;

interface Row {
  doc: VintedProductDoc;
  views: number;
  favourites: number;
  photos: number;
  titleLength: number;
}

export function competitorAnalysisHandler(vinted: VintedModels): TaskHandler {
  return async (ctx) => {
    const params = CompetitorAnalysisParamsSchema.parse(ctx.task.context_data ?? {});
    const owner = ctx.task.created_by;
    await ctx.progress(5, "reading listings and their stats");
    const docs = await vinted.Product.find({ owner, status: "active" }).lean<VintedProductDoc[]>();
    const gains = await gainsSince(vinted, owner, new Date(Date.now() - params.window_days * 86_400_000));
    const rows: Row[] = docs.map((doc) => {
      const g = gains.get(doc.vinted_id);
      const content = vintedContent(doc);
      return {
        doc,
        views: g && g.snapshots >= 2 ? g.views : (doc.view_count ?? 0),
        favourites: g && g.snapshots >= 2 ? g.favourites : (doc.favourite_count ?? 0),
        photos: content.photos,
        titleLength: content.title.length,
      };
    });
    const byBrandSize = new Map<string, Row[]>();
    const byBrand = new Map<string, Row[]>();
    for (const r of rows) {
      if (!r.doc.brand_title) continue;
      const bs = `${r.doc.brand_title}|${r.doc.size_title ?? ""}`;
      (byBrandSize.get(bs) ?? byBrandSize.set(bs, []).get(bs)!).push(r);
      (byBrand.get(r.doc.brand_title) ?? byBrand.set(r.doc.brand_title, []).get(r.doc.brand_title)!).push(r);
    }
    const wanted = params.vinted_ids ? new Set(params.vinted_ids) : null;
    const compared = [];
    let done = 0;
    for (const r of rows) {
      if (wanted && !wanted.has(r.doc.vinted_id)) continue;
      if (++done % 200 === 0) {
        ctx.throwIfStopped();
        await ctx.progress(10 + (done / rows.length) * 85, `${done}/${rows.length} listings compared`);
      }
      if (!r.doc.brand_title) continue;
      let group = "brand_and_size";
      let peers = (byBrandSize.get(`${r.doc.brand_title}|${r.doc.size_title ?? ""}`) ?? []).filter((p) => p !== r);
      if (peers.length < params.min_peers) {
        group = "brand";
        peers = (byBrand.get(r.doc.brand_title) ?? []).filter((p) => p !== r);
      }
      if (peers.length < params.min_peers) continue;
      const peerViews = median(peers.map((p) => p.views))!;
      const peerPrice = median(peers.map((p) => p.doc.price_value ?? 0).filter((x) => x > 0));
      const peerPhotos = median(peers.map((p) => p.photos))!;
      const reasons: string[] = [];
      if (peerPrice !== null && r.doc.price_value !== null && r.doc.price_value > peerPrice * 1.25) reasons.push("priced above its peers");
      if (r.photos < peerPhotos) reasons.push("fewer photos than its peers");
      if (r.titleLength < median(peers.map((p) => p.titleLength))! * 0.7) reasons.push("shorter title than its peers");
      compared.push({
        vinted_id: r.doc.vinted_id,
        title: r.doc.title,
        peer_group: group,
        peers: peers.length,
        views: r.views,
        peer_median_views: peerViews,
        views_vs_peers: peerViews > 0 ? round2(r.views / peerViews) : null,
        price: r.doc.price_value,
        peer_median_price: peerPrice,
        photos: r.photos,
        peer_median_photos: peerPhotos,
        reasons,
      });
    }
    const behind = compared.filter((c) => c.views_vs_peers !== null && c.views_vs_peers < 0.5).sort((a, b) => a.views_vs_peers! - b.views_vs_peers! || a.vinted_id - b.vinted_id);
    const reasonCounts: Record<string, number> = {};
    for (const c of behind) for (const why of c.reasons) reasonCounts[why] = (reasonCounts[why] ?? 0) + 1;
    const recommendations = Object.entries(reasonCounts)
      .sort((a, b) => b[1] - a[1])
      .map(([why, n]) => `${n} listing(s) with under half their peers' views are ${why}`);
    return {
      listings_compared: compared.length,
      listings_without_peers: (wanted ? wanted.size : rows.length) - compared.length,
      window_days: params.window_days,
      behind_peers: behind.length,
      ahead_of_peers: compared.filter((c) => c.views_vs_peers !== null && c.views_vs_peers > 2).length,
      weakest: behind.slice(0, params.top),
      insights_generated: behind.length,
      recommendations,
      sources: { own_wardrobe: true, vinted_catalog_search: false },
    };
  };
}
