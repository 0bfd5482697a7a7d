/**
 * A server process SIGKILLed after MercadoLibre created the listing but before the publication
 * saved it (the fake holds its answer back, so the kill lands exactly there). Another process
 * recovers the task: the publication step finds the listing by its reference instead of posting it
 * again, and the product ends with exactly one listing.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProductTask, ProductTasksResponse, PublishResponse } from "../../shared/publications.js";
import { startFakeMercadoLibre, type FakeMercadoLibre } from "../fixtures/fake-mercadolibre/index.js";
import { startCluster, type ChildServer, type Cluster } from "../tasks/fixtures/cluster.js";
import { waitFor } from "../tasks/fixtures/tasks.js";
import { MERCADOLIBRE, PUBLISH, productTasksPath } from "./helpers.js";

const FAST = { TASK_POLL_MS: "100", TASK_HEARTBEAT_MS: "1000", TASK_CANCEL_POLL_MS: "100", TASK_RETRY_BASE_MS: "100" };

let ml: FakeMercadoLibre;
let cluster: Cluster;

beforeAll(async () => {
  ml = await startFakeMercadoLibre();
  // One credentials key for every process: the second one opens the tokens the first sealed.
  cluster = await startCluster(["first"], {
    ...FAST,
    CREDENTIALS_KEY: randomBytes(32).toString("hex"),
    MERCADOLIBRE_API_URL: ml.url,
    // Far longer than the test: the first process is killed while it waits, never times out.
    MERCADOLIBRE_TIMEOUT_MS: "120000",
  });
}, 60_000);
afterAll(async () => {
  await cluster?.close();
  await ml?.close();
});

async function asSeller(server: ChildServer) {
  const res = await server.request<{ access_token: string }>("POST", "/api/v1/auth/register", {
    body: { email: `crash-${randomBytes(4).toString("hex")}@example.com`, password: "a long enough password" },
  });
  expect(res.status).toBe(201);
  return res.body.access_token;
}

describe("a crash between the marketplace's acceptance and the save", () => {
  it("never creates a second listing: the recovered publication finds the first", async () => {
    const first = cluster.servers[0];
    const token = await asSeller(first);
    const call = <T>(server: ChildServer, method: string, path: string, body?: unknown) => server.request<T>(method, path, { token, body });

    const auth = ml.state.issueToken({ userId: 7770301 });
    const connected = await call(first, "PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, {
      access_token: auth.accessToken,
      refresh_token: auth.refreshToken,
      client_id: auth.clientId,
      client_secret: auth.clientSecret,
      site_id: "MLA",
      user_id: 7770301,
    });
    expect(connected.status, JSON.stringify(connected.body)).toBe(200);
    const product = await call<{ id: number }>(first, "POST", "/api/v1/products/", {
      title: "Campera de cuero negra talle M",
      sku: "CRASH-1",
      price: 120000,
      currency: "ARS",
      condition: "very_good",
      attributes: { mercadolibre_category_id: "MLA109027" },
    });
    expect(product.status).toBe(201);

    ml.inject({ kind: "holdAfterCreate", count: 1 });
    const published = await call<PublishResponse>(first, "POST", PUBLISH, { product_id: product.body.id, marketplace_ids: [MERCADOLIBRE] });
    expect(published.status).toBe(202);
    const taskId = published.body.tasks[0].task_id;

    await waitFor(() => Promise.resolve(ml.state.listingsWith(taskId)), (l) => l.length === 1, { timeoutMs: 20_000, intervalMs: 20, what: "the listing created on the fake" });
    await first.kill("SIGKILL");

    const second = await cluster.add("second");
    const view = async () => (await call<ProductTasksResponse>(second, "GET", productTasksPath(product.body.id))).body.tasks.find((t) => t.task_id === taskId);
    const done = (await waitFor(view, (t?: ProductTask) => t?.status === "completed" || t?.status === "failed", { timeoutMs: 30_000, intervalMs: 100, what: "the recovered publication" }))!;

    const listings = ml.state.listingsWith(taskId);
    expect(listings).toHaveLength(1);
    expect(ml.state.itemPosts().filter((r) => JSON.stringify(r.body).includes(taskId))).toHaveLength(1);
    expect(done).toMatchObject({
      status: "completed",
      steps_completed: ["enhancement", "publication", "webhook"],
      publication_result: { success: true, marketplace_id: listings[0].id, listing_url: listings[0].permalink },
    });
  }, 90_000);
});
