/**
 * "Publish to…" for many products over HTTP: POST /api/v1/batches/ with task_type
 * marketplace_publication makes one publication per product and marketplace as the batch's jobs;
 * the batch's counters move as they finish on the fake MercadoLibre; a product already published
 * (or being published) refuses the whole batch, and a refused batch leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchListResponseSchema, BatchSchema, BatchStatusSchema, type BatchView } from "../../shared/batches.js";
import { PUBLICATION_TASK_TYPE, type ProductTasksResponse } from "../../shared/publications.js";
import { TaskListResponseSchema } from "../../shared/tasks.js";
import { startFakeMercadoLibre, type FakeMercadoLibre } from "../fixtures/fake-mercadolibre/index.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { newSeller, type Seller } from "../products/helpers.js";
import { FAR_FUTURE, waitFor } from "../tasks/fixtures/tasks.js";

const VINTED = 1;
const MERCADOLIBRE = 2;
const BATCHES = "/api/v1/batches/";

let server: TestServer;
let ml: FakeMercadoLibre;
let seller: Seller;
let accountId: string;

beforeAll(async () => {
  ml = await startFakeMercadoLibre();
  server = await startTestServer({ MERCADOLIBRE_API_URL: ml.url });
  seller = await newSeller(server);
  const token = ml.state.issueToken({ userId: 7770002 });
  const connected = await seller.request("PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, {
    access_token: token.accessToken,
    refresh_token: token.refreshToken,
    client_id: token.clientId,
    client_secret: token.clientSecret,
    site_id: "MLA",
    user_id: 7770002,
  });
  expect(connected.status).toBe(200);
  const account = await seller.request<{ account_id: string }>("POST", "/api/v1/accounts/", { name: "Shop", balance: 100, billing_type: "credits" });
  expect(account.status).toBe(201);
  accountId = account.body.account_id;
});
afterAll(async () => {
  await server?.close();
  await ml?.close();
});

let skuSeq = 0;
async function newProducts(n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const product = await seller.createProduct({
      title: "Zapatillas Nike Air Max 90 originales talle 42 color blanco impecables",
      sku: `BATCH-${++skuSeq}`,
      price: 85000,
      currency: "ARS",
      condition: "very_good",
      attributes: { mercadolibre_category_id: "MLA109027" },
    });
    ids.push(product.id);
  }
  return ids;
}

async function publishBatch(productIds: number[], marketplaceIds: number[], extra: Record<string, unknown> = {}) {
  return seller.request("POST", BATCHES, {
    account_id: accountId,
    task_type: PUBLICATION_TASK_TYPE,
    name: "Publish spring collection",
    product_ids: productIds,
    context_data: { marketplace_ids: marketplaceIds, enhance: false },
    ...extra,
  });
}

async function batchCount(): Promise<number> {
  return BatchListResponseSchema.parse((await seller.request("GET", BATCHES)).body).count;
}

async function jobsOf(batchId: string) {
  const res = await seller.request("GET", `/tasks/?batch_id=${batchId}&page_size=100`);
  expect(res.status).toBe(200);
  return TaskListResponseSchema.parse(res.body).results;
}

describe("a publication batch", () => {
  it("publishes every product as one job each, and its counters move to completion", async () => {
    const products = await newProducts(3);
    const res = await publishBatch(products, [MERCADOLIBRE]);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const batch = BatchSchema.parse(res.body);
    expect(batch).toMatchObject({ task_type: PUBLICATION_TASK_TYPE, executor: "server", total_jobs: 3, name: "Publish spring collection" });

    const done = await waitFor(
      async () => BatchStatusSchema.parse((await seller.request("GET", `${BATCHES}${batch.batch_id}/status`)).body),
      (s) => s.completed_jobs + s.failed_jobs === 3,
      { timeoutMs: 30_000, intervalMs: 100, what: "the publication batch to finish" },
    );
    expect(done).toMatchObject({ completed_jobs: 3, failed_jobs: 0, pending_jobs: 0, progress_percentage: 100, is_active: false });

    for (const productId of products) {
      const tasks = await seller.request<ProductTasksResponse>("GET", `/api/v1/marketplaces/listings/product-tasks/${productId}/`);
      expect(tasks.body.tasks).toHaveLength(1);
      expect(tasks.body.tasks[0]).toMatchObject({ status: "completed", marketplace: MERCADOLIBRE, steps_completed: ["enhancement", "publication", "webhook"] });
      expect(ml.state.listingsWith(tasks.body.tasks[0].task_id)).toHaveLength(1);
    }
    const jobs = await jobsOf(batch.batch_id);
    expect(new Set(jobs.map((j) => j.context_data.product_id))).toEqual(new Set(products));
  });

  it("makes one job per product and marketplace", async () => {
    const products = await newProducts(2);
    const res = await publishBatch(products, [VINTED, MERCADOLIBRE], { scheduled_for: FAR_FUTURE });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const batch: BatchView = BatchSchema.parse(res.body);
    expect(batch.total_jobs).toBe(4);
    expect(batch.counts.pending).toBe(4);
    const pairs = (await jobsOf(batch.batch_id)).map((j) => `${j.context_data.product_id}:${j.context_data.marketplace_id}`).sort();
    expect(pairs).toEqual(products.flatMap((p) => [`${p}:${VINTED}`, `${p}:${MERCADOLIBRE}`]).sort());

    // Those publications are live: publishing one of them again, alone or in a batch, is refused.
    const single = await seller.request("POST", "/api/v1/marketplaces/listings/publish/", { product_id: products[0], marketplace_ids: [MERCADOLIBRE] });
    expect(single.status).toBe(409);
    const before = await batchCount();
    const again = await publishBatch([...(await newProducts(1)), products[1]], [MERCADOLIBRE]);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error_code: "ALREADY_PUBLISHED", conflicts: [{ product_id: products[1], marketplace_id: MERCADOLIBRE, status: "pending" }] });
    expect(String((again.body as { detail: string }).detail)).toContain(`product ${products[1]} on MercadoLibre`);
    expect(await batchCount()).toBe(before);

    // Once the batch is cancelled its keys are free again.
    expect((await seller.request("POST", `${BATCHES}${batch.batch_id}/cancel?reason=later`)).status).toBe(200);
    const later = await publishBatch([products[1]], [MERCADOLIBRE], { scheduled_for: FAR_FUTURE });
    expect(later.status, JSON.stringify(later.body)).toBe(201);
    expect((await seller.request("POST", `${BATCHES}${BatchSchema.parse(later.body).batch_id}/cancel`)).status).toBe(200);
  });

  it("refuses unknown products and marketplaces and a job without marketplaces, creating nothing", async () => {
    const [product] = await newProducts(1);
    const before = await batchCount();
    const other = await newSeller(server);
    const foreign = await other.createProduct();

    const unknownProduct = await publishBatch([product, foreign.id], [MERCADOLIBRE]);
    expect(unknownProduct.status).toBe(400);
    expect(unknownProduct.body).toMatchObject({ error_code: "VALIDATION_ERROR", field_errors: { "jobs.1.context_data.product_id": [`Product with id ${foreign.id} not found`] } });

    const unknownMarketplace = await publishBatch([product], [99]);
    expect(unknownMarketplace.status).toBe(404);

    const noMarketplace = await seller.request("POST", BATCHES, { account_id: accountId, task_type: PUBLICATION_TASK_TYPE, product_ids: [product] });
    expect(noMarketplace.status).toBe(400);
    expect(Object.keys((noMarketplace.body as { field_errors: object }).field_errors)).toEqual(["jobs.0.context_data.marketplace_ids"]);

    const repeated = await publishBatch([product, product], [MERCADOLIBRE]);
    expect(repeated.status).toBe(400);

    expect(await batchCount()).toBe(before);
    const tasks = await seller.request<ProductTasksResponse>("GET", `/api/v1/marketplaces/listings/product-tasks/${product}/`);
    expect(tasks.body.total_tasks).toBe(0);
  });
});
