/**
 * Results applied to the seller's Vinted data: listings upserted as sync pages arrive, gone only on
 * Vinted's word or a COMPLETE sync, writes reflected, account and stats snapshots; the read API.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClaimedTask } from "../../shared/plugin.js";
import { VintedAccountViewSchema, VintedProductDetailSchema, VintedProductListResponseSchema, type VintedProductView } from "../../shared/vinted.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { expireLease, listing, newSeller, resultBody, storedTask, type Body, type Seller } from "./helpers.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0" });
});
afterAll(() => server?.close());

async function products(seller: Seller, query = "status=all"): Promise<VintedProductView[]> {
  const res = await seller.request("GET", `/api/v1/vinted/products?${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return VintedProductListResponseSchema.parse(res.body).results;
}

const byId = (list: VintedProductView[]) => Object.fromEntries(list.map((p) => [p.vinted_id, p]));

function page(n: number, totalPages: number, items: Body[], totalEntries = totalPages * 2) {
  return { current: n, total: totalPages, message: `page ${n}/${totalPages}`, partial: { page: n, total_pages: totalPages, total_entries: totalEntries, items } };
}

/** A sync whose pages are sent in heartbeats; returns the claimed task. */
async function syncPages(seller: Seller, pages: Body[][]): Promise<ClaimedTask> {
  const started = await seller.request<{ task_id: string }>("POST", "/api/sync/vinted");
  expect(started.status).toBe(200);
  const claimed = await seller.claim();
  expect(claimed.task_id).toBe(started.body.task_id);
  for (const [i, items] of pages.entries()) {
    const beat = await seller.heartbeat(claimed.task_id, { lease_token: claimed.lease_token, progress: page(i + 1, 3, items) });
    expect(beat.status).toBe(200);
  }
  return claimed;
}

