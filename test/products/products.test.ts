import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "../../shared/common.js";
import type { Product } from "../../shared/products.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { newSeller, type Seller } from "./helpers.js";

let server: TestServer;
let alice: Seller;
let bob: Seller;

beforeAll(async () => {
  server = await startTestServer({}, { taskExecution: false });
  alice = await newSeller(server);
  bob = await newSeller(server);
});
afterAll(() => server?.close());

describe("catalog CRUD", () => {
  it("creates a product with an integer id, defaults and every field", async () => {
    const res = await alice.request<Product>("POST", "/api/v1/products/", {
      title: "iPhone 15 Pro",
      sku: "IPH15P-001",
      description: "Like new",
      price: 999.99,
      currency: "eur",
      brand_name: "Apple",
      size: null,
      condition: "very_good",
      category: "Smartphones",
      color: "Titanium",
      attributes: { storage: "256GB", dual_sim: true },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.any(Number),
      title: "iPhone 15 Pro",
      sku: "IPH15P-001",
      price: 999.99,
      currency: "EUR",
      condition: "very_good",
      attributes: { storage: "256GB", dual_sim: true },
      photos: [],
      source: null,
    });
    const got = await alice.request<Product>("GET", `/api/v1/products/${res.body.id}/`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
  });

  it("generates a SKU when none is given", async () => {
    const product = await alice.createProduct({ title: "No SKU" });
    expect(product.sku).toBe(`MH-${product.id}`);
  });

  it("refuses a duplicate SKU in the same brand with a clear 409, but not in another brand", async () => {
    await alice.createProduct({ sku: "DUP-1" });
    const dup = await alice.request("POST", "/api/v1/products/", { title: "Other", price: 1, sku: "DUP-1" });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ error_code: "SKU_TAKEN", field_errors: { sku: [expect.stringContaining("DUP-1")] } });
    expect(dup.body.detail).toContain("DUP-1");
    const elsewhere = await bob.request("POST", "/api/v1/products/", { title: "Bob's", price: 1, sku: "DUP-1" });
    expect(elsewhere.status).toBe(201);

    const other = await alice.createProduct({ sku: "DUP-2" });
    const renamed = await alice.request("PATCH", `/api/v1/products/${other.id}/`, { sku: "DUP-1" });
    expect(renamed.status).toBe(409);
    expect(renamed.body.error_code).toBe("SKU_TAKEN");
  });

  it("answers validation errors field by field", async () => {
    const res = await alice.request("POST", "/api/v1/products/", { title: "", price: -1, currency: "euro", condition: "mint", sku: "bad sku!", color: 3, extra: 1 });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe("VALIDATION_ERROR");
    expect(Object.keys(res.body.field_errors as object).sort()).toEqual(expect.arrayContaining(["title", "price", "currency", "condition", "sku", "color"]));
    const decimals = await alice.request("POST", "/api/v1/products/", { title: "x", price: 1.234 });
    expect(decimals.status).toBe(400);
    expect(decimals.body.field_errors).toHaveProperty("price");
    const missing = await alice.request("POST", "/api/v1/products/", {});
    expect(Object.keys(missing.body.field_errors as object)).toEqual(expect.arrayContaining(["title", "price"]));
    const badId = await alice.request("GET", "/api/v1/products/abc/");
    expect(badId.status).toBe(400);
  });

  it("patches some fields and deletes", async () => {
    const product = await alice.createProduct({ sku: "PATCH-1", attributes: { a: 1 } });
    const patched = await alice.request<Product>("PATCH", `/api/v1/products/${product.id}/`, { price: 12.5, condition: "good", attributes: { b: "x" } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ price: 12.5, condition: "good", attributes: { b: "x" }, title: product.title, sku: "PATCH-1" });
    expect((await alice.request("DELETE", `/api/v1/products/${product.id}/`)).status).toBe(204);
    const gone = await alice.request("GET", `/api/v1/products/${product.id}/`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ error_code: "NOT_FOUND", error: `Product with id ${product.id} not found` });
    expect((await alice.request("DELETE", `/api/v1/products/${product.id}/`)).status).toBe(404);
  });

  it("keeps brands apart: another brand's product is a 404 for every operation", async () => {
    const mine = await alice.createProduct({ sku: "TENANT-1" });
    for (const [method, body] of [["GET"], ["PATCH", { price: 1 }], ["DELETE"]] as const) {
      const res = await bob.request(method, `/api/v1/products/${mine.id}/`, body);
      expect(res.status, method).toBe(404);
    }
    const list = await bob.request<Page<Product>>("GET", "/api/v1/products/?search=TENANT");
    expect(list.body.count).toBe(0);
    expect((await alice.request("GET", `/api/v1/products/${mine.id}/`)).status).toBe(200);
  });
});

