import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Product } from "../../shared/products.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { imageBytes, newSeller, type Seller } from "./helpers.js";

let server: TestServer;
let alice: Seller;
let bob: Seller;

beforeAll(async () => {
  server = await startTestServer({ PHOTO_MAX_BYTES: "64kb", PUBLIC_URL: "https://hub.example.com/" }, { taskExecution: false });
  alice = await newSeller(server);
  bob = await newSeller(server);
});
afterAll(() => server?.close());

function form(files: Array<{ bytes: Buffer; name: string; type?: string }>): FormData {
  const data = new FormData();
  data.append("note", "fields that are not files are ignored");
  for (const f of files) data.append("photos", new Blob([new Uint8Array(f.bytes)], { type: f.type ?? "application/octet-stream" }), f.name);
  return data;
}

describe("photos", () => {
  it("takes a drag-and-drop multipart upload in order, and a raw image body after it", async () => {
    const product = await alice.createProduct();
    const [a, b, c] = [imageBytes("jpeg"), imageBytes("png"), imageBytes("webp")];
    const up = await alice.send("POST", `/api/v1/products/${product.id}/photos/`, form([{ bytes: a, name: "a.jpg" }, { bytes: b, name: "b.png" }]));
    expect(up.status).toBe(201);
    const afterMultipart = up.body as Product;
    expect(afterMultipart.photos.map((p) => p.content_type)).toEqual(["image/jpeg", "image/png"]);

    const raw = await alice.send("POST", `/api/v1/products/${product.id}/photos/`, new Uint8Array(c), { "Content-Type": "image/webp" });
    expect(raw.status).toBe(201);
    const photos = (raw.body as Product).photos;
    expect(photos.map((p) => p.content_type)).toEqual(["image/jpeg", "image/png", "image/webp"]);
    expect(photos[2]).toMatchObject({ size_bytes: c.length, url: `/api/v1/products/${product.id}/photos/${photos[2].id}/` });

    // The stored bytes come back exactly, typed from what they are, with their hash as ETag.
    for (const [i, bytes] of [a, b, c].entries()) {
      const got = await alice.download(photos[i].url);
      expect(got.status).toBe(200);
      expect(got.bytes.equals(bytes)).toBe(true);
      expect(got.headers.get("content-type")).toBe(photos[i].content_type);
      expect(got.headers.get("etag")).toBe(`"${photos[i].sha256}"`);
    }
    // fetch adds "Cache-Control: no-cache" to conditional requests unless one is given.
    const cached = await alice.download(photos[0].url, { "If-None-Match": `"${photos[0].sha256}"`, "Cache-Control": "max-age=0" });
    expect(cached.status).toBe(304);
  });

  it("reorders, deletes, and refuses an order that is not a permutation", async () => {
    const product = await alice.createProduct();
    const up = await alice.send("POST", `/api/v1/products/${product.id}/photos/`, form([1, 2, 3].map((n) => ({ bytes: imageBytes("png", 100 + n), name: `${n}.png` }))));
    const ids = (up.body as Product).photos.map((p) => p.id);
    const reordered = await alice.request<Product>("PUT", `/api/v1/products/${product.id}/photos/`, { order: [ids[2], ids[0], ids[1]] });
    expect(reordered.status).toBe(200);
    expect(reordered.body.photos.map((p) => p.id)).toEqual([ids[2], ids[0], ids[1]]);
    const partial = await alice.request("PUT", `/api/v1/products/${product.id}/photos/`, { order: [ids[0], ids[0], ids[1]] });
    expect(partial.status).toBe(400);
    expect(partial.body.field_errors).toHaveProperty("order");

    expect((await alice.request("DELETE", `/api/v1/products/${product.id}/photos/${ids[0]}/`)).status).toBe(204);
    const after = await alice.request<Product>("GET", `/api/v1/products/${product.id}/`);
    expect(after.body.photos.map((p) => p.id)).toEqual([ids[2], ids[1]]);
    expect((await alice.download(`/api/v1/products/${product.id}/photos/${ids[0]}/`)).status).toBe(404);
    expect((await alice.request("DELETE", `/api/v1/products/${product.id}/photos/${ids[0]}/`)).status).toBe(404);
  });

  it("refuses what is not an image (whatever its declared type), a photo too large, and an empty body", async () => {
    const product = await alice.createProduct();
    const script = await alice.send("POST", `/api/v1/products/${product.id}/photos/`, Buffer.from("<script>alert(1)</script>"), { "Content-Type": "image/png" });
    expect(script.status).toBe(415);
    expect(script.body).toMatchObject({ error_code: "UNSUPPORTED_MEDIA_TYPE" });
    const mixed = await alice.send("POST", `/api/v1/products/${product.id}/photos/`, form([{ bytes: imageBytes("png"), name: "ok.png" }, { bytes: Buffer.from("%PDF-1.4"), name: "doc.pdf" }]));
    expect(mixed.status).toBe(415);
    expect(JSON.stringify(mixed.body)).toContain("doc.pdf");
    const big = await alice.send("POST", `/api/v1/products/${product.id}/photos/`, new Uint8Array(imageBytes("jpeg", 65 * 1024)), { "Content-Type": "image/jpeg" });
    expect(big.status).toBe(413);
    const text = await alice.send("POST", `/api/v1/products/${product.id}/photos/`, "hello", { "Content-Type": "text/plain" });
    expect(text.status).toBe(415);
    const empty = await alice.send("POST", `/api/v1/products/${product.id}/photos/`, new Uint8Array(0), { "Content-Type": "image/png" });
    expect(empty.status).toBe(400);
    const noFile = await alice.send("POST", `/api/v1/products/${product.id}/photos/`, form([]));
    expect(noFile.status).toBe(400);
    // Nothing of the refused uploads was kept.
    expect((await alice.request<Product>("GET", `/api/v1/products/${product.id}/`)).body.photos).toEqual([]);
  });

  it("keeps at most 20 photos per product", async () => {
    const product = await alice.createProduct();
    const twenty = form(Array.from({ length: 20 }, (_, i) => ({ bytes: imageBytes("gif", 64), name: `${i}.gif` })));
    expect((await alice.send("POST", `/api/v1/products/${product.id}/photos/`, twenty)).status).toBe(201);
    const more = await alice.send("POST", `/api/v1/products/${product.id}/photos/`, new Uint8Array(imageBytes("gif", 64)), { "Content-Type": "image/gif" });
    expect(more.status).toBe(400);
    expect(more.body).toMatchObject({ error_code: "INVALID_OPERATION" });
    expect((await alice.request<Product>("GET", `/api/v1/products/${product.id}/`)).body.photos).toHaveLength(20);
  });

  it("another brand can neither read, upload nor delete a product's photos", async () => {
    const product = await alice.createProduct();
    const up = await alice.send("POST", `/api/v1/products/${product.id}/photos/`, new Uint8Array(imageBytes("png")), { "Content-Type": "image/png" });
    const photo = (up.body as Product).photos[0];
    expect((await bob.download(photo.url)).status).toBe(404);
    expect((await bob.send("POST", `/api/v1/products/${product.id}/photos/`, new Uint8Array(imageBytes("png")), { "Content-Type": "image/png" })).status).toBe(404);
    expect((await bob.request("DELETE", photo.url)).status).toBe(404);
    const anonymous = await fetch(`${server.baseUrl}${photo.url}`);
    expect(anonymous.status).toBe(401);
  });

  it("deleting a product deletes its photos", async () => {
    const product = await alice.createProduct();
    const up = await alice.send("POST", `/api/v1/products/${product.id}/photos/`, new Uint8Array(imageBytes("png")), { "Content-Type": "image/png" });
    const photo = (up.body as Product).photos[0];
    expect((await alice.request("DELETE", `/api/v1/products/${product.id}/`)).status).toBe(204);
    const { products } = server.description.services.products;
    expect(await products.models.Photo.countDocuments({ brand: alice.user.user.personal_brand_id, photo_id: photo.id })).toBe(0);
  });
});

describe("signed photo links (what marketplaces fetch)", () => {
  it("open the photo without a token until they expire; a forged or altered link opens nothing", async () => {
    const product = await alice.createProduct();
    const bytes = imageBytes("jpeg");
    await alice.send("POST", `/api/v1/products/${product.id}/photos/`, new Uint8Array(bytes), { "Content-Type": "image/jpeg" });
    const { products } = server.description.services.products;
    const publishable = await products.publishable(alice.user.user.personal_brand_id, product.id);
    const link = publishable.photos[0].url;
    expect(link.startsWith("https://hub.example.com/api/v1/product-photos/")).toBe(true);
    const local = link.replace("https://hub.example.com", server.baseUrl);
    const res = await fetch(local);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);

    const altered = local.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    expect((await fetch(altered)).status).toBe(404);
    const expired = await products.publishable(alice.user.user.personal_brand_id, product.id, -1000);
    expect((await fetch(expired.photos[0].url.replace("https://hub.example.com", server.baseUrl))).status).toBe(404);
  });
});