describe("get_all_products", () => {
  it("a sync cut off at page 2 of 3 keeps those pages and marks nothing gone", async () => {
    const seller = await newSeller(server);
    // An earlier complete sync knew listings 1..6.
    const first = await syncPages(seller, []);
    const all = [1, 2, 3, 4, 5, 6].map((id) => listing(id, `Item ${id}`));
    expect((await seller.result(first.task_id, resultBody(first.lease_token, true, { products: all, total: 6, complete: true, pages: 3 }))).status).toBe(200);
    expect((await products(seller, "status=active")).length).toBe(6);

    // Next sync: pages 1 and 2 arrive (one price changed, one listing new), then the tab closes.
    const cut = await syncPages(seller, [
      [listing(1, "Item 1", { price: { amount: "9.99", currency_code: "EUR" } }), listing(2, "Item 2")],
      [listing(3, "Item 3"), listing(7, "New item 7")],
    ]);
    const mid = byId(await products(seller));
    expect(mid[1]).toMatchObject({ price: "9.99", currency: "EUR", status: "active" });
    expect(mid[7]).toMatchObject({ title: "New item 7", status: "active", brand_title: "Nike", size_title: "M", condition: "Très bon état" });
    expect(Object.keys(mid)).toHaveLength(7);

    // The lease runs out, the sync fails for good: still nothing is gone.
    await expireLease(server, cut.task_id);
    const failed = await seller.result(cut.task_id, resultBody(cut.lease_token, false, undefined, { error: "tab closed", error_code: "CANCELLED" }));
    expect(failed.status).toBe(409);
    const after = await products(seller, "status=active");
    expect(after.map((p) => p.vinted_id).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await products(seller, "status=gone")).toEqual([]);
  });

  it("a COMPLETE sync marks the listings it no longer has as gone; is_closed marks gone at once", async () => {
    const seller = await newSeller(server);
    const first = await syncPages(seller, []);
    const all = [11, 12, 13, 14].map((id) => listing(id, `Item ${id}`));
    await seller.result(first.task_id, resultBody(first.lease_token, true, { products: all, total: 4, complete: true, pages: 1 }));

    const second = await syncPages(seller, [[listing(11, "Item 11"), listing(12, "Item 12", { is_closed: true })]]);
    expect(byId(await products(seller))[12]).toMatchObject({ status: "gone", gone_reason: "closed" });
    const res = await seller.result(
      second.task_id,
      resultBody(second.lease_token, true, { products: [listing(11, "Item 11"), listing(12, "Item 12", { is_closed: true }), listing(15, "Item 15")], total: 3, complete: true, pages: 1 }),
    );
    expect(res.status).toBe(200);
    const stored = await storedTask(server, second.task_id);
    expect(stored.result_data).toMatchObject({ total: 3, pages: 1, complete: true, marked_gone: 2, gone_marking_skipped: null });
    expect(stored.result_data).not.toHaveProperty("products");

    const now = byId(await products(seller));
    expect(now[11].status).toBe("active");
    expect(now[12]).toMatchObject({ status: "gone", gone_reason: "closed" });
    expect(now[13]).toMatchObject({ status: "gone", gone_reason: "missing_from_complete_sync" });
    expect(now[14]).toMatchObject({ status: "gone", gone_reason: "missing_from_complete_sync" });
    expect(now[15].status).toBe("active");
    expect((await products(seller)).length).toBe(5);
    expect((await products(seller, "status=active")).map((p) => p.vinted_id).sort()).toEqual([11, 15]);
  });

  it("a 'complete' result with far fewer listings than its pages announced marks nothing gone", async () => {
    const seller = await newSeller(server);
    const first = await syncPages(seller, []);
    await seller.result(first.task_id, resultBody(first.lease_token, true, { products: [21, 22, 23, 24].map((id) => listing(id, `x${id}`)), total: 4, complete: true, pages: 1 }));
    const second = await seller.request<{ task_id: string }>("POST", "/api/sync/vinted");
    const claimed = await seller.claim();
    await seller.heartbeat(second.body.task_id, { lease_token: claimed.lease_token, progress: page(1, 3, [listing(21, "x21")], 240) });
    await seller.result(claimed.task_id, resultBody(claimed.lease_token, true, { products: [listing(21, "x21")], total: 1, complete: true, pages: 1 }));
    expect((await products(seller, "status=active")).length).toBe(4);
    expect((await storedTask(server, claimed.task_id)).result_data).toMatchObject({ marked_gone: 0, gone_marking_skipped: expect.stringContaining("240") });
  });

  it("a listing created while a sync runs is not marked gone by it", async () => {
    const seller = await newSeller(server);
    const sync = await syncPages(seller, [[listing(31, "x31")]]);
    const create = await seller.create("create_product");
    const createClaim = await seller.claim();
    expect(createClaim.task_id).toBe(create.task_id);
    await seller.result(create.task_id, resultBody(createClaim.lease_token, true, { item: { id: 32, title: "T-shirt Nike Noir", price: "15.00" } }));
    await seller.result(sync.task_id, resultBody(sync.lease_token, true, { products: [listing(31, "x31")], total: 1, complete: true, pages: 1 }));
    expect((await products(seller, "status=active")).map((p) => p.vinted_id).sort()).toEqual([31, 32]);
  });

  it("a listing field of an unexpected type is left out and reported; unknown fields pass; the rest of the sync applies", async () => {
    const seller = await newSeller(server);
    const sync = await syncPages(seller, []);
    const sent = [
      listing(31, "Item 31", { view_count: "many", favourite_count: 3, a_field_vinted_added: { nested: true } }),
      listing(32, "Item 32", { price: { amount: "lots" } }),
      listing(33, "Item 33", { new_badge: "hot" }),
      { id: "x34", title: "an id that is not one" },
    ];
    const res = await seller.result(sync.task_id, resultBody(sync.lease_token, true, { products: sent, total: 4, complete: true, pages: 1 }));
    expect(res.status).toBe(200);
    expect(res.body.message).toMatch(/unexpected type/);

    const stored = byId(await products(seller));
    expect(Object.keys(stored).map(Number)).toEqual([31, 32, 33]);
    expect(stored[31]).toMatchObject({ title: "Item 31", view_count: null, favourite_count: 3, price: "31.50" });
    expect(stored[32]).toMatchObject({ title: "Item 32", price: null, view_count: 320 });
    expect(stored[33]).toMatchObject({ title: "Item 33", price: "33.50", view_count: 330 });

    const task = await storedTask(server, sync.task_id);
    expect(task.status).toBe("completed");
    const problems = (task.error_details?.data_problems ?? []) as string[];
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^listing 31: view_count: /);
    expect(problems[1]).toMatch(/^listing 32: price/);
    expect(problems[2]).toMatch(/^item #4 \(not stored\): id: /);
  });
});

