import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "../../shared/common.js";
import type { Marketplace } from "../../shared/marketplaces.js";
import { allBrands } from "../../server/src/brands/scope.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { startFakeMercadoLibre, type FakeMercadoLibre } from "../fixtures/fake-mercadolibre/index.js";
import { newSeller, type Seller } from "../products/helpers.js";

let server: TestServer;
let ml: FakeMercadoLibre;
let alice: Seller;
let bob: Seller;

const VINTED = 1;
const MERCADOLIBRE = 2;

beforeAll(async () => {
  ml = await startFakeMercadoLibre();
  server = await startTestServer({ MERCADOLIBRE_API_URL: ml.url }, { taskExecution: false });
  alice = await newSeller(server);
  bob = await newSeller(server);
});
afterAll(async () => {
  await server?.close();
  await ml?.close();
});

function mlCredentials(token = ml.state.issueToken({ userId: 5550001 }), extra: Record<string, unknown> = {}) {
  return { access_token: token.accessToken, refresh_token: token.refreshToken, client_id: token.clientId, client_secret: token.clientSecret, site_id: "mla", ...extra };
}

describe("marketplaces", () => {
  it("lists Vinted and MercadoLibre with integer ids, names, codes and whether they are connected", async () => {
    const res = await alice.request<Page<Marketplace>>("GET", "/api/v1/marketplaces/");
    expect(res.status).toBe(200);
    expect(res.body.results.map(({ id, name, code, connected, connection_method }) => ({ id, name, code, connected, connection_method }))).toEqual([
      { id: VINTED, name: "Vinted", code: "vinted", connected: false, connection_method: "extension" },
      { id: MERCADOLIBRE, name: "MercadoLibre", code: "mercadolibre", connected: false, connection_method: "credentials" },
    ]);
    const one = await alice.request<Marketplace>("GET", `/api/v1/marketplaces/${MERCADOLIBRE}/`);
    expect(one.body).toMatchObject({ id: MERCADOLIBRE, title_max_length: 60, connection: null });
  });

  it("answers an unknown marketplace as the spec does", async () => {
    const res = await alice.request("GET", "/api/v1/marketplaces/999/");
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: "Marketplace with id 999 not found", error_code: "NOT_FOUND" });
    expect((await alice.request("PUT", "/api/v1/marketplaces/999/connection", {})).status).toBe(404);
  });

  it("connects MercadoLibre, reads the seller's user id with the token, and never returns a secret", async () => {
    const credentials = mlCredentials();
    const res = await alice.request<Marketplace>("PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, credentials);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ connected: true, connection: { details: { site_id: "MLA", user_id: 5550001 } } });
    const listed = await alice.request<Page<Marketplace>>("GET", "/api/v1/marketplaces/");
    const text = JSON.stringify([res.body, listed.body]);
    for (const secret of [credentials.access_token, credentials.refresh_token, credentials.client_secret]) expect(text).not.toContain(secret);
    expect(listed.body.results.find((m) => m.id === MERCADOLIBRE)?.connected).toBe(true);
    // Other brands are not connected by it.
    const bobs = await bob.request<Page<Marketplace>>("GET", "/api/v1/marketplaces/");
    expect(bobs.body.results.find((m) => m.id === MERCADOLIBRE)?.connected).toBe(false);
  });

  it("stores the credentials encrypted: no token in the database, and the sealed value opens only for its own row", async () => {
    const credentials = mlCredentials(undefined, { user_id: 42 });
    await bob.request("PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, credentials);
    const { service } = server.description.services.marketplaces;
    const stored = await allBrands(service.Connection.find({})).lean();
    const raw = JSON.stringify(stored);
    for (const secret of [credentials.access_token, credentials.refresh_token, credentials.client_secret]) expect(raw).not.toContain(secret);

    const bobBrand = bob.user.user.personal_brand_id;
    const handle = await service.handle<{ access_token: string }>(bobBrand, MERCADOLIBRE);
    expect(handle?.credentials().access_token).toBe(credentials.access_token);
    // The same ciphertext moved onto Alice's row does not open there (it is bound to brand and marketplace).
    const bobDoc = stored.find((d) => d.brand === bobBrand)!;
    const aliceBrand = alice.user.user.personal_brand_id;
    await service.Connection.updateOne({ brand: aliceBrand, marketplace_id: MERCADOLIBRE }, { $set: { sealed: bobDoc.sealed } });
    await expect(service.handle(aliceBrand, MERCADOLIBRE)).rejects.toThrow();
    await alice.request("PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, mlCredentials());
  });

  it("validates the connection body field by field, and refuses credentials MercadoLibre refuses", async () => {
    const res = await alice.request("PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, { access_token: "x", site_id: "France" });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors as object).sort()).toEqual(["access_token", "client_id", "client_secret", "refresh_token", "site_id"]);
    const revoked = { access_token: "APP_USR-not-a-token", refresh_token: "TG-nope", client_id: "1", client_secret: "s", site_id: "MLA" };
    const refused = await alice.request("PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, revoked);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error_code: "INVALID_OPERATION", marketplace_response: { error: "invalid_grant" } });
    expect(String(refused.body.detail)).toContain("refused these credentials");
  });

  it("Vinted takes no credentials: it is connected once the seller's extension has read the Vinted account", async () => {
    const put = await alice.request("PUT", `/api/v1/marketplaces/${VINTED}/connection`, {});
    expect(put.status).toBe(400);
    expect(put.body.error_code).toBe("INVALID_OPERATION");
    await server.description.services.vinted.storeAccount(alice.user.user.id, { user_id: 29535217, login: "shop" }, "task-1");
    const vinted = await alice.request<Marketplace>("GET", `/api/v1/marketplaces/${VINTED}/`);
    expect(vinted.body.connected).toBe(true);
    expect((await bob.request<Marketplace>("GET", `/api/v1/marketplaces/${VINTED}/`)).body.connected).toBe(false);
  });

  it("disconnects", async () => {
    const carol = await newSeller(server);
    await carol.request("PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, mlCredentials(undefined, { user_id: 7 }));
    expect((await carol.request("DELETE", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`)).status).toBe(204);
    const after = await carol.request<Marketplace>("GET", `/api/v1/marketplaces/${MERCADOLIBRE}/`);
    expect(after.body).toMatchObject({ connected: false, connection: null });
    expect(await server.description.services.marketplaces.service.handle(carol.user.user.personal_brand_id, MERCADOLIBRE)).toBeNull();
  });
});
