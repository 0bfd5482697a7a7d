/**
 * The SEO task types over a seller's synced wardrobe of 1,595 listings with a month of daily stats
 * snapshots (fixtures/wardrobe.ts): what each finds is derived here from the generated data, over
 * HTTP, through the spec's POST /tasks/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keywordsOf, vintedContent } from "../../server/src/tasks/handlers/seo/listings.js";
import { scoreListing } from "../../server/src/tasks/handlers/seo/audit.js";
import { vintedModels } from "../../server/src/vinted/model.js";
import { startTestServer, type RegisteredUser, type TestServer } from "../helpers/app.js";
import { TaskApi, type Body } from "./fixtures/tasks.js";
import { plantWardrobe, wardrobe, type WardrobeListing } from "./fixtures/wardrobe.js";

let server: TestServer;
let seller: RegisteredUser;
let api: TaskApi;
const listings: WardrobeListing[] = wardrobe();
const active = listings.filter((l) => l.status === "active");

beforeAll(async () => {
  server = await startTestServer();
  seller = await server.register();
  api = new TaskApi(server.request, seller.access_token);
  await plantWardrobe(server.db.connection, seller.user.id, listings);
  const product = await server.request("POST", "/api/v1/products/", { token: seller.access_token, body: { title: "Veste", price: 30 } });
  expect(product.status, JSON.stringify(product.body)).toBe(201);
}, 120_000);
afterAll(() => server?.close());

async function run(taskType: string, contextData: Body = {}) {
  const task = await api.create({ task_type: taskType, context_data: contextData });
  const done = await api.waitForFinish(task.id, 60_000);
  expect(done.status, JSON.stringify(done.error_message)).toBe("completed");
  return done;
}

describe("seo_content_audit", () => {
  it("scores every active listing and counts each shortfall; the catalog is audited too", async () => {
    const done = await run("seo_content_audit");
    const r = done.result_data as Body;
    expect(r.listings_audited).toBe(active.length);
    const issues = r.issues as Record<string, number>;
    expect(issues.no_description).toBe(active.filter((l) => l.description === null).length);
    expect(issues.short_description).toBe(active.filter((l) => l.description === "Bon état.").length);
    expect(issues.no_photos).toBe(active.filter((l) => l.photos === 0).length);
    expect(issues.few_photos).toBe(active.filter((l) => l.photos > 0 && l.photos < 5).length);
    expect(issues.missing_brand).toBe(active.filter((l) => l.brand === null).length);
    expect(issues.missing_size).toBe(active.filter((l) => l.size === null).length);
    expect(issues.title_too_short).toBe(active.filter((l) => l.title.length < 30).length);
    const bands = r.score_distribution as Record<string, number>;
    expect(Object.values(bands).reduce((a, b) => a + b, 0)).toBe(active.length);
    const worst = r.worst_listings as Array<{ id: number; score: number }>;
    expect(worst).toHaveLength(20);
    expect(worst.map((w) => w.score)).toEqual([...worst.map((w) => w.score)].sort((a, b) => a - b));
    expect(r.catalog).toMatchObject({ listings_audited: 1, issues: { no_description: 1, no_photos: 1, title_too_short: 1 } });
    const recommendations = r.recommendations as string[];
    expect(recommendations).toContain(`Vinted: Write a description (material, measurements, defects): ${issues.no_description} listings`);
    // The most widespread shortfall first.
    const counts = recommendations.filter((t) => t.startsWith("Vinted:")).map((t) => Number(/: (\d+) listings?$/.exec(t)![1]));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(counts[0]).toBe(Math.max(...Object.values(issues)));
    expect(r.insights_generated).toBe((r.recommendations as string[]).length);
    // Long enough to checkpoint: one per slice of 500 listings, then the catalog.
    expect(done.persistent_job?.checkpoint_count).toBeGreaterThanOrEqual(4);
    expect(done.metrics).toMatchObject({ cost_usd: 0 });
    expect(done.progress_percentage).toBe(100);
  });
});

describe("seo_keyword_analysis", () => {
  it("finds the word that goes with more views, and the listings of the same brands lacking it", async () => {
    const done = await run("seo_keyword_analysis", { target_keywords: ["vintage", "cachemire"] });
    const r = done.result_data as Body;
    expect(r.listings_analyzed).toBe(active.length);
    const words = new Set(active.flatMap((l) => [...keywordsOf(`${l.title} ${l.description ?? ""}`)]));
    expect(r.keywords_processed).toBe(words.size);
    const strongest = r.strongest_keywords as Array<{ keyword: string; listings: number; views_lift: number }>;
    expect(strongest[0].keyword).toBe("vintage");
    const hasVintage = (l: WardrobeListing) => l.title.startsWith("Vintage ");
    const withIt = active.filter(hasVintage);
    expect(strongest[0].listings).toBe(withIt.length);
    // Views gained over the 30 snapshots (29 days); a listing new today has one, so its lifetime views count.
    const mean = (ls: WardrobeListing[]) => ls.reduce((n, l) => n + l.daily_views * (l.new_today ? 1 : 29), 0) / ls.length;
    expect(strongest[0].views_lift).toBeCloseTo(mean(withIt) / mean(active.filter((l) => !hasVintage(l))), 1);
    const targets = r.target_keywords as Array<{ keyword: string; listings: number }>;
    expect(targets).toEqual([expect.objectContaining({ keyword: "vintage", listings: withIt.length }), expect.objectContaining({ keyword: "cachemire", listings: 0 })]);
    const lacking = (r.listings_lacking_strong_keywords as Array<{ keyword: string; brands: string[]; lacking_count: number }>).find((l) => l.keyword === "vintage")!;
    expect(lacking.lacking_count).toBe(active.filter((l) => l.brand !== null && lacking.brands.includes(l.brand) && !hasVintage(l)).length);
    expect((r.recommendations as string[])[0]).toContain('"vintage"');
    expect((r.recommendations as string[])).toContain('Target keyword "cachemire" appears in no listing');
    expect(r.insights_generated).toBeGreaterThan(0);
    expect(done.persistent_job?.checkpoint_count).toBeGreaterThanOrEqual(4);
  });
});

describe("seo_competitor_analysis", () => {
  it("compares each listing with its own wardrobe's peers (same brand and size) and names why it lags", async () => {
    const done = await run("seo_competitor_analysis", { vinted_search: false });
    const r = done.result_data as Body;
    const branded = active.filter((l) => l.brand !== null);
    expect(r.listings_compared).toBe(branded.length);
    expect(r.listings_without_peers).toBe(active.length - branded.length);
    const idle = branded.filter((l) => l.daily_views === 0);
    expect(r.behind_peers as number).toBeGreaterThanOrEqual(idle.length);
    const weakest = r.weakest as Array<{ vinted_id: number; views: number; peer_group: string; peers: number; views_vs_peers: number }>;
    expect(weakest.slice(0, idle.length).map((w) => w.vinted_id).sort()).toEqual(idle.map((l) => l.vinted_id).slice(0, weakest.length).sort());
    expect(weakest[0]).toMatchObject({ views: 0, views_vs_peers: 0, peer_group: "brand_and_size" });
    expect(weakest[0].peers).toBeGreaterThanOrEqual(3);
    expect(r.sources).toEqual({ own_wardrobe: true, vinted_catalog_search: false });
    expect(r.catalog_search).toMatchObject({ status: "off" });
    expect(r.insights_generated).toBe(r.behind_peers);
  });
});

describe("daily_seo_report", () => {
  it("reports the last day's new and gone listings, views gained, idle listings and weak new ones", async () => {
    const done = await run("daily_seo_report");
    const r = done.result_data as Body;
    const newOnes = listings.filter((l) => l.new_today);
    expect(r.active_listings).toBe(active.length);
    expect(r.new_listings).toBe(newOnes.length);
    expect(r.gone_listings).toBe(listings.filter((l) => l.gone_today).length);
    expect(r.gone_by_reason).toEqual({ closed: listings.filter((l) => l.gone_today).length });
    expect(r.views_gained).toBe(listings.reduce((n, l) => n + l.daily_views, 0));
    expect(r.favourites_gained).toBe(listings.reduce((n, l) => n + l.daily_favourites, 0));
    expect(r.listings_without_views).toBe(active.filter((l) => l.daily_views === 0).length);
    const top = r.top_movers as Array<{ vinted_id: number; views: number }>;
    expect(top[0].views).toBe(Math.max(...listings.map((l) => l.daily_views)));
    // The new listings' scores, as the audit computes them from what is stored.
    const stored = await vintedModels(server.db.connection).Product.find({ owner: seller.user.id, vinted_id: { $in: newOnes.map((l) => l.vinted_id) }, status: "active" }).lean();
    const weak = stored.map((p) => scoreListing(vintedContent(p)).score).filter((s) => s < 60);
    expect((r.weak_new_listings as unknown[]).length).toBe(Math.min(10, weak.length));
    expect(r.recommendations).toEqual(expect.arrayContaining([expect.stringMatching(/got no view in the window/)]));
  });

  it("can be scheduled daily, as the spec's periodic example", async () => {
    const res = await api.call<Body>("POST", "/tasks/scheduled/periodic-tasks/", { name: "Daily SEO report", task_type: "daily_seo_report", cron_expression: "0 7 * * *", timezone: "Europe/Paris" });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
});

describe("parameters", () => {
  it("are checked when the task is created", async () => {
    const res = await api.call<Body>("POST", "/tasks/", { task_type: "seo_keyword_analysis", context_data: { window_days: 0 } });
    expect(res.status).toBe(400);
    expect(res.body.field_errors).toHaveProperty(["context_data.window_days"]);
  });
});
