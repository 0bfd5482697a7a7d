/** What the publication suites share: a seller connected to the fake MercadoLibre, products, publishing and waiting. */
import { expect } from "vitest";
import type { ClaimedTask } from "../../shared/plugin.js";
import type { ProductTask, ProductTasksResponse, PublishResponse } from "../../shared/publications.js";
import type { FakeMercadoLibre } from "../fixtures/fake-mercadolibre/index.js";
import { imageBytes, type Seller } from "../products/helpers.js";
import { waitFor } from "../tasks/fixtures/tasks.js";

export const VINTED = 1;
export const MERCADOLIBRE = 2;
export const PUBLISH = "/api/v1/marketplaces/listings/publish/";
export const productTasksPath = (id: number, query = "") => `/api/v1/marketplaces/listings/product-tasks/${id}/${query}`;

export async function connectMercadoLibre(seller: Seller, ml: FakeMercadoLibre, userId: number): Promise<void> {
  const token = ml.state.issueToken({ userId });
  const connected = await seller.request("PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, {
    access_token: token.accessToken,
    refresh_token: token.refreshToken,
    client_id: token.clientId,
    client_secret: token.clientSecret,
    site_id: "MLA",
    user_id: userId,
  });
  expect(connected.status, JSON.stringify(connected.body)).toBe(200);
}

/** A product MercadoLibre accepts (unless `category` is one it refuses), with one photo. */
export async function newMercadoLibreProduct(seller: Seller, sku: string, category = "MLA109027"): Promise<number> {
  const product = await seller.createProduct({
    title: "Zapatillas Nike Air Max 90 originales talle 42 color blanco impecables",
    sku,
    price: 85000,
    currency: "ARS",
    brand_name: "Nike",
    color: "Blanco",
    size: "42",
    condition: "very_good",
    attributes: { mercadolibre_category_id: category },
  });
  const photo = await seller.send("POST", `/api/v1/products/${product.id}/photos/`, new Uint8Array(imageBytes("jpeg")), { "Content-Type": "image/jpeg" });
  expect(photo.status).toBeLessThan(300);
  return product.id;
}

export async function publishTo(seller: Seller, productId: number, marketplaceId: number, options: Record<string, unknown> = {}): Promise<string> {
  const res = await seller.request<PublishResponse>("POST", PUBLISH, { product_id: productId, marketplace_ids: [marketplaceId], options });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.tasks[0].task_id;
}

export async function productTasks(seller: Seller, productId: number, query = ""): Promise<ProductTasksResponse> {
  const res = await seller.request<ProductTasksResponse>("GET", productTasksPath(productId, query));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

export async function publicationTask(seller: Seller, productId: number, taskId: string): Promise<ProductTask | undefined> {
  return (await productTasks(seller, productId)).tasks.find((t) => t.task_id === taskId);
}

export const settled = (t: ProductTask | undefined) => t?.status === "completed" || t?.status === "failed";

/** The publication once `until` holds (by default: completed or failed). */
export async function waitForPublication(
  seller: Seller,
  productId: number,
  taskId: string,
  until: (t: ProductTask | undefined) => boolean = settled,
  timeoutMs = 20_000,
): Promise<ProductTask> {
  return (await waitFor(() => publicationTask(seller, productId, taskId), until, { timeoutMs, intervalMs: 100, what: `publication ${taskId}` }))!;
}

/** A product Vinted accepts, with one JPEG photo (returned, to compare with what the extension downloads). */
export async function vintedProduct(seller: Seller, sku: string): Promise<{ id: number; photo: Buffer }> {
  const product = await seller.createProduct({
    title: "Robe Zara rouge fleurie",
    sku,
    price: 19.9,
    currency: "EUR",
    condition: "very_good",
    attributes: { vinted_catalog_id: 10, vinted_brand_id: 12, vinted_size_id: 206, vinted_color_ids: [4] },
  });
  const photo = imageBytes("jpeg");
  const uploaded = await seller.send("POST", `/api/v1/products/${product.id}/photos/`, new Uint8Array(photo), { "Content-Type": "image/jpeg" });
  expect(uploaded.status).toBeLessThan(300);
  return { id: product.id, photo };
}

/** The extension's poll: its next task, once there is one. */
export async function claimNext(seller: Seller): Promise<ClaimedTask> {
  const poll = async () => (await seller.request<ClaimedTask | { task_id: null }>("GET", "/api/plugin/tasks")).body;
  return (await waitFor(poll, (t) => t.task_id !== null, { timeoutMs: 15_000, intervalMs: 100, what: "an extension task" })) as ClaimedTask;
}
