import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer";
import type { FakeVinted } from "../../fixtures/fake-vinted/index.js";
import { chromeBuild, firefoxBuild } from "./paths.js";

export type BrowserKind = "chromium" | "firefox";

export interface ExtensionBrowser {
  kind: BrowserKind;
  browser: Browser;
  /** chrome-extension://<id>/ or moz-extension://<uuid>/ */
  extensionBase: string;
  /** Where the fake Vinted is reached from inside this browser. */
  vintedUrl: string;
  close(): Promise<void>;
}

/** The repository's puppeteer configuration names both browsers (and keeps puppeteer from downloading one). */
const browserConfig = createRequire(import.meta.url)("../../../.puppeteerrc.cjs") as { executablePath: string; firefoxExecutablePath: string };
const CHROMIUM_PATH = browserConfig.executablePath;
const FIREFOX_PATH = browserConfig.firefoxExecutablePath;
const GECKO_ID = "markethub@markethub.app";
/** Pinned through the extensions.webextensions.uuids pref so tests know the moz-extension:// host. */
const FIREFOX_EXTENSION_UUID = "6c1f2b4e-7d1a-4f0e-9a51-5b8e2f0c1d3a";
const CLOSE_TIMEOUT_MS = 10_000;

const open = new Set<ExtensionBrowser>();

/** Closes gracefully, then kills: a hung browser must not outlive the test run. */
async function shutdown(browser: Browser, profileDir: string): Promise<void> {
  const child = browser.process();
  await Promise.race([browser.close().catch(() => undefined), new Promise((r) => setTimeout(r, CLOSE_TIMEOUT_MS))]);
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(profileDir, { recursive: true, force: true, maxRetries: 3 });
}

function track(entry: Omit<ExtensionBrowser, "close">, profileDir: string): ExtensionBrowser {
  let closing: Promise<void> | undefined;
  const handle: ExtensionBrowser = {
    ...entry,
    close: () => {
      closing ??= shutdown(entry.browser, profileDir).finally(() => open.delete(handle));
      return closing;
    },
  };
  open.add(handle);
  return handle;
}

/** Last line of defence when a test file dies before its afterAll. */
process.once("exit", () => {
  for (const handle of open) handle.browser.process()?.kill("SIGKILL");
});

export async function launchChromium(vinted: FakeVinted): Promise<ExtensionBrowser> {
  const profileDir = mkdtempSync(join(tmpdir(), "markethub-chromium-"));
  try {
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      userDataDir: profileDir,
      enableExtensions: [chromeBuild],
      pipe: true,
      acceptInsecureCerts: true,
      args: [
        "--no-sandbox",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-dev-shm-usage",
        // www.vinted.fr:443 → the fake's loopback port, so the page origin is the real one.
        `--host-resolver-rules=MAP ${vinted.host} 127.0.0.1:${vinted.port}`,
        "--ignore-certificate-errors",
      ],
    });
    const worker = await browser.waitForTarget((t) => t.type() === "service_worker" && t.url().startsWith("chrome-extension://"), { timeout: 30_000 });
    const extensionBase = new URL("/", worker.url()).toString();
    return track({ kind: "chromium", browser, extensionBase, vintedUrl: `https://${vinted.host}/` }, profileDir);
  } catch (error) {
    rmSync(profileDir, { recursive: true, force: true });
    throw error;
  }
}

export async function launchFirefox(vinted: FakeVinted): Promise<ExtensionBrowser> {
  const profileDir = mkdtempSync(join(tmpdir(), "markethub-firefox-"));
  try {
    const browser = await puppeteer.launch({
      browser: "firefox",
      executablePath: FIREFOX_PATH,
      headless: true,
      userDataDir: profileDir,
      acceptInsecureCerts: true,
      extraPrefsFirefox: {
        // www.vinted.fr → 127.0.0.1; Firefox cannot remap the port, so the URL carries it.
        "network.dns.localDomains": vinted.host,
        "extensions.webextensions.uuids": JSON.stringify({ [GECKO_ID]: FIREFOX_EXTENSION_UUID }),
        // Timers of background tabs run on time, as puppeteer's Chromium flags already make them there
        // (otherwise each 40–80 ms pacing gap in the Vinted tab becomes a second).
        "dom.min_background_timeout_value": 4,
        "dom.min_background_timeout_value_without_budget_throttling": 4,
        "dom.timeout.enable_budget_timer_throttling": false,
        "datareporting.policy.dataSubmissionEnabled": false,
        "browser.shell.checkDefaultBrowser": false,
      },
    });
    await browser.installExtension(firefoxBuild);
    return track({ kind: "firefox", browser, extensionBase: `moz-extension://${FIREFOX_EXTENSION_UUID}/`, vintedUrl: `${vinted.url}/` }, profileDir);
  } catch (error) {
    rmSync(profileDir, { recursive: true, force: true });
    throw error;
  }
}

export function launchBrowser(kind: BrowserKind, vinted: FakeVinted): Promise<ExtensionBrowser> {
  return kind === "chromium" ? launchChromium(vinted) : launchFirefox(vinted);
}

async function locationOf(page: Page): Promise<string> {
  // Strings, because this file is compiled without the DOM lib.
  return page.evaluate("`${location.href}|${document.readyState}`").then(String, () => "|");
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Opens one of the extension's pages in a tab. Firefox's WebDriver BiDi refuses to navigate to
 * moz-extension:// URLs (and reports such tabs as about:blank), so there the page the extension
 * opened itself on install (options) is found by its real location and moved to `path` from
 * inside the extension's own origin.
 */
export async function openExtensionPage(eb: ExtensionBrowser, path: string): Promise<Page> {
  const url = new URL(path, eb.extensionBase).toString();
  if (eb.kind === "chromium") {
    const page = await eb.browser.newPage();
    await page.goto(url, { waitUntil: "load" });
    return page;
  }
  const page = await waitFor("the extension's onboarding tab", async () => {
    for (const candidate of await eb.browser.pages()) {
      if ((await locationOf(candidate)).startsWith(eb.extensionBase)) return candidate;
    }
    return undefined;
  });
  if (!(await locationOf(page)).startsWith(url)) await page.evaluate(`void (location.href = ${JSON.stringify(url)})`);
  await waitFor(path, async () => ((await locationOf(page)) === `${url}|complete` ? true : undefined));
  return page;
}
