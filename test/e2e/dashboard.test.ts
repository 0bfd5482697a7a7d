/**
 * The web dashboard's production build, served by the real server, driven in real Chromium and
 * Firefox ESR: log in (a wrong password shows the server's own detail), every screen shows the
 * seller's real data, pause / resume / cancel a batch and watch its counters move, publish a
 * product to the fake MercadoLibre and watch its steps complete, switch language, fit 360 px, log
 * out, and be sent back to the login form when the server ends the session. axe-core checks every screen (no serious or critical violation); screenshots of each screen
 * go to test-artifacts/dashboard/.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ElementHandle, Page } from "puppeteer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchView } from "../../shared/batches.js";
import type { DashboardOverview } from "../../shared/dashboard.js";
import type { Product } from "../../shared/products.js";
import type { TaskView } from "../../shared/tasks.js";
import { startFakeMercadoLibre, type FakeMercadoLibre } from "../fixtures/fake-mercadolibre/index.js";
import { startTestServer, type RegisteredUser, type TestServer } from "../helpers/app.js";
import { imageBytes } from "../products/helpers.js";
import { FAR_FUTURE, waitFor } from "../tasks/fixtures/tasks.js";
import type { BrowserKind } from "./harness/browsers.js";
import { artifactsDir } from "./harness/paths.js";
import { launchWebBrowser, seriousAxeViolations, type WebBrowser } from "./harness/web-browsers.js";

const MERCADOLIBRE = 2;
/** Upper bound for one UI condition; batch status is polled every 5 s, a publication every 5 s. */
const UI_DEADLINE_MS = 45_000;
const shots = join(artifactsDir, "dashboard");
const photoFile = join(shots, "upload.png");

let server: TestServer;
let ml: FakeMercadoLibre;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  writeFileSync(photoFile, imageBytes("png"));
  ml = await startFakeMercadoLibre();
  server = await startTestServer({ MERCADOLIBRE_API_URL: ml.url, WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" });
});
afterAll(async () => {
  await server?.close();
  await ml?.close();
});

interface Seeded {
  seller: RegisteredUser;
  accountId: string;
  doneBatch: BatchView;
  holdBatch: BatchView;
  stopBatch: BatchView;
  product: Product;
  /** Published together as one batch from the Products screen. */
  batchProducts: Product[];
}

