/**
 * The extension's background (poller, leases, heartbeats, result outbox, pause) in real browsers,
 * against the fake Vinted and an in-process stub of the MarketHub plugin API built from
 * shared/plugin.ts. The same flows against the real server: server-integration.pending.ts.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "puppeteer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeVinted, type FakeVinted } from "../fixtures/fake-vinted/index.js";
import { launchBrowser, openExtensionPage, type BrowserKind, type ExtensionBrowser } from "./harness/browsers.js";
import { ensureExtensionBuilt } from "./harness/extension-build.js";
import { ExtensionDriver } from "./harness/extension-driver.js";
import { startFakeMarketHub, type FakeMarketHub } from "./harness/fake-markethub.js";
import { artifactsDir } from "./harness/paths.js";

const FAST_PACING = { minDelayMs: 40, maxDelayMs: 80, rateLimitPauseMs: 1_000, maxRateLimitRetries: 6, maxRateLimitWaitMs: 60_000 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe.each<BrowserKind>(["chromium", "firefox"])("extension background in %s", (kind) => {
  let vinted: FakeVinted;
  let hub: FakeMarketHub;
  let eb: ExtensionBrowser;
  let ext: ExtensionDriver;
  let vintedTab: Page | undefined;

  async function openVintedTab(): Promise<void> {
    vintedTab = await eb.browser.newPage();
    await vintedTab.goto(eb.vintedUrl, { waitUntil: "load" });
  }

  async function extensionPage(path: string): Promise<Page> {
    // Firefox gives the tests one extension tab (see openExtensionPage); reuse it everywhere.
    const page = await openExtensionPage(eb, path);
    // Background tabs are throttled (Firefox never settles a click's visibility check there).
    await page.bringToFront();
    ext = new ExtensionDriver(page);
    return page;
  }

  beforeAll(async () => {
    await ensureExtensionBuilt();
    vinted = await startFakeVinted({ totalItems: 1595 });
    hub = await startFakeMarketHub();
    eb = await launchBrowser(kind, vinted);
    await extensionPage("options.html");
    await ext.setStorage({ vintedPacing: FAST_PACING });
  }, 180_000);

  afterAll(async () => {
    await eb?.close();
    await vinted?.close();
    await hub?.close();
    expect(hub?.contractViolations ?? []).toEqual([]);
  }, 60_000);

  it("logs in through the options page", { timeout: 60_000 }, async () => {
    const page = await extensionPage("options.html");
    await page.locator("input[name=serverUrl]").fill(hub.url);
    await page.locator("input[name=email]").fill(hub.email);
    await page.locator("input[name=password]").fill("wrong password");
    await page.locator("[data-testid=login]").click();
    await page.waitForSelector("[data-testid=login-notice].error");
    expect(await ext.getStorage("session")).toBeFalsy();

    await page.locator("input[name=password]").fill(hub.password);
    await page.locator("[data-testid=login]").click();
    await page.waitForSelector("[data-testid=session]");
    expect(await ext.getStorage("session")).toMatchObject({ serverUrl: hub.url, user: { email: hub.email } });
  });

  it("claims nothing without a logged-in Vinted tab, then runs the task and reports it under its lease", { timeout: 90_000 }, async () => {
    const task = hub.createTask("get_user_data", {});
    await sleep(7_000);
    expect(hub.polls).toHaveLength(0);
    expect(task.status).toBe("pending");

    await openVintedTab();
    const done = await hub.waitForTask(task.task_id, ["completed", "failed"], 45_000);
    expect(done.attempt).toBe(1);
    expect(done.result).toMatchObject({ success: true, data: { user_id: 29535217, login: "shop.ton.outfit" } });
    expect(done.result?.execution_time_ms).toBeGreaterThanOrEqual(0);
    expect(done.heartbeats.length).toBeGreaterThan(0);
  });

  it("syncs from the popup's button, streaming each page in heartbeats before the complete result", { timeout: 90_000 }, async () => {
    const page = await extensionPage("popup.html");
    await page.locator("[data-testid=sync-now]").click();
    await page.waitForSelector("[data-testid=notice].ok");
    const sync = await waitUntil("the sync task", () => hub.tasks.find((t) => t.action === "get_all_products"));
    const done = await hub.waitForTask(sync.task_id, ["completed", "failed"], 60_000);
    expect(done.result).toMatchObject({ success: true, data: { total: 1595, complete: true, pages: 17 } });
    const partials = done.heartbeats.flatMap((h) => (h.progress?.partial ? [h.progress.partial] : []));
    expect(partials.map((p) => p.page)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    expect(partials.reduce((n, p) => n + p.items.length, 0)).toBe(1595);
    await page.waitForSelector("[data-testid=recent-tasks]");
    if (kind === "chromium") {
      mkdirSync(artifactsDir, { recursive: true });
      await page.setViewport({ width: 380, height: 600 });
      await page.waitForFunction(`document.querySelector("[data-testid=account-state]")?.textContent?.includes("@")`);
      await page.screenshot({ path: join(artifactsDir, "popup-chromium-logged-in.png") });
    }
  });

  it("keeps a result until the server takes it, resending with backoff while it answers 503", { timeout: 90_000 }, async () => {
    hub.controls.failResults = 2;
    const task = hub.createTask("get_user_data", {});
    const done = await hub.waitForTask(task.task_id, ["completed", "failed"], 60_000);
    expect(done.status).toBe("completed");
    const posts = hub.resultPosts.filter((p) => p.taskId === task.task_id);
    expect(posts.map((p) => p.status)).toEqual([503, 503, 200]);
    expect((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
    await waitUntil("an empty outbox", async () => ((await ext.getStorage("outbox")) as unknown[] | undefined)?.length === 0);
  });

  it("looks at Vinted before re-running a write whose earlier attempt may have happened", { timeout: 90_000 }, async () => {
    const params = { title: `Pull en laine ${kind}`, description: "Pull chaud", price: "18.00", brand_id: 53, size_id: 206, catalog_id: 5, color_ids: [1], status_ids: [6] };
    const first = await hub.waitForTask(hub.createTask("create_product", params).task_id, ["completed", "failed"]);
    expect(first.result?.success).toBe(true);
    // The same write handed out again after a lapsed lease (attempt 2).
    const again = hub.createTask("create_product", params);
    again.attempt = 1;
    const redone = await hub.waitForTask(again.task_id, ["completed", "failed"]);
    expect(redone.attempt).toBe(2);
    expect(redone.result).toMatchObject({ success: true, data: { recovered: true } });
    expect(vinted.state.items.filter((i) => i.title === params.title)).toHaveLength(1);
  });

  it("pauses the queue on a captcha, tells the seller, and resumes from the popup", { timeout: 90_000 }, async () => {
    vinted.inject({ kind: "captcha" });
    const blocked = await hub.waitForTask(hub.createTask("get_user_data", {}).task_id, ["completed", "failed"]);
    expect(blocked.result).toMatchObject({ success: false, error_code: "CAPTCHA_REQUIRED" });
    expect(await ext.getStorage("pause")).toMatchObject({ reason: "captcha" });

    const page = await extensionPage("popup.html");
    await page.waitForSelector("[data-testid=resume]");
    expect(await page.$eval("[data-testid=poller-state]", (el) => el.className)).toContain("error");
    const next = hub.createTask("get_user_data", {});
    await sleep(6_000);
    expect(next.status).toBe("pending");

    vinted.clearFaults();
    await page.locator("[data-testid=resume]").click();
    const resumed = await hub.waitForTask(next.task_id, ["completed", "failed"], 45_000);
    expect(resumed.result?.success).toBe(true);
  });

  it("honours Retry-After when the server says it is polled too fast", { timeout: 90_000 }, async () => {
    const page = await extensionPage("options.html");
    await page.locator("input[name=longPoll]").click(); // off: plain 5 s polling
    await page.locator("[data-testid=save-polling]").click();
    await waitUntil("long-poll off", async () => (await ext.getStorage("settings")) && ((await ext.getStorage("settings")) as { longPoll: boolean }).longPoll === false);
    hub.controls.pollRetryAfterSeconds = 8;
    const refusedAt = await waitUntil("the refused poll", () => (hub.controls.pollRetryAfterSeconds === null ? hub.polls.at(-1) : undefined), 40_000);
    const nextPoll = await waitUntil("the next poll", () => hub.polls.find((at) => at > refusedAt), 40_000);
    expect(nextPoll - refusedAt).toBeGreaterThanOrEqual(7_900);
  });

  if (kind === "chromium") {
    it("finishes a sync after Chrome stops the service worker mid-task", { timeout: 120_000 }, async () => {
      vinted.inject({ kind: "latency", ms: 250 });
      const task = hub.createTask("get_all_products", {});
      await waitUntil("the first synced page", () => task.heartbeats.some((h) => h.progress?.partial?.page === 2), 45_000);
      const cdp = await ext.page.createCDPSession();
      await cdp.send("ServiceWorker.enable");
      await cdp.send("ServiceWorker.stopAllWorkers");
      await cdp.detach();
      const done = await hub.waitForTask(task.task_id, ["completed", "failed"], 90_000);
      vinted.clearFaults();
      expect(done.attempt).toBe(1);
      expect(done.result).toMatchObject({ success: true, data: { total: vinted.state.items.length, complete: true } });
      // The page kept going under the same run: each page was fetched once.
      const pageRequests = vinted.state.requests.filter((r) => r.path.includes("/wardrobe/") && r.at >= Date.parse(done.started_at ?? ""));
      expect(pageRequests).toHaveLength(17);
    });
  }
});