describe("listing", () => {
  let carol: Seller;
  beforeAll(async () => {
    carol = await newSeller(server);
    const items = [
      { title: "Robe rouge Zara", price: 20, sku: "L-1", brand_name: "Zara", condition: "good", category: "Dresses" },
      { title: "Jean Levi's 501", price: 35, sku: "L-2", brand_name: "Levi's", condition: "very_good", category: "Jeans" },
      { title: "Baskets Nike Air", price: 60, sku: "L-3", brand_name: "Nike", condition: "new_with_tags", category: "Shoes" },
      { title: "Pull Zara laine", price: 25, sku: "L-4", brand_name: "Zara", description: "100% wool", category: "Knitwear" },
      { title: "Veste en jean", price: 40, sku: "L-5", category: "Jackets" },
    ];
    for (const item of items) await carol.createProduct(item);
  });

  it("paginates with count and links", async () => {
    const page1 = await carol.request<Page<Product>>("GET", "/api/v1/products/?page_size=2&ordering=id");
    expect(page1.body.count).toBe(5);
    expect(page1.body.results.map((p) => p.sku)).toEqual(["L-1", "L-2"]);
    expect(page1.body.previous).toBeNull();
    expect(page1.body.next).toBe("?page_size=2&ordering=id&page=2");
    const page3 = await carol.request<Page<Product>>("GET", "/api/v1/products/?page_size=2&ordering=id&page=3");
    expect(page3.body.results.map((p) => p.sku)).toEqual(["L-5"]);
    expect(page3.body.next).toBeNull();
  });

  it("searches title, SKU, brand name and description, case-insensitively", async () => {
    const search = async (q: string) =>
      (await carol.request<Page<Product>>("GET", `/api/v1/products/?search=${encodeURIComponent(q)}&ordering=sku`)).body.results.map((p) => p.sku);
    expect(await search("zara")).toEqual(["L-1", "L-4"]);
    expect(await search("JEAN")).toEqual(["L-2", "L-5"]);
    expect(await search("wool")).toEqual(["L-4"]);
    expect(await search("l-3")).toEqual(["L-3"]);
    expect(await search("(.*")).toEqual([]);
  });

  it("orders by a field either way and filters by condition and category", async () => {
    const byPrice = await carol.request<Page<Product>>("GET", "/api/v1/products/?ordering=-price");
    expect(byPrice.body.results.map((p) => p.price)).toEqual([60, 40, 35, 25, 20]);
    const good = await carol.request<Page<Product>>("GET", "/api/v1/products/?condition=good");
    expect(good.body.results.map((p) => p.sku)).toEqual(["L-1"]);
    const shoes = await carol.request<Page<Product>>("GET", "/api/v1/products/?category=Shoes");
    expect(shoes.body.results.map((p) => p.sku)).toEqual(["L-3"]);
    const bad = await carol.request("GET", "/api/v1/products/?ordering=password");
    expect(bad.status).toBe(400);
    expect(bad.body.field_errors).toHaveProperty("ordering");
  });
});
