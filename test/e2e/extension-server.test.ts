/**
 * The built extension in real Chromium and real Firefox, against the REAL MarketHub server (the
 * app in-process on a fresh embedded database, plugin service running as in main.ts) and the fake
 * www.vinted.fr. The seller is registered through the API and logs in through the options page;
 * tasks are created through the server's API, and every effect is checked on both sides: on the
 * fake Vinted, and in what the server stored (task views, listings, account, stats snapshots).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { CDPSession, Page } from "puppeteer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXTENSION_CONNECTION_ROUTES, ExtensionConnectionSchema, type ExtensionConnection } from "../../shared/extension-connection.js";
import { allBrands } from "../../server/src/brands/scope.js";
import { taskModel, type Task } from "../../server/src/tasks/model.js";
import type { CreatePluginTaskBody, PluginTaskView } from "../../shared/plugin.js";
import type { FakeVinted, RecordedRequest } from "../fixtures/fake-vinted/index.js";
import { expireLease } from "../plugin/helpers.js";
import type { BrowserKind } from "./harness/browsers.js";
import { ExtensionSession } from "./harness/extension-session.js";
import { waitUntil, type MarketHub, type ServedRequest } from "./harness/markethub.js";
import { artifactsDir } from "./harness/paths.js";
import { PHOTO_BYTES, startPhotoServer, type PhotoServer } from "./harness/photo-server.js";

const TOTAL_ITEMS = 1595;
const VINTED_USER = { id: 29535217, login: "shop.ton.outfit" };
const pages17 = Array.from({ length: 17 }, (_, i) => i + 1);

const resultPath = (taskId: string) => `/api/plugin/tasks/${taskId}/result`;
const heartbeatPath = (taskId: string) => `/api/plugin/tasks/${taskId}/heartbeat`;

/** The seller's extension as the dashboard sees it (GET /api/plugin/connection). */
async function connectionOf(hub: MarketHub): Promise<ExtensionConnection> {
  const res = await hub.server.request("GET", EXTENSION_CONNECTION_ROUTES.connection, { token: hub.seller.user.access_token });
  expect(res.status).toBe(200);
  return ExtensionConnectionSchema.parse(res.body);
}

