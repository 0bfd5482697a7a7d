/**
 * `seo_competitor_analysis`: each listing against the similar ones of the seller's own wardrobe —
 * same brand and size (the peers a buyer filtering Vinted sees side by side), or same brand when
 * that group is too small — on price, views and favourites gained, photos and title length; and,
 * when the seller's extension answers, against other sellers' listings from Vinted's catalog search
 * (`vinted.search_items`): price position and the title words competitors use that it lacks.
 *
 * The searches are extension tasks: the analysis asks for them, then waits without holding a
 * worker (suspended until they end, as a Vinted publication waits), and runs again to fold them
 * in. A search no extension takes within `search_wait_seconds` is cancelled, and the analysis
 * says it compared with the seller's own listings only.
 */
import { z } from "zod";
import type { CatalogSearchPort, CatalogSearchState } from "../../../plugin/catalog-searches.js";
import type { VintedModels, VintedProductDoc } from "../../../vinted/model.js";
import { TaskWaiting, type TaskContext, type TaskHandler } from "../../executor/registry.js";
import { catalogRecommendations, compareWithCatalog, competitorsIn, groupSubjects, listingSubjects, type ListingVsCatalog, type SearchSubject } from "./catalog-competition.js";
import { gainsSince, vintedContent } from "./listings.js";

export const CompetitorAnalysisParamsSchema = z.object({
  /** Only these listings are compared (all active ones otherwise). */
  vinted_ids: z.array(z.number().int().positive()).min(1).max(5_000).optional(),
  window_days: z.number().int().min(1).max(365).default(30),
  /** A peer group needs at least this many other listings. */
  min_peers: z.number().int().min(1).max(100).default(3),
  top: z.number().int().min(1).max(100).default(20),
  /** Also compare with other sellers' listings through the seller's extension (Vinted catalog search). */
  vinted_search: z.boolean().default(true),
  /** How long the extension has to take each search; past it the analysis goes on with the wardrobe alone. */
  search_wait_seconds: z.number().int().min(5).max(900).default(120),
  /** Searches asked for: one per listing of `vinted_ids`, else one per largest brand-and-size group. */
  max_searches: z.number().int().min(1).max(10).default(3),
});
type CompetitorParams = z.infer<typeof CompetitorAnalysisParamsSchema>;

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

interface CatalogOutcome {
  summary: Record<string, unknown>;
  rows: ListingVsCatalog[];
  used: boolean;
}

function searchSubjects(docs: VintedProductDoc[], params: CompetitorParams): SearchSubject[] {
  if (!params.vinted_ids) return groupSubjects(docs, params.max_searches);
  const wanted = new Set(params.vinted_ids);
  return listingSubjects(docs.filter((d) => wanted.has(d.vinted_id)), params.max_searches);
}

/**
 * Asks for the searches (once), waits while any is unanswered (TaskWaiting: the run ends, the task
 * is suspended until that search ends), then compares each listing with the competitors found.
 */
async function catalogComparison(ctx: TaskContext, port: CatalogSearchPort | null, docs: VintedProductDoc[], params: CompetitorParams): Promise<CatalogOutcome> {
  if (!params.vinted_search || !port) return { used: false, rows: [], summary: { status: "off", note: "Vinted catalog search not asked for: compared with your own listings only" } };
  const subjects = searchSubjects(docs, params);
  if (subjects.length === 0) return { used: false, rows: [], summary: { status: "off", note: "No listing with a brand or title words to search for: compared with your own listings only" } };
  const states = await port.ensure({ asker: ctx.task, searches: subjects.map((s) => s.params), claimWithinSeconds: params.search_wait_seconds });
  const waiting = states.find((s) => s.state === "waiting");
  if (waiting) {
    await ctx.progress(20, `waiting for the extension's Vinted catalog search (${states.filter((s) => s.state !== "waiting").length}/${states.length} answered)`);
    throw new TaskWaiting(waiting.task_id, `Waiting for the extension's Vinted catalog search (task ${waiting.task_id})`);
  }
  return foldSearches(docs, subjects, states, params);
}

function foldSearches(docs: VintedProductDoc[], subjects: SearchSubject[], states: CatalogSearchState[], params: CompetitorParams): CatalogOutcome {
  const byId = new Map(docs.map((d) => [d.vinted_id, d]));
  const ownIds = new Set(byId.keys());
  const rows: ListingVsCatalog[] = [];
  const searches = subjects.map((subject, i) => {
    const state = states[i];
    const search = subject.params.search_text ?? subject.label;
    if (state.state !== "done") return { task_id: state.task_id, search, status: state.state === "failed" ? state.status : "waiting", error: state.state === "failed" ? state.error : null, competitors: 0 };
    const competitors = competitorsIn(state.result, ownIds);
    for (const id of subject.vinted_ids) {
      const doc = byId.get(id);
      if (doc) rows.push(compareWithCatalog(doc, search, competitors));
    }
    return { task_id: state.task_id, search, status: "completed", error: null, competitors: competitors.length, total_entries: state.result.total_entries };
  });
  const answered = searches.filter((s) => s.status === "completed").length;
  const note =
    answered === searches.length
      ? `Compared with ${rows.length} listing(s)' competitors from ${answered} Vinted catalog search(es) made by your extension`
      : answered === 0
        ? `No Vinted catalog search could be made (no extension took it within ${params.search_wait_seconds} s, or it failed): compared with your own listings only`
        : `${searches.length - answered} of ${searches.length} Vinted catalog searches could not be made: the others were used`;
  const position = (p: string) => rows.filter((r) => r.price_position === p).length;
  const order = { above: 0, below: 1, within: 2 } as const;
  rows.sort((a, b) => (order[a.price_position ?? "within"] - order[b.price_position ?? "within"]) || (b.price_percentile ?? 0) - (a.price_percentile ?? 0) || a.vinted_id - b.vinted_id);
  return {
    used: answered > 0,
    rows,
    summary: {
      status: answered === searches.length ? "used" : answered === 0 ? "unavailable" : "partial",
      note,
      searches,
      listings_compared: rows.length,
      price_positions: { above: position("above"), within: position("within"), below: position("below") },
      listings: rows.slice(0, params.top),
    },
  };
}

export function competitorAnalysisHandler(vinted: VintedModels, searches: CatalogSearchPort | null = null): TaskHandler {
  return async (ctx) => {
    const params = CompetitorAnalysisParamsSchema.parse(ctx.task.context_data ?? {});
    const owner = ctx.task.created_by;
    await ctx.progress(5, "reading listings and their stats");
    const docs = await vinted.Product.find({ owner, status: "active" }).lean<VintedProductDoc[]>();
    const catalog = await catalogComparison(ctx, searches, docs, params);
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
    const catalogAdvice = catalogRecommendations(catalog.rows);
    const recommendations = [
      ...Object.entries(reasonCounts)
        .sort((a, b) => b[1] - a[1])
        .map(([why, n]) => `${n} listing(s) with under half their peers' views are ${why}`),
      ...catalogAdvice,
    ];
    return {
      listings_compared: compared.length,
      listings_without_peers: (wanted ? wanted.size : rows.length) - compared.length,
      window_days: params.window_days,
      behind_peers: behind.length,
      ahead_of_peers: compared.filter((c) => c.views_vs_peers !== null && c.views_vs_peers > 2).length,
      weakest: behind.slice(0, params.top),
      insights_generated: behind.length + catalog.rows.filter((r) => r.price_position !== "within" || r.missing_keywords.length > 0).length,
      recommendations,
      catalog_search: catalog.summary,
      sources: { own_wardrobe: true, vinted_catalog_search: catalog.used },
    };
  };
}
