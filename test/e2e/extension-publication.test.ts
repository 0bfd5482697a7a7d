/**
 * Publishing a catalog product to Vinted end to end: the REAL extension in real Chromium and real
 * Firefox, the REAL MarketHub server (in-process, fresh embedded database) and the fake
 * www.vinted.fr. A product with two photos is created through the API and published to the Vinted
 * marketplace; the publication hands a `vinted.create_product` task to the seller's extension, which
 * downloads the photos from the server's signed links, uploads their bytes to Vinted and creates
 * the listing; the publication completes with the Vinted item id and URL. The popup shows the
 * publication waiting at its publication step while no Vinted tab is open, then done.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "puppeteer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CreateProductParams } from "../../shared/plugin.js";
import type { Product } from "../../shared/products.js";
import { ProductTasksResponseSchema, PublishResponseSchema, type ProductTask } from "../../shared/publications.js";
import type { FakeVinted } from "../fixtures/fake-vinted/index.js";
import { imageBytes } from "../products/helpers.js";
import type { BrowserKind } from "./harness/browsers.js";
import { ExtensionSession } from "./harness/extension-session.js";
import { waitUntil, type MarketHub } from "./harness/markethub.js";
import { artifactsDir } from "./harness/paths.js";
import { seriousAxeViolations } from "./harness/web-browsers.js";

const VINTED = 1;
const WAITING_FOR_EXTENSION = "Waiting for the extension to publish to Vinted";

describe.each<BrowserKind>(["chromium", "firefox"])("publication of a product to Vinted by the extension in %s", (kind) => {
  let session: ExtensionSession;
  let vinted: FakeVinted;
  let hub: MarketHub;
  const extensionPage = (path: string) => session.page(path);

  async function api<T>(method: string, path: string, body?: unknown, expected = [200, 201, 202]): Promise<T> {
    const res = await hub.server.request<T>(method, path, { token: hub.seller.user.access_token, body });
    if (!expected.includes(res.status)) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async function uploadPhoto(productId: number, bytes: Buffer, type: string): Promise<void> {
    const res = await fetch(`${hub.url}/api/v1/products/${productId}/photos/`, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.seller.user.access_token}`, "content-type": type },
      body: new Uint8Array(bytes),
    });
    expect(res.status, await res.text()).toBeLessThan(300);
  }

  async function publication(productId: number, taskId: string): Promise<ProductTask | undefined> {
    const answer = ProductTasksResponseSchema.parse(await api("GET", `/api/v1/marketplaces/listings/product-tasks/${productId}/`));
    return answer.tasks.find((t) => t.task_id === taskId);
  }

  /** The popup's row for a publication once it shows `status` (the popup refreshes every 5 s). */
  async function popupRow(page: Page, taskId: string, status: string): Promise<{ step: string; stepText: string; badge: string; progress: string; link: string | null }> {
    const selector = `[data-testid=publications] li[data-task-id="${taskId}"][data-status="${status}"]`;
    await page.waitForSelector(selector, { timeout: 30_000 });
    return page.$eval(selector, (li) => ({
      step: li.querySelector("[data-testid=publication-step]")?.getAttribute("data-step") ?? "",
      stepText: li.querySelector("[data-testid=publication-step]")?.textContent ?? "",
      badge: li.querySelector("[data-testid=publication-status]")?.textContent ?? "",
      progress: li.querySelector("[role=progressbar]")?.getAttribute("aria-valuenow") ?? "",
      link: li.querySelector("[data-testid=publication-listing]")?.getAttribute("href") ?? null,
    }));
  }

  beforeAll(async () => {
    session = await ExtensionSession.start(kind, { vinted: { totalItems: 3 }, hub: { ownPublicUrl: true } });
    ({ vinted, hub } = session);
    await session.logIn();
  }, 180_000);

  afterAll(() => session?.close(), 60_000);

  it("uploads the product's photos and creates the listing on Vinted; the publication completes with its id and URL, and the popup follows it", { timeout: 120_000 }, async () => {
    const product = await api<Product>("POST", "/api/v1/products/", {
      title: `Robe fleurie Zara ${kind}`,
      sku: `ROBE-${kind}`,
      description: "Robe d'été légère, portée deux fois.",
      price: 24.5,
      currency: "EUR",
      brand_name: "Zara",
      size: "M",
      color: "Rouge",
      condition: "very_good",
      attributes: { vinted_catalog_id: 10, vinted_brand_id: 12, vinted_size_id: 206, vinted_color_ids: [4] },
    });
    const photos = [imageBytes("jpeg", 4096), imageBytes("png", 3000)];
    await uploadPhoto(product.id, photos[0]!, "image/jpeg");
    await uploadPhoto(product.id, photos[1]!, "image/png");

    // No Vinted tab yet: the publication hands its task over and waits for the extension.
    const published = PublishResponseSchema.parse(await api("POST", "/api/v1/marketplaces/listings/publish/", { product_id: product.id, marketplace_ids: [VINTED] }));
    const taskId = published.tasks[0]!.task_id;
    const waiting = await waitUntil("the publication waiting for the extension", async () => {
      const t = await publication(product.id, taskId);
      return t?.current_step === WAITING_FOR_EXTENSION ? t : undefined;
    });
    expect(waiting).toMatchObject({ status: "publishing", steps_completed: ["enhancement"], progress_percentage: 25, marketplace_name: "Vinted" });

    const popup = await extensionPage("popup.html");
    await popup.setViewport({ width: 380, height: 720 });
    expect(await popupRow(popup, taskId, "publishing")).toEqual({ step: "publication", stepText: "Step 2/3 · Publication", badge: "publishing", progress: "25", link: null });
    expect(await popup.$eval("[data-testid=publications-in-progress]", (el) => el.textContent)).toContain("1 in progress");
    mkdirSync(artifactsDir, { recursive: true });
    await popup.screenshot({ path: join(artifactsDir, `popup-publication-waiting-${kind}.png`) });
    expect(await seriousAxeViolations(popup)).toEqual([]);

    // The seller opens Vinted: the extension claims the task, uploads the photos and publishes.
    const createsBefore = vinted.state.requests.filter((r) => r.method === "POST" && r.path === "/api/v2/item_upload/items").length;
    const vintedTab = await session.openVintedTab();
    const done = await waitUntil(
      "the publication completed",
      async () => {
        const t = await publication(product.id, taskId);
        if (t?.status === "failed") throw new Error(`publication failed: ${JSON.stringify(t.error_details)}`);
        return t?.status === "completed" ? t : undefined;
      },
      90_000,
      250,
    );

    // One create_product task for the extension, done at its first attempt with these params.
    const handed = (await hub.seller.recent(20)).filter((t) => t.action === "create_product");
    expect(handed).toHaveLength(1);
    expect(handed[0]).toMatchObject({ status: "completed", attempt: 1 });
    const params = handed[0]!.params as CreateProductParams;

    // What Vinted received: one listing with the product's fields and both photos' bytes, in order.
    const creates = vinted.state.requests.filter((r) => r.method === "POST" && r.path === "/api/v2/item_upload/items");
    expect(creates.slice(createsBefore).map((r) => r.status)).toEqual([200]);
    const itemId = Number(done.publication_result.marketplace_id);
    const item = vinted.state.findItem(itemId);
    expect(item).toMatchObject({
      title: params.title,
      description: done.enhancement_result.enhanced_description,
      price: "24.50",
      catalog_id: 10,
      brand_id: 12,
      size_id: 206,
      status_id: 2,
      color_ids: [4],
    });
    expect(params.title).toContain("Robe fleurie Zara");
    expect(item!.photo_ids).toHaveLength(2);
    item!.photo_ids.forEach((photoId, i) => expect(vinted.state.photos.get(photoId)?.bytes.equals(photos[i]!), `photo ${i + 1}`).toBe(true));
    expect(vinted.state.requests.filter((r) => r.method === "POST" && r.path === "/api/v2/photos").every((r) => r.status === 200 && r.csrfHeader !== null)).toBe(true);

    // The publication: every step done, the Vinted item id and URL as its result.
    expect(done).toMatchObject({
      status: "completed",
      steps_completed: ["enhancement", "publication", "webhook"],
      progress_percentage: 100,
      publication_result: { success: true, marketplace_id: String(itemId), listing_url: `${new URL(session.eb.vintedUrl).origin}/items/${itemId}` },
      error_details: {},
    });
    // The extension's result also reached the server's copy of the seller's Vinted listings.
    expect(await hub.seller.product(itemId)).toMatchObject({ vinted_id: itemId, title: params.title, price: "24.50", status: "active" });

    // The popup, back in front, shows it done with a link to the listing.
    await extensionPage("popup.html");
    expect(await popupRow(session.ext.page, taskId, "completed")).toEqual({
      step: "done",
      stepText: "All steps done",
      badge: "completed",
      progress: "100",
      link: done.publication_result.listing_url,
    });
    expect(await session.ext.page.$("[data-testid=publications-in-progress]")).toBeNull();
    await session.ext.page.screenshot({ path: join(artifactsDir, `popup-publication-done-${kind}.png`) });
    await vintedTab.close();
  });

  it("a publication Vinted cannot take (no Vinted catalog ids) shows failed at its publication step, with the reason, first in the popup", { timeout: 60_000 }, async () => {
    const product = await api<Product>("POST", "/api/v1/products/", { title: `Pull sans catégorie ${kind}`, sku: `PULL-${kind}`, price: 15, currency: "EUR", condition: "good" });
    const published = PublishResponseSchema.parse(await api("POST", "/api/v1/marketplaces/listings/publish/", { product_id: product.id, marketplace_ids: [VINTED] }));
    const taskId = published.tasks[0]!.task_id;
    const failed = await waitUntil("the publication failed", async () => {
      const t = await publication(product.id, taskId);
      return t?.status === "failed" ? t : undefined;
    });
    expect(failed.error_details).toMatchObject({ step: "publication", marketplace_response: { error_code: "MISSING_VINTED_FIELDS" } });

    const page = await extensionPage("popup.html");
    expect(await popupRow(page, taskId, "failed")).toMatchObject({ step: "publication", stepText: "Step 2/3 · Publication", badge: "failed", link: null });
    const reason = await page.$eval(`[data-testid=publications] li[data-task-id="${taskId}"] .err`, (el) => el.textContent);
    expect(reason).toBe((failed.error_details as { error: string }).error);
    // The newest ended publication comes first (none is in progress).
    expect(await page.$eval("[data-testid=publications] li", (li) => li.getAttribute("data-task-id"))).toBe(taskId);
    expect(await seriousAxeViolations(page)).toEqual([]);
  });
});
