/**
 * seo_competitor_analysis with Vinted's catalog search: the analysis asks the seller's extension
 * for `vinted.search_items` tasks, waits for them suspended (no worker held), and folds the other
 * sellers' listings in; with no extension taking the searches in time it goes on with the
 * wardrobe alone and says so. The extension is played over HTTP by the plugin API's client side.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClaimedTask } from "../../shared/plugin.js";
import { keywordsOf } from "../../server/src/tasks/handlers/seo/listings.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { Seller, resultBody, storedTask } from "../plugin/helpers.js";
import { TaskApi, waitFor, type Body } from "./fixtures/tasks.js";
import { plantWardrobe, wardrobe, type WardrobeListing } from "./fixtures/wardrobe.js";

let server: TestServer;
let seller: Seller;
let api: TaskApi;
const listings: WardrobeListing[] = wardrobe(120, 7);
const active = listings.filter((l) => l.status === "active" && l.brand !== null && !l.title.startsWith("Vintage"));

beforeAll(async () => {
  server = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0", PLUGIN_LEASE_SWEEP_MS: "100" });
  await server.description.services.plugin.service.start();
  seller = new Seller(server, await server.register());
  api = new TaskApi(server.request, seller.token);
  await plantWardrobe(server.db.connection, seller.id, listings);
}, 120_000);
afterAll(async () => {
  await server?.description.services.plugin.service.stop();
  await server?.close();
});

/** The extension's next task, once the analysis has asked for one. */
async function nextSearch(): Promise<ClaimedTask> {
  const claimed = await waitFor(() => seller.poll(), (body) => body.task_id !== null, { what: "a search task to claim", intervalMs: 50 });
  expect((claimed as ClaimedTask).action).toBe("search_items");
  return claimed as ClaimedTask;
}

const price = (amount: number) => ({ amount: amount.toFixed(2), currency_code: "EUR" });

describe("seo_competitor_analysis with the extension's catalog search", () => {
  it("asks for one search per listing, waits suspended without a worker, and compares price and title words with other sellers'", async () => {
    const [cheap, dear] = [active[0], active[1]];
    const task = await api.create({ task_type: "seo_competitor_analysis", context_data: { vinted_ids: [cheap.vinted_id, dear.vinted_id], search_wait_seconds: 60 } });

    const first = await nextSearch();
    const params = first.params as Body;
    expect(params).toMatchObject({ order: "relevance", per_page: 48, max_pages: 1 });
    expect(String(params.search_text)).toContain(cheap.brand!);
    // The analysis waits for it without holding a server worker.
    const waiting = await api.waitForStatus(task.id, ["suspended"]);
    expect(waiting.progress_message).toContain(first.task_id);
    expect(await storedTask(server, waiting.task_id)).toMatchObject({ waiting_for: first.task_id, worker_id: null, run_token: null });

    // Six other sellers around 20 €, their titles all saying "oversize"; the seller's own listing shows up too and is left out.
    const others = (base: number, brand: string) => [
      ...[16, 18, 20, 22, 24, 26].map((p, i) => ({ id: 900_000 + base + i, title: `${brand} sweat oversize ${i}`, price: price(p), favourite_count: 4 + i, user: { id: 5 + i, login: `other${i}` } })),
      { id: cheap.vinted_id, title: cheap.title, price: price(cheap.price), user: { id: 1, login: "me" } },
    ];
    const answer = await seller.result(first.task_id, resultBody(first.lease_token, true, { items: others(0, cheap.brand!), total_entries: 250, pages_read: 1 }));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);

    const second = await nextSearch();
    expect(String((second.params as Body).search_text)).toContain(dear.brand!);
    expect((await seller.result(second.task_id, resultBody(second.lease_token, true, { items: others(100, dear.brand!), total_entries: 80, pages_read: 1 }))).status).toBe(200);

    const done = await api.waitForFinish(task.id);
    expect(done.status, String(done.error_message)).toBe("completed");
    const r = done.result_data as Body;
    expect(r.sources).toEqual({ own_wardrobe: true, vinted_catalog_search: true });
    const catalog = r.catalog_search as Body & { searches: Body[]; listings: Array<Body & { vinted_id: number }> };
    expect(catalog).toMatchObject({ status: "used", listings_compared: 2 });
    expect(catalog.searches).toEqual([
      expect.objectContaining({ task_id: first.task_id, status: "completed", competitors: 6, total_entries: 250 }),
      expect.objectContaining({ task_id: second.task_id, status: "completed", competitors: 6, total_entries: 80 }),
    ]);
    // Competitor prices 16…26: the middle half is 18.5–23.5 (linear percentiles), the median 21.
    const expectedPosition = (p: number) => (p < 18.5 ? "below" : p > 23.5 ? "above" : "within");
    for (const l of [cheap, dear]) {
      const row = catalog.listings.find((x) => x.vinted_id === l.vinted_id)!;
      expect(row).toMatchObject({ competitors: 6, price: l.price, competitor_median_price: 21, competitor_price_range: [18.5, 23.5], price_position: expectedPosition(l.price) });
      expect(row.price_percentile).toBe(Math.round(([16, 18, 20, 22, 24, 26].filter((p) => p < l.price).length / 6) * 100));
      const own = keywordsOf(`${l.title} ${l.description ?? ""}`);
      expect(row.missing_keywords).toEqual(["oversize", "sweat"].filter((w) => !own.has(w)));
    }
    expect(r.recommendations).toEqual(expect.arrayContaining([expect.stringContaining('"oversize" (2 listing(s) lack it)')]));
    // Both searches were the extension's: visible to the seller as plugin tasks, completed.
    expect((await seller.view(first.task_id)).status).toBe("completed");
  });

  it("with no extension taking the search in time, cancels it and compares with the seller's own listings, saying so", async () => {
    const task = await api.create({ task_type: "seo_competitor_analysis", context_data: { search_wait_seconds: 5, max_searches: 2 } });
    const done = await api.waitForFinish(task.id, 60_000);
    expect(done.status, String(done.error_message)).toBe("completed");
    const r = done.result_data as Body;
    expect(r.sources).toEqual({ own_wardrobe: true, vinted_catalog_search: false });
    const catalog = r.catalog_search as Body & { searches: Array<Body & { task_id: string }> };
    expect(catalog).toMatchObject({ status: "unavailable", listings_compared: 0, note: expect.stringContaining("compared with your own listings only") });
    expect(catalog.searches).toHaveLength(2);
    for (const search of catalog.searches) {
      expect(search).toMatchObject({ status: "cancelled", error: expect.stringContaining("within 5 s") });
      expect(await seller.view(search.task_id)).toMatchObject({ status: "cancelled", error_code: "NOT_CLAIMED" });
    }
    // The wardrobe comparison is there all the same.
    expect(r.listings_compared as number).toBeGreaterThan(0);
    // A search past its window is never handed out.
    expect((await seller.poll()).task_id).toBeNull();
  });
});
