/**
 * A batch publishing to Vinted, paused and resumed while its jobs wait for the seller's extension:
 * the extension's create_product tasks handed out before the pause stay the only ones (a resumed
 * job looks at the task it handed over before handing over another), a result posted while the batch
 * is paused completes its publication once resumed, and nothing is published twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchSchema, BatchStatusSchema } from "../../shared/batches.js";
import type { CreateProductParams } from "../../shared/plugin.js";
import { PUBLICATION_TASK_TYPE } from "../../shared/publications.js";
import { TaskListResponseSchema } from "../../shared/tasks.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { listing, resultBody } from "../plugin/helpers.js";
import { newSeller, type Seller } from "../products/helpers.js";
import { waitFor } from "../tasks/fixtures/tasks.js";
import { claimNext, VINTED, vintedProduct, waitForPublication } from "./helpers.js";

const BATCHES = "/api/v1/batches/";

let server: TestServer;
let seller: Seller;

beforeAll(async () => {
  server = await startTestServer({ PUBLIC_URL: "http://127.0.0.1:1", PLUGIN_POLL_INTERVAL_MS: "0" });
  seller = await newSeller(server);
});
afterAll(async () => {
  await server?.close();
});

interface ExtensionTask {
  task_id: string;
  action: string;
  status: string;
}

async function createProductTasks(): Promise<ExtensionTask[]> {
  const recent = await seller.request<{ results: ExtensionTask[] }>("GET", "/api/plugin/tasks/recent?limit=50");
  return recent.body.results.filter((t) => t.action === "create_product");
}

async function jobStatuses(batchId: string): Promise<string[]> {
  const res = await seller.request("GET", `/tasks/?batch_id=${batchId}&page_size=100`);
  return TaskListResponseSchema.parse(res.body).results.map((job) => job.status);
}

describe("a Vinted publication batch paused and resumed while it waits for the extension", () => {
  it("hands each product to the extension once and completes every publication", async () => {
    const account = await seller.request<{ account_id: string }>("POST", "/api/v1/accounts/", { name: "Shop", balance: 100, billing_type: "credits" });
    expect(account.status).toBe(201);
    const products = [await vintedProduct(seller, "PAUSE-1"), await vintedProduct(seller, "PAUSE-2")];
    const created = await seller.request("POST", BATCHES, {
      account_id: account.body.account_id,
      task_type: PUBLICATION_TASK_TYPE,
      product_ids: products.map((p) => p.id),
      context_data: { marketplace_ids: [VINTED], enhance: false },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const batchId = BatchSchema.parse(created.body).batch_id;

    // Both jobs hand their product to the extension and wait for it.
    await waitFor(() => jobStatuses(batchId), (s) => s.length === 2 && s.every((x) => x === "suspended"), { timeoutMs: 20_000, intervalMs: 100, what: "both jobs waiting" });
    expect(await createProductTasks()).toHaveLength(2);

    // The extension starts one of them; the seller pauses the batch.
    const started = await claimNext(seller);
    expect(started.action).toBe("create_product");
    expect((await seller.request("POST", `${BATCHES}${batchId}/pause`)).status).toBe(200);

    // The extension finishes its listing while the batch is paused.
    const title = (started.params as CreateProductParams).title;
    const posted = await seller.request("POST", `/api/plugin/tasks/${started.task_id}/result`, resultBody(started.lease_token, true, { item: listing(7100001, title) }));
    expect(posted.status, JSON.stringify(posted.body)).toBe(200);

    const resumed = await seller.request("POST", `${BATCHES}${batchId}/resume`);
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);

    // The other product's task, handed over before the pause, is the one the extension gets next.
    const second = await claimNext(seller);
    expect(second.action).toBe("create_product");
    expect(second.task_id).not.toBe(started.task_id);
    const secondTitle = (second.params as CreateProductParams).title;
    await seller.request("POST", `/api/plugin/tasks/${second.task_id}/result`, resultBody(second.lease_token, true, { item: listing(7100002, secondTitle) }));

    const done = await waitFor(
      async () => BatchStatusSchema.parse((await seller.request("GET", `${BATCHES}${batchId}/status`)).body),
      (s) => s.completed_jobs + s.failed_jobs === 2,
      { timeoutMs: 30_000, intervalMs: 100, what: "the batch to finish" },
    );
    expect(done).toMatchObject({ completed_jobs: 2, failed_jobs: 0, is_active: false });

    const listed = new Set<string>();
    for (const product of products) {
      const tasks = await seller.request<{ tasks: Array<{ task_id: string }> }>("GET", `/api/v1/marketplaces/listings/product-tasks/${product.id}/`);
      expect(tasks.body.tasks).toHaveLength(1);
      const publication = await waitForPublication(seller, product.id, tasks.body.tasks[0].task_id);
      expect(publication.status).toBe("completed");
      listed.add(String(publication.publication_result?.marketplace_id));
    }
    expect(listed).toEqual(new Set(["7100001", "7100002"]));
    // Two products, two listings: no create_product beyond the two handed over before the pause.
    const handed = await createProductTasks();
    expect(handed.map((t) => t.status).sort()).toEqual(["completed", "completed"]);
    expect((await seller.request<{ task_id: string | null }>("GET", "/api/plugin/tasks")).body.task_id).toBeNull();
  });
});
