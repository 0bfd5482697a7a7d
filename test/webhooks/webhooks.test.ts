import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Page } from "../../shared/common.js";
import type { Webhook, WebhookCreated, WebhookDelivery } from "../../shared/webhooks.js";
import { allBrands } from "../../server/src/brands/scope.js";
import { isPrivateAddress } from "../../server/src/webhooks/address-guard.js";
import { newEvent, WebhookSender, verifySignature, signatureHeader } from "../../server/src/webhooks/index.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { newSeller, type Seller } from "../products/helpers.js";
import { signatureIsValid, startReceiver, type Receiver } from "./receiver.js";

let server: TestServer;
let receiver: Receiver;
let alice: Seller;
let bob: Seller;

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer(
    { WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true", WEBHOOK_RETRY_BASE_MS: "20", WEBHOOK_MAX_ATTEMPTS: "4", WEBHOOK_TIMEOUT_MS: "500" },
    { taskExecution: false },
  );
  alice = await newSeller(server);
  bob = await newSeller(server);
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});
beforeEach(() => {
  receiver.received.splice(0);
});

async function register(seller: Seller, events = ["publication.published"], url = receiver.url): Promise<WebhookCreated> {
  const res = await seller.request<WebhookCreated>("POST", "/api/v1/webhooks/", { url, events });
  if (res.status !== 201) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

describe("webhook endpoints", () => {
  it("shows the signing secret once, never again, and keeps it sealed in the database", async () => {
    const created = await register(alice, ["publication.published", "publication.failed"]);
    expect(created).toMatchObject({ id: expect.any(Number), url: receiver.url, events: ["publication.published", "publication.failed"], secret: expect.stringMatching(/^whsec_/) });
    const list = await alice.request<Page<Webhook>>("GET", "/api/v1/webhooks/");
    expect(list.body.results.map((w) => w.id)).toContain(created.id);
    const one = await alice.request<Webhook>("GET", `/api/v1/webhooks/${created.id}/`);
    expect(one.body).not.toHaveProperty("secret");
    expect(JSON.stringify([list.body, one.body])).not.toContain(created.secret);
    const stored = await allBrands(server.description.services.webhooks.service.Webhook.find({})).lean();
    expect(JSON.stringify(stored)).not.toContain(created.secret);
  });

  it("validates url and events", async () => {
    const res = await alice.request("POST", "/api/v1/webhooks/", { url: "not a url", events: ["publication.sold", "publication.failed"] });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors as object).sort()).toEqual(["events.0", "url"]);
    const ftp = await alice.request("POST", "/api/v1/webhooks/", { url: "ftp://example.com/x", events: ["publication.failed"] });
    expect(ftp.status).toBe(400);
    expect(ftp.body.field_errors).toHaveProperty("url");
    const none = await alice.request("POST", "/api/v1/webhooks/", { url: "https://example.com/x", events: [] });
    expect(none.status).toBe(400);
  });

  it("belongs to its brand: another brand gets 404, and deletes only its own", async () => {
    const created = await register(alice);
    expect((await bob.request("GET", `/api/v1/webhooks/${created.id}/`)).status).toBe(404);
    expect((await bob.request("DELETE", `/api/v1/webhooks/${created.id}/`)).status).toBe(404);
    expect((await bob.request("POST", `/api/v1/webhooks/${created.id}/test/`)).status).toBe(404);
    expect((await bob.request<Page<Webhook>>("GET", "/api/v1/webhooks/")).body.results).toEqual([]);
    expect((await alice.request("DELETE", `/api/v1/webhooks/${created.id}/`)).status).toBe(204);
    expect((await alice.request("GET", `/api/v1/webhooks/${created.id}/`)).status).toBe(404);
  });

  it("lists the endpoints subscribed to an event, for the delivery step", async () => {
    const carol = await newSeller(server);
    const published = await register(carol, ["publication.published"]);
    const failed = await register(carol, ["publication.failed"]);
    const { service } = server.description.services.webhooks;
    const brand = carol.user.user.personal_brand_id;
    expect((await service.endpointsFor(brand, "publication.published")).map((e) => e.id)).toEqual([published.id]);
    expect((await service.endpointsFor(brand, "publication.failed")).map((e) => ({ id: e.id, secret: e.secret }))).toEqual([{ id: failed.id, secret: failed.secret }]);
    expect(await service.endpointsFor(bob.user.user.personal_brand_id, "publication.published")).toEqual([]);
  });
});

