/**
 * What the extension suites run against: the fake www.vinted.fr, the real MarketHub server and a
 * browser with the built extension, its Vinted pacing made fast (real pacing would take minutes).
 * Whatever started is stopped again, each part even if another fails, so no browser, server or
 * port outlives a suite — also when the start itself fails halfway.
 */
import type { Page } from "puppeteer";
import { startFakeVinted, type FakeVinted, type FakeVintedOptions } from "../../fixtures/fake-vinted/index.js";
import { launchBrowser, openExtensionPage, type BrowserKind, type ExtensionBrowser } from "./browsers.js";
import { ensureExtensionBuilt } from "./extension-build.js";
import { ExtensionDriver } from "./extension-driver.js";
import { startMarketHub, type MarketHub, type MarketHubOptions } from "./markethub.js";

export const FAST_PACING = { minDelayMs: 40, maxDelayMs: 80, rateLimitPauseMs: 1_000, maxRateLimitRetries: 6, maxRateLimitWaitMs: 60_000 };

export interface ExtensionSessionOptions {
  vinted?: FakeVintedOptions;
  /** Server settings besides the harness's own (startMarketHub's overrides). */
  env?: Record<string, string>;
  hub?: MarketHubOptions;
}

interface Closable {
  close(): Promise<void>;
}

/** Closes every part even if one fails; the first failure is reported after all were tried. */
async function closeAll(parts: Array<Closable | undefined>, hub: MarketHub | undefined): Promise<void> {
  const closing = await Promise.allSettled(parts.map((part) => part?.close()));
  await hub?.close();
  for (const outcome of closing) if (outcome.status === "rejected") throw outcome.reason;
}

export class ExtensionSession {
  /** Drives the extension page opened last (see `page`). */
  ext!: ExtensionDriver;

  private constructor(
    readonly vinted: FakeVinted,
    readonly hub: MarketHub,
    readonly eb: ExtensionBrowser,
  ) {}

  static async start(kind: BrowserKind, options: ExtensionSessionOptions = {}): Promise<ExtensionSession> {
    await ensureExtensionBuilt();
    const vinted = await startFakeVinted(options.vinted);
    let hub: MarketHub | undefined;
    let eb: ExtensionBrowser | undefined;
    try {
      hub = await startMarketHub(options.env, options.hub);
      eb = await launchBrowser(kind, vinted);
      const session = new ExtensionSession(vinted, hub, eb);
      await session.page("options.html");
      await session.ext.setStorage({ vintedPacing: FAST_PACING });
      return session;
    } catch (err) {
      await closeAll([eb, vinted], hub).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Opens the extension's page at `path` in front and points `ext` at it. Firefox gives the tests
   * one extension tab (see openExtensionPage), reused everywhere; Chromium opens a new tab each
   * time, so the previous one is closed (its popup would keep polling).
   */
  async page(path: string): Promise<Page> {
    const page = await openExtensionPage(this.eb, path);
    if (this.ext && this.ext.page !== page) await this.ext.page.close().catch(() => undefined);
    // Background tabs are throttled (Firefox never settles a click's visibility check there).
    await page.bringToFront();
    this.ext = new ExtensionDriver(page);
    return page;
  }

  /** Logs the extension in as the harness's seller through its options page. */
  async logIn(): Promise<Page> {
    const page = await this.page("options.html");
    await page.locator("input[name=serverUrl]").fill(this.hub.url);
    await page.locator("input[name=email]").fill(this.hub.seller.email);
    await page.locator("input[name=password]").fill(this.hub.seller.password);
    await page.locator("[data-testid=login]").click();
    await page.waitForSelector("[data-testid=session]");
    return page;
  }

  /** A tab on the fake Vinted, where the extension runs its actions. */
  async openVintedTab(): Promise<Page> {
    const tab = await this.eb.browser.newPage();
    await tab.goto(this.eb.vintedUrl, { waitUntil: "load" });
    return tab;
  }

  /** Stops the browser, the fake Vinted, `others` (a photo server…) and the server. */
  close(others: Closable[] = []): Promise<void> {
    return closeAll([this.eb, this.vinted, ...others], this.hub);
  }
}
