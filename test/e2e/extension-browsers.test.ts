/**
 * The built extension in real Chromium and real Firefox against the fake www.vinted.fr: the Vinted
 * module runs in the content script + main-world bridge, driven from an extension page the same
 * way the background drives it.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "puppeteer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeVinted, type FakeVinted, type RecordedRequest } from "../fixtures/fake-vinted/index.js";
import { launchBrowser, openExtensionPage, type BrowserKind, type ExtensionBrowser } from "./harness/browsers.js";
import { ensureExtensionBuilt } from "./harness/extension-build.js";
import { ExtensionDriver, type ActionOutcome } from "./harness/extension-driver.js";
import { FAST_PACING } from "./harness/extension-session.js";
import { artifactsDir } from "./harness/paths.js";
import { PHOTO_BYTES, startPhotoServer, type PhotoServer } from "./harness/photo-server.js";

const TOTAL_ITEMS = 1595;

interface Product {
  id: number;
  title: string;
}
interface SyncData {
  products: Product[];
  total: number;
  complete: boolean;
  pages: number;
}

function requestsSince(vinted: FakeVinted, mark: number, path?: RegExp): RecordedRequest[] {
  return vinted.state.requests.slice(mark).filter((r) => !path || path.test(r.path));
}

function gaps(requests: RecordedRequest[]): number[] {
  return requests.slice(1).map((r, i) => r.at - (requests[i] as RecordedRequest).at);
}

let taskCounter = 0;
const nextTaskId = (label: string) => `${label}-${++taskCounter}`;

describe.each<BrowserKind>(["chromium", "firefox"])("extension in %s", (kind) => {
  let vinted: FakeVinted;
  let eb: ExtensionBrowser;
  let ext: ExtensionDriver;
  let vintedTab: Page;
  let photo: PhotoServer;

  async function run(action: string, params: unknown, outcomeUnknown = false, taskId = nextTaskId(action)): Promise<ActionOutcome & { taskId: string }> {
    return { ...(await ext.run({ taskId, action, params, outcomeUnknown })), taskId };
  }

  beforeAll(async () => {
    await ensureExtensionBuilt();
    vinted = await startFakeVinted({ totalItems: TOTAL_ITEMS });
    photo = await startPhotoServer();
    eb = await launchBrowser(kind, vinted);
    ext = new ExtensionDriver(await openExtensionPage(eb, "popup.html"));
    await ext.setStorage({ vintedPacing: FAST_PACING });
    await ext.startRecordingProgress();
    vintedTab = await eb.browser.newPage();
    await vintedTab.goto(eb.vintedUrl, { waitUntil: "load" });
  }, 180_000);

  afterAll(async () => {
    await eb?.close();
    await vinted?.close();
    await photo?.close();
  }, 60_000);

  it("sees the logged-in Vinted account in the tab and runs get_user_data", { timeout: 120_000 }, async () => {
    const status = await ext.waitForVintedTab();
    expect(status).toMatchObject({ state: "logged_in", user: { id: 29535217, login: "shop.ton.outfit" } });
    const outcome = await run("get_user_data", {});
    expect(outcome.success).toBe(true);
    expect(outcome.data).toMatchObject({ user_id: 29535217, login: "shop.ton.outfit", anon_id: vinted.state.anonId, item_count: TOTAL_ITEMS });
    expect(outcome.data).not.toHaveProperty("csrf_token");
    expect(new URL((outcome.data as { origin: string }).origin).hostname).toBe("www.vinted.fr");
  });

  it("syncs 1,595 listings over 17 pages, paced, each page sent as progress as it arrives", { timeout: 120_000 }, async () => {
    const mark = vinted.state.requests.length;
    const outcome = await run("get_all_products", {});
    expect(outcome.success).toBe(true);
    const data = outcome.data as SyncData;
    expect(data).toMatchObject({ total: TOTAL_ITEMS, complete: true, pages: 17 });
    expect(new Set(data.products.map((p) => p.id)).size).toBe(TOTAL_ITEMS);

    const wardrobe = requestsSince(vinted, mark, /\/wardrobe\//);
    expect(wardrobe.map((r) => Number(r.query.page))).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    expect(wardrobe.every((r) => r.query.per_page === "96" && r.hasSession)).toBe(true);
    // The pacer's floor is 40 ms between requests; a few ms of slack for when they reach the server.
    expect(Math.min(...gaps(wardrobe))).toBeGreaterThanOrEqual(35);

    const progress = await ext.progressOf(outcome.taskId);
    const pages = progress.flatMap((p) => (p.progress.partial ? [p.progress.partial] : []));
    expect(pages.map((p) => p.page)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    expect(pages.reduce((n, p) => n + p.items.length, 0)).toBe(TOTAL_ITEMS);
    expect(progress.at(-1)?.progress.message).toBe("page 17/17");
  });

  if (kind === "chromium") {
    it("shows its popup (screenshot in test-artifacts/)", { timeout: 60_000 }, async () => {
      mkdirSync(artifactsDir, { recursive: true });
      // The Vinted tab opened last is in front; a background tab may never paint a frame to capture.
      await ext.page.bringToFront();
      await ext.page.setViewport({ width: 380, height: 560 });
      await ext.page.reload({ waitUntil: "load" });
      await ext.page.waitForSelector("[data-testid=connection]");
      await ext.page.screenshot({ path: join(artifactsDir, "popup-chromium.png") });
      expect(await ext.page.$eval("[data-testid=account-state]", (el) => el.textContent)).toBeTruthy();
      await ext.startRecordingProgress();
    });
  }

  it("slows down for a burst of 429s (honouring Retry-After) and loses nothing", { timeout: 120_000 }, async () => {
    vinted.inject({ kind: "rateLimit", count: 3, retryAfterSeconds: 1, pathPattern: /\/wardrobe\// });
    const mark = vinted.state.requests.length;
    const started = Date.now();
    const outcome = await run("get_all_products", {});
    expect(outcome.success).toBe(true);
    const data = outcome.data as SyncData;
    expect(data.total).toBe(TOTAL_ITEMS);
    expect(new Set(data.products.map((p) => p.id)).size).toBe(TOTAL_ITEMS);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);

    const wardrobe = requestsSince(vinted, mark, /\/wardrobe\//);
    expect(wardrobe.filter((r) => r.status === 429)).toHaveLength(3);
    expect(wardrobe.filter((r) => r.status === 200)).toHaveLength(17);
    wardrobe.forEach((r, i) => {
      if (r.status === 429) expect((wardrobe[i + 1] as RecordedRequest).at - r.at).toBeGreaterThanOrEqual(950);
    });
    const pages = (await ext.progressOf(outcome.taskId)).flatMap((p) => (p.progress.partial ? [p.progress.partial.page] : []));
    expect(pages).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
  });

  it("creates a listing with a photo downloaded from the server, and a retried create finds it instead of duplicating", { timeout: 120_000 }, async () => {
    const params = { title: `Robe d'été ${kind}`, description: "Robe fleurie, portée deux fois", price: "24.50", brand_id: 53, size_id: 206, catalog_id: 5, color_ids: [1], status_ids: [6], photo_urls: [photo.url] };
    const created = await run("create_product", params);
    expect(created.error ?? null).toBeNull();
    const itemId = (created.data as { item: { id: number } }).item.id;
    const item = vinted.state.findItem(itemId);
    expect(item).toMatchObject({ title: params.title, price: "24.50", status_id: 6, color_ids: [1] });
    const photoId = item?.photo_ids[0] as number;
    expect(vinted.state.photos.get(photoId)?.bytes.equals(PHOTO_BYTES)).toBe(true);
    const post = vinted.state.requests.find((r) => r.method === "POST" && r.path === "/api/v2/item_upload/items" && r.status === 200);
    expect(post).toMatchObject({ csrfHeader: vinted.state.csrfToken, anonIdHeader: vinted.state.anonId });

    const createsBefore = vinted.state.requests.filter((r) => r.method === "POST" && r.path === "/api/v2/item_upload/items").length;
    const retried = await run("create_product", params, true);
    expect(retried.data).toMatchObject({ recovered: true, item: { id: itemId } });
    expect(vinted.state.requests.filter((r) => r.method === "POST" && r.path === "/api/v2/item_upload/items")).toHaveLength(createsBefore);
    expect(vinted.state.items.filter((i) => i.title === params.title)).toHaveLength(1);
  });

  it("updates a listing through the full edit body, keeping what was not changed", { timeout: 120_000 }, async () => {
    const target = vinted.state.items[5]!;
    const before = { ...target };
    const outcome = await run("update_product", { item_id: target.id, price: "12.00", description: "Prix réduit !" });
    expect(outcome.success).toBe(true);
    expect(vinted.state.findItem(target.id)).toMatchObject({ price: "12.00", description: "Prix réduit !", title: before.title, brand_id: before.brand_id, catalog_id: before.catalog_id, status_id: before.status_id });
  });

  it("updates prices one PUT per item, reporting each item, skipping items already at their price", { timeout: 120_000 }, async () => {
    const [a, b] = [vinted.state.items[10]!, vinted.state.items[11]!];
    const mark = vinted.state.requests.length;
    const outcome = await run("update_prices", { updates: [{ item_id: a.id, price: "9.00" }, { item_id: 123, price: "5.00" }, { item_id: b.id, price: b.price }] });
    expect(outcome.success).toBe(true);
    expect(outcome.data).toMatchObject({ updated: 2, failed: 1, total: 3, results: [{ item_id: a.id, success: true }, { item_id: 123, success: false, error_code: "ITEM_NOT_FOUND" }, { item_id: b.id, success: true }] });
    expect(vinted.state.findItem(a.id)?.price).toBe("9.00");
    expect(requestsSince(vinted, mark).filter((r) => r.method === "PUT")).toHaveLength(1);
  });

  it("reads an item's stats from the wardrobe and uploads a photo onto a listing", { timeout: 120_000 }, async () => {
    const target = vinted.state.items[200]!;
    const stats = await run("get_stats", { item_id: target.id });
    expect(stats.data).toMatchObject({ item_id: target.id, view_count: target.view_count, favourite_count: target.favourite_count, message_count: null });

    const upload = await run("upload_photo", { item_id: target.id, photo_url: photo.url });
    expect(upload.success).toBe(true);
    const photoId = (upload.data as { photo_id: number }).photo_id;
    expect(upload.data).toMatchObject({ attached: true, item_id: target.id });
    expect(vinted.state.findItem(target.id)?.photo_ids).toContain(photoId);
    expect(vinted.state.photos.get(photoId)?.bytes.equals(PHOTO_BYTES)).toBe(true);
  });

  it("deletes a listing; a retried delete of a gone listing succeeds, a first delete of a missing one fails", { timeout: 120_000 }, async () => {
    const target = vinted.state.items[20]!;
    expect((await run("delete_product", { item_id: target.id })).success).toBe(true);
    expect(vinted.state.findItem(target.id)).toBeUndefined();
    expect((await run("delete_product", { item_id: target.id }, true)).data).toMatchObject({ success: true, already_deleted: true });
    expect(await run("delete_product", { item_id: target.id })).toMatchObject({ success: false, error_code: "ITEM_NOT_FOUND" });
  });

  it("refuses invalid params before touching Vinted", { timeout: 60_000 }, async () => {
    const mark = vinted.state.requests.length;
    expect(await run("update_prices", { updates: [] })).toMatchObject({ success: false, error_code: "INVALID_PARAMS" });
    expect(requestsSince(vinted, mark)).toHaveLength(0);
  });

  it("recovers from an expired CSRF token and an expired session; reports a logged-out seller", { timeout: 120_000 }, async () => {
    vinted.inject({ kind: "csrfExpired" });
    const target = vinted.state.items[30]!;
    const mark = vinted.state.requests.length;
    expect((await run("update_product", { item_id: target.id, price: "31.00" })).success).toBe(true);
    expect(requestsSince(vinted, mark).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `GET /api/v2/item_upload/items/${target.id} 200`,
      `PUT /api/v2/item_upload/items/${target.id} 401`,
      "GET / 200",
      `PUT /api/v2/item_upload/items/${target.id} 200`,
    ]);

    vinted.inject({ kind: "sessionExpired" });
    expect((await run("get_user_data", {})).success).toBe(true);

    vinted.inject({ kind: "csrfAlwaysRejected" });
    expect(await run("update_product", { item_id: target.id, price: "32.00" })).toMatchObject({ success: false, error_code: "CSRF_EXPIRED" });
    vinted.clearFaults();

    vinted.inject({ kind: "loggedOut" });
    expect(await run("get_user_data", {})).toMatchObject({ success: false, error_code: "VINTED_LOGGED_OUT" });
    expect((await ext.status()).state).toBe("logged_out");
    vinted.clearFaults();
  });

  it("stops at a captcha page with CAPTCHA_REQUIRED and sends nothing more", { timeout: 120_000 }, async () => {
    vinted.inject({ kind: "captcha" });
    const mark = vinted.state.requests.length;
    const outcome = await run("get_all_products", { user_id: 29535217 });
    expect(outcome).toMatchObject({ success: false, error_code: "CAPTCHA_REQUIRED" });
    // The tab answers from what it learnt (blocked) without asking Vinted again.
    expect((await ext.status()).state).toBe("blocked");
    expect((await ext.status()).state).toBe("blocked");
    const after = requestsSince(vinted, mark);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ status: 403 });
    vinted.clearFaults();
  });
});
