/**
 * The extension's edge cases, in real Chromium and Firefox against the real MarketHub server and the
 * fake www.vinted.fr: a Vinted session that ends without the tab reloading, a captcha in the middle
 * of a sync, a listing that sells while a sync walks the wardrobe (total_entries drops between
 * pages), a bulk price change of a listing the server has never synced, and what the popup and the
 * options page tell the seller meanwhile.
 *
 * A handed-back task is released on the server at once (POST …/release): pending again, no attempt
 * counted.
 */
import type { Page } from "puppeteer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PluginTaskView } from "../../shared/plugin.js";
import type { FakeVinted, RecordedRequest } from "../fixtures/fake-vinted/index.js";
import type { BrowserKind } from "./harness/browsers.js";
import { ExtensionSession } from "./harness/extension-session.js";
import { waitUntil, type MarketHub } from "./harness/markethub.js";

/** Five wardrobe pages of 96. */
const TOTAL_ITEMS = 400;

interface LocalRecord {
  taskId: string;
  status: string;
  errorCode: string | null;
}

describe.each<BrowserKind>(["chromium", "firefox"])("extension edge cases in %s", (kind) => {
  let session: ExtensionSession;
  let vinted: FakeVinted;
  let hub: MarketHub;
  let vintedTab: Page;
  const extensionPage = (path: string) => session.page(path);

  function wardrobePagesSince(mark: number): number[] {
    return vinted.state.requests.slice(mark).filter((r: RecordedRequest) => /\/wardrobe\//.test(r.path) && r.status === 200).map((r) => Number(r.query.page));
  }

  async function localRecord(taskId: string): Promise<LocalRecord | undefined> {
    return ((await session.ext.getStorage("localHistory")) as LocalRecord[] | undefined)?.find((r) => r.taskId === taskId);
  }

  async function text(page: Page, testId: string): Promise<string> {
    return page.$eval(`[data-testid=${testId}]`, (el) => el.textContent ?? "");
  }

  async function className(page: Page, testId: string): Promise<string> {
    return page.$eval(`[data-testid=${testId}]`, (el) => el.className);
  }

  /** A sync of the whole wardrobe, started as the web app would (POST /api/sync/vinted). */
  async function startSync(): Promise<string> {
    const { task_id, message } = await hub.seller.syncVinted();
    expect(message).toBe("Sync started");
    return task_id;
  }

  /** A completed sync whose result has every listing Vinted has now. */
  function expectCompleteSync(done: PluginTaskView, markedGone = 0): void {
    expect(done).toMatchObject({ status: "completed", result: { complete: true, total: vinted.state.items.length, marked_gone: markedGone } });
  }

  beforeAll(async () => {
    session = await ExtensionSession.start(kind, { vinted: { totalItems: TOTAL_ITEMS } });
    ({ vinted, hub } = session);
  }, 300_000); // the first suite to need the extension builds it: minutes on a loaded machine

  afterAll(() => session?.close(), 60_000);

  it("after login the options page names the next step, and says all is set once a Vinted tab is logged in", { timeout: 90_000 }, async () => {
    const page = await extensionPage("options.html");
    await page.locator("input[name=serverUrl]").fill(hub.url);
    await page.locator("input[name=email]").fill(hub.seller.email);
    await page.locator("input[name=password]").fill(hub.seller.password);
    await page.locator("[data-testid=login]").click();
    await page.waitForSelector("[data-testid=session]");
    expect(await text(page, "next-step")).toMatch(/Next step: open Vinted .* log in there/);
    expect(await page.$eval("[data-testid=next-step] a", (a) => a.getAttribute("href"))).toBe("https://www.vinted.fr/");

    vintedTab = await session.openVintedTab();
    await page.bringToFront();
    await page.waitForFunction(`document.querySelector("[data-testid=next-step]")?.className === "ok"`, { timeout: 45_000, polling: 200 });
    expect(await text(page, "next-step")).toContain(`All set: tasks run in your Vinted tab as ${vinted.state.user.login}`);
  });

  it("the popup shows the server connected without waiting for a held long-poll, never 'not contacted yet' beside 'checking for tasks'", { timeout: 60_000 }, async () => {
    // As a freshly started background that has a long-poll out and no answer yet.
    await session.ext.setStorage({ connection: { ...(await session.ext.connection()), server: "unknown", serverError: null, poller: "polling" } });
    const opened = Date.now();
    const page = await extensionPage("popup.html");
    await page.evaluate(`(() => {
      window.__rows = [];
      const note = () => {
        const server = document.querySelector("[data-testid=server-state]")?.textContent ?? "";
        const poller = document.querySelector("[data-testid=poller-state]")?.textContent ?? "";
        window.__rows.push(server + " | " + poller);
      };
      note();
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);
    await page.waitForFunction(`document.querySelector("[data-testid=server-state]")?.textContent.endsWith("reachable")`, { timeout: 30_000, polling: 50 });
    console.log(`[figure] ${kind}: popup opened → server "reachable" in ${Date.now() - opened} ms`);
    const rows = (await page.evaluate("window.__rows")) as string[];
    expect(rows.filter((row) => row.includes("not contacted yet") && row.includes("checking for tasks"))).toEqual([]);
    expect(await className(page, "server-state")).toBe("ok");
  });

  it("a listing that sells mid-sync and leaves the list: the sync reads the wardrobe again and its complete result misses nothing", { timeout: 90_000 }, async () => {
    // Page 2 would have started with the listing at index 96; the sale moves it to the end of page 1.
    const shifted = vinted.state.items[96]!;
    const sold = vinted.state.items[10]!;
    vinted.inject({ kind: "sellDuringSync", afterPage: 1, itemIndex: 10 });
    const mark = vinted.state.requests.length;
    const done = await hub.seller.waitForTask(await startSync(), 60_000);

    expect(vinted.state.sold.map((i) => i.id)).toEqual([sold.id]);
    expectCompleteSync(done);
    expect(done.result).toMatchObject({ total: TOTAL_ITEMS - 1, pages: 5 });
    // The walk saw total_entries drop at page 2 and started again from page 1.
    expect(wardrobePagesSince(mark)).toEqual([1, 2, 1, 2, 3, 4, 5]);
    expect(done.progress?.message).toMatch(/page 5\/5 \(the list changed during the sync: reading it again, pass 2\)/);
    // The listing that moved up a page is in MarketHub, active, not lost.
    expect(await hub.seller.product(shifted.id)).toMatchObject({ status: "active", title: shifted.title });
    expect(await hub.seller.productCount("gone")).toBe(0);
  });

  it("a Vinted session that ends without the tab reloading hands the sync back instead of failing it; after logging in again it continues", { timeout: 120_000 }, async () => {
    vinted.inject({ kind: "latency", ms: 150 });
    vinted.inject({ kind: "silentLogout", afterRequests: 3 });
    const taskId = await startSync();
    await waitUntil("the sync handed back", async () => (await localRecord(taskId))?.status === "handed_back", 60_000, 200);
    expect(await localRecord(taskId)).toMatchObject({ errorCode: "VINTED_LOGGED_OUT" });
    expect((await hub.seller.task(taskId)).status).not.toBe("failed");
    // Its result was never sent: nothing on the server says it failed for good.
    expect(hub.served("POST", `/api/plugin/tasks/${taskId}/result`)).toEqual([]);
    expect(hub.served("POST", `/api/plugin/tasks/${taskId}/release`).map((r) => r.status)).toEqual([200]);

    const page = await extensionPage("popup.html");
    await page.waitForFunction(`document.querySelector("[data-testid=vinted-state]")?.textContent.includes("logged out of Vinted")`, { timeout: 45_000, polling: 200 });
    expect(await className(page, "vinted-state")).toBe("warn");
    const polls = hub.served("GET", "/api/plugin/tasks").length;
    // Released: the task is queued again, and nothing claims it while logged out.
    await hub.seller.waitForTask(taskId, 30_000, ["pending"]);
    expect((await session.ext.waitForPollerTicks(2)).poller).toBe("waiting_for_vinted");
    expect(hub.served("GET", "/api/plugin/tasks")).toHaveLength(polls);
    // The popup says why it waits: "pending" is never bare.
    await page.waitForSelector(`[data-task-id="${taskId}"] [data-testid=pending-reason]`, { timeout: 15_000 });
    expect(await page.$eval(`[data-task-id="${taskId}"] [data-testid=pending-reason]`, (el) => el.textContent)).toMatch(/^waiting: .+/);
    expect(await page.$eval(`[data-task-id="${taskId}"]`, (el) => el.textContent)).toContain("Sync wardrobe");

    // The seller logs in again (the page reloads).
    vinted.clearFaults();
    await vintedTab.reload({ waitUntil: "load" });
    const done = await hub.seller.waitForTask(taskId, 60_000);
    // The listing sold in the previous test is gone now: this sync is complete and never saw it.
    expectCompleteSync(done, 1);
    // The handed-back lease was not an attempt.
    expect(done.attempt).toBe(1);
    expect(await hub.seller.product(vinted.state.sold[0]!.id)).toMatchObject({ status: "gone", gone_reason: "missing_from_complete_sync" });
  });

  it("a captcha mid-sync hands the sync back and pauses: the Vinted row is red and the auto-resume explained; after Resume the sync continues", { timeout: 180_000 }, async () => {
    // The sync reads page 1, then waits at page 2 until the popup has shown it running; the
    // challenge answers that page.
    const atPage2 = vinted.hold(/\/wardrobe\/.*[?&]page=2(&|$)/);
    const mark = vinted.state.requests.length;
    const taskId = await startSync();
    const page = await extensionPage("popup.html");
    // The running task has its human name in the popup.
    await page.waitForSelector("[data-testid=current-task]", { timeout: 30_000 });
    expect(await text(page, "current-task")).toMatch(/^Sync wardrobe/);
    await waitUntil("the sync to wait at page 2", () => atPage2.waiting === 1);
    vinted.inject({ kind: "captcha" });
    atPage2.release();
    await waitUntil("the sync handed back", async () => (await localRecord(taskId))?.status === "handed_back", 60_000, 200);
    expect(await localRecord(taskId)).toMatchObject({ errorCode: "CAPTCHA_REQUIRED" });
    expect(await session.ext.getStorage("pause")).toMatchObject({ reason: "captcha" });
    expect((await hub.seller.task(taskId)).status).not.toBe("failed");
    expect(hub.served("POST", `/api/plugin/tasks/${taskId}/result`)).toEqual([]);

    await page.waitForSelector("[data-testid=resume]");
    expect(await className(page, "vinted-state")).toBe("error");
    expect(await text(page, "vinted-state")).toContain("solve the check");
    const poller = await text(page, "poller-state");
    expect(poller).toMatch(/Solve it in the Vinted tab, then press Resume\. Otherwise the extension tries again by itself at .+ \(30 min after the check/);
    expect(await className(page, "poller-state")).toBe("error");

    expect(hub.served("POST", `/api/plugin/tasks/${taskId}/release`).map((r) => r.status)).toEqual([200]);
    await hub.seller.waitForTask(taskId, 30_000, ["pending"]);
    vinted.clearFaults();
    await page.locator("[data-testid=resume]").click();
    const done = await hub.seller.waitForTask(taskId, 60_000);
    expectCompleteSync(done);
    // Pages read before the challenge, then the whole wardrobe again.
    const pages = wardrobePagesSince(mark);
    expect(pages.length).toBeGreaterThan(5);
    expect(pages.slice(-5)).toEqual([1, 2, 3, 4, 5]);
    expect(await session.ext.getStorage("pause")).toBeFalsy();
    await page.waitForFunction(`document.querySelector("[data-testid=vinted-state]")?.className === "ok"`, { timeout: 30_000, polling: 200 });
  });

  it("a bulk price change of a listing the server has never synced carries that listing in its result", { timeout: 120_000 }, async () => {
    const fresh = { ...vinted.state.items[0]!, id: vinted.state.newItemId(), title: `Veste jamais synchronisée ${kind}`, price: "40.00" };
    vinted.state.items.unshift(fresh);
    const created = await hub.seller.createTask({ action: "update_prices", params: { updates: [{ item_id: fresh.id, price: "35.00" }] } });
    const done = await hub.seller.waitForTask(created.task_id);
    expect(done).toMatchObject({ status: "completed", result: { updated: 1, failed: 0, total: 1 } });
    expect(vinted.state.findItem(fresh.id)?.price).toBe("35.00");
    expect((done.result as { results: unknown[] }).results).toEqual([
      { item_id: fresh.id, success: true, item: expect.objectContaining({ id: fresh.id, title: fresh.title, price: "35.00" }) },
    ]);
  });
});
