/**
 * Publishing to Vinted over HTTP, the test playing the seller's extension: the publication hands a
 * `vinted.create_product` task to the plugin queue and waits for it (its task suspended: no server
 * worker held); the extension polls it, downloads the product's photos from the links it was given,
 * posts its result, and the publication completes with the Vinted item id and URL. A failure of the
 * extension fails the publication with its answer; a retry hands a new task over.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CreateProductParams } from "../../shared/plugin.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { listing, resultBody } from "../plugin/helpers.js";
import { newSeller, type Seller } from "../products/helpers.js";
import { waitFor } from "../tasks/fixtures/tasks.js";
import { claimNext, productTasks, publishTo, VINTED, vintedProduct, waitForPublication } from "./helpers.js";

let server: TestServer;
let alice: Seller;

beforeAll(async () => {
  // The extension's poll spacing is the plugin suites' concern: here it may poll as often as it likes.
  server = await startTestServer({ PUBLIC_URL: "http://127.0.0.1:1", PLUGIN_POLL_INTERVAL_MS: "0" });
});
afterAll(async () => {
  await server?.close();
});

const hubStatus = async (seller: Seller, taskId: string) => (await seller.request<{ status: string }>("GET", `/tasks/${taskId}/`)).body.status;

beforeAll(async () => {
  alice = await newSeller(server);
});

describe("publication to Vinted through the extension", () => {
  it("waits for the extension's create_product task without holding a worker, then completes with the Vinted listing", async () => {
    const product = await vintedProduct(alice, "VINTED-1");
    const taskId = await publishTo(alice, product.id, VINTED);

    const claimed = await claimNext(alice);
    expect(claimed.action).toBe("create_product");
    const params = claimed.params as CreateProductParams;
    expect(params).toMatchObject({ title: expect.stringContaining("Robe Zara"), price: "19.90", catalog_id: 10, brand_id: 12, size_id: 206, color_ids: [4], status_ids: [2] });
    // The photo links carry the product's own stored bytes.
    expect(params.photo_urls).toHaveLength(1);
    const link = new URL(params.photo_urls![0]);
    const downloaded = await fetch(`${server.baseUrl}${link.pathname}${link.search}`);
    expect(downloaded.status).toBe(200);
    expect(Buffer.from(await downloaded.arrayBuffer()).equals(product.photo)).toBe(true);

    const waiting = await waitForPublication(alice, product.id, taskId, (t) => t?.current_step === "Waiting for the extension to publish to Vinted");
    expect(waiting).toMatchObject({ status: "publishing", steps_completed: ["enhancement"], progress_percentage: 25 });
    expect(await hubStatus(alice, taskId)).toBe("suspended");

    const item = listing(4567001, params.title);
    const posted = await alice.request("POST", `/api/plugin/tasks/${claimed.task_id}/result`, resultBody(claimed.lease_token, true, { item }));
    expect(posted.status, JSON.stringify(posted.body)).toBe(200);

    const done = await waitForPublication(alice, product.id, taskId);
    expect(done).toMatchObject({
      status: "completed",
      steps_completed: ["enhancement", "publication", "webhook"],
      publication_result: { success: true, marketplace_id: "4567001", listing_url: "https://www.vinted.fr/items/4567001" },
      marketplace_name: "Vinted",
    });
    expect(await hubStatus(alice, taskId)).toBe("completed");
    // One extension task for the publication.
    const recent = await alice.request<{ results: Array<{ action: string }> }>("GET", "/api/plugin/tasks/recent?limit=50");
    expect(recent.body.results.filter((t) => t.action === "create_product")).toHaveLength(1);
  });

  it("fails with the extension's answer when it cannot publish, and a retry hands a new task over", async () => {
    const product = await vintedProduct(alice, "VINTED-2");
    const taskId = await publishTo(alice, product.id, VINTED);
    const first = await claimNext(alice);
    const refused = await alice.request(
      "POST",
      `/api/plugin/tasks/${first.task_id}/result`,
      resultBody(first.lease_token, false, undefined, { error: "Not logged in to Vinted", error_code: "VINTED_LOGGED_OUT" }),
    );
    expect(refused.status, JSON.stringify(refused.body)).toBe(200);

    const failed = await waitForPublication(alice, product.id, taskId);
    expect(failed).toMatchObject({
      status: "failed",
      current_step: "Failed during publication",
      steps_completed: ["enhancement"],
      error_details: { step: "publication", error: "Not logged in to Vinted", marketplace_response: { task_id: first.task_id, error_code: "VINTED_LOGGED_OUT" } },
    });

    expect((await alice.request("POST", `/tasks/${taskId}/retry/`, {})).status).toBe(200);
    const second = await claimNext(alice);
    expect(second.task_id).not.toBe(first.task_id);
    const params = second.params as CreateProductParams;
    await alice.request("POST", `/api/plugin/tasks/${second.task_id}/result`, resultBody(second.lease_token, true, { item: listing(4567002, params.title) }));
    const done = await waitForPublication(alice, product.id, taskId);
    expect(done).toMatchObject({ status: "completed", publication_result: { marketplace_id: "4567002" } });
    expect((await productTasks(alice, product.id)).total_tasks).toBe(1);
  });

  it("a publication cancelled while it waits takes the extension task the extension has not started with it", async () => {
    const product = await vintedProduct(alice, "VINTED-3");
    const taskId = await publishTo(alice, product.id, VINTED);
    await waitFor(() => hubStatus(alice, taskId), (s) => s === "suspended", { timeoutMs: 15_000, intervalMs: 100, what: "the publication waiting" });
    const recent = await alice.request<{ results: Array<{ task_id: string; action: string; status: string; created_at: string }> }>("GET", "/api/plugin/tasks/recent?limit=50");
    const handed = recent.body.results.find((t) => t.action === "create_product" && t.status === "pending")!;
    expect(handed).toBeDefined();

    expect((await alice.request("POST", `/tasks/${taskId}/cancel/`, {})).status).toBe(200);
    const extensionTask = await waitFor(
      async () => (await alice.request<{ status: string }>("GET", `/api/plugin/tasks/${handed.task_id}`)).body,
      (t) => t.status === "cancelled",
      { timeoutMs: 10_000, intervalMs: 100, what: "the extension task cancelled" },
    );
    expect(extensionTask.status).toBe("cancelled");
    expect((await alice.request<{ task_id: string | null }>("GET", "/api/plugin/tasks")).body.task_id).toBeNull();
    expect((await waitForPublication(alice, product.id, taskId)).status).toBe("failed");
  });
});
