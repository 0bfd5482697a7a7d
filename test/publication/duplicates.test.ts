/**
 * One live publication per product and marketplace, even under concurrent requests: the refusal is
 * the database's (a unique exclusive key taken in the write that creates or retries the task), not
 * a read that two requests can both pass.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PublishResponse } from "../../shared/publications.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { startFakeMercadoLibre, type FakeMercadoLibre } from "../fixtures/fake-mercadolibre/index.js";
import { newSeller, type Seller } from "../products/helpers.js";
import { connectMercadoLibre, MERCADOLIBRE, newMercadoLibreProduct, productTasks, PUBLISH, publishTo, waitForPublication } from "./helpers.js";

const CONCURRENT = 8;

let server: TestServer;
let ml: FakeMercadoLibre;
let alice: Seller;

beforeAll(async () => {
  ml = await startFakeMercadoLibre();
  server = await startTestServer({ MERCADOLIBRE_API_URL: ml.url });
  alice = await newSeller(server);
  await connectMercadoLibre(alice, ml, 7770101);
});
afterAll(async () => {
  await server?.close();
  await ml?.close();
});

function publishConcurrently(productId: number) {
  return Promise.all(
    Array.from({ length: CONCURRENT }, () => alice.request<PublishResponse & { error_code?: string }>("POST", PUBLISH, { product_id: productId, marketplace_ids: [MERCADOLIBRE] })),
  );
}

describe("duplicate publications", () => {
  it("of concurrent publishes of one product to one marketplace, exactly one is accepted", async () => {
    const productId = await newMercadoLibreProduct(alice, "DUP-1");
    const answers = await publishConcurrently(productId);
    const accepted = answers.filter((a) => a.status === 202);
    expect(answers.map((a) => a.status).sort()).toEqual([202, ...Array<number>(CONCURRENT - 1).fill(409)]);
    for (const refused of answers.filter((a) => a.status === 409)) expect(refused.body).toMatchObject({ error_code: "ALREADY_PUBLISHED" });
    const taskId = accepted[0].body.tasks[0].task_id;
    expect((await productTasks(alice, productId)).total_tasks).toBe(1);
    const done = await waitForPublication(alice, productId, taskId);
    expect(done.status).toBe("completed");
    expect(ml.state.listingsWith(taskId)).toHaveLength(1);
  });

  it("a failed publication frees its place for exactly one of many concurrent publishes, and cannot be retried while that one is live", async () => {
    const productId = await newMercadoLibreProduct(alice, "DUP-2", "MLA999999");
    const refusedTask = await publishTo(alice, productId, MERCADOLIBRE);
    expect((await waitForPublication(alice, productId, refusedTask)).status).toBe("failed");
    const fixed = await alice.request("PATCH", `/api/v1/products/${productId}/`, { attributes: { mercadolibre_category_id: "MLA109027" } });
    expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);

    const answers = await publishConcurrently(productId);
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(CONCURRENT - 1);
    const liveTask = answers.find((a) => a.status === 202)!.body.tasks[0].task_id;
    expect((await waitForPublication(alice, productId, liveTask)).status).toBe("completed");

    const retry = await alice.request<Record<string, unknown>>("POST", `/tasks/${refusedTask}/retry/`, {});
    expect(retry.status).toBe(400);
    expect(retry.body).toMatchObject({ error_code: "INVALID_OPERATION", conflicting_task_id: liveTask });
    const view = await productTasks(alice, productId);
    expect(view.status_summary).toEqual({ completed: 1, failed: 1 });
    expect(ml.state.listingsWith(refusedTask)).toHaveLength(0);
    expect(ml.state.listingsWith(liveTask)).toHaveLength(1);
  });

  it("a failed publication retried while none is live takes its place back, and blocks a new publish", async () => {
    const productId = await newMercadoLibreProduct(alice, "DUP-3", "MLA999999");
    const first = await publishTo(alice, productId, MERCADOLIBRE);
    expect((await waitForPublication(alice, productId, first)).status).toBe("failed");
    // A second refused publication took the place from the first, then failed too.
    const second = await publishTo(alice, productId, MERCADOLIBRE);
    expect((await waitForPublication(alice, productId, second)).status).toBe("failed");
    await alice.request("PATCH", `/api/v1/products/${productId}/`, { attributes: { mercadolibre_category_id: "MLA109027" } });

    const retry = await alice.request("POST", `/tasks/${first}/retry/`, {});
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    const again = await alice.request<Record<string, unknown>>("POST", PUBLISH, { product_id: productId, marketplace_ids: [MERCADOLIBRE] });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error_code: "ALREADY_PUBLISHED", task_id: first });
    expect((await alice.request("POST", `/tasks/${second}/retry/`, {})).status).toBe(400);
    expect((await waitForPublication(alice, productId, first)).status).toBe("completed");
    expect(ml.state.listingsWith(first)).toHaveLength(1);
  });
});
