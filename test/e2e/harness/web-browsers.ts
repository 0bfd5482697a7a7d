/**
 * Plain Chromium and Firefox ESR (no extension) for the web dashboard tests: one browser process
 * per browser kind, closed (then killed if it hangs) by close().
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer";
import type { BrowserKind } from "./browsers.js";

const require = createRequire(import.meta.url);
const browserConfig = require("../../../.puppeteerrc.cjs") as { executablePath: string; firefoxExecutablePath: string };
const CLOSE_TIMEOUT_MS = 10_000;

export interface WebBrowser {
  kind: BrowserKind;
  browser: Browser;
  close(): Promise<void>;
}

const open = new Set<Browser>();
process.once("exit", () => {
  for (const browser of open) browser.process()?.kill("SIGKILL");
});

export async function launchWebBrowser(kind: BrowserKind): Promise<WebBrowser> {
  const profileDir = mkdtempSync(join(tmpdir(), `markethub-web-${kind}-`));
  const browser =
    kind === "chromium"
      ? await puppeteer.launch({
          executablePath: browserConfig.executablePath,
          headless: true,
          userDataDir: profileDir,
          pipe: true,
          args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage", "--lang=en-US"],
        })
      : await puppeteer.launch({
          browser: "firefox",
          executablePath: browserConfig.firefoxExecutablePath,
          headless: true,
          userDataDir: profileDir,
          extraPrefsFirefox: { "intl.accept_languages": "en-US", "datareporting.policy.dataSubmissionEnabled": false, "browser.shell.checkDefaultBrowser": false },
        });
  open.add(browser);
  let closing: Promise<void> | undefined;
  return {
    kind,
    browser,
    close: () =>
      (closing ??= (async () => {
        const child = browser.process();
        await Promise.race([browser.close().catch(() => undefined), new Promise((r) => setTimeout(r, CLOSE_TIMEOUT_MS))]);
        if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        open.delete(browser);
        rmSync(profileDir, { recursive: true, force: true, maxRetries: 3 });
      })()),
  };
}

const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: number;
  targets: string[];
}

/** axe-core's violations of serious or critical impact on the page as it is now. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated by the driver, so the page's CSP (script-src 'self') does not apply.
  await page.evaluate(`${AXE_SOURCE}\n;void 0`);
  const json = await page.evaluate(`(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return JSON.stringify(result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) })));
  })()`);
  return JSON.parse(String(json)) as AxeViolation[];
}
