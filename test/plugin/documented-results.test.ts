/**
 * Results posted exactly as spec/plugin-polling-api.md shows them (no lease_token, sometimes no
 * executed_at, each action's data in the document's shape) are accepted and applied to the seller's
 * Vinted data; the token is still needed once an earlier lease of the task has expired.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VintedAccountViewSchema, VintedProductDetailSchema, VintedProductListResponseSchema, type VintedProductView } from "../../shared/vinted.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { expireLease, listing, newSeller, resultBody, storedTask, type Body, type Seller } from "./helpers.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0" });
});
afterAll(() => server?.close());

const SAVED = { status: "received", message: "Task result saved successfully" };

async function products(seller: Seller, query = "status=all"): Promise<Record<number, VintedProductView>> {
  const res = await seller.request("GET", `/api/v1/vinted/products?${query}&page_size=100`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return Object.fromEntries(VintedProductListResponseSchema.parse(res.body).results.map((p) => [p.vinted_id, p]));
}

/** The seller's extension claims the task it just created (a documented client ignores the lease). */
async function createAndClaim(seller: Seller, action: Parameters<Seller["create"]>[0], params: Body): Promise<string> {
  const created = await seller.create(action, params);
  const claimed = await seller.claim();
  expect(claimed.task_id).toBe(created.task_id);
  return created.task_id;
}

/** A first complete sync through the extension's own shape, so documented results have listings to act on. */
async function seedListings(seller: Seller, ids: number[]): Promise<void> {
  const id = await createAndClaim(seller, "get_all_products", { user_id: 29535217 });
  const claimed = await storedTask(server, id);
  const res = await seller.result(id, resultBody(claimed.run_token!, true, { products: ids.map((n) => listing(n, `Item ${n}`)), total: ids.length, complete: true, pages: 1 }));
  expect(res.status).toBe(200);
}

