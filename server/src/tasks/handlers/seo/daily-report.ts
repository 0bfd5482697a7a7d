/**
 * `daily_seo_report` (the spec's periodic example): what changed on the seller's Vinted wardrobe over
 * the last `window_hours` — listings new and gone, views and favourites gained (from the stats
 * snapshots), the listings that moved most and those nobody looked at — and the content quality of
 * the new listings, so a seller reading it each morning knows what to fix first.
 */
import { z } from "zod";
import type { VintedModels, VintedProductDoc } from "../../../vinted/model.js";
import type { TaskHandler } from "../../executor/registry.js";
import { scoreListing } from "./audit.js";
import { vintedContent } from "./listings.js";

export const DailyReportParamsSchema = z.object({
  window_hours: z.number().int().min(1).max(24 * 31).default(24),
  top: z.number().int().min(1).max(50).default(10),
});

interface Gain {
  vinted_id: number;
  views: number;
  favourites: number;
}

/**
 * Per listing: the largest counts seen before `since` (views only grow) against those since. A
 * listing first seen in the window gained all it has; any other without an earlier snapshot cannot
 * be compared and is left out.
 */
async function gainsOverWindow(vinted: VintedModels, owner: number, since: Date, newIds: Set<number>): Promise<Gain[]> {
  const group = { $group: { _id: "$vinted_id", v: { $max: "$view_count" }, f: { $max: "$favourite_count" } } };
  const [before, after] = await Promise.all([
    vinted.StatsSnapshot.aggregate<{ _id: number; v: number; f: number }>([{ $match: { owner, captured_at: { $lt: since, $gte: new Date(since.getTime() - 7 * 86_400_000) } } }, group]),
    vinted.StatsSnapshot.aggregate<{ _id: number; v: number; f: number }>([{ $match: { owner, captured_at: { $gte: since } } }, group]),
  ]);
  const baseline = new Map(before.map((b) => [b._id, b]));
  return after.flatMap((a) => {
    const b = baseline.get(a._id) ?? (newIds.has(a._id) ? { v: 0, f: 0 } : null);
    return b ? [{ vinted_id: a._id, views: Math.max(0, a.v - b.v), favourites: Math.max(0, a.f - b.f) }] : [];
  });
}

export function dailySeoReportHandler(vinted: VintedModels): TaskHandler {
  return async (ctx) => {
    const params = DailyReportParamsSchema.parse(ctx.task.context_data ?? {});
    const owner = ctx.task.created_by;
    const until = new Date();
    const since = new Date(until.getTime() - params.window_hours * 3_600_000);

    await ctx.progress(10, "listings new and gone");
    const [created, gone, active] = await Promise.all([
      vinted.Product.find({ owner, first_seen_at: { $gte: since } }).lean<VintedProductDoc[]>(),
      vinted.Product.find({ owner, status: "gone", gone_at: { $gte: since } }, { vinted_id: 1, title: 1, gone_reason: 1 }).lean<VintedProductDoc[]>(),
      vinted.Product.countDocuments({ owner, status: "active" }),
    ]);
    ctx.throwIfStopped();
    await ctx.progress(40, "views and favourites gained");
    const gains = await gainsOverWindow(vinted, owner, since, new Set(created.map((p) => p.vinted_id)));
    ctx.throwIfStopped();

    const views = gains.reduce((n, g) => n + g.views, 0);
    const favourites = gains.reduce((n, g) => n + g.favourites, 0);
    const topIds = [...gains].sort((a, b) => b.views - a.views || a.vinted_id - b.vinted_id).slice(0, params.top);
    const titles = new Map(
      (await vinted.Product.find({ owner, vinted_id: { $in: topIds.map((g) => g.vinted_id) } }, { vinted_id: 1, title: 1 }).lean()).map((p) => [p.vinted_id, p.title]),
    );
    const idle = gains.filter((g) => g.views === 0);
    const activeIds = new Set((await vinted.Product.find({ owner, status: "active", vinted_id: { $in: idle.map((g) => g.vinted_id) } }, { vinted_id: 1 }).lean()).map((p) => p.vinted_id));
    const idleActive = idle.filter((g) => activeIds.has(g.vinted_id));

    await ctx.progress(80, "new listings' content");
    const newScores = created.filter((p) => p.status === "active").map((p) => ({ id: p.vinted_id, title: p.title, ...scoreListing(vintedContent(p)) }));
    const weakNew = newScores.filter((s) => s.score < 60).sort((a, b) => a.score - b.score);
    const goneByReason: Record<string, number> = {};
    for (const g of gone) goneByReason[g.gone_reason ?? "unknown"] = (goneByReason[g.gone_reason ?? "unknown"] ?? 0) + 1;

    const recommendations = [
      ...(weakNew.length ? [`Improve ${weakNew.length} new listing(s) scoring under 60 (e.g. ${weakNew.slice(0, 3).map((s) => s.id).join(", ")})`] : []),
      ...(idleActive.length ? [`${idleActive.length} active listing(s) got no view in the window: refresh their title, photos or price`] : []),
      ...(gains.length === 0 ? ["No stats snapshot in the window: run get_stats or a sync so the next report can compare"] : []),
    ];
    return {
      window: { since: since.toISOString(), until: until.toISOString(), hours: params.window_hours },
      active_listings: active,
      new_listings: created.length,
      gone_listings: gone.length,
      gone_by_reason: goneByReason,
      listings_with_stats: gains.length,
      views_gained: views,
      favourites_gained: favourites,
      top_movers: topIds.map((g) => ({ ...g, title: titles.get(g.vinted_id) ?? "" })),
      listings_without_views: idleActive.length,
      new_listings_average_score: newScores.length ? Math.round((newScores.reduce((n, s) => n + s.score, 0) / newScores.length) * 10) / 10 : null,
      weak_new_listings: weakNew.slice(0, params.top),
      insights_generated: recommendations.length + (topIds.length ? 1 : 0),
      recommendations,
    };
  };
}
