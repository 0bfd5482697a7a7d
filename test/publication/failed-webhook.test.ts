/**
 * `publication.failed` over HTTP: a publication that fails is announced, signed, to the brand's
 * endpoints subscribed to it (with the failed step and the marketplace's answer), retried when the
 * endpoint answers 5xx, and never sent for a publication that completes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER } from "../../shared/webhooks.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { startFakeMercadoLibre, type FakeMercadoLibre } from "../fixtures/fake-mercadolibre/index.js";
import { newSeller, type Seller } from "../products/helpers.js";
import { waitFor } from "../tasks/fixtures/tasks.js";
import { signatureIsValid, startReceiver, type Received, type Receiver } from "../webhooks/receiver.js";
import { connectMercadoLibre, MERCADOLIBRE, newMercadoLibreProduct, publishTo, waitForPublication } from "./helpers.js";

let server: TestServer;
let ml: FakeMercadoLibre;
let failures: Receiver;
let published: Receiver;
let alice: Seller;
let failureSecret: string;

beforeAll(async () => {
  ml = await startFakeMercadoLibre();
  failures = await startReceiver();
  published = await startReceiver();
  server = await startTestServer({ MERCADOLIBRE_API_URL: ml.url, WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true", WEBHOOK_RETRY_BASE_MS: "20" });
  alice = await newSeller(server);
  await connectMercadoLibre(alice, ml, 7770201);
  const hook = await alice.request<{ secret: string }>("POST", "/api/v1/webhooks/", { url: failures.url, events: ["publication.failed"] });
  expect(hook.status).toBe(201);
  failureSecret = hook.body.secret;
  expect((await alice.request("POST", "/api/v1/webhooks/", { url: published.url, events: ["publication.published"] })).status).toBe(201);
});
afterAll(async () => {
  await server?.description.services.publication.idle();
  await server?.close();
  await ml?.close();
  await failures?.close();
  await published?.close();
});

const about = (receiver: Receiver, taskId: string) => receiver.received.filter((r) => r.body.includes(taskId));

async function deliveriesAbout(receiver: Receiver, taskId: string, count: number): Promise<Received[]> {
  return (await waitFor(() => Promise.resolve(about(receiver, taskId)), (r) => r.length >= count, { timeoutMs: 15_000, intervalMs: 50, what: `${count} deliveries about ${taskId}` }))!;
}

describe("publication.failed webhook", () => {
  it("announces a refused publication, signed, with the failed step and the marketplace's answer", async () => {
    const completedProduct = await newMercadoLibreProduct(alice, "FAILHOOK-OK");
    const completedTask = await publishTo(alice, completedProduct, MERCADOLIBRE);
    expect((await waitForPublication(alice, completedProduct, completedTask)).status).toBe("completed");

    const productId = await newMercadoLibreProduct(alice, "FAILHOOK-1", "MLA999999");
    const taskId = await publishTo(alice, productId, MERCADOLIBRE);
    expect((await waitForPublication(alice, productId, taskId)).status).toBe("failed");
    const [delivery] = await deliveriesAbout(failures, taskId, 1);

    expect(delivery.headers[EVENT_HEADER.toLowerCase()]).toBe("publication.failed");
    expect(signatureIsValid(failureSecret, delivery.headers[SIGNATURE_HEADER.toLowerCase()] as string, delivery.body)).toBe(true);
    expect(JSON.parse(delivery.body)).toMatchObject({
      type: "publication.failed",
      data: {
        task_id: taskId,
        product_id: productId,
        product_sku: "FAILHOOK-1",
        marketplace_id: MERCADOLIBRE,
        marketplace_name: "MercadoLibre",
        steps_completed: ["enhancement"],
        error_details: { step: "publication", error: expect.any(String), retries: 0, marketplace_response: { status: 400, cause: [expect.objectContaining({ code: "item.category_id.invalid" })] } },
      },
    });
    // Subscriptions are kept apart: the failure went to no publication.published endpoint, the success to no failure endpoint.
    expect(about(published, taskId)).toHaveLength(0);
    expect(about(failures, completedTask)).toHaveLength(0);
    expect(about(published, completedTask)).toHaveLength(1);
  });

  it("retries the same event while the endpoint answers 5xx", async () => {
    const productId = await newMercadoLibreProduct(alice, "FAILHOOK-2", "MLA999999");
    failures.answer({ status: 503, body: "busy" }, { status: 502, body: "busy" });
    const taskId = await publishTo(alice, productId, MERCADOLIBRE);
    const deliveries = await deliveriesAbout(failures, taskId, 3);
    const ids = new Set(deliveries.map((d) => d.headers[DELIVERY_HEADER.toLowerCase()]));
    expect(ids.size).toBe(1);
    for (const d of deliveries) expect(signatureIsValid(failureSecret, d.headers[SIGNATURE_HEADER.toLowerCase()] as string, d.body)).toBe(true);
  });
});