describe("the document's result body", () => {
  it("get_all_products: the document's example (1 of 1595 listings) is saved, and marks nothing gone", async () => {
    const seller = await newSeller(server);
    await seedListings(seller, [1, 2]);
    const taskId = await createAndClaim(seller, "get_all_products", { user_id: 29535217 });
    const res = await seller.result(taskId, {
      success: true,
      data: {
        products: [{ id: 123456, title: "T-shirt Nike", price: "15.00", brand: { title: "Nike" }, size_title: "M" }],
        total: 1595,
      },
      execution_time_ms: 15000,
      executed_at: "2024-12-07T10:00:15Z",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual(SAVED);
    const now = await products(seller);
    expect(now[123456]).toMatchObject({ title: "T-shirt Nike", price: "15.00", brand_title: "Nike", size_title: "M", status: "active" });
    expect(now[1].status).toBe("active");
    expect(now[2].status).toBe("active");
    const stored = await storedTask(server, taskId);
    expect(stored.status).toBe("completed");
    expect(stored.result_data).toMatchObject({ total: 1595, complete: false, marked_gone: 0 });
    expect(stored.plugin?.executed_at?.toISOString()).toBe("2024-12-07T10:00:15.000Z");
  });

  it("get_all_products: the use case's step 4 (no executed_at), with every listing, is a complete sync", async () => {
    const seller = await newSeller(server);
    await seedListings(seller, [1, 2, 3]);
    const taskId = await createAndClaim(seller, "get_all_products", { user_id: 29535217 });
    const before = Date.now();
    const res = await seller.result(taskId, {
      success: true,
      data: {
        products: [
          { id: 1, title: "Item 1", price: "12.00", brand: { title: "Nike" }, size_title: "M" },
          { id: 3, title: "Item 3", price: "15.00", brand: { title: "Nike" }, size_title: "L" },
        ],
        total: 2,
      },
      execution_time_ms: 15000,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const now = await products(seller);
    expect(now[1]).toMatchObject({ price: "12.00", status: "active" });
    expect(now[2]).toMatchObject({ status: "gone", gone_reason: "missing_from_complete_sync" });
    expect(now[3]).toMatchObject({ size_title: "L", status: "active" });
    const stored = await storedTask(server, taskId);
    expect(stored.plugin?.executed_at?.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(stored.result_data).toMatchObject({ total: 2, complete: true, marked_gone: 1 });
  });

  it("get_user_data: the document's example is stored as the seller's account, without the CSRF token", async () => {
    const seller = await newSeller(server);
    const taskId = await createAndClaim(seller, "get_user_data", {});
    const res = await seller.result(taskId, {
      success: true,
      data: {
        user_id: 29535217,
        login: "shop.ton.outfit",
        email: "user@example.com",
        anon_id: "6f646e72-5010-4da3-8640-6c0cf62aa346",
        csrf_token: "75f6c9fa-dc8e-4e52-a000-e09dd4084b3e",
        real_name: "John Doe",
        business_account: 23111,
      },
      execution_time_ms: 800,
    });
    expect(res.body).toEqual(SAVED);
    const account = await seller.request("GET", "/api/v1/vinted/account");
    expect(account.status).toBe(200);
    expect(VintedAccountViewSchema.parse(account.body)).toMatchObject({ vinted_user_id: 29535217, login: "shop.ton.outfit", real_name: "John Doe", business_account: 23111 });
    expect(JSON.stringify((await storedTask(server, taskId)).result_data)).not.toContain("75f6c9fa");
  });

  it("delete_product: {success: true} marks the task's item deleted", async () => {
    const seller = await newSeller(server);
    await seedListings(seller, [123456, 7]);
    const taskId = await createAndClaim(seller, "delete_product", { item_id: 123456 });
    const res = await seller.result(taskId, { success: true, data: { success: true }, execution_time_ms: 900 });
    expect(res.body).toEqual(SAVED);
    const now = await products(seller);
    expect(now[123456]).toMatchObject({ status: "gone", gone_reason: "deleted" });
    expect(now[7].status).toBe("active");
  });

  it("get_stats: the document's counts become a snapshot of the task's item", async () => {
    const seller = await newSeller(server);
    await seedListings(seller, [123456]);
    const taskId = await createAndClaim(seller, "get_stats", { item_id: 123456 });
    const res = await seller.result(taskId, {
      success: true,
      data: { view_count: 125, favourite_count: 8, message_count: 3 },
      execution_time_ms: 400,
      executed_at: "2024-12-07T10:00:15Z",
    });
    expect(res.body).toEqual(SAVED);
    const detail = VintedProductDetailSchema.parse((await seller.request("GET", "/api/v1/vinted/products/123456")).body);
    expect(detail).toMatchObject({ view_count: 125, favourite_count: 8 });
    expect(detail.stats.snapshots.at(-1)).toEqual({ view_count: 125, favourite_count: 8, message_count: 3, captured_at: "2024-12-07T10:00:15.000Z" });
  });

  it("update_prices: {updated: 3, failed: 0, total: 3} applies every requested price", async () => {
    const seller = await newSeller(server);
    await seedListings(seller, [123, 456, 789]);
    const updates = [
      { item_id: 123, price: "10.00" },
      { item_id: 456, price: "15.00" },
      { item_id: 789, price: "20.00" },
    ];
    const taskId = await createAndClaim(seller, "update_prices", { updates });
    const res = await seller.result(taskId, { success: true, data: { updated: 3, failed: 0, total: 3 }, execution_time_ms: 3000 });
    expect(res.body).toEqual(SAVED);
    const now = await products(seller);
    expect([now[123].price, now[456].price, now[789].price]).toEqual(["10.00", "15.00", "20.00"]);
  });

  it("update_prices: a partial failure without per-item outcomes changes no price and says why", async () => {
    const seller = await newSeller(server);
    await seedListings(seller, [123, 456]);
    const taskId = await createAndClaim(seller, "update_prices", { updates: [{ item_id: 123, price: "10.00" }, { item_id: 456, price: "15.00" }] });
    const res = await seller.result(taskId, { success: true, data: { updated: 1, failed: 1, total: 2 }, execution_time_ms: 3000 });
    expect(res.status).toBe(200);
    expect(String(res.body.message)).toContain("does not say which");
    const now = await products(seller);
    expect([now[123].price, now[456].price]).toEqual(["123.50", "456.50"]);
  });

  it("update_product: the document's {item} is stored", async () => {
    const seller = await newSeller(server);
    await seedListings(seller, [123456]);
    const taskId = await createAndClaim(seller, "update_product", { item_id: 123456, price: "12.00", description: "Prix réduit !" });
    const res = await seller.result(taskId, { success: true, data: { item: { id: 123456, price: "12.00" } }, execution_time_ms: 1000 });
    expect(res.body).toEqual(SAVED);
    expect((await products(seller))[123456].price).toBe("12.00");
  });
});

describe("a result without lease_token", () => {
  it("is acknowledged again when resent identically, and refused when different", async () => {
    const seller = await newSeller(server);
    const taskId = await createAndClaim(seller, "delete_product", { item_id: 55 });
    const body = { success: true, data: { success: true }, execution_time_ms: 900 };
    expect((await seller.result(taskId, body)).body).toEqual(SAVED);
    const again = await seller.result(taskId, body);
    expect(again.status).toBe(200);
    expect(again.body.message).toBe("Task result already received");
    const other = await seller.result(taskId, { ...body, execution_time_ms: 901 });
    expect(other.status).toBe(409);
    expect(other.body.error_code).toBe("RESULT_ALREADY_RECEIVED");
  });

  it("after its lease ended is refused as late; once the task is handed out again only the token settles it", async () => {
    const seller = await newSeller(server);
    const taskId = await createAndClaim(seller, "get_stats", { item_id: 9 });
    const body = { success: true, data: { view_count: 1, favourite_count: 0, message_count: 0 }, execution_time_ms: 100 };
    await expireLease(server, taskId);
    const late = await seller.result(taskId, body);
    expect(late.status).toBe(409);
    expect(late.body.error_code).toBe("LEASE_EXPIRED");

    const second = await seller.claim();
    expect(second.task_id).toBe(taskId);
    expect(second.attempt).toBe(2);
    const ambiguous = await seller.result(taskId, body);
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body).toMatchObject({ error_code: "LEASE_TOKEN_REQUIRED", current_status: "running" });
    expect((await storedTask(server, taskId)).status).toBe("running");
    const settled = await seller.result(taskId, { ...body, lease_token: second.lease_token });
    expect(settled.body).toEqual(SAVED);
  });

  it("for another seller's task is a 404, whatever the body", async () => {
    const seller = await newSeller(server);
    const stranger = await newSeller(server);
    const taskId = await createAndClaim(seller, "delete_product", { item_id: 56 });
    const res = await stranger.result(taskId, { success: true, data: { success: true }, execution_time_ms: 1 });
    expect(res.status).toBe(404);
    expect((await storedTask(server, taskId)).status).toBe("running");
  });

  it("still needs the fields the document always sends", async () => {
    const seller = await newSeller(server);
    const taskId = await createAndClaim(seller, "delete_product", { item_id: 57 });
    const res = await seller.result(taskId, { data: { success: true }, execution_time_ms: 1 });
    expect(res.status).toBe(400);
    expect(res.body.field_errors).toHaveProperty("success");
  });
});
