/**
 * Per-brand quota on queued work (TASK_QUEUED_LIMIT_PER_BRAND): creating tasks past the brand's
 * limit of pending tasks is refused with 429 and the limit in the body — one at a time through
 * POST /tasks/ (server and extension types alike) and many at once through a batch, which is then
 * refused whole. Other brands are not affected; room comes back when tasks leave the queue.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { FAR_FUTURE, TaskApi, type Body } from "./fixtures/tasks.js";

const LIMIT = 5;
let server: TestServer;
beforeAll(async () => {
  // Nothing runs: every created task stays pending.
  server = await startTestServer({ TASK_QUEUED_LIMIT_PER_BRAND: String(LIMIT) }, { taskExecution: false });
});
afterAll(() => server?.close());

async function newSeller(): Promise<TaskApi> {
  const user = await server.register();
  return new TaskApi(server.request, user.access_token);
}

const queued = async (api: TaskApi) => (await api.list("status=pending")).count;

function expectQuotaRefusal(res: { status: number; body: unknown }, fields: Body): void {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.body).toMatchObject({ error_code: "RATE_LIMITED", queued_task_limit: LIMIT, ...fields });
  expect((res.body as { detail: string }).detail).toMatch(new RegExp(`limit of ${LIMIT}`));
}

describe("one task at a time (POST /tasks/)", () => {
  it("the task past the limit is refused with 429, the limit in the body, and nothing is stored", async () => {
    const api = await newSeller();
    for (let i = 0; i < LIMIT; i++) await api.pending({ description: `t${i}` });
    const refused = await api.call("POST", "/tasks/", { task_type: "simulated", scheduled_for: FAR_FUTURE });
    expectQuotaRefusal(refused, { queued_tasks: LIMIT, requested_tasks: 1, room: 0 });
    expect(await queued(api)).toBe(LIMIT);
  });

  it("extension tasks count and are refused the same way", async () => {
    const api = await newSeller();
    for (let i = 0; i < LIMIT - 1; i++) await api.pending();
    expect((await api.call("POST", "/tasks/", { task_type: "vinted.get_user_data" })).status).toBe(201);
    const refused = await api.call("POST", "/tasks/", { task_type: "vinted.get_user_data" });
    expectQuotaRefusal(refused, { queued_tasks: LIMIT });
  });

  it("another brand is not limited by a full one, and a cancelled task gives its room back", async () => {
    const full = await newSeller();
    const first = await full.pending();
    for (let i = 1; i < LIMIT; i++) await full.pending();
    const other = await newSeller();
    await other.pending();
    expect((await full.call("POST", "/tasks/", { task_type: "simulated", scheduled_for: FAR_FUTURE })).status).toBe(429);
    expect((await full.call("POST", `/tasks/${first.id}/cancel/`)).status).toBe(200);
    await full.pending();
    expect(await queued(full)).toBe(LIMIT);
  });
});

describe("many at once (POST /api/v1/batches/)", () => {
  async function account(api: TaskApi): Promise<string> {
    const res = await api.call("POST", "/api/v1/accounts/", { name: "Shop" });
    expect(res.status).toBe(201);
    return (res.body as { account_id: string }).account_id;
  }

  it("a batch whose jobs would pass the limit is refused whole, saying how much room is left", async () => {
    const api = await newSeller();
    const acc = await account(api);
    await api.pending();
    await api.pending();
    const refused = await api.call("POST", "/api/v1/batches/", { account_id: acc, task_type: "simulated", product_ids: [1, 2, 3, 4], scheduled_for: FAR_FUTURE });
    expectQuotaRefusal(refused, { queued_tasks: 2, requested_tasks: 4, room: 3 });
    // No batch and no job were stored.
    expect((await api.call<Body>("GET", "/api/v1/batches/")).body).toMatchObject({ count: 0 });
    expect(await queued(api)).toBe(2);

    const fits = await api.call("POST", "/api/v1/batches/", { account_id: acc, task_type: "simulated", product_ids: [1, 2, 3], scheduled_for: FAR_FUTURE });
    expect(fits.status, JSON.stringify(fits.body)).toBe(201);
    expect(await queued(api)).toBe(LIMIT);
    expect((await api.call("POST", "/tasks/", { task_type: "simulated", scheduled_for: FAR_FUTURE })).status).toBe(429);
  });

  it("a batch larger than the whole limit is refused, extension batches too", async () => {
    const api = await newSeller();
    const acc = await account(api);
    const jobs = Array.from({ length: LIMIT + 1 }, () => ({ context_data: {} }));
    const refused = await api.call("POST", "/api/v1/batches/", { account_id: acc, task_type: "vinted.get_user_data", jobs });
    expectQuotaRefusal(refused, { queued_tasks: 0, requested_tasks: LIMIT + 1, room: LIMIT });
    expect(await queued(api)).toBe(0);
  });
});

describe("the default", () => {
  it("is 100,000 queued tasks per brand", async () => {
    const { loadConfig } = await import("../../server/src/config.js");
    const result = loadConfig({ NODE_ENV: "test", JWT_SECRET: "x".repeat(40), DATA_DIR: "/nonexistent-unused" });
    expect(result.ok && result.config.tasks.queuedLimitPerBrand).toBe(100_000);
  });
});