async function call<T>(seller: RegisteredUser, method: string, path: string, body?: unknown, expected = [200, 201, 202]): Promise<T> {
  const res = await server.request<T>(method, path, { token: seller.access_token, body });
  if (!expected.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const quickJobs = (n: number) => Array.from({ length: n }, (_, i) => ({ context_data: { steps: 1, step_ms: 1, checkpoint_every: 0, n: i } }));

/** A seller with something on every screen, all made through the public API. */
async function seed(kind: BrowserKind): Promise<Seeded> {
  const seller = await server.register();
  const accountId = `acc-${kind}`;
  await call(seller, "POST", "/api/v1/accounts/", { account_id: accountId, name: `Shop ${kind}`, balance: 100, billing_type: "credits" });
  const doneBatch = await call<BatchView>(seller, "POST", "/api/v1/batches/", { account_id: accountId, task_type: "simulated", name: "Relist winter", jobs: quickJobs(3) });
  const holdBatch = await call<BatchView>(seller, "POST", "/api/v1/batches/", { account_id: accountId, task_type: "simulated", name: "Hold me", jobs: quickJobs(4), scheduled_for: FAR_FUTURE });
  const stopBatch = await call<BatchView>(seller, "POST", "/api/v1/batches/", { account_id: accountId, task_type: "simulated", name: "Stop me", jobs: quickJobs(3), scheduled_for: FAR_FUTURE });
  const token = ml.state.issueToken({ userId: 7770001 });
  await call(seller, "PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, {
    access_token: token.accessToken,
    refresh_token: token.refreshToken,
    client_id: token.clientId,
    client_secret: token.clientSecret,
    site_id: "MLA",
    user_id: 7770001,
  });
  const product = await call<Product>(seller, "POST", "/api/v1/products/", {
    title: "Zapatillas Nike Air Max 90 originales talle 42 color blanco impecables",
    price: 85000,
    currency: "ARS",
    brand_name: "Nike",
    condition: "very_good",
    attributes: { mercadolibre_category_id: "MLA109027" },
  });
  const batchProducts: Product[] = [];
  for (const size of ["40", "41"]) {
    batchProducts.push(
      await call<Product>(seller, "POST", "/api/v1/products/", {
        title: `Zapatillas Adidas Samba originales talle ${size} color negro impecables`,
        price: 60000,
        currency: "ARS",
        brand_name: "Adidas",
        condition: "very_good",
        attributes: { mercadolibre_category_id: "MLA109027" },
      }),
    );
  }
  const photo = await fetch(`${server.baseUrl}/api/v1/products/${product.id}/photos/`, {
    method: "POST",
    headers: { Authorization: `Bearer ${seller.access_token}`, "Content-Type": "image/jpeg" },
    body: new Uint8Array(imageBytes("jpeg")),
  });
  expect(photo.status).toBeLessThan(300);
  await call(seller, "POST", "/tasks/monitoring/alert-rules/", { name: "Queue too deep", metric: "queue_depth", comparator: "gt", threshold: 1000, window_minutes: 5 });
  await call(seller, "POST", "/tasks/scheduled/periodic-tasks/", { name: "Morning report", task_type: "report_generation", cron_expression: "0 9 * * 1-5", timezone: "Europe/Paris" });
  await waitFor(
    () => call<BatchView>(seller, "GET", `/api/v1/batches/${doneBatch.batch_id}/`),
    (b) => b.state === "completed",
    { what: "the quick batch to complete" },
  );
  return { seller, accountId, doneBatch, holdBatch, stopBatch, product, batchProducts };
}

// --- page helpers (expressions are strings: this file is compiled without the DOM lib) ---

const js = JSON.stringify;

async function textOf(page: Page, selector: string): Promise<string> {
  return String(await page.evaluate(`document.querySelector(${js(selector)})?.textContent?.trim() ?? ""`));
}

async function waitForText(page: Page, selector: string, expected: string | RegExp): Promise<void> {
  const test = typeof expected === "string" ? `t.includes(${js(expected)})` : `new RegExp(${js(expected.source)}, ${js(expected.flags)}).test(t)`;
  await page
    .waitForFunction(`(() => { const t = document.querySelector(${js(selector)})?.textContent ?? ""; return ${test}; })()`, { timeout: UI_DEADLINE_MS, polling: 100 })
    .catch(async (error: unknown) => {
      throw new Error(`${selector} never showed ${String(expected)}; it shows ${js(await textOf(page, selector))}`, { cause: error });
    });
}

/** The enabled button (or link) whose text is exactly `label`, within `scope`. */
async function control(page: Page, label: string, scope = "main", tags = "button"): Promise<ElementHandle> {
  const handle = await page.waitForFunction(
    `[...document.querySelectorAll(${js(`${scope} ${tags}`)})].find((b) => b.textContent.trim() === ${js(label)} && !b.disabled)`,
    { timeout: UI_DEADLINE_MS, polling: 100 },
  );
  const element = handle.asElement();
  if (!element) throw new Error(`no control "${label}"`);
  return element as ElementHandle;
}

async function press(page: Page, label: string, scope = "main"): Promise<void> {
  await (await control(page, label, scope)).click();
}

async function confirmDialog(page: Page, reason?: string): Promise<void> {
  await page.waitForSelector("dialog[open] button[type=submit]", { timeout: UI_DEADLINE_MS });
  if (reason !== undefined) await page.type("dialog[open] input[name=reason]", reason);
  await page.click("dialog[open] button[type=submit]");
  await page.waitForFunction(`!document.querySelector("dialog[open]")`, { timeout: UI_DEADLINE_MS });
}

async function open(page: Page, hash: string, ready: string): Promise<void> {
  await page.evaluate(`location.hash = ${js(hash)}`);
  await page.waitForSelector(ready, { timeout: UI_DEADLINE_MS });
}

async function counter(page: Page, name: string): Promise<number> {
  return Number(await textOf(page, `[data-counter=${name}] .counter-value`));
}

/**
 * `serverSide`, when given, adds to a failure what the API says and whether the page was visible (a
 * hidden page stops polling): it tells a page behind from a server behind.
 */
async function waitForCounter(page: Page, name: string, value: number, serverSide?: () => Promise<unknown>): Promise<void> {
  try {
    await waitForText(page, `[data-counter=${name}] .counter-value`, new RegExp(`^${value}$`));
  } catch (error) {
    if (!serverSide) throw error;
    const visibility = String(await page.evaluate("document.visibilityState").catch((e: unknown) => String(e)));
    throw new Error(`${(error as Error).message} (page ${visibility}); the API says ${js(await serverSide().catch((e: unknown) => String(e)))}`, { cause: error });
  }
}

/** A batch's counters and each job's status, progress and error, as the API gives them. */
async function batchOnServer(seller: RegisteredUser, batchId: string): Promise<unknown> {
  const status = await call<Record<string, unknown>>(seller, "GET", `/api/v1/batches/${batchId}/status`);
  const jobs = await call<{ results: TaskView[] }>(seller, "GET", `/tasks/?batch_id=${batchId}`);
  return { status, jobs: jobs.results.map((j) => ({ task_id: j.task_id, status: j.status, progress_message: j.progress_message, error_message: j.error_message, retry_count: j.retry_count })) };
}

async function checkScreen(page: Page, kind: BrowserKind, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${kind}-${name}.png`) as `${string}.png`, fullPage: true });
  const violations = await seriousAxeViolations(page);
  expect(violations, `${name}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
}

describe.each<BrowserKind>(["chromium", "firefox"])("web dashboard in %s", (kind) => {
  let web: WebBrowser;
  let page: Page;
  let data: Seeded;

  beforeAll(async () => {
    [web, data] = await Promise.all([launchWebBrowser(kind), seed(kind)]);
    page = await web.browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
  });
  afterAll(() => web?.close());

  it("logs in; a wrong password shows the server's detail", async () => {
    await page.goto(`${server.baseUrl}/`, { waitUntil: "load" });
    await page.waitForSelector("input[name=email]", { timeout: UI_DEADLINE_MS });
    await checkScreen(page, kind, "login");
    await page.type("input[name=email]", data.seller.email);
    await page.type("input[name=password]", "not-the-password");
    await page.click("form button[type=submit]");
    const refused = await server.request<{ detail: string }>("POST", "/api/v1/auth/login", { body: { email: data.seller.email, password: "not-the-password" } });
    await waitForText(page, "[role=alert]", refused.body.detail);
    await waitForText(page, "[role=alert]", "Wrong email or password.");

    await page.evaluate(`document.querySelector("input[name=password]").value = ""`);
    await page.type("input[name=password]", data.seller.password);
    await page.click("form button[type=submit]");
    await page.waitForSelector("nav.tabs", { timeout: UI_DEADLINE_MS });
    expect(await textOf(page, ".who")).toBe(data.seller.email);
  });

  it("overview: the four cards hold the API's figures, the charts are drawn", async () => {
    await open(page, "#/overview", "[data-metric=jobs_today] .metric-value");
    await page.waitForSelector(".chart canvas", { timeout: UI_DEADLINE_MS });
    const overview = await call<DashboardOverview>(data.seller, "GET", "/api/v1/dashboard/overview");
    expect(overview.metrics.jobs_today).toBe(10);
    await waitForText(page, "[data-metric=jobs_today] .metric-value", /^10$/);
    await waitForText(page, "[data-metric=active_batches] .metric-value", new RegExp(`^${overview.metrics.active_batches}$`));
    await waitForText(page, "[data-metric=pending_jobs] .metric-value", new RegExp(`^${overview.metrics.pending_jobs}$`));
    await waitForText(page, "[data-metric=success_rate] .metric-value", /100/);
    expect(await page.$$eval(".chart", (els) => els.length)).toBe(2);
    await checkScreen(page, kind, "overview");
  });

  it("batches: the list shows each batch with its progress", async () => {
    await open(page, "#/batches", `[data-batch="${data.doneBatch.batch_id}"]`);
    for (const b of [data.doneBatch, data.holdBatch, data.stopBatch]) await page.waitForSelector(`[data-batch="${b.batch_id}"] [role=progressbar]`);
    expect(await page.$eval(`[data-batch="${data.doneBatch.batch_id}"] [role=progressbar]`, (el) => el.getAttribute("aria-valuenow"))).toBe("100");
    expect(await page.$eval(`[data-batch="${data.holdBatch.batch_id}"] [role=progressbar]`, (el) => el.getAttribute("aria-valuenow"))).toBe("0");
    await checkScreen(page, kind, "batches");
  });

  it("a batch page: pause, resume and watch the counters move to completion", async () => {
    const id = data.holdBatch.batch_id;
    await open(page, `#/batches/${id}`, "[data-counter=pending] .counter-value");
    await waitForCounter(page, "pending", 4);
    expect(await counter(page, "total")).toBe(4);

    await press(page, "Pause");
    await confirmDialog(page);
    await waitForCounter(page, "suspended", 4);
    await waitForCounter(page, "pending", 0);
    await waitForText(page, "[data-testid=batch-state]", "paused");
    await waitForText(page, "[role=status]", "4 jobs held");
    await checkScreen(page, kind, "batch-paused");

    await press(page, "Resume");
    await confirmDialog(page);
    await waitForCounter(page, "suspended", 0);
    await waitForCounter(page, "pending", 4);
    // The jobs were scheduled far ahead; make them due now (a pending task's own field) so they run.
    const jobs = await call<{ results: TaskView[] }>(data.seller, "GET", `/tasks/?batch_id=${id}`);
    for (const job of jobs.results) await call(data.seller, "PATCH", `/tasks/${job.task_id}/`, { scheduled_for: null });
    await waitForCounter(page, "completed", 4, () => batchOnServer(data.seller, id));
    await waitForCounter(page, "suspended", 0);
    await waitForText(page, "[data-testid=batch-state]", "completed");
    await page.waitForSelector("[role=progressbar][aria-valuenow='100']", { timeout: UI_DEADLINE_MS });
  });

  it("a batch page: cancel with a reason, after a confirmation", async () => {
    const id = data.stopBatch.batch_id;
    await open(page, `#/batches/${id}`, "[data-counter=pending] .counter-value");
    await waitForCounter(page, "pending", 3);
    await press(page, "Cancel batch");
    await page.waitForSelector("dialog[open]");
    await checkScreen(page, kind, "batch-cancel-dialog");
    await confirmDialog(page, `stopped from ${kind}`);
    await waitForText(page, "[data-testid=batch-state]", "cancelled");
    await waitForCounter(page, "pending", 0);
    await waitForText(page, "main", `stopped from ${kind}`);
    const batch = await call<BatchView>(data.seller, "GET", `/api/v1/batches/${id}/`);
    expect(batch).toMatchObject({ state: "cancelled", cancellation_reason: `stopped from ${kind}` });
    await checkScreen(page, kind, "batch");
  });

  it("tasks: filters as controls, a task page with its progress and result", async () => {
    await open(page, "#/tasks", "[data-task]");
    await page.select("form.filters select", "cancelled");
    await press(page, "Apply");
    await page.waitForFunction(`location.hash.includes("status=cancelled")`, { timeout: UI_DEADLINE_MS });
    await page.waitForFunction(
      `(() => { const rows = [...document.querySelectorAll("[data-task]")]; return rows.length === 3 && rows.every((r) => r.textContent.includes("cancelled")); })()`,
      { timeout: UI_DEADLINE_MS },
    );
    await checkScreen(page, kind, "tasks");

    const done = await call<{ results: TaskView[] }>(data.seller, "GET", `/tasks/?batch_id=${data.doneBatch.batch_id}&page_size=1`);
    const task = done.results[0];
    await open(page, `#/tasks/${task.task_id}`, "main [role=progressbar]");
    await waitForText(page, "main h1", task.task_id);
    expect(await page.$eval("main [role=progressbar]", (el) => el.getAttribute("aria-valuenow"))).toBe("100");
    await waitForText(page, "main", "simulated");
    await checkScreen(page, kind, "task");
  });

  it("products: the catalog, a product page, publish to the fake MercadoLibre and watch its steps complete", async () => {
    await open(page, "#/products", `[data-product="${data.product.id}"]`);
    await checkScreen(page, kind, "products");
    await open(page, `#/products/${data.product.id}`, "input[name=marketplace]");
    // The photo is fetched with the bearer token and shown as a data: URL (the CSP allows no blob:).
    await page.waitForSelector(".thumb img[src^='data:image/jpeg']", { timeout: UI_DEADLINE_MS });
    const input = await page.waitForSelector("#photo-input");
    if (!input) throw new Error("no photo input");
    await (input as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(photoFile);
    await page.waitForFunction(`document.querySelectorAll(".thumb img[src^='data:image/png']").length === 1`, { timeout: UI_DEADLINE_MS });
    const stored = await call<Product>(data.seller, "GET", `/api/v1/products/${data.product.id}/`);
    expect(stored.photos.map((p) => p.content_type)).toEqual(["image/jpeg", "image/png"]);
    await page.click(`input[name=marketplace][value="${MERCADOLIBRE}"]`);
    await press(page, "Publish");
    await page.waitForSelector("[data-publication]", { timeout: UI_DEADLINE_MS });
    await page.waitForSelector("[data-publication][data-status=completed]", { timeout: UI_DEADLINE_MS });
    await waitForText(page, "[data-publication]", "MercadoLibre");
    expect(await page.$eval("[data-publication] [role=progressbar]", (el) => el.getAttribute("aria-valuenow"))).toBe("100");
    expect(ml.state.listings.length).toBeGreaterThanOrEqual(1);
    await checkScreen(page, kind, "product");
  });

  it("products: several selected are published as one batch, which the Batches screen shows with its progress", async () => {
    await open(page, "#/products", `[data-product="${data.batchProducts[1].id}"]`);
    for (const p of data.batchProducts) await page.click(`[data-product="${p.id}"] input[type=checkbox]`);
    await page.waitForSelector(`main input[name=marketplace][value="${MERCADOLIBRE}"]`, { timeout: UI_DEADLINE_MS });
    await page.click(`main input[name=marketplace][value="${MERCADOLIBRE}"]`);
    await page.waitForSelector("main select[name=account] option", { timeout: UI_DEADLINE_MS });
    await checkScreen(page, kind, "products-publish-batch");
    await press(page, "Start the batch (2 publications)");
    await page.waitForFunction(`location.hash.startsWith("#/batches/batch-")`, { timeout: UI_DEADLINE_MS });
    const batchId = String(await page.evaluate(`location.hash.slice("#/batches/".length)`));
    const batch = await call<BatchView>(data.seller, "GET", `/api/v1/batches/${batchId}/`);
    expect(batch).toMatchObject({ task_type: "marketplace_publication", total_jobs: 2, account_id: data.accountId });
    await waitForCounter(page, "total", 2);
    await waitForCounter(page, "completed", 2, () => batchOnServer(data.seller, batchId));
    await waitForText(page, "[data-testid=batch-state]", "completed");
    const jobs = await call<{ results: TaskView[] }>(data.seller, "GET", `/tasks/?batch_id=${batchId}`);
    expect(jobs.results.map((j) => j.context_data.product_id).sort()).toEqual(data.batchProducts.map((p) => p.id).sort());
    for (const job of jobs.results) expect(ml.state.listingsWith(job.task_id)).toHaveLength(1);

    await open(page, "#/batches", `[data-batch="${batchId}"] [role=progressbar]`);
    await page.waitForSelector(`[data-batch="${batchId}"] [role=progressbar][aria-valuenow='100']`, { timeout: UI_DEADLINE_MS });
    await checkScreen(page, kind, "batches-with-publications");
  });

  it("vinted: whether the extension is connected (last poll, Vinted account, paused and why)", async () => {
    await open(page, "#/vinted", "[data-extension-state]");
    await waitForText(page, "[data-extension-state]", "Never connected");
    // The seller's extension polls (saying who it is), then pauses on a Vinted challenge.
    const polled = await server.request("GET", "/api/plugin/tasks?client_version=0.4.2&vinted_user_id=29535217&vinted_login=shop.ton.outfit", { token: data.seller.access_token });
    expect(polled.status).toBe(200);
    const paused = await server.request("POST", "/api/plugin/status", {
      token: data.seller.access_token,
      body: { paused: { reason: "captcha", message: "Solve the challenge in your Vinted tab", until: null } },
    });
    expect(paused.status).toBe(200);
    const seen = await call<{ last_poll_at: string }>(data.seller, "GET", "/api/plugin/connection");
    await page.reload({ waitUntil: "load" });
    await page.waitForSelector("[data-extension-state=paused]", { timeout: UI_DEADLINE_MS });
    await waitForText(page, "[data-extension-state]", "Connected, paused");
    await waitForText(page, "[data-testid=extension-vinted]", "shop.ton.outfit");
    await waitForText(page, "[data-testid=pause-reason]", "Vinted asked for a challenge (CAPTCHA) — Solve the challenge in your Vinted tab");
    expect(await page.$eval("[data-testid=last-poll] time", (el) => el.getAttribute("datetime"))).toBe(seen.last_poll_at);
    await waitForText(page, "[data-extension-state]", "0.4.2");
    await checkScreen(page, kind, "vinted-extension");
  });

  it("vinted, operations and settings show the seller's data and what to do next", async () => {
    await open(page, "#/vinted", "main .empty");
    await waitForText(page, "main", "No Vinted account seen yet");
    await press(page, "Sync now");
    await waitForText(page, "[role=status]", "Sync queued");
    await checkScreen(page, kind, "vinted");

    await open(page, "#/operations", "main table");
    await waitForText(page, "main", "Queue too deep");
    await waitForText(page, "main", "Morning report");
    await waitForText(page, "main", "Europe/Paris");
    await page.evaluate(`(() => { const i = [...document.querySelectorAll("main input")].find((x) => x.value === "0 9 * * 1-5"); return !!i; })()`);
    await press(page, "Check");
    await page.waitForSelector("[data-testid=cron-answer] li", { timeout: UI_DEADLINE_MS });
    expect(await page.$$eval("[data-testid=cron-answer] li", (els) => els.length)).toBe(5);
    await page.waitForSelector("main table tbody tr", { timeout: UI_DEADLINE_MS });
    await checkScreen(page, kind, "operations");

    await open(page, "#/settings", "[data-marketplace=mercadolibre]");
    await waitForText(page, "[data-marketplace=mercadolibre]", "connected");
    const account = await call<{ balance: number }>(data.seller, "GET", `/api/v1/accounts/${data.accountId}/`);
    await waitForText(page, `[data-account="${data.accountId}"]`, String(account.balance));
    await page.type("input[type=url]", "http://127.0.0.1:9/hook");
    await press(page, "Add webhook");
    await page.waitForSelector("code.secret", { timeout: UI_DEADLINE_MS });
    expect((await textOf(page, "code.secret")).length).toBeGreaterThan(10);
    await checkScreen(page, kind, "settings");
  });

  it("switches language (FR, ES, back to EN) and fits a 360 px screen", async () => {
    await open(page, `#/batches/${data.stopBatch.batch_id}`, "[data-testid=batch-state]");
    const picker = "select[name=language]";
    const languageSelect = await page.waitForSelector(`${picker} option[value=fr]`);
    expect(languageSelect).not.toBeNull();
    await page.select(picker, "fr");
    await waitForText(page, "nav.tabs", "Lots");
    await waitForText(page, "[data-testid=batch-state]", "annulé");
    expect(await page.evaluate("document.documentElement.lang")).toBe("fr");
    await checkScreen(page, kind, "batch-fr");
    await page.select(picker, "es");
    await waitForText(page, "nav.tabs", "Lotes");
    await waitForText(page, "[data-testid=batch-state]", "cancelado");
    await page.select(picker, "en");
    await waitForText(page, "nav.tabs", "Batches");

    await page.setViewport({ width: 360, height: 740 });
    await open(page, "#/overview", "[data-metric=jobs_today]");
    await page.waitForSelector(".chart canvas", { timeout: UI_DEADLINE_MS });
    expect(Number(await page.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(360);
    await checkScreen(page, kind, "overview-360");
    await page.setViewport({ width: 1280, height: 900 });
  });

  it("logs out back to the login form, the session gone", async () => {
    await press(page, "Log out", ".topbar");
    await page.waitForSelector("input[name=email]", { timeout: UI_DEADLINE_MS });
    expect(await page.evaluate(`localStorage.getItem("markethub.session")`)).toBeNull();
  });

  it("a session ended on the server brings the login form back, saying why", async () => {
    await page.type("input[name=email]", data.seller.email);
    await page.type("input[name=password]", data.seller.password);
    await page.click("form button[type=submit]");
    await page.waitForSelector("nav.tabs", { timeout: UI_DEADLINE_MS });
    const stored = JSON.parse(String(await page.evaluate(`localStorage.getItem("markethub.session")`))) as { refreshToken: string };
    const ended = await server.request("POST", "/api/v1/auth/logout", { body: { refresh_token: stored.refreshToken } });
    expect(ended.status).toBeLessThan(300);
    await open(page, "#/tasks", "input[name=email]");
    await waitForText(page, "main [role=status]", "Your session expired");
    expect(await page.evaluate(`localStorage.getItem("markethub.session")`)).toBeNull();
  });
});