describe.each<BrowserKind>(["chromium", "firefox"])("extension + real MarketHub server in %s", (kind) => {
  let session: ExtensionSession;
  let vinted: FakeVinted;
  let hub: MarketHub;
  let photo: PhotoServer;
  let vintedTab: Page | undefined;
  const extensionPage = (path: string) => session.page(path);

  /** Creates a task through POST /api/plugin/tasks and waits for its final status. */
  async function runTask(body: CreatePluginTaskBody, timeoutMs = 60_000): Promise<PluginTaskView> {
    const created = await hub.seller.createTask(body);
    expect(created.status).toBe("pending");
    return hub.seller.waitForTask(created.task_id, timeoutMs);
  }

  function vintedRequestsSince(mark: number, path?: RegExp): RecordedRequest[] {
    return vinted.state.requests.slice(mark).filter((r) => !path || path.test(r.path));
  }

  function resultPosts(taskId: string): ServedRequest[] {
    return hub.served("POST", resultPath(taskId));
  }

  beforeAll(async () => {
    photo = await startPhotoServer();
    session = await ExtensionSession.start(kind, { vinted: { totalItems: TOTAL_ITEMS } });
    ({ vinted, hub } = session);
  }, 180_000);

  afterAll(async () => {
    if (session) await session.close([photo]);
    else await photo?.close();
  }, 60_000);

  it("logs in through the options page as a seller registered through the API", { timeout: 60_000 }, async () => {
    const page = await extensionPage("options.html");
    await page.locator("input[name=serverUrl]").fill(hub.url);
    await page.locator("input[name=email]").fill(hub.seller.email);
    await page.locator("input[name=password]").fill("not the password");
    await page.locator("[data-testid=login]").click();
    await page.waitForSelector("[data-testid=login-notice].error");
    expect(await session.ext.getStorage("session")).toBeFalsy();

    await page.locator("input[name=password]").fill(hub.seller.password);
    await page.locator("[data-testid=login]").click();
    await page.waitForSelector("[data-testid=session]");
    expect(await session.ext.getStorage("session")).toMatchObject({ serverUrl: hub.url, user: { id: String(hub.seller.user.user.id), email: hub.seller.email } });
    expect(hub.served("POST", "/api/v1/auth/login").map((r) => r.status)).toEqual([401, 200]);
  });

  it("claims nothing while no Vinted tab is open; once one is, runs get_user_data and the server stores the account", { timeout: 60_000 }, async () => {
    const created = await hub.seller.createTask({ action: "get_user_data", params: {} });
    const page = await extensionPage("popup.html");
    // Two whole ticks of the background after the task existed: it looked, and left it alone.
    const state = await session.ext.waitForPollerTicks(2);
    expect(state).toMatchObject({ poller: "waiting_for_vinted", vinted: { state: "no_tab" } });
    expect(await hub.seller.task(created.task_id)).toMatchObject({ status: "pending", attempt: 0, started_at: null });
    expect(hub.served("GET", "/api/plugin/tasks")).toEqual([]);
    expect(await page.$eval("[data-testid=vinted-state]", (el) => el.className)).toContain("warn");

    vintedTab = await session.openVintedTab();
    const done = await hub.seller.waitForTask(created.task_id);
    expect(done).toMatchObject({ status: "completed", attempt: 1, error: null });
    expect(done.result).toMatchObject({ user_id: VINTED_USER.id, login: VINTED_USER.login, anon_id: vinted.state.anonId, item_count: TOTAL_ITEMS });
    expect(done.result).not.toHaveProperty("csrf_token");
    expect(new URL((done.result as { origin: string }).origin).hostname).toBe("www.vinted.fr");
    expect(await hub.seller.account()).toMatchObject({ vinted_user_id: VINTED_USER.id, login: VINTED_USER.login, item_count: TOTAL_ITEMS });
    expect(hub.served("POST", heartbeatPath(created.task_id)).length).toBeGreaterThan(0);
    expect(resultPosts(created.task_id).map((r) => r.status)).toEqual([200]);
    // Its polls said who it is: the dashboard shows the extension connected, with its Vinted account.
    expect(await connectionOf(hub)).toMatchObject({ state: "online", connected: true, client_version: expect.stringMatching(/^\d+\.\d+/), vinted_account: { user_id: VINTED_USER.id, login: VINTED_USER.login } });
  });

  it("syncs 1,595 listings over 17 pages from the popup's button into the server, with the progress bar moving", { timeout: 180_000 }, async () => {
    const page = await extensionPage("popup.html");
    await page.setViewport({ width: 380, height: 640 });
    // Slow enough to see the task running.
    vinted.inject({ kind: "latency", ms: 450 });
    const mark = vinted.state.requests.length;
    await page.locator("[data-testid=sync-now]").click();
    await page.waitForSelector("[data-testid=notice].ok");
    expect(hub.served("POST", "/api/sync/vinted").map((r) => r.status)).toEqual([200]);
    const sync = (await hub.seller.recent(5)).find((t) => t.action === "get_all_products");
    expect(sync).toBeDefined();

    // The shot: the bar part-way, and the server's list (refreshed every 5 s) showing the sync running.
    await page.waitForFunction(
      `(() => {
        const bar = document.querySelector("[data-testid=current-task] [role=progressbar]");
        const value = Number(bar?.getAttribute("aria-valuenow"));
        return value >= 10 && value <= 90 && document.querySelector("[data-testid=recent-tasks] .badge.executing") !== null;
      })()`,
      { timeout: 45_000, polling: 100 },
    );
    mkdirSync(artifactsDir, { recursive: true });
    await page.screenshot({ path: join(artifactsDir, `popup-running-task-${kind}.png`) });
    // Still running after the shot: the picture shows a task in progress.
    expect(await page.$eval("[data-testid=current-task]", (el) => el.textContent)).toMatch(/Sync wardrobe.*page \d+\/17/);
    expect((await hub.seller.task(sync!.task_id)).status).toBe("executing");
    vinted.clearFaults();

    const done = await hub.seller.waitForTask(sync!.task_id);
    expect(done).toMatchObject({ status: "completed", attempt: 1, progress: { current: 17, total: 17, message: "page 17/17" } });
    expect(done.result).toMatchObject({ total: TOTAL_ITEMS, pages: 17, complete: true, marked_gone: 0 });
    expect(vintedRequestsSince(mark, /\/wardrobe\//).map((r) => Number(r.query.page))).toEqual(pages17);
    // Every page went to the server in its own heartbeat before the result.
    const beats = hub.served("POST", heartbeatPath(sync!.task_id));
    expect(beats.filter((b) => b.status === 200).length).toBeGreaterThanOrEqual(17);
    expect(Math.max(...beats.map((b) => b.endedAt))).toBeLessThanOrEqual(resultPosts(sync!.task_id)[0]!.startedAt);

    const stored = await hub.seller.products();
    expect(stored).toHaveLength(TOTAL_ITEMS);
    expect(new Set(stored.map((p) => p.vinted_id))).toEqual(new Set(vinted.state.items.map((i) => i.id)));
    const sample = vinted.state.items[42]!;
    expect(stored.find((p) => p.vinted_id === sample.id)).toMatchObject({ title: sample.title, price: sample.price, view_count: sample.view_count, status: "active" });
    await page.waitForSelector("[data-testid=recent-tasks] .badge.completed");
  });

  it("create_product: uploads the photo and publishes on Vinted; the server stores the new listing", { timeout: 60_000 }, async () => {
    const params = { title: `Robe d'été ${kind}`, description: "Robe fleurie, portée deux fois", price: "24.50", brand_id: 53, size_id: 206, catalog_id: 5, color_ids: [1], status_ids: [6], photo_urls: [photo.url] };
    const done = await runTask({ action: "create_product", params });
    expect(done).toMatchObject({ status: "completed", attempt: 1 });
    const itemId = (done.result as { item: { id: number } }).item.id;
    const item = vinted.state.findItem(itemId);
    expect(item).toMatchObject({ title: params.title, description: params.description, price: "24.50", brand_id: 53, status_id: 6, color_ids: [1] });
    expect(vinted.state.photos.get(item!.photo_ids[0]!)?.bytes.equals(PHOTO_BYTES)).toBe(true);
    expect(await hub.seller.product(itemId)).toMatchObject({ vinted_id: itemId, title: params.title, price: "24.50", status: "active" });
    expect(await hub.seller.productCount()).toBe(TOTAL_ITEMS + 1);
  });

  it("update_product: changes the listing on Vinted through the full edit body; the server's copy follows", { timeout: 60_000 }, async () => {
    const target = vinted.state.items[5]!;
    const before = { ...target };
    const done = await runTask({ action: "update_product", params: { item_id: target.id, price: "12.00", description: "Prix réduit !" } });
    expect(done).toMatchObject({ status: "completed", result: { item: { id: target.id } } });
    expect(vinted.state.findItem(target.id)).toMatchObject({ price: "12.00", description: "Prix réduit !", title: before.title, brand_id: before.brand_id, catalog_id: before.catalog_id });
    expect(await hub.seller.product(target.id)).toMatchObject({ price: "12.00", title: before.title, status: "active" });
  });

  it("update_prices: one PUT per listing, an unknown one reported as failed; the server keeps only the prices Vinted took", { timeout: 60_000 }, async () => {
    const [a, b] = [vinted.state.items[10]!, vinted.state.items[11]!];
    expect([a.price, b.price]).not.toContain("9.00");
    expect(b.price).not.toBe("31.00");
    const mark = vinted.state.requests.length;
    const done = await runTask({ action: "update_prices", params: { updates: [{ item_id: a.id, price: "9.00" }, { item_id: 123, price: "5.00" }, { item_id: b.id, price: "31.00" }] } });
    expect(done).toMatchObject({ status: "completed", result: { updated: 2, failed: 1, total: 3 } });
    expect((done.result as { results: unknown[] }).results).toEqual([
      { item_id: a.id, success: true, item: expect.objectContaining({ id: a.id, price: "9.00" }) },
      expect.objectContaining({ item_id: 123, success: false, error_code: "ITEM_NOT_FOUND" }),
      { item_id: b.id, success: true, item: expect.objectContaining({ id: b.id, price: "31.00" }) },
    ]);
    expect([vinted.state.findItem(a.id)?.price, vinted.state.findItem(b.id)?.price]).toEqual(["9.00", "31.00"]);
    expect(vintedRequestsSince(mark).filter((r) => r.method === "PUT").map((r) => r.path)).toEqual([`/api/v2/item_upload/items/${a.id}`, `/api/v2/item_upload/items/${b.id}`]);
    expect((await hub.seller.product(a.id)).price).toBe("9.00");
    expect((await hub.seller.product(b.id)).price).toBe("31.00");
    const unknown = await hub.server.request("GET", "/api/v1/vinted/products/123", { token: hub.seller.user.access_token });
    expect(unknown.status).toBe(404);
  });

  it("get_stats: reads the counters from the wardrobe; the server keeps one snapshot per run and the trend", { timeout: 60_000 }, async () => {
    const target = vinted.state.items[200]!;
    const first = await runTask({ action: "get_stats", params: { item_id: target.id } });
    expect(first.result).toMatchObject({ item_id: target.id, view_count: target.view_count, favourite_count: target.favourite_count, message_count: null });
    target.view_count += 7;
    target.favourite_count += 2;
    const second = await runTask({ action: "get_stats", params: { item_id: target.id } });
    expect(second.result).toMatchObject({ view_count: target.view_count, favourite_count: target.favourite_count });
    const detail = await hub.seller.product(target.id);
    expect(detail).toMatchObject({ view_count: target.view_count, favourite_count: target.favourite_count });
    expect(detail.stats.snapshots.map((s) => s.view_count)).toEqual([target.view_count - 7, target.view_count]);
    expect(detail.stats.trend).toMatchObject({ views_change: 7, favourites_change: 2 });
  });

  it("upload_photo: downloads the photo, uploads it to Vinted and attaches it to the listing", { timeout: 60_000 }, async () => {
    const target = vinted.state.items[300]!;
    const done = await runTask({ action: "upload_photo", params: { item_id: target.id, photo_url: photo.url } });
    expect(done).toMatchObject({ status: "completed", result: { attached: true, item_id: target.id } });
    const photoId = (done.result as { photo_id: number }).photo_id;
    expect(vinted.state.findItem(target.id)?.photo_ids).toContain(photoId);
    expect(vinted.state.photos.get(photoId)?.bytes.equals(PHOTO_BYTES)).toBe(true);
  });

  it("delete_product: the listing is gone from Vinted; the server marks it gone (deleted), not missing", { timeout: 60_000 }, async () => {
    const target = vinted.state.items[20]!;
    const done = await runTask({ action: "delete_product", params: { item_id: target.id } });
    expect(done).toMatchObject({ status: "completed", result: { success: true, item_id: target.id } });
    expect(vinted.state.findItem(target.id)).toBeUndefined();
    expect(await hub.seller.product(target.id)).toMatchObject({ status: "gone", gone_reason: "deleted" });
    expect(await hub.seller.productCount()).toBe(TOTAL_ITEMS);
  });

  it("a burst of 429s slows a sync (POST /api/sync/vinted) down but loses nothing", { timeout: 90_000 }, async () => {
    vinted.inject({ kind: "rateLimit", count: 3, retryAfterSeconds: 1, pathPattern: /\/wardrobe\// });
    const mark = vinted.state.requests.length;
    const started = Date.now();
    const { task_id, message } = await hub.seller.syncVinted();
    expect(message).toBe("Sync started");
    const done = await hub.seller.waitForTask(task_id, 60_000);
    expect(done).toMatchObject({ status: "completed", attempt: 1, result: { total: vinted.state.items.length, pages: 17, complete: true } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);

    const wardrobe = vintedRequestsSince(mark, /\/wardrobe\//);
    expect(wardrobe.filter((r) => r.status === 429)).toHaveLength(3);
    expect(wardrobe.filter((r) => r.status === 200).map((r) => Number(r.query.page))).toEqual(pages17);
    wardrobe.forEach((r, i) => {
      if (r.status === 429) expect(wardrobe[i + 1]!.at - r.at).toBeGreaterThanOrEqual(950);
    });
    expect(await hub.seller.productCount()).toBe(vinted.state.items.length);
    // The listing deleted through MarketHub stays gone for that reason; nothing else went missing.
    expect(await hub.seller.productCount("gone")).toBe(1);
  });

  it("a captcha hands the task back (not failed) and pauses the queue until the seller resumes from the popup", { timeout: 90_000 }, async () => {
    vinted.inject({ kind: "captcha" });
    const blockedTask = await hub.seller.createTask({ action: "get_user_data", params: {} });
    await waitUntil("the captcha pause", async () => ((await session.ext.getStorage("pause")) as { reason?: string } | undefined)?.reason === "captcha", 45_000, 200);
    const local = await waitUntil("the task handed back", async () =>
      ((await session.ext.getStorage("localHistory")) as Array<{ taskId: string; status: string; errorCode: string | null }>).find((r) => r.taskId === blockedTask.task_id && r.status === "handed_back"));
    expect(local.errorCode).toBe("CAPTCHA_REQUIRED");
    expect(resultPosts(blockedTask.task_id)).toEqual([]);
    expect((await hub.seller.task(blockedTask.task_id)).status).not.toBe("failed");

    const page = await extensionPage("popup.html");
    await page.waitForSelector("[data-testid=resume]");
    expect(await page.$eval("[data-testid=poller-state]", (el) => el.className)).toContain("error");
    // Time passes: its lease lapses and it is queued again (a server with the release call does it at once).
    await expireLease(hub.server, blockedTask.task_id);
    await hub.seller.waitForTask(blockedTask.task_id, 30_000, ["pending"]);

    const next = await hub.seller.createTask({ action: "get_user_data", params: {} });
    const polls = hub.served("GET", "/api/plugin/tasks").length;
    expect((await session.ext.waitForPollerTicks(2)).poller).toBe("paused");
    expect(await hub.seller.task(next.task_id)).toMatchObject({ status: "pending", attempt: 0 });
    expect(hub.served("GET", "/api/plugin/tasks")).toHaveLength(polls);
    // Paused, it does not poll, but says why: the dashboard shows it.
    expect(await waitUntil("the pause reported", async () => ((await connectionOf(hub)).pause_reason === "captcha" ? connectionOf(hub) : null), 45_000, 200)).toMatchObject({ state: "paused", connected: true });

    vinted.clearFaults();
    await page.locator("[data-testid=resume]").click();
    expect(await hub.seller.waitForTask(next.task_id)).toMatchObject({ status: "completed", attempt: 1 });
    expect(await hub.seller.waitForTask(blockedTask.task_id)).toMatchObject({ status: "completed" });
    expect(await session.ext.getStorage("pause")).toBeFalsy();
  });

  it("keeps a finished task's result while the server is down and delivers it when the server is back", { timeout: 90_000 }, async () => {
    vinted.inject({ kind: "latency", ms: 1_500 });
    // On the wardrobe's first page: one slow request.
    const target = vinted.state.items[3]!;
    const created = await hub.seller.createTask({ action: "get_stats", params: { item_id: target.id } });
    await hub.seller.waitForTask(created.task_id, 30_000, ["executing"]);
    await hub.server.stopListening();
    try {
      // The result waits in the outbox and a delivery has already failed.
      await waitUntil("a failed delivery of the result", async () => {
        const outbox = (await session.ext.getStorage("outbox")) as Array<{ taskId: string; attempts: number }> | undefined;
        return outbox?.some((r) => r.taskId === created.task_id && r.attempts >= 1);
      }, 45_000, 200);
      vinted.clearFaults();
    } finally {
      await hub.server.resumeListening();
    }
    const done = await hub.seller.waitForTask(created.task_id, 60_000);
    expect(done).toMatchObject({ status: "completed", attempt: 1, result: { item_id: target.id, view_count: target.view_count } });
    expect(resultPosts(created.task_id).map((r) => r.status)).toEqual([200]);
    expect((await hub.seller.product(target.id)).stats.snapshots).toHaveLength(1);
    await waitUntil("an empty outbox", async () => ((await session.ext.getStorage("outbox")) as unknown[] | undefined)?.length === 0);
  });

  it("a write whose lease ran out before its result arrived is handed out again, and finds its listing on Vinted instead of creating it twice", { timeout: 240_000 }, async () => {
    const params = { title: `Pull en laine ${kind}`, description: "Pull chaud", price: "18.00", brand_id: 53, size_id: 206, catalog_id: 5, color_ids: [1], status_ids: [6] };
    const creates = () => vinted.state.requests.filter((r) => r.method === "POST" && r.path === "/api/v2/item_upload/items" && (r.body as { item?: { title?: string } } | undefined)?.item?.title === params.title);
    vinted.inject({ kind: "latency", ms: 1_000 });
    const created = await hub.seller.createTask({ action: "create_product", params });
    await hub.seller.waitForTask(created.task_id, 30_000, ["executing"]);
    await hub.server.stopListening();
    try {
      await waitUntil("the result in the outbox", async () => ((await session.ext.getStorage("outbox")) as Array<{ taskId: string }> | undefined)?.some((r) => r.taskId === created.task_id), 45_000, 200);
      vinted.clearFaults();
      // Time passes while the server is away: the lease ends before the result can arrive.
      await expireLease(hub.server, created.task_id);
      // And the seller reloads the Vinted page, so the tab no longer remembers the run it did.
      await vintedTab!.reload({ waitUntil: "load" });
    } finally {
      await hub.server.resumeListening();
    }
    // Wide deadline: the outbox's backoff grew while the server was away, and a busy machine is slow.
    const done = await hub.seller.waitForTask(created.task_id, 120_000);
    expect(done).toMatchObject({ status: "completed", attempt: 2, result: { recovered: true } });
    // The second attempt's result was taken. The stale one was refused for good (409) if it went out
    // before the new claim; after it, the outbox had already replaced it (one result per task).
    const posts = resultPosts(created.task_id).map((r) => r.status);
    expect(posts.at(-1)).toBe(200);
    expect(posts.slice(0, -1)).toEqual(posts.length === 2 ? [409] : []);
    expect(creates().map((r) => r.status)).toEqual([200]);
    const copies = vinted.state.items.filter((i) => i.title === params.title);
    expect(copies).toHaveLength(1);
    expect((done.result as { item: { id: number } }).item.id).toBe(copies[0]!.id);
    expect(await hub.seller.product(copies[0]!.id)).toMatchObject({ title: params.title, price: "18.00", status: "active" });
  });

  it("honours the server's Retry-After when it polls too early", { timeout: 180_000 }, async () => {
    vinted.inject({ kind: "latency", ms: 1_000 });
    const created = await hub.seller.createTask({ action: "get_user_data", params: {} });
    await hub.seller.waitForTask(created.task_id, 30_000, ["executing"]);
    // Another client of the seller polls meanwhile and takes the seller's 5 s poll slot.
    const slotTakenAt = Date.now();
    expect((await hub.seller.poll()).status).toBe(200);
    vinted.clearFaults();
    await hub.seller.waitForTask(created.task_id);

    // Done with its task, the extension polls at once: refused, it waits as told.
    const refused = await waitUntil("the refused poll", () => hub.served("GET", "/api/plugin/tasks", slotTakenAt).find((r) => r.status === 429), 60_000);
    // A task for the next poll to take, so that poll is answered (and logged) at once instead of held.
    const following = await hub.seller.createTask({ action: "get_user_data", params: {} });
    expect(await hub.seller.waitForTask(following.task_id)).toMatchObject({ status: "completed", attempt: 1 });
    const next = hub.served("GET", "/api/plugin/tasks", refused.startedAt + 1)[0];
    expect(next?.status).toBe(200);
    expect(next!.startedAt).toBeGreaterThanOrEqual(slotTakenAt + 4_500);
    expect(hub.served("GET", "/api/plugin/tasks", slotTakenAt).filter((r) => r.status === 429)).toHaveLength(1);
  });

  if (kind === "chromium") {
    it("a sync survives Chrome stopping the service worker mid-task: completed once, attempt 1, one result", { timeout: 180_000 }, async () => {
      vinted.inject({ kind: "latency", ms: 250 });
      const mark = vinted.state.requests.length;
      const { task_id } = await hub.seller.syncVinted();
      await waitUntil("page 2 at the server", async () => ((await hub.seller.task(task_id)).progress?.current ?? 0) >= 2, 45_000, 100);
      let cdp: CDPSession | undefined;
      let stopping = 0;
      let stopped = 0;
      try {
        cdp = await session.ext.page.createCDPSession();
        await cdp.send("ServiceWorker.enable");
        stopping = Date.now();
        await cdp.send("ServiceWorker.stopAllWorkers");
        stopped = Date.now();
      } finally {
        await cdp?.detach().catch(() => undefined);
      }
      const done = await hub.seller.waitForTask(task_id, 120_000);
      vinted.clearFaults();
      expect(done).toMatchObject({ status: "completed", attempt: 1, result: { total: vinted.state.items.length, complete: true } });
      expect(resultPosts(task_id).map((r) => r.status)).toEqual([200]);
      // Every heartbeat, from both workers' runs, was taken and went out before the result, but the
      // one the stopped worker may have had in flight: its connection is cut (no answer, status 0).
      // Whether one was in flight depends on timing; what it carried still reaches the server (the product count below).
      const result = resultPosts(task_id)[0]!;
      const beats = hub.served("POST", heartbeatPath(task_id));
      const cutByTheStop = (r: ServedRequest) => r.status === 0 && r.startedAt <= stopped && r.endedAt >= stopping;
      const timeline = JSON.stringify(beats.map((r) => [r.status, r.startedAt - result.startedAt, r.endedAt - result.startedAt]));
      expect(beats.filter((r) => !cutByTheStop(r) && (r.status !== 200 || r.startedAt > result.startedAt)), `heartbeats [status, start, end] relative to the result: ${timeline}`).toEqual([]);
      expect(beats.filter(cutByTheStop).length).toBeLessThanOrEqual(1);
      // The page kept going under the same run: each page was fetched once.
      expect(vintedRequestsSince(mark, /\/wardrobe\//).map((r) => Number(r.query.page))).toEqual(pages17);
      expect(await hub.seller.productCount()).toBe(vinted.state.items.length);
    });
  }

  it("refreshes its MarketHub token before it expires and keeps working; logging out ends the session", { timeout: 60_000 }, async () => {
    interface StoredSession { accessToken: string; refreshToken: string; expiresAt: number }
    const since = Date.now();
    const before = (await session.ext.getStorage("session")) as StoredSession;
    // The access token is now inside the extension's one-minute refresh margin.
    await session.ext.setStorage({ session: { ...before, expiresAt: Date.now() + 30_000 } });
    expect((await runTask({ action: "get_user_data", params: {} })).status).toBe("completed");
    expect(hub.served("POST", "/api/v1/auth/refresh", since).map((r) => r.status)).toContain(200);
    const after = (await session.ext.getStorage("session")) as StoredSession;
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.expiresAt).toBeGreaterThan(Date.now() + 60_000);

    const page = await extensionPage("options.html");
    await page.locator("[data-testid=logout]").click();
    await waitUntil("the session to be forgotten", async () => (await session.ext.getStorage("session")) == null);
    await waitUntil("the server to end the session", () => hub.served("POST", "/api/v1/auth/logout", since).find((r) => r.status === 204));
    // The session's tokens are dead on the server too, and nothing is claimed any more.
    const refresh = await fetch(`${hub.url}/api/v1/auth/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: after.refreshToken }),
    });
    expect(refresh.status).toBe(401);
    const pending = await hub.seller.createTask({ action: "get_user_data", params: {} });
    await session.ext.waitForPollerTicks(2);
    expect((await session.ext.connection()).poller).toBe("logged_out");
    expect((await hub.seller.task(pending.task_id)).status).toBe("pending");
  });

  it("spoke the contract: nothing refused as invalid, no server error, every result's data applied", { timeout: 10_000 }, async () => {
    const refused = hub.requests.filter((r) => r.status === 400 || r.status === 422 || r.status >= 500);
    expect(refused).toEqual([]);
    // A success whose data does not match its action's result schema completes with a warning and
    // changes nothing in the seller's data: there must be none.
    const tasks = await allBrands(taskModel(hub.server.db.connection).find({ owner_user_id: hub.seller.user.user.id }).lean<Task[]>());
    expect(tasks.length).toBeGreaterThanOrEqual(15);
    // Nor any listing field of a type the shared Vinted item schema does not expect.
    expect(tasks.filter((t) => t.error_details?.warning !== undefined || t.error_details?.data_problems !== undefined).map((t) => [t.task_type, t.error_details])).toEqual([]);
  });
});
