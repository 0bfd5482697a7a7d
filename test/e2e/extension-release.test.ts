/**
 * Tasks handed back through the release call (pending again at once, no attempt counted) and price
 * results that carry their listing, in real browsers against the real server.
 */
import type { Page } from "puppeteer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeVinted } from "../fixtures/fake-vinted/index.js";
import type { BrowserKind } from "./harness/browsers.js";
import { ExtensionSession } from "./harness/extension-session.js";
import { waitUntil, type MarketHub } from "./harness/markethub.js";

const TOTAL_ITEMS = 400;

describe.each<BrowserKind>(["chromium", "firefox"])("tasks handed back through the release call in %s", (kind) => {
  let session: ExtensionSession;
  let vinted: FakeVinted;
  let hub: MarketHub;
  let vintedTab: Page;
  const extensionPage = (path: string) => session.page(path);

  beforeAll(async () => {
    session = await ExtensionSession.start(kind, { vinted: { totalItems: TOTAL_ITEMS } });
    ({ vinted, hub } = session);
    await session.logIn();
    vintedTab = await session.openVintedTab();
  }, 180_000);

  afterAll(() => session?.close(), 60_000);

  it("a silent Vinted logout mid-sync: released at once (pending, with its reason, no attempt counted), completed at attempt 1 after login", { timeout: 120_000 }, async () => {
    vinted.inject({ kind: "latency", ms: 150 });
    vinted.inject({ kind: "silentLogout", afterRequests: 3 });
    const { task_id } = await hub.seller.syncVinted();
    const released = await waitUntil("the release", () => hub.served("POST", `/api/plugin/tasks/${task_id}/release`).find((r) => r.status === 200), 60_000);
    expect(released).toBeDefined();
    const pending = await hub.seller.task(task_id);
    expect(pending).toMatchObject({ status: "pending", error_code: "VINTED_LOGGED_OUT" });
    expect(pending.error).toContain("The Vinted session has ended");
    expect(hub.served("POST", `/api/plugin/tasks/${task_id}/result`)).toEqual([]);

    const page = await extensionPage("popup.html");
    await page.waitForSelector(`[data-task-id="${task_id}"] [data-testid=pending-reason]`, { timeout: 15_000 });
    expect(await page.$eval(`[data-task-id="${task_id}"] [data-testid=pending-reason]`, (el) => el.textContent)).toContain("The Vinted session has ended");

    vinted.clearFaults();
    await vintedTab.reload({ waitUntil: "load" });
    const done = await hub.seller.waitForTask(task_id, 60_000);
    expect(done).toMatchObject({ status: "completed", attempt: 1, result: { complete: true, total: TOTAL_ITEMS } });
  });

  it("a captcha mid-sync: released at once; after Resume the sync continues and completes at attempt 1", { timeout: 120_000 }, async () => {
    vinted.inject({ kind: "latency", ms: 150 });
    vinted.inject({ kind: "captcha", afterRequests: 2 });
    const { task_id } = await hub.seller.syncVinted();
    await waitUntil("the release", () => hub.served("POST", `/api/plugin/tasks/${task_id}/release`).find((r) => r.status === 200), 60_000);
    expect(await hub.seller.task(task_id)).toMatchObject({ status: "pending", error_code: "CAPTCHA_REQUIRED" });
    const page = await extensionPage("popup.html");
    await page.waitForSelector("[data-testid=resume]");
    vinted.clearFaults();
    await page.locator("[data-testid=resume]").click();
    const done = await hub.seller.waitForTask(task_id, 60_000);
    expect(done).toMatchObject({ status: "completed", attempt: 1, result: { complete: true, total: TOTAL_ITEMS } });
  });

  it("a bulk price change of a listing the server has never synced is recorded on the server", { timeout: 60_000 }, async () => {
    const fresh = { ...vinted.state.items[0]!, id: vinted.state.newItemId(), title: `Veste jamais synchronisée ${kind}`, price: "40.00" };
    vinted.state.items.unshift(fresh);
    const created = await hub.seller.createTask({ action: "update_prices", params: { updates: [{ item_id: fresh.id, price: "35.00" }] } });
    expect(await hub.seller.waitForTask(created.task_id)).toMatchObject({ status: "completed", result: { updated: 1 } });
    expect(await hub.seller.product(fresh.id)).toMatchObject({ vinted_id: fresh.id, title: fresh.title, price: "35.00", status: "active" });
  });
});
