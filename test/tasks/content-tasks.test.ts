/**
 * ai_content_generation, content_optimization and meta_tags_generation on the brand's catalog,
 * through the enhancer the publication pipeline uses (the built-in one here).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/src/config.js";
import { startFakeChatCompletions } from "../fixtures/fake-chat-completions/index.js";
import { startTestServer, type RegisteredUser, type TestServer } from "../helpers/app.js";
import { TaskApi, type Body } from "./fixtures/tasks.js";

let server: TestServer;
let user: RegisteredUser;
let api: TaskApi;
const ids: number[] = [];

beforeAll(async () => {
  server = await startTestServer();
  user = await server.register();
  api = new TaskApi(server.request, user.access_token);
  for (const body of [
    { title: "tshirt nike", price: 15, brand_name: "Nike", size: "M", color: "noir", category: "T-shirts" },
    { title: "Jean Levi's 501 bleu brut coupe droite W32 L34", price: 45, brand_name: "Levi's", size: "W32", description: "Jean porté quelques fois." },
    { title: "veste", price: 60 },
  ]) {
    const res = await server.request<Body>("POST", "/api/v1/products/", { token: user.access_token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids.push(res.body.id as number);
  }
});
afterAll(() => server?.close());

async function run(taskType: string, contextData: Body) {
  const task = await api.create({ task_type: taskType, context_data: contextData });
  const done = await api.waitForFinish(task.id);
  expect(done.status, String(done.error_message)).toBe("completed");
  return done.result_data as Body;
}

const product = async (id: number) => (await server.request<Body>("GET", `/api/v1/products/${id}/`, { token: user.access_token })).body;

describe("content tasks", () => {
  it("ai_content_generation proposes copy for each product and changes none", async () => {
    const before = await product(ids[0]);
    const r = await run("ai_content_generation", { product_ids: ids });
    expect(r).toMatchObject({ products_processed: 3, provider: "built-in", failures: [] });
    // The built-in enhancer makes no paid call, and says so.
    expect(r.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, pricing: "built-in enhancer: no paid call, no cost" });
    const items = r.items as Array<{ product_id: number; title: string; description: string; keywords: string[] }>;
    expect(items.map((i) => i.product_id)).toEqual(ids);
    expect(items[0].title.length).toBeLessThanOrEqual(100);
    expect(items[0].description).toContain("Nike");
    expect(items[0].keywords).toContain("nike");
    expect(r.keywords_processed).toBe(new Set(items.flatMap((i) => i.keywords)).size);
    expect(await product(ids[0])).toEqual(before);
  });

  it("content_optimization proposes with scores and keyword coverage; applies only when asked, through the catalog", async () => {
    const proposal = await run("content_optimization", { page_ids: [ids[0], ids[2]], target_keywords: ["nike", "coton"], include_meta_tags: true });
    const items = proposal.items as Array<Body & { proposed: { title: string; description: string }; target_keywords: Record<string, boolean> }>;
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({ product_id: ids[0], current: { title: "tshirt nike" } });
    expect(items[0].score_after as number).toBeGreaterThanOrEqual(items[0].score_before as number);
    expect(items[0].target_keywords).toEqual({ nike: true, coton: false });
    expect(items[0]).toHaveProperty("meta_tags");
    expect(proposal.applied).toBe(0);
    expect((await product(ids[0])).title).toBe("tshirt nike");
    expect(proposal.recommendations).toEqual(expect.arrayContaining([expect.stringContaining('"coton" is in no proposed copy of 2 product(s)'), expect.stringContaining("apply: true")]));

    const applied = await run("content_optimization", { product_ids: [ids[0]], apply: true });
    const item = (applied.items as Array<Body & { proposed: { title: string; description: string } }>)[0];
    expect(applied.applied).toBe(1);
    expect(await product(ids[0])).toMatchObject({ title: item.proposed.title, description: item.proposed.description });
  });

  it("meta_tags_generation keeps titles within 60 and descriptions within 155 characters", async () => {
    const r = await run("meta_tags_generation", {});
    const items = r.items as Array<{ product_id: number; meta_tags: Record<string, string> }>;
    expect(items.map((i) => i.product_id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    for (const { meta_tags: m } of items) {
      expect(m.title.length).toBeLessThanOrEqual(60);
      expect(m.description.length).toBeLessThanOrEqual(155);
      expect(m["og:title"]).toBe(m.title);
      expect(m.description).not.toContain("•");
    }
  });

  it("a product that is not the brand's fails the task for good, naming it", async () => {
    const task = await api.create({ task_type: "meta_tags_generation", context_data: { product_ids: [ids[0], 99_999_999] } });
    const done = await api.waitForFinish(task.id);
    expect(done).toMatchObject({ status: "failed", retry_count: 0 });
    expect(done.error_message).toContain("99999999");
  });
});

describe("with the OpenAI-compatible provider", () => {
  it("its copy is used; a passing outage retries the task, which then completes", async () => {
    const fake = await startFakeChatCompletions("sk-test");
    const other = await startTestServer({ ENHANCER_URL: fake.url, ENHANCER_API_KEY: "sk-test", ENHANCER_MODEL: "tiny-model", ENHANCER_TIMEOUT_MS: "2000" });
    try {
      const seller = await other.register();
      const created = await other.request<Body>("POST", "/api/v1/products/", { token: seller.access_token, body: { title: "Sac cuir", price: 80, brand_name: "Longchamp" } });
      expect(created.status).toBe(201);
      fake.reply({ kind: "error", status: 503, body: { error: { message: "overloaded" } } });
      fake.setDefault({ kind: "content", content: JSON.stringify({ title: "Sac Longchamp en cuir marron", description: "Sac en cuir, très bon état.", keywords: ["longchamp", "cuir"] }) });
      const otherApi = new TaskApi(other.request, seller.access_token);
      const task = await otherApi.create({ task_type: "ai_content_generation", context_data: { product_ids: [created.body.id] } });
      const done = await otherApi.waitForFinish(task.id);
      expect(done).toMatchObject({ status: "completed", retry_count: 1 });
      expect(done.result_data).toMatchObject({ provider: "chat-completions:tiny-model", items: [{ title: "Sac Longchamp en cuir marron", keywords: ["longchamp", "cuir"] }] });
      expect(fake.requests.length).toBe(2);
    } finally {
      await other.close();
      await fake.close();
    }
  });
});

describe("cost of the OpenAI-compatible provider", () => {
  it("prices the tokens each answer reports at ENHANCER_PRICE_*_PER_1K into metrics.cost_usd and the dashboard's cost", async () => {
    const fake = await startFakeChatCompletions("sk-test");
    const other = await startTestServer({
      ENHANCER_URL: fake.url,
      ENHANCER_API_KEY: "sk-test",
      ENHANCER_MODEL: "tiny-model",
      ENHANCER_PRICE_PROMPT_PER_1K: "0.5",
      ENHANCER_PRICE_COMPLETION_PER_1K: "1.5",
    });
    try {
      const seller = await other.register();
      const productIds: number[] = [];
      for (const title of ["Sac cuir", "Ceinture cuir"]) {
        const created = await other.request<Body>("POST", "/api/v1/products/", { token: seller.access_token, body: { title, price: 40 } });
        expect(created.status).toBe(201);
        productIds.push(created.body.id as number);
      }
      const copy = JSON.stringify({ title: "Accessoire en cuir", description: "En cuir, très bon état.", keywords: ["cuir"] });
      fake.reply({ kind: "content", content: copy, usage: { prompt_tokens: 1200, completion_tokens: 300 } }, { kind: "content", content: copy, usage: { prompt_tokens: 800, completion_tokens: 100 } });
      const otherApi = new TaskApi(other.request, seller.access_token);
      const task = await otherApi.create({ task_type: "meta_tags_generation", context_data: { product_ids: productIds } });
      const done = await otherApi.waitForFinish(task.id);
      expect(done.status, String(done.error_message)).toBe("completed");
      // (1200 + 800) prompt tokens at 0.5 per 1k, (300 + 100) completion tokens at 1.5 per 1k.
      const expected = (2000 * 0.5 + 400 * 1.5) / 1000;
      expect(done.metrics?.cost_usd).toBeCloseTo(expected, 8);
      expect((done.result_data as Body).usage).toMatchObject({ prompt_tokens: 2000, completion_tokens: 400, cost_usd: expected, pricing: expect.stringContaining("0.5 per 1k prompt tokens") });

      // An answer without usage counts no tokens; the dashboard sums what the tasks cost.
      fake.reply({ kind: "content", content: copy, usage: null });
      const unpriced = await otherApi.create({ task_type: "ai_content_generation", context_data: { product_ids: [productIds[0]] } });
      expect((await otherApi.waitForFinish(unpriced.id)).metrics?.cost_usd).toBe(0);
      const dashboard = await other.request<{ cost: { total_usd: number; by_task_type: Record<string, number> } }>("GET", "/tasks/monitoring/metrics/dashboard/?period=1h", { token: seller.access_token });
      expect(dashboard.status).toBe(200);
      expect(dashboard.body.cost.by_task_type.meta_tags_generation).toBeCloseTo(expected, 6);
      expect(dashboard.body.cost.total_usd).toBeCloseTo(expected, 6);
    } finally {
      await other.close();
      await fake.close();
    }
  });

  it("refuses a price that is not a decimal amount, naming the variable", () => {
    const result = loadConfig({ JWT_SECRET: "s".repeat(32), ENHANCER_PRICE_PROMPT_PER_1K: "cheap", ENHANCER_PRICE_COMPLETION_PER_1K: "-1" });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems.map((p) => p.split(":")[0]).sort()).toEqual(["ENHANCER_PRICE_COMPLETION_PER_1K", "ENHANCER_PRICE_PROMPT_PER_1K"]);
    const fine = loadConfig({ JWT_SECRET: "s".repeat(32), ENHANCER_PRICE_PROMPT_PER_1K: "0.00015" });
    expect(fine.ok && fine.config.enhancer.pricePer1k).toEqual({ prompt: 0.00015, completion: 0 });
  });
});
