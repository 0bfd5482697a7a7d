/**
 * `seo_keyword_analysis`: which words of the seller's titles and descriptions go with more views and
 * favourites (what each listing gained over the window, from its stats snapshots; its lifetime counts
 * when it has fewer than two), and which listings of the same brands lack the strongest ones.
 */
import { z } from "zod";
import type { VintedModels } from "../../../vinted/model.js";
import type { TaskHandler } from "../../executor/registry.js";
import { SLICE, activeListingSlice, gainsSince, keywordsOf, vintedContent } from "./listings.js";

export const KeywordAnalysisParamsSchema = z.object({
  /** How far back the views and favourites gained are counted. */
  window_days: z.number().int().min(1).max(365).default(30),
  /** A word must appear in at least this many listings to be judged. */
  min_listings: z.number().int().min(2).max(10_000).default(10),
  /** Words the seller wants reported whatever their frequency. */
  target_keywords: z.array(z.string().trim().min(1).max(100)).max(100).default([]),
  /** How many keywords to list as strongest and weakest. */
  top: z.number().int().min(1).max(100).default(15),
});

interface WordStats {
  /** listings, views, favourites, and the brands of the listings having it. */
  n: number;
  v: number;
  f: number;
  brands: Record<string, number>;
}

interface KeywordState {
  after: number;
  done: boolean;
  listings: number;
  views: number;
  favourites: number;
  words: Record<string, WordStats>;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

function performance(doc: { vinted_id: number; view_count: number | null; favourite_count: number | null }, gains: Map<number, { views: number; favourites: number; snapshots: number }>) {
  const gained = gains.get(doc.vinted_id);
  if (gained && gained.snapshots >= 2) return { views: gained.views, favourites: gained.favourites };
  return { views: doc.view_count ?? 0, favourites: doc.favourite_count ?? 0 };
}

function judge(word: string, s: WordStats, state: KeywordState) {
  const withoutN = state.listings - s.n;
  const meanWith = s.v / s.n;
  const meanWithout = withoutN > 0 ? (state.views - s.v) / withoutN : meanWith;
  const favWith = s.f / s.n;
  const favWithout = withoutN > 0 ? (state.favourites - s.f) / withoutN : favWith;
  return {
    keyword: word,
    listings: s.n,
    avg_views: round2(meanWith),
    avg_favourites: round2(favWith),
    views_lift: meanWithout > 0 ? round2(meanWith / meanWithout) : null,
    favourites_lift: favWithout > 0 ? round2(favWith / favWithout) : null,
  };
}

export function keywordAnalysisHandler(vinted: VintedModels): TaskHandler {
  return async (ctx) => {
    const params = KeywordAnalysisParamsSchema.parse(ctx.task.context_data ?? {});
    const owner = ctx.task.created_by;
    const since = new Date(Date.now() - params.window_days * 86_400_000);
    const state: KeywordState = (ctx.resumeFrom as KeywordState | null) ?? { after: 0, done: false, listings: 0, views: 0, favourites: 0, words: {} };
    const total = Math.max(1, await vinted.Product.countDocuments({ owner, status: "active" }));
    await ctx.progress(2, "reading the stats snapshots");
    const gains = await gainsSince(vinted, owner, since);

    while (!state.done) {
      ctx.throwIfStopped();
      const slice = await activeListingSlice(vinted, owner, state.after);
      for (const doc of slice) {
        const listing = vintedContent(doc);
        const perf = performance(doc, gains);
        state.listings++;
        state.views += perf.views;
        state.favourites += perf.favourites;
        for (const word of keywordsOf(`${listing.title} ${listing.description ?? ""}`)) {
          const s = (state.words[word] ??= { n: 0, v: 0, f: 0, brands: {} });
          s.n++;
          s.v += perf.views;
          s.f += perf.favourites;
          if (listing.brand) s.brands[listing.brand] = (s.brands[listing.brand] ?? 0) + 1;
        }
      }
      state.done = slice.length < SLICE;
      if (slice.length) state.after = slice[slice.length - 1].vinted_id;
      await ctx.checkpoint({ ...state }, Math.min(90, 5 + (state.listings / total) * 80));
    }

    await ctx.progress(92, "ranking keywords");
    // A word on (nearly) every listing says nothing about which do better.
    const judged = Object.entries(state.words)
      .filter(([, s]) => s.n >= params.min_listings && s.n <= state.listings * 0.9)
      .map(([w, s]) => judge(w, s, state))
      .filter((k) => k.views_lift !== null);
    const strongest = [...judged].sort((a, b) => b.views_lift! - a.views_lift! || b.listings - a.listings).slice(0, params.top);
    const weakest = [...judged].sort((a, b) => a.views_lift! - b.views_lift! || b.listings - a.listings).slice(0, params.top);
    const targets = params.target_keywords.map((t) => {
      const word = t.toLowerCase();
      const s = state.words[word];
      return s ? judge(word, s, state) : { keyword: word, listings: 0, avg_views: null, avg_favourites: null, views_lift: null, favourites_lift: null };
    });

    const lacking = await listingsLacking(vinted, owner, strongest.filter((k) => k.views_lift! > 1.2).slice(0, 5), state);
    const recommendations = [
      ...lacking.map(
        (l) =>
          `Use "${l.keyword}" where it is true: listings with it gain ${l.views_lift}× the views of the others; ${l.lacking_count} listing(s) of ${l.brands.join(", ")} lack it`,
      ),
      ...weakest.filter((k) => k.views_lift! < 0.8).slice(0, 3).map((k) => `"${k.keyword}" goes with ${k.views_lift}× the views (${k.listings} listings): consider other words`),
      ...targets.filter((k) => k.listings === 0).map((k) => `Target keyword "${k.keyword}" appears in no listing`),
    ];
    return {
      listings_analyzed: state.listings,
      window_days: params.window_days,
      keywords_processed: Object.keys(state.words).length,
      keywords_judged: judged.length,
      insights_generated: strongest.length + weakest.length + lacking.length,
      strongest_keywords: strongest,
      weakest_keywords: weakest,
      target_keywords: targets,
      listings_lacking_strong_keywords: lacking,
      recommendations,
    };
  };
}

/** For each strong keyword: the listings of the brands it mostly comes with whose text lacks it. */
async function listingsLacking(vinted: VintedModels, owner: number, strong: ReturnType<typeof judge>[], state: KeywordState) {
  const out = [];
  for (const k of strong) {
    const brands = Object.entries(state.words[k.keyword].brands)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([b]) => b);
    if (brands.length === 0) continue;
    const candidates = await vinted.Product.find({ owner, status: "active", brand_title: { $in: brands } }, { vinted_id: 1, title: 1, raw: 1 }).lean();
    const lacking = candidates.filter((c) => !keywordsOf(`${c.title ?? ""} ${typeof c.raw?.description === "string" ? c.raw.description : ""}`).has(k.keyword));
    out.push({ ...k, brands, lacking_count: lacking.length, lacking_sample: lacking.slice(0, 10).map((c) => c.vinted_id) });
  }
  return out;
}
