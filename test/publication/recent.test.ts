/**
 * GET /api/v1/marketplaces/listings/recent/: the brand's publications across its products, in
 * progress first then the most recently ended, each in the product-tasks shape (what the
 * extension's popup shows). Vinted publications wait for the extension, so the test plays it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClaimedTask, CreateProductParams } from "../../shared/plugin.js";
import { PUBLICATION_ROUTES, RecentPublicationsResponseSchema, type RecentPublicationsResponse } from "../../shared/publications.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { listing, resultBody } from "../plugin/helpers.js";
import { imageBytes, newSeller, type Seller } from "../products/helpers.js";
import { waitFor } from "../tasks/fixtures/tasks.js";
import { publishTo, VINTED, waitForPublication } from "./helpers.js";

let server: TestServer;
let alice: Seller;

beforeAll(async () => {
  server = await startTestServer({ PUBLIC_URL: "http://127.0.0.1:1", PLUGIN_POLL_INTERVAL_MS: "0" });
  alice = await newSeller(server);
});
afterAll(async () => {
  await server?.close();
});

async function vintedProduct(seller: Seller, title: string, sku: string): Promise<number> {
  const product = await seller.createProduct({ title, sku, price: 12, currency: "EUR", condition: "good", attributes: { vinted_catalog_id: 10, vinted_brand_id: 12, vinted_size_id: 206 } });
  const photo = await seller.send("POST", `/api/v1/products/${product.id}/photos/`, new Uint8Array(imageBytes("jpeg")), { "Content-Type": "image/jpeg" });
  expect(photo.status).toBeLessThan(300);
  return product.id;
}

async function recent(seller: Seller, query = ""): Promise<RecentPublicationsResponse> {
  const res = await seller.request("GET", `${PUBLICATION_ROUTES.recent}${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return RecentPublicationsResponseSchema.parse(res.body);
}

/** Plays the extension: claims the next create_product task and answers it with a Vinted listing. */
async function extensionPublishes(seller: Seller, itemId: number): Promise<void> {
  const poll = async () => (await seller.request<ClaimedTask | { task_id: null }>("GET", "/api/plugin/tasks")).body;
  const claimed = (await waitFor(poll, (t) => t.task_id !== null, { timeoutMs: 15_000, intervalMs: 100, what: "an extension task" })) as ClaimedTask;
  const params = claimed.params as CreateProductParams;
  const posted = await seller.request("POST", `/api/plugin/tasks/${claimed.task_id}/result`, resultBody(claimed.lease_token, true, { item: listing(itemId, params.title) }));
  expect(posted.status, JSON.stringify(posted.body)).toBe(200);
}

describe("recent publications", () => {
  it("lists the ones in progress first with their step, then the ended ones, with product title and SKU", async () => {
    expect(await recent(alice)).toEqual({ in_progress: 0, results: [] });

    const done = await vintedProduct(alice, "Jupe plissée bleue", "RECENT-1");
    const doneTask = await publishTo(alice, done, VINTED);
    await extensionPublishes(alice, 7001);
    await waitForPublication(alice, done, doneTask);

    const waiting = await vintedProduct(alice, "Veste en jean", "RECENT-2");
    const waitingTask = await publishTo(alice, waiting, VINTED);
    await waitForPublication(alice, waiting, waitingTask, (t) => t?.current_step === "Waiting for the extension to publish to Vinted");

    const answer = await recent(alice);
    expect(answer.in_progress).toBe(1);
    expect(answer.results.map((t) => t.task_id)).toEqual([waitingTask, doneTask]);
    expect(answer.results[0]).toMatchObject({
      product: waiting,
      product_title: "Veste en jean",
      product_sku: "RECENT-2",
      marketplace_name: "Vinted",
      status: "publishing",
      current_step: "Waiting for the extension to publish to Vinted",
      steps_completed: ["enhancement"],
      progress_percentage: 25,
      completed_at: null,
    });
    expect(answer.results[1]).toMatchObject({
      product: done,
      product_title: "Jupe plissée bleue",
      status: "completed",
      steps_completed: ["enhancement", "publication", "webhook"],
      publication_result: { success: true, marketplace_id: "7001", listing_url: "https://www.vinted.fr/items/7001" },
    });

    // limit keeps the ones in progress; the count still tells how many there are.
    expect((await recent(alice, "?limit=1")).results.map((t) => t.task_id)).toEqual([waitingTask]);
    expect((await recent(alice, "?limit=1")).in_progress).toBe(1);
  });

  it("is brand-scoped, names a deleted product by its id, and refuses a bad limit or no credentials", async () => {
    const bob = await newSeller(server);
    expect(await recent(bob)).toEqual({ in_progress: 0, results: [] });

    const gone = await vintedProduct(alice, "Pull supprimé", "RECENT-3");
    const goneTask = await publishTo(alice, gone, VINTED);
    await waitFor(() => recent(alice), (r) => r.results.some((t) => t.task_id === goneTask && t.status === "publishing"), { timeoutMs: 15_000, intervalMs: 100, what: "the publication waiting" });
    expect((await alice.request("DELETE", `/api/v1/products/${gone}/`)).status).toBe(204);
    const row = (await recent(alice)).results.find((t) => t.task_id === goneTask);
    expect(row).toMatchObject({ product: gone, product_title: `Product ${gone}`, product_sku: "" });

    expect((await alice.request("GET", `${PUBLICATION_ROUTES.recent}?limit=0`)).status).toBe(400);
    expect((await recent(alice, "?limit=500")).results.length).toBeLessThanOrEqual(50);
    expect((await server.request("GET", PUBLICATION_ROUTES.recent)).status).toBe(401);
  });
});
