/**
 * Synced Vinted listings become products. The listings are written the way the plugin writes them
 * (VintedService.upsertListings, as a sync result does), then imported over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImportVintedResponse, Product } from "../../shared/products.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { readListings } from "../../server/src/vinted/normalize.js";
import { listing } from "../plugin/helpers.js";
import { newSeller, type Seller } from "./helpers.js";

let server: TestServer;
let alice: Seller;
let bob: Seller;

async function synced(seller: Seller, items: Record<string, unknown>[]): Promise<void> {
  await server.description.services.vinted.upsertListings(seller.user.user.id, readListings(items).listings, "sync-task");
}

beforeAll(async () => {
  server = await startTestServer({}, { taskExecution: false });
  alice = await newSeller(server);
  bob = await newSeller(server);
  await synced(alice, [
    listing(101, "Robe Zara", { status: "Très bon état", description: "Portée deux fois", catalog_id: 10, brand_id: 12, size_id: 206, status_id: 2, color1_id: 1 }),
    listing(102, "Jean Levi's"),
    listing(103, "Vendu", { is_closed: true }),
  ]);
  await synced(bob, [listing(201, "Bob's coat")]);
});
afterAll(() => server?.close());

describe("import of synced Vinted listings", () => {
  it("imports every active listing, keeping the link to the Vinted item and its Vinted ids", async () => {
    const res = await alice.request<ImportVintedResponse>("POST", "/api/v1/products/import/vinted/", {});
    expect(res.status).toBe(200);
    expect(res.body.created.map((p) => p.source?.vinted_id)).toEqual([101, 102]);
    expect(res.body.already_imported).toEqual([]);
    const robe = res.body.created[0];
    expect(robe).toMatchObject({
      title: "Robe Zara",
      sku: "VINTED-101",
      price: 101.5,
      currency: "EUR",
      brand_name: "Nike",
      size: "M",
      condition: "very_good",
      description: "Portée deux fois",
      attributes: { vinted_catalog_id: 10, vinted_brand_id: 12, vinted_size_id: 206, vinted_status_id: 2, vinted_color_ids: [1] },
      source: { marketplace: "vinted", vinted_id: 101, url: "https://www.vinted.fr/items/101", photo_url: "https://images.vinted.net/101.jpg" },
    });
    const stored = await alice.request<Product>("GET", `/api/v1/products/${robe.id}/`);
    expect(stored.body).toEqual(robe);
  });

  it("never imports a listing twice into the same brand", async () => {
    const again = await alice.request<ImportVintedResponse>("POST", "/api/v1/products/import/vinted/", { vinted_ids: [101, 102, 103] });
    expect(again.status).toBe(200);
    // 103 is sold (gone) but was asked for by id: it is imported; the others were already.
    expect(again.body.created.map((p) => p.source?.vinted_id)).toEqual([103]);
    expect(again.body.already_imported.map((a) => a.vinted_id)).toEqual([101, 102]);
    const [a, b] = await Promise.all([
      alice.request<ImportVintedResponse>("POST", "/api/v1/products/import/vinted/", { vinted_ids: [101] }),
      alice.request<ImportVintedResponse>("POST", "/api/v1/products/import/vinted/", { vinted_ids: [101] }),
    ]);
    expect([...a.body.created, ...b.body.created]).toEqual([]);
  });

  it("imports only the caller's own listings, and says which asked-for ids it does not know", async () => {
    const res = await alice.request<ImportVintedResponse>("POST", "/api/v1/products/import/vinted/", { vinted_ids: [201, 999] });
    expect(res.body).toEqual({ created: [], already_imported: [], not_found: [201, 999] });
    const bad = await alice.request("POST", "/api/v1/products/import/vinted/", { vinted_ids: ["x"] });
    expect(bad.status).toBe(400);
    expect(bad.body.field_errors).toHaveProperty("vinted_ids.0");
  });

  it("keeps both when the seller already uses the SKU the import would give", async () => {
    await bob.createProduct({ sku: "VINTED-201" });
    const res = await bob.request<ImportVintedResponse>("POST", "/api/v1/products/import/vinted/", {});
    expect(res.body.created).toHaveLength(1);
    expect(res.body.created[0].sku).toBe("VINTED-201-2");
  });
});