describe("signed delivery", () => {
  it("a test ping arrives signed over timestamp and body; the receiver's own check accepts it", async () => {
    const created = await register(alice);
    receiver.answer({ status: 200, body: "pong" });
    const res = await alice.request<WebhookDelivery>("POST", `/api/v1/webhooks/${created.id}/test/`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ delivered: true, attempts: 1, status_code: 200, response: "pong", error: null });
    const [got] = receiver.received;
    expect(got.headers["content-type"]).toBe("application/json");
    expect(got.headers["markethub-event"]).toBe("ping");
    const event = JSON.parse(got.body);
    expect(got.headers["markethub-delivery"]).toBe(event.id);
    expect(event).toMatchObject({ type: "ping", data: { webhook_id: created.id } });
    expect(signatureIsValid(created.secret, got.headers["markethub-signature"] as string, got.body)).toBe(true);
    // Any change of body, secret or timestamp breaks it.
    expect(signatureIsValid(created.secret, got.headers["markethub-signature"] as string, got.body.replace("ping", "pong"))).toBe(false);
    expect(signatureIsValid("whsec_other", got.headers["markethub-signature"] as string, got.body)).toBe(false);
    const header = got.headers["markethub-signature"] as string;
    expect(verifySignature(created.secret, header, got.body)).toBe(true);
    const old = signatureHeader(created.secret, got.body, Math.floor(Date.now() / 1000) - 3600);
    expect(verifySignature(created.secret, old, got.body)).toBe(false);
  });

  it("retries 5xx and 429 with backoff, the same event each time, until delivered", async () => {
    const created = await register(alice);
    const [endpoint] = (await server.description.services.webhooks.service.endpointsFor(alice.user.user.personal_brand_id, "publication.published")).filter((e) => e.id === created.id);
    receiver.answer({ status: 503, body: "down" }, { status: 429, headers: { "Retry-After": "0" } }, { status: 204 });
    const seen: Array<{ outcome: string; status: number | null }> = [];
    const event = newEvent("publication.published", { task_id: "t-1", marketplace_id: "MLA1" });
    const report = await server.description.services.webhooks.service.deliver(endpoint, event, (a) => {
      seen.push({ outcome: a.outcome, status: a.status_code });
    });
    expect(report).toMatchObject({ delivered: true, attempts: 3, status_code: 204 });
    expect(seen).toEqual([{ outcome: "transient", status: 503 }, { outcome: "transient", status: 429 }, { outcome: "delivered", status: 204 }]);
    expect(receiver.received.map((r) => JSON.parse(r.body).id)).toEqual([event.id, event.id, event.id]);
    for (const r of receiver.received) expect(signatureIsValid(created.secret, r.headers["markethub-signature"] as string, r.body)).toBe(true);
  });

  it("gives up after WEBHOOK_MAX_ATTEMPTS, and does not retry a refusal", async () => {
    const sender = server.description.services.webhooks.service.sender;
    const target = { url: receiver.url, secret: "whsec_x" };
    receiver.answer(...Array.from({ length: 4 }, () => ({ status: 500 })));
    const exhausted = await sender.deliver(target, newEvent("publication.failed", {}));
    expect(exhausted).toMatchObject({ delivered: false, attempts: 4, outcome: "transient", status_code: 500 });
    receiver.received.splice(0);
    receiver.answer({ status: 410, body: "gone" });
    const refused = await sender.deliver(target, newEvent("publication.failed", {}));
    expect(refused).toMatchObject({ delivered: false, attempts: 1, outcome: "final", status_code: 410, response: "gone" });
    expect(receiver.received).toHaveLength(1);
  });

  it("cuts the recorded answer to 1,000 characters, and does not follow redirects", async () => {
    const sender = server.description.services.webhooks.service.sender;
    const target = { url: receiver.url, secret: "whsec_x" };
    receiver.answer({ status: 200, body: "x".repeat(100_000) });
    const long = await sender.sendOnce(target, newEvent("ping", {}));
    expect(long.outcome).toBe("delivered");
    expect(long.response).toHaveLength(1000);
    receiver.answer({ status: 302, headers: { Location: "http://169.254.169.254/latest/meta-data/" } });
    const redirect = await sender.sendOnce(target, newEvent("ping", {}));
    expect(redirect).toMatchObject({ outcome: "final", status_code: 302, error: expect.stringContaining("not followed") });
  });

  it("an endpoint that does not answer in time is a transient failure", async () => {
    const sender = new WebhookSender({ allowPrivateNetworks: true, timeoutMs: 200, maxAttempts: 1, retryBaseMs: 10 });
    receiver.answer({ status: 200, delayMs: 2000 });
    const attempt = await sender.sendOnce({ url: receiver.url, secret: "s" }, newEvent("ping", {}));
    expect(attempt).toMatchObject({ outcome: "transient", status_code: null, error: expect.stringContaining("ETIMEDOUT") });
  });
});

describe("SSRF guard", () => {
  let guarded: TestServer;
  beforeAll(async () => {
    guarded = await startTestServer({}, { taskExecution: false });
  });
  afterAll(() => guarded?.close());

  it("refuses private, loopback and link-local URLs at registration by default", async () => {
    const seller = await newSeller(guarded);
    for (const url of [receiver.url, "http://10.1.2.3/h", "http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/h", "http://localhost:9000/h", "http://192.168.1.10/h", "http://[::ffff:127.0.0.1]/h", "http://user:pw@example.com/h"]) {
      const res = await seller.request("POST", "/api/v1/webhooks/", { url, events: ["publication.failed"] });
      expect(res.status, url).toBe(400);
      expect(res.body.field_errors, url).toHaveProperty("url");
    }
    const ok = await seller.request("POST", "/api/v1/webhooks/", { url: "https://hooks.example.com/markethub", events: ["publication.failed"] });
    expect(ok.status).toBe(201);
  });

  it("refuses at delivery a name that resolves to a private address, without connecting", async () => {
    const sender = new WebhookSender({ allowPrivateNetworks: false, timeoutMs: 2000, maxAttempts: 3, retryBaseMs: 10 });
    const byName = await sender.deliver({ url: `http://localhost:${receiver.port}/h`, secret: "s" }, newEvent("ping", {}));
    expect(byName).toMatchObject({ delivered: false, attempts: 1, outcome: "final", status_code: null, error: expect.stringContaining("private or loopback") });
    const literal = await sender.sendOnce({ url: receiver.url, secret: "s" }, newEvent("ping", {}));
    expect(literal).toMatchObject({ outcome: "final", error: expect.stringContaining("private or loopback") });
    expect(receiver.received).toHaveLength(0);
  });

  it("knows the private ranges, IPv4 carried in IPv6 included", () => {
    for (const ip of ["127.0.0.1", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "::", "fd00::1", "fe80::1", "::ffff:10.0.0.1", "::ffff:7f00:1"]) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ["8.8.8.8", "172.32.0.1", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) expect(isPrivateAddress(ip), ip).toBe(false);
  });
});
