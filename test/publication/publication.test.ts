/**
 * The publication pipeline over HTTP: POST …/listings/publish/ creates publication tasks that the
 * server runs (enhancement → publication → webhook) against the fake MercadoLibre and a local
 * webhook receiver that checks each signature; GET …/product-tasks/{id}/ shows them as the spec does.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ProductTasksResponse, PublishResponse, ProductTask } from "../../shared/publications.js";
import { ProductTasksResponseSchema } from "../../shared/publications.js";
import { SIGNATURE_HEADER } from "../../shared/webhooks.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { startFakeMercadoLibre, type FakeMercadoLibre } from "../fixtures/fake-mercadolibre/index.js";
import { newSeller, type Seller } from "../products/helpers.js";
import { newMercadoLibreProduct } from "./helpers.js";
import { waitFor } from "../tasks/fixtures/tasks.js";
import { signatureIsValid, startReceiver, type Receiver } from "../webhooks/receiver.js";

const MERCADOLIBRE = 2;
const PUBLISH = "/api/v1/marketplaces/listings/publish/";
const productTasksPath = (id: number, query = "") => `/api/v1/marketplaces/listings/product-tasks/${id}/${query}`;

let server: TestServer;
let ml: FakeMercadoLibre;
let receiver: Receiver;
let alice: Seller;
let bob: Seller;
let webhookSecret: string;

beforeAll(async () => {
  ml = await startFakeMercadoLibre();
  receiver = await startReceiver();
  server = await startTestServer({ MERCADOLIBRE_API_URL: ml.url, WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true", PUBLIC_URL: "https://hub.example.com" });
  alice = await newSeller(server);
  bob = await newSeller(server);
  const token = ml.state.issueToken({ userId: 7770001 });
  const connected = await alice.request("PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, {
    access_token: token.accessToken,
    refresh_token: token.refreshToken,
    client_id: token.clientId,
    client_secret: token.clientSecret,
    site_id: "MLA",
    user_id: 7770001,
  });
  expect(connected.status).toBe(200);
  const hook = await alice.request<{ secret: string }>("POST", "/api/v1/webhooks/", { url: receiver.url, events: ["publication.published"] });
  expect(hook.status).toBe(201);
  webhookSecret = hook.body.secret;
});
afterAll(async () => {
  await server?.close();
  await ml?.close();
  await receiver?.close();
});
beforeEach(() => ml.clearFaults());

let skuSeq = 0;
const newProduct = (seller: Seller, category?: string) => newMercadoLibreProduct(seller, `NIKE-${++skuSeq}`, category);

async function publish(seller: Seller, productId: number): Promise<string> {
  const res = await seller.request<PublishResponse>("POST", PUBLISH, { product_id: productId, marketplace_ids: [MERCADOLIBRE] });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.tasks).toEqual([{ task_id: expect.any(String), marketplace: MERCADOLIBRE, marketplace_name: "MercadoLibre", status: "pending" }]);
  return res.body.tasks[0].task_id;
}

async function taskOf(seller: Seller, productId: number, taskId: string): Promise<ProductTask | undefined> {
  const res = await seller.request<ProductTasksResponse>("GET", productTasksPath(productId));
  expect(res.status).toBe(200);
  return res.body.tasks.find((t) => t.task_id === taskId);
}

const settled = (t: ProductTask | undefined) => t?.status === "completed" || t?.status === "failed";

async function untilSettled(seller: Seller, productId: number, taskId: string): Promise<ProductTask> {
  return (await waitFor(() => taskOf(seller, productId, taskId), settled, { timeoutMs: 20_000, intervalMs: 100, what: `publication ${taskId}` }))!;
}

describe("publication pipeline", () => {
  it("publishes to MercadoLibre, sends a signed webhook, and shows every step as the spec does", async () => {
    const productId = await newProduct(alice);
    const before = receiver.received.length;
    const taskId = await publish(alice, productId);
    const task = await untilSettled(alice, productId, taskId);
    const listing = ml.state.listingsWith(taskId);
    expect(listing).toHaveLength(1);
    expect(task).toMatchObject({
      status: "completed",
      current_step: "Process completed successfully",
      steps_completed: ["enhancement", "publication", "webhook"],
      total_steps: 4,
      progress_percentage: 100,
      enhancement_retries: 0,
      publication_retries: 0,
      webhook_retries: 0,
      enhancement_result: { success: true, enhanced_description: expect.any(String), keywords: expect.any(Array) },
      publication_result: { success: true, marketplace_id: listing[0].id, listing_url: listing[0].permalink },
      webhook_result: { status_code: 200, response: "OK" },
      error_details: {},
      product: productId,
      marketplace: MERCADOLIBRE,
      marketplace_name: "MercadoLibre",
      product_sku: `NIKE-${skuSeq}`,
    });
    expect(task.started_at).not.toBeNull();
    expect(task.completed_at).not.toBeNull();
    const delivery = receiver.received.slice(before).find((r) => r.body.includes(taskId))!;
    expect(delivery).toBeDefined();
    expect(signatureIsValid(webhookSecret, delivery.headers[SIGNATURE_HEADER.toLowerCase()] as string, delivery.body)).toBe(true);
    expect(JSON.parse(delivery.body)).toMatchObject({ type: "publication.published", data: { task_id: taskId, publication_result: { marketplace_id: listing[0].id } } });
    // The task is one of the task collection too.
    const hub = await alice.request<{ task_type: string; status: string }>("GET", `/tasks/${taskId}/`);
    expect(hub.body).toMatchObject({ task_type: "marketplace_publication", status: "completed" });
  });

  it("fails at once on MercadoLibre's validation refusal, with its answer in error_details", async () => {
    const productId = await newProduct(alice, "MLA999999");
    const taskId = await publish(alice, productId);
    const task = await untilSettled(alice, productId, taskId);
    expect(task).toMatchObject({
      status: "failed",
      current_step: "Failed during publication",
      steps_completed: ["enhancement"],
      progress_percentage: 25,
      publication_retries: 0,
      publication_result: {},
      completed_at: null,
      error_details: {
        step: "publication",
        error: expect.any(String),
        marketplace_response: { status: 400, error: "validation_error", cause: [expect.objectContaining({ code: "item.category_id.invalid" })] },
        retries: 0,
      },
    });
    expect(ml.state.listingsWith(taskId)).toHaveLength(0);
  });

  it("retries 5xx and 429 answers with backoff, then publishes once", async () => {
    const productId = await newProduct(alice);
    ml.inject({ kind: "serverError", count: 1, status: 503 });
    ml.inject({ kind: "rateLimit", count: 1, retryAfterSeconds: 0 });
    const taskId = await publish(alice, productId);
    const task = await untilSettled(alice, productId, taskId);
    expect(task).toMatchObject({ status: "completed", publication_retries: 2, error_details: {} });
    expect(ml.state.listingsWith(taskId)).toHaveLength(1);
  });

  it("a listing created whose answer was lost is found by its reference, never published twice", async () => {
    const productId = await newProduct(alice);
    ml.inject({ kind: "dropAfterCreate", count: 1 });
    const taskId = await publish(alice, productId);
    const task = await untilSettled(alice, productId, taskId);
    const listings = ml.state.listingsWith(taskId);
    expect(listings).toHaveLength(1);
    expect(ml.state.itemPosts().filter((r) => JSON.stringify(r).includes(taskId))).toHaveLength(1);
    expect(task).toMatchObject({ status: "completed", publication_retries: 1, publication_result: { marketplace_id: listings[0].id } });
  });

  it("gives up after its retry budget of transient failures, with the last answer and the retries made", async () => {
    const productId = await newProduct(alice);
    ml.inject({ kind: "serverError", count: 10, status: 502 });
    const taskId = await publish(alice, productId);
    const task = await untilSettled(alice, productId, taskId);
    expect(task).toMatchObject({
      status: "failed",
      current_step: "Failed during publication",
      publication_retries: 3,
      error_details: { step: "publication", retries: 3, marketplace_response: expect.any(Object) },
    });
    expect(ml.state.listingsWith(taskId)).toHaveLength(0);
  });

  it("a failed publication retried resumes at the failed step and never publishes twice", async () => {
    const productId = await newProduct(alice);
    receiver.answer({ status: 400, body: "bad request" });
    const taskId = await publish(alice, productId);
    const failed = await untilSettled(alice, productId, taskId);
    expect(failed).toMatchObject({
      status: "failed",
      current_step: "Failed during webhook",
      steps_completed: ["enhancement", "publication"],
      progress_percentage: 50,
      webhook_result: {},
      error_details: { step: "webhook", marketplace_response: { status_code: 400, response: "bad request" }, retries: 0 },
    });
    const listingId = failed.publication_result.marketplace_id;
    const enhanced = failed.enhancement_result;
    const retried = await alice.request("POST", `/tasks/${taskId}/retry/`, {});
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    const done = await untilSettled(alice, productId, taskId);
    expect(done).toMatchObject({ status: "completed", steps_completed: ["enhancement", "publication", "webhook"], webhook_result: { status_code: 200 } });
    expect(done.publication_result.marketplace_id).toBe(listingId);
    expect(done.enhancement_result).toEqual(enhanced);
    expect(ml.state.listingsWith(taskId)).toHaveLength(1);
  });

  it("refuses to publish a product again to a marketplace where it is live or in progress", async () => {
    const productId = await newProduct(alice);
    const taskId = await publish(alice, productId);
    const again = await alice.request<Record<string, unknown>>("POST", PUBLISH, { product_id: productId, marketplace_ids: [MERCADOLIBRE] });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error_code: "ALREADY_PUBLISHED", task_id: taskId, detail: expect.stringContaining("MercadoLibre") });
    await untilSettled(alice, productId, taskId);
    const live = await alice.request("POST", PUBLISH, { product_id: productId, marketplace_ids: [MERCADOLIBRE] });
    expect(live.status).toBe(409);
    expect(ml.state.listingsWith(taskId)).toHaveLength(1);
  });

  it("refuses unknown products and marketplaces, and another brand's product", async () => {
    const productId = await newProduct(alice);
    const unknownProduct = await alice.request("POST", PUBLISH, { product_id: 999999, marketplace_ids: [MERCADOLIBRE] });
    expect(unknownProduct.status).toBe(404);
    expect(unknownProduct.body).toMatchObject({ error: "Product with id 999999 not found" });
    const unknownMarketplace = await alice.request("POST", PUBLISH, { product_id: productId, marketplace_ids: [999] });
    expect(unknownMarketplace.status).toBe(404);
    expect(unknownMarketplace.body).toMatchObject({ error: "Marketplace with id 999 not found" });
    expect((await bob.request("POST", PUBLISH, { product_id: productId, marketplace_ids: [MERCADOLIBRE] })).status).toBe(404);
    expect((await alice.request("POST", PUBLISH, { product_id: productId, marketplace_ids: [] })).status).toBe(400);
  });
});

describe("product-tasks view", () => {
  it("filters, pages and summarises a product's publications exactly as the spec shows", async () => {
    const productId = await newProduct(alice, "MLA999999");
    // Failed publications do not block a new one: three attempts, all refused.
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await publish(alice, productId);
      await untilSettled(alice, productId, id);
      ids.push(id);
    }
    const all = await alice.request<ProductTasksResponse>("GET", productTasksPath(productId));
    expect(all.status).toBe(200);
    expect(ProductTasksResponseSchema.parse(all.body)).toBeTruthy();
    expect(all.body).toMatchObject({
      product_id: String(productId),
      product_sku: `NIKE-${skuSeq}`,
      total_tasks: 3,
      showing: 3,
      offset: 0,
      limit: 50,
      has_more: false,
      status_summary: { failed: 3 },
      marketplace_summary: { MercadoLibre: 3 },
    });
    const page = await alice.request<ProductTasksResponse>("GET", productTasksPath(productId, "?limit=2&offset=1"));
    expect(page.body).toMatchObject({ total_tasks: 3, showing: 2, offset: 1, limit: 2, has_more: false });
    const first = await alice.request<ProductTasksResponse>("GET", productTasksPath(productId, "?limit=1"));
    expect(first.body).toMatchObject({ showing: 1, has_more: true });
    expect((await alice.request<ProductTasksResponse>("GET", productTasksPath(productId, "?limit=500"))).body.limit).toBe(100);
    const completed = await alice.request<ProductTasksResponse>("GET", productTasksPath(productId, "?status=completed"));
    expect(completed.body).toMatchObject({ total_tasks: 0, showing: 0, tasks: [], status_summary: {} });
    const byMarketplace = await alice.request<ProductTasksResponse>("GET", productTasksPath(productId, `?status=failed&marketplace_id=${MERCADOLIBRE}`));
    expect(byMarketplace.body.total_tasks).toBe(3);
    expect((await alice.request<ProductTasksResponse>("GET", productTasksPath(productId, "?marketplace_id=1"))).body.total_tasks).toBe(0);
  });

  it("answers errors as the spec does", async () => {
    const productId = await newProduct(alice);
    const noProduct = await alice.request("GET", productTasksPath(999));
    expect(noProduct.status).toBe(404);
    expect(noProduct.body).toMatchObject({ error: "Product with id 999 not found" });
    const noMarketplace = await alice.request("GET", productTasksPath(productId, "?marketplace_id=999"));
    expect(noMarketplace.status).toBe(404);
    expect(noMarketplace.body).toMatchObject({ error: "Marketplace with id 999 not found" });
    const anonymous = await server.request("GET", productTasksPath(productId));
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toMatchObject({ detail: "Authentication credentials were not provided." });
    const otherBrand = await bob.request("GET", productTasksPath(productId));
    expect(otherBrand.status).toBe(404);
    expect(otherBrand.body).toMatchObject({ error: `Product with id ${productId} not found` });
    expect((await alice.request("GET", productTasksPath(productId, "?status=bogus"))).status).toBe(400);
  });
});