describe("writes and reads", () => {
  it("create, update, update_prices and delete change the stored listings", async () => {
    const seller = await newSeller(server);
    const run = async (action: Parameters<Seller["create"]>[0], params: Body, data: unknown) => {
      const task = await seller.create(action, params);
      const claimed = await seller.claim();
      const res = await seller.result(task.task_id, resultBody(claimed.lease_token, true, data));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    };
    await run(
      "create_product",
      { title: "Robe", description: "d", price: "20.00", brand_id: 1, size_id: 2, catalog_id: 3, color_ids: [], status_ids: [6] },
      { item: { id: 41, title: "Robe", price: { amount: "20.0", currency_code: "EUR" }, url: "https://www.vinted.fr/items/41" } },
    );
    await run("create_product", { title: "Jupe", description: "d", price: "8.00", brand_id: 1, size_id: 2, catalog_id: 3, color_ids: [], status_ids: [6] }, { item: { id: 42, title: "Jupe", price: "8.00" } });
    expect(byId(await products(seller))[41]).toMatchObject({ title: "Robe", price: "20.00", currency: "EUR", status: "active" });

    await run("update_product", { item_id: 41, title: "Robe d'été" }, { item: { id: 41 } });
    expect(byId(await products(seller))[41]).toMatchObject({ title: "Robe d'été", price: "20.00" });

    await run("update_prices", { updates: [{ item_id: 41, price: "18.50" }, { item_id: 42, price: "7.00" }] }, {
      updated: 1, failed: 1, total: 2,
      results: [{ item_id: 41, success: true }, { item_id: 42, success: false, error: "refused", error_code: "VINTED_VALIDATION_ERROR" }],
    });
    const priced = byId(await products(seller));
    expect(priced[41].price).toBe("18.50");
    expect(priced[42].price).toBe("8.00");

    await run("delete_product", { item_id: 42 }, { success: true, item_id: 42 });
    expect(byId(await products(seller))[42]).toMatchObject({ status: "gone", gone_reason: "deleted" });
  });

  it("update_prices records a listing the server never synced when Vinted's answer carries it", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("update_prices", { updates: [{ item_id: 77, price: "12.00" }, { item_id: 78, price: "5.00" }] });
    const claimed = await seller.claim();
    const res = await seller.result(task.task_id, resultBody(claimed.lease_token, true, {
      updated: 1, failed: 1, total: 2,
      results: [
        { item_id: 77, success: true, item: { id: 77, title: "Veste en jean", price: { amount: "12.0", currency_code: "EUR" } } },
        { item_id: 78, success: false, error: "refused", error_code: "VINTED_VALIDATION_ERROR" },
      ],
    }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const stored = byId(await products(seller));
    expect(stored[77]).toMatchObject({ title: "Veste en jean", price: "12.00", status: "active" });
    expect(stored[78]).toBeUndefined();
  });

  it("get_user_data stores the Vinted account (never a CSRF token)", async () => {
    const seller = await newSeller(server);
    expect((await seller.request("GET", "/api/v1/vinted/account")).status).toBe(404);
    const task = await seller.create("get_user_data");
    const claimed = await seller.claim();
    const data = { user_id: 29535217, login: "shop.ton.outfit", email: "user@example.com", anon_id: "6f64", csrf_token: "75f6c9fa-secret", real_name: "John Doe", business_account: null, origin: "https://www.vinted.fr", item_count: 1595 };
    expect((await seller.result(task.task_id, resultBody(claimed.lease_token, true, data))).status).toBe(200);
    const account = await seller.request("GET", "/api/v1/vinted/account");
    expect(account.status).toBe(200);
    expect(VintedAccountViewSchema.parse(account.body)).toMatchObject({ vinted_user_id: 29535217, login: "shop.ton.outfit", item_count: 1595, origin: "https://www.vinted.fr" });
    expect(JSON.stringify(account.body)).not.toContain("75f6c9fa");
    expect(JSON.stringify((await storedTask(server, task.task_id)).result_data)).not.toContain("75f6c9fa");
    const other = await newSeller(server);
    expect((await other.request("GET", "/api/v1/vinted/account")).status).toBe(404);
  });

  it("get_stats stores timestamped snapshots, shown with the listing and their trend", async () => {
    const seller = await newSeller(server);
    const sync = await syncPages(seller, [[listing(51, "Sac")]]);
    await seller.result(sync.task_id, resultBody(sync.lease_token, true, { products: [listing(51, "Sac")], total: 1, complete: true, pages: 1 }));
    for (const [views, favourites, at] of [[100, 4, "2024-12-01T10:00:00Z"], [160, 9, "2024-12-08T10:00:00Z"]] as const) {
      const task = await seller.create("get_stats", { item_id: 51 });
      const claimed = await seller.claim();
      const body = resultBody(claimed.lease_token, true, { item_id: 51, view_count: views, favourite_count: favourites, message_count: null, captured_at: at });
      expect((await seller.result(task.task_id, body)).status).toBe(200);
      expect((await seller.result(task.task_id, body)).status).toBe(200); // a resend does not add a snapshot
    }
    const res = await seller.request("GET", "/api/v1/vinted/products/51");
    expect(res.status).toBe(200);
    const detail = VintedProductDetailSchema.parse(res.body);
    expect(detail).toMatchObject({ vinted_id: 51, view_count: 160, favourite_count: 9 });
    expect(detail.stats.snapshots.map((s) => [s.view_count, s.captured_at])).toEqual([
      [100, "2024-12-01T10:00:00.000Z"],
      [160, "2024-12-08T10:00:00.000Z"],
    ]);
    expect(detail.stats.trend).toEqual({ views_change: 60, favourites_change: 5, since: "2024-12-01T10:00:00.000Z", until: "2024-12-08T10:00:00.000Z" });
    const other = await newSeller(server);
    expect((await other.request("GET", "/api/v1/vinted/products/51")).status).toBe(404);
  });

  it("lists with status, search, price range, ordering and pagination; only the caller's listings", async () => {
    const seller = await newSeller(server);
    const items = [listing(61, "Nike Air", { price: "30.00" }), listing(62, "Veste Nike", { price: "55.00" }), listing(63, "Jean Levi's", { price: "12.00" }), listing(64, "Pull", { price: "5.00", is_closed: true })];
    const sync = await syncPages(seller, [items]);
    await seller.result(sync.task_id, resultBody(sync.lease_token, true, { products: items, total: 4, complete: true, pages: 1 }));

    expect((await products(seller, "")).map((p) => p.vinted_id).sort()).toEqual([61, 62, 63]);
    expect((await products(seller, "status=gone")).map((p) => p.vinted_id)).toEqual([64]);
    expect((await products(seller, "search=nike&ordering=price")).map((p) => p.vinted_id)).toEqual([61, 62]);
    expect((await products(seller, "price_min=10&price_max=40&ordering=-price")).map((p) => p.vinted_id)).toEqual([61, 63]);
    const paged = await seller.request("GET", "/api/v1/vinted/products?status=all&ordering=vinted_id&page_size=3&page=2");
    expect(VintedProductListResponseSchema.parse(paged.body)).toMatchObject({ count: 4, next: null, results: [{ vinted_id: 64 }] });
    expect((await seller.request("GET", "/api/v1/vinted/products?ordering=colour")).status).toBe(400);

    const other = await newSeller(server);
    expect(await products(other)).toEqual([]);
  });
});

describe("POST /api/sync/vinted", () => {
  it("starts a get_all_products, or returns the one already pending or running", async () => {
    const seller = await newSeller(server);
    const first = await seller.request<{ message: string; task_id: string }>("POST", "/api/sync/vinted", { body: { user_id: seller.id } });
    expect(first.status).toBe(200);
    expect(first.body.message).toBe("Sync started");
    const again = await seller.request<{ message: string; task_id: string }>("POST", "/api/sync/vinted");
    expect(again.body).toEqual({ message: "Sync already in progress", task_id: first.body.task_id });
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => seller.request<{ task_id: string }>("POST", "/api/sync/vinted")));
    expect(new Set(concurrent.map((r) => r.body.task_id))).toEqual(new Set([first.body.task_id]));

    const claimed = await seller.claim();
    expect(claimed).toMatchObject({ task_id: first.body.task_id, action: "get_all_products" });
    expect((await seller.request<{ task_id: string }>("POST", "/api/sync/vinted")).body.task_id).toBe(first.body.task_id);
    await seller.result(claimed.task_id, resultBody(claimed.lease_token, true, { products: [], total: 0, complete: true, pages: 0 }));
    const next = await seller.request<{ message: string; task_id: string }>("POST", "/api/sync/vinted");
    expect(next.body.message).toBe("Sync started");
    expect(next.body.task_id).not.toBe(first.body.task_id);

    // Another seller's sync is their own.
    const other = await newSeller(server);
    const theirs = await other.request<{ task_id: string }>("POST", "/api/sync/vinted");
    expect(theirs.body.task_id).not.toBe(next.body.task_id);
  });
});
