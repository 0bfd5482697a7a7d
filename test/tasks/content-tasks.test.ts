/**
 * ai_content_generation, content_optimization and meta_tags_generation on the brand's catalog,
 * through the enhancer the publication pipeline uses (the built-in one here).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
