/**
 * The MercadoLibre connector against the fake MercadoLibre (test/fixtures/fake-mercadolibre), with
 * connections stored by the real server: success, validation refusal (final, with MercadoLibre's
 * answer), 5xx and 429 (transient, Retry-After kept), an expired token refreshed exactly once, and
 * finding a listing whose creation answer was lost.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { PublishRequest } from "../../server/src/marketplaces/index.js";
import type { MercadoLibreCredentials } from "../../server/src/marketplaces/mercadolibre/credentials.js";
import { fitTitle } from "../../server/src/marketplaces/mercadolibre/item.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { startFakeMercadoLibre, type FakeMercadoLibre, type FakeToken } from "../fixtures/fake-mercadolibre/index.js";
import { imageBytes, newSeller, type Seller } from "../products/helpers.js";

const MERCADOLIBRE = 2;
let server: TestServer;
let ml: FakeMercadoLibre;
let seller: Seller;
let token: FakeToken;
let productId: number;
let reference = 0;

beforeAll(async () => {
  ml = await startFakeMercadoLibre();
  server = await startTestServer({ MERCADOLIBRE_API_URL: ml.url, PUBLIC_URL: "https://hub.example.com" }, { taskExecution: false });
  seller = await newSeller(server);
  const product = await seller.createProduct({
    title: "Zapatillas Nike Air Max 90 originales talle 42 color blanco impecables",
    sku: "NIKE-AM90-42",
    price: 85000,
    currency: "ARS",
    brand_name: "Nike",
    color: "Blanco",
    size: "42",
    condition: "very_good",
    attributes: { mercadolibre_category_id: "MLA109027" },
  });
  productId = product.id;
  await seller.send("POST", `/api/v1/products/${productId}/photos/`, new Uint8Array(imageBytes("jpeg")), { "Content-Type": "image/jpeg" });
});
afterAll(async () => {
  await server?.close();
  await ml?.close();
});

beforeEach(async () => {
  ml.clearFaults();
  token = ml.state.issueToken({ userId: 8880001 });
  const res = await seller.request("PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, {
    access_token: token.accessToken,
    refresh_token: token.refreshToken,
    client_id: token.clientId,
    client_secret: token.clientSecret,
    site_id: "MLA",
    user_id: 8880001,
  });
  expect(res.status).toBe(200);
});

const brand = () => seller.user.user.personal_brand_id;
const { connector, handle } = {
  connector: () => server.description.services.marketplaces.service.connector(MERCADOLIBRE),
  handle: async () => server.description.services.marketplaces.service.handle<MercadoLibreCredentials>(brand(), MERCADOLIBRE),
};

async function request(options: Record<string, unknown> = {}): Promise<PublishRequest> {
  const product = await server.description.services.products.products.publishable(brand(), productId);
  return { product, enhancement: null, options, reference: `pub-${++reference}`, brand: brand(), user: seller.user.user.id };
}

describe("MercadoLibre connector", () => {
  it("publishes an item and answers its id and permalink", async () => {
    const req = await request();
    const outcome = await connector().publish(req, await handle());
    expect(outcome.outcome).toBe("published");
    if (outcome.outcome !== "published") return;
    const listing = ml.state.listings.find((l) => l.id === outcome.listing.marketplace_id)!;
    expect(outcome.listing).toEqual({ marketplace_id: listing.id, listing_url: listing.permalink, status: "active" });
    expect(listing).toMatchObject({
      category_id: "MLA109027",
      price: 85000,
      currency_id: "ARS",
      available_quantity: 1,
      buying_mode: "buy_it_now",
      listing_type_id: "gold_special",
      condition: "used",
      seller_custom_field: req.reference,
    });
    expect(listing.title.length).toBeLessThanOrEqual(60);
    expect(listing.title).toBe(fitTitle(req.product.title));
    expect(listing.pictures).toEqual([{ source: req.product.photos[0].url }]);
    expect(listing.pictures[0].source).toMatch(/^https:\/\/hub\.example\.com\/api\/v1\/product-photos\//);
    expect(ml.state.itemPosts().at(-1)?.authorization).toBe(`Bearer ${token.accessToken}`);
  });

  it("a validation refusal is final and carries MercadoLibre's answer", async () => {
    const before = ml.state.listings.length;
    const outcome = await connector().publish(await request({ category_id: "MLA999999" }), await handle());
    expect(outcome).toMatchObject({
      outcome: "failed",
      error: {
        kind: "final",
        status: 400,
        message: expect.stringContaining("Category MLA999999 does not exist"),
        marketplace_response: { message: "Validation error", error: "validation_error", status: 400, cause: [expect.objectContaining({ code: "item.category_id.invalid" })] },
      },
    });
    expect(ml.state.listings.length).toBe(before);
  });

  it("a product without any MercadoLibre category fails at once, without calling MercadoLibre", async () => {
    const req = await request();
    req.product = { ...req.product, attributes: {} };
    const posts = ml.state.itemPosts().length;
    const outcome = await connector().publish(req, await handle());
    expect(outcome).toMatchObject({ outcome: "failed", error: { kind: "final", marketplace_response: { error_code: "MISSING_CATEGORY" } } });
    expect(ml.state.itemPosts().length).toBe(posts);
  });

  it.each([500, 502, 503])("a %i is transient and creates nothing", async (status) => {
    ml.inject({ kind: "serverError", count: 1, status });
    const before = ml.state.listings.length;
    const outcome = await connector().publish(await request(), await handle());
    expect(outcome).toMatchObject({ outcome: "failed", error: { kind: "transient", status, marketplace_response: { status } } });
    expect(ml.state.listings.length).toBe(before);
  });

  it("a 429 is transient and keeps its Retry-After", async () => {
    ml.inject({ kind: "rateLimit", count: 1, retryAfterSeconds: 7 });
    const outcome = await connector().publish(await request(), await handle());
    expect(outcome).toMatchObject({ outcome: "failed", error: { kind: "transient", status: 429, retry_after_ms: 7000 } });
    ml.inject({ kind: "rateLimit", count: 1, retryAfterSeconds: null });
    const noHeader = await connector().publish(await request(), await handle());
    expect(noHeader).toMatchObject({ outcome: "failed", error: { kind: "transient", status: 429, retry_after_ms: null } });
  });

  it("an unreachable MercadoLibre is transient", async () => {
    const offline = await startTestServer({ MERCADOLIBRE_API_URL: "http://127.0.0.1:9", PUBLIC_URL: "https://hub.example.com" }, { taskExecution: false });
    try {
      const other = await newSeller(offline);
      const res = await other.request("PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, {
        access_token: "APP_USR-whatever", refresh_token: "TG-xyz", client_id: "1", client_secret: "s", site_id: "MLA",
      });
      // Unreachable at connect time: the credentials are kept (checked when used), without a user id yet.
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ connected: true, connection: { details: { user_id: null } } });
      const p = await other.createProduct({ attributes: { mercadolibre_category_id: "MLA1055" } });
      const svc = offline.description.services;
      const product = await svc.products.products.publishable(other.user.user.personal_brand_id, p.id);
      const outcome = await svc.marketplaces.service.connector(MERCADOLIBRE).publish(
        { product, enhancement: null, options: {}, reference: "offline-1", brand: other.user.user.personal_brand_id, user: other.user.user.id },
        await svc.marketplaces.service.handle(other.user.user.personal_brand_id, MERCADOLIBRE),
      );
      expect(outcome).toMatchObject({ outcome: "failed", error: { kind: "transient", status: null, message: expect.stringContaining("could not be reached") } });
    } finally {
      await offline.close();
    }
  });

  it("an expired token is refreshed once, stored (single-use refresh tokens), and the item published", async () => {
    ml.state.expire(token.accessToken);
    const refreshes = ml.state.refreshCount;
    const outcome = await connector().publish(await request(), await handle());
    expect(outcome.outcome).toBe("published");
    expect(ml.state.refreshCount).toBe(refreshes + 1);
    const stored = (await handle())!.credentials();
    expect(stored.access_token).not.toBe(token.accessToken);
    expect(ml.state.tokenFor(stored.access_token)).not.toBeNull();
    // The next publication uses the stored token directly: no further refresh.
    expect((await connector().publish(await request(), await handle())).outcome).toBe("published");
    expect(ml.state.refreshCount).toBe(refreshes + 1);
  });

  it("two publications that find the token expired at once refresh it once between them", async () => {
    ml.state.expire(token.accessToken);
    const refreshes = ml.state.refreshCount;
    const [h1, h2] = [await handle(), await handle()];
    const outcomes = await Promise.all([connector().publish(await request(), h1), connector().publish(await request(), h2)]);
    // One refresh wins; the other finds the refresh token spent and uses the pair the winner stored.
    expect(ml.state.refreshCount).toBe(refreshes + 1);
    expect(outcomes.map((o) => o.outcome)).toEqual(["published", "published"]);
  });

  it("a refresh MercadoLibre refuses ends the attempt as final, after exactly one refresh attempt", async () => {
    ml.state.expire(token.accessToken);
    const h = (await handle())!;
    await h.replace({ ...h.credentials(), refresh_token: "TG-revoked" });
    const refreshRequests = () => ml.state.requests.filter((r) => r.path === "/oauth/token").length;
    const before = refreshRequests();
    const outcome = await connector().publish(await request(), h);
    expect(outcome).toMatchObject({ outcome: "failed", error: { kind: "final", status: 400, marketplace_response: { error: "invalid_grant" } } });
    expect(refreshRequests()).toBe(before + 1);
  });

  it("finds the listing of a publication whose answer was lost, so it is never created twice", async () => {
    ml.inject({ kind: "dropAfterCreate", count: 1 });
    const req = await request();
    const lost = await connector().publish(req, await handle());
    expect(lost).toMatchObject({ outcome: "failed", error: { kind: "transient" } });
    expect(ml.state.listingsWith(req.reference)).toHaveLength(1);
    const found = await connector().findByReference(req.reference, await handle());
    const listing = ml.state.listingsWith(req.reference)[0];
    expect(found).toEqual({ marketplace_id: listing.id, listing_url: listing.permalink, status: "active" });
    expect(await connector().findByReference("never-published", await handle())).toBeNull();
  });
});
