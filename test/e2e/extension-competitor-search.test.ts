/**
 * The built extension in real Chromium performs `vinted.search_items` against the fake Vinted's
 * catalog search, for a competitor analysis the REAL MarketHub server runs: the analysis asks for
 * the search, waits for the extension's answer, and compares the seller's listing with the other
 * sellers' listings the extension found.
 */
import type { Page } from "puppeteer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TaskView } from "../../shared/tasks.js";
import type { FakeVinted } from "../fixtures/fake-vinted/index.js";
import { ExtensionSession } from "./harness/extension-session.js";
import { waitUntil, type MarketHub } from "./harness/markethub.js";

/** Other sellers' "Sweat Nike" listings, and one the search must not find (another brand). */
const COMPETITOR_PRICES = [16, 18, 20, 22, 24, 26];

type Body = Record<string, unknown>;

describe("extension + real MarketHub server in chromium: catalog search for competitor analysis", () => {
  let session: ExtensionSession;
  let vinted: FakeVinted;
  let hub: MarketHub;
  let vintedTab: Page | undefined;

  beforeAll(async () => {
    session = await ExtensionSession.start("chromium", { vinted: { totalItems: 30 } });
    ({ vinted, hub } = session);
    const mine = vinted.state.items[0]!;
    Object.assign(mine, { title: "Sweat Nike", price: "30.00" });
    vinted.state.catalog = [
      ...COMPETITOR_PRICES.map((p, i) => ({
        id: 8_000_000_000 + i, title: `Sweat Nike oversize ${["noir", "gris", "bleu", "vert", "rouge", "blanc"][i]}`, price: `${p}.00`, brand_id: 53, brand: "Nike", size_id: 206, size: "M",
        catalog_id: 5, favourite_count: 3 + i, view_count: 40 + i, created_at: Date.now() - i * 60_000, user: { id: 100 + i, login: `seller${i}` },
      })),
      { id: 8_000_000_100, title: "Sweat Adidas oversize", price: "12.00", brand_id: 14, brand: "Adidas", size_id: 206, size: "M", catalog_id: 5, favourite_count: 1, view_count: 5, created_at: Date.now(), user: { id: 200, login: "elsewhere" } },
    ];
    await session.logIn();
    vintedTab = await session.openVintedTab();
  }, 180_000);

  afterAll(() => session?.close(), 60_000);

  it("the analysis's search runs in the seller's Vinted tab and its results are compared with the listing", { timeout: 180_000 }, async () => {
    const { task_id: syncId } = await hub.seller.syncVinted();
    expect(await hub.seller.waitForTask(syncId, 90_000)).toMatchObject({ status: "completed" });
    const mine = vinted.state.items[0]!;

    const token = hub.seller.user.access_token;
    const created = await hub.server.request<TaskView>("POST", "/tasks/", { token, body: { task_type: "seo_competitor_analysis", context_data: { vinted_ids: [mine.id], search_wait_seconds: 120 } } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const done = await waitUntil(
      "the competitor analysis to finish",
      async () => {
        const t = (await hub.server.request<TaskView>("GET", `/tasks/${created.body.id}/`, { token })).body;
        return ["completed", "failed", "cancelled"].includes(t.status) ? t : undefined;
      },
      150_000,
      250,
    );
    expect(done.status, String(done.error_message)).toBe("completed");

    // The extension asked the fake Vinted's catalog search, from the page, with the listing's words.
    const searches = vinted.state.requests.filter((r) => r.path === "/api/v2/catalog/items");
    expect(searches.map((r) => [r.status, r.query.search_text, r.query.order])).toEqual([[200, "Nike sweat", "relevance"]]);
    const r = done.result_data as Body;
    expect(r.sources).toEqual({ own_wardrobe: true, vinted_catalog_search: true });
    const catalog = r.catalog_search as Body & { searches: Array<Body & { task_id: string }>; listings: Body[] };
    expect(catalog).toMatchObject({ status: "used", listings_compared: 1 });
    // The seller's own listing is found too, and left out: six competitors, not the Adidas one.
    expect(catalog.searches).toEqual([expect.objectContaining({ status: "completed", competitors: 6, total_entries: 7 })]);
    expect(catalog.listings).toEqual([
      expect.objectContaining({ vinted_id: mine.id, price: 30, competitor_median_price: 21, competitor_price_range: [18.5, 23.5], price_position: "above", price_percentile: 100, missing_keywords: ["oversize"] }),
    ]);
    expect(r.recommendations).toEqual(expect.arrayContaining([expect.stringContaining("priced above"), expect.stringContaining('"oversize"')]));
    // The search was an extension task like the others, run by the extension.
    const search = await hub.seller.task(catalog.searches[0]!.task_id);
    expect(search).toMatchObject({ action: "search_items", status: "completed", attempt: 1 });
    expect(hub.served("POST", `/api/plugin/tasks/${search.task_id}/result`).map((x) => x.status)).toEqual([200]);
    expect(vintedTab).toBeDefined();
  });
});
