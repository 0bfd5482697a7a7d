/**
 * The count of each brand's queued tasks, which the queued quota (TASK_QUEUED_LIMIT_PER_BRAND) reads
 * instead of counting the queue: it follows creations, claims (server runs and extension leases),
 * cancels (one task and a whole batch), deletions, retries; two processes on one database move the
 * same count, and creations at the same moment on both never pass the limit together; and a count left wrong (a process killed between a task's write and its count's
 * update) is repaired from the tasks once the brand is quiet. The 429 keeps its body.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { newSeller as newPluginSeller } from "../plugin/helpers.js";
import { QUEUED_COUNTS_COLLECTION } from "../../server/src/tasks/queued-count.js";
import { FAR_FUTURE, TaskApi, waitFor, type Body } from "./fixtures/tasks.js";

const LIMIT = 6;
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ TASK_QUEUED_LIMIT_PER_BRAND: String(LIMIT), TASK_QUEUED_COUNT_QUIET_MS: "100" });
});
afterAll(() => server?.close());

interface Seller {
  api: TaskApi;
  brand: number;
}

async function newSeller(on = server): Promise<Seller> {
  const user = await on.register();
  return { api: new TaskApi(on.request, user.access_token), brand: user.user.personal_brand_id };
}

const counted = (seller: Seller, on = server) => on.description.services.queuedCounts.pendingOf(seller.brand);
const queued = async (seller: Seller) => (await seller.api.list("status=pending")).count;

/** The count agrees with the tasks the API lists as pending. */
async function expectCountOf(seller: Seller, n: number): Promise<void> {
  expect(await queued(seller)).toBe(n);
  expect(await counted(seller)).toBe(n);
}

function expectRefusal(res: { status: number; body: unknown }, queuedTasks: number): void {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.body).toMatchObject({ error_code: "RATE_LIMITED", queued_task_limit: LIMIT, queued_tasks: queuedTasks });
}

const createFar = (seller: Seller) => seller.api.call("POST", "/tasks/", { task_type: "simulated", scheduled_for: FAR_FUTURE });

describe("the count follows the lifecycle", () => {
  it("creations add, cancels and deletions give back, and the limit answers 429 with its body", async () => {
    const s = await newSeller();
    const tasks = [];
    for (let i = 0; i < LIMIT; i++) tasks.push(await s.api.pending());
    await expectCountOf(s, LIMIT);
    expectRefusal(await createFar(s), LIMIT);

    expect((await s.api.call("POST", `/tasks/${tasks[0].id}/cancel/`)).status).toBe(200);
    expect((await s.api.call("DELETE", `/tasks/${tasks[1].id}/`)).status).toBeLessThan(300);
    await expectCountOf(s, LIMIT - 2);
    // A cancelled task's retry queues it again, due now: it runs, and leaves the queue again.
    expect((await s.api.call("POST", `/tasks/${tasks[0].id}/retry/`)).status).toBe(200);
    await s.api.waitForStatus(tasks[0].id, "completed");
    await expectCountOf(s, LIMIT - 2);
    expect((await createFar(s)).status).toBe(201);
    expect((await createFar(s)).status).toBe(201);
    expectRefusal(await createFar(s), LIMIT);
  });

  it("a server task that runs leaves the count; one retried after a failure comes back to it", async () => {
    const s = await newSeller();
    const runs = await s.api.create({ task_type: "simulated", context_data: { steps: 0 } });
    await s.api.waitForStatus(runs.id, "completed");
    await s.api.pending();
    await expectCountOf(s, 1);

    const failsOnce = await s.api.create({ task_type: "simulated", max_retries: 1, context_data: { steps: 0, fail_times: 1 } });
    const done = await s.api.waitForStatus(failsOnce.id, "completed");
    expect(done.retry_count).toBe(1);
    await expectCountOf(s, 1);
  });

  it("an extension task leaves the count when the extension claims it, and returns when it is handed back", async () => {
    const seller = await newPluginSeller(server);
    const s: Seller = { api: new TaskApi(server.request, seller.token), brand: seller.user.user.personal_brand_id };
    await seller.create("get_user_data");
    await expectCountOf(s, 1);
    const claimed = await seller.claim();
    await expectCountOf(s, 0);
    const released = await seller.request("POST", `/api/plugin/tasks/${claimed.task_id}/release`, {
      body: { lease_token: claimed.lease_token, reason_code: "VINTED_LOGGED_OUT", reason: "Logged out of Vinted" },
    });
    expect(released.status, JSON.stringify(released.body)).toBe(200);
    await expectCountOf(s, 1);
  });

  it("a batch adds its jobs in one step and its cancel gives them all back", async () => {
    const s = await newSeller();
    expect((await s.api.call("POST", "/api/v1/accounts/", { account_id: "acc-count", name: "Shop" })).status).toBe(201);
    const batch = await s.api.call<Body>("POST", "/api/v1/batches/", { account_id: "acc-count", task_type: "simulated", product_ids: [1, 2, 3, 4], scheduled_for: FAR_FUTURE });
    expect(batch.status, JSON.stringify(batch.body)).toBe(201);
    await expectCountOf(s, 4);
    expectRefusal(await s.api.call("POST", "/api/v1/batches/", { account_id: "acc-count", task_type: "simulated", product_ids: [5, 6, 7], scheduled_for: FAR_FUTURE }), 4);
    expect((await s.api.call("POST", `/api/v1/batches/${batch.body.batch_id as string}/cancel`)).status).toBe(200);
    await expectCountOf(s, 0);
  });
});

describe("room freed in this process and not written yet", () => {
  it("goes to the next creation with no count write, and the limit still holds", async () => {
    // Nothing is flushed during the test: only what the creation itself writes reaches the stored count.
    const own = await startTestServer({ TASK_QUEUED_LIMIT_PER_BRAND: "2", TASK_QUEUED_COUNT_FLUSH_MS: "60000", PLUGIN_POLL_INTERVAL_MS: "0" }, { taskExecution: false });
    try {
      const seller = await newPluginSeller(own);
      const brand = seller.user.user.personal_brand_id;
      const stored = () => own.db.connection.collection(QUEUED_COUNTS_COLLECTION).findOne({ _id: brand as never });
      const create = () => seller.request("POST", "/api/plugin/tasks", { body: { action: "get_user_data", params: {} } });
      expect((await create()).status).toBe(201);
      expect((await create()).status).toBe(201);
      expect((await create()).status).toBe(429);
      await seller.claim();
      const before = await stored();
      expect(before?.pending).toBe(2);
      expect(await own.description.services.queuedCounts.pendingOf(brand)).toBe(1);

      expect((await create()).status).toBe(201);
      // The claimed task's room, still counted as taken, now holds the new task: the count is exact, unwritten.
      expect(await stored()).toEqual(before);
      expect(await own.description.services.queuedCounts.pendingOf(brand)).toBe(2);
      const refused = await create();
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ queued_task_limit: 2, queued_tasks: 2 });
      const pending = await own.request<{ count: number }>("GET", "/tasks/?status=pending", { token: seller.token });
      expect(pending.body.count).toBe(2);
    } finally {
      await own.close();
    }
  });
});

describe("across processes", () => {
  it("two servers on one database move the same count", async () => {
    const other = await startTestServer(
      { TASK_QUEUED_LIMIT_PER_BRAND: String(LIMIT), JWT_SECRET: server.config.jwtSecret },
      { database: server.testDatabase, taskExecution: false },
    );
    try {
      const s = await newSeller();
      const onOther: Seller = { ...s, api: new TaskApi(other.request, s.api.token) };
      for (let i = 0; i < LIMIT; i++) await (i % 2 ? s : onOther).api.pending();
      expect(await counted(s, other)).toBe(LIMIT);
      expectRefusal(await createFar(onOther), LIMIT);
      expectRefusal(await createFar(s), LIMIT);
    } finally {
      await other.close();
    }
  });

  it("creations at the same moment on two servers never pass the limit together; room freed on one reaches the other", async () => {
    const other = await startTestServer(
      { TASK_QUEUED_LIMIT_PER_BRAND: String(LIMIT), JWT_SECRET: server.config.jwtSecret, PLUGIN_POLL_INTERVAL_MS: "0" },
      { database: server.testDatabase, taskExecution: false },
    );
    try {
      const seller = await newPluginSeller(server);
      const s: Seller = { api: new TaskApi(server.request, seller.token), brand: seller.user.user.personal_brand_id };
      const onOther = new TaskApi(other.request, seller.token);
      const create = (api: TaskApi) => api.call("POST", "/api/plugin/tasks", { action: "get_user_data", params: {} });
      const answers = await Promise.all(Array.from({ length: LIMIT + 4 }, (_, i) => create(i % 2 ? s.api : onOther)));
      expect(answers.filter((a) => a.status === 201)).toHaveLength(LIMIT);
      expect(answers.filter((a) => a.status === 429)).toHaveLength(4);
      await expectCountOf(s, LIMIT);

      // Claimed through the other server: its count is written within TASK_QUEUED_COUNT_FLUSH_MS.
      const claimed = await other.request<{ task_id: string | null }>("GET", "/api/plugin/tasks", { token: seller.token });
      expect(claimed.body.task_id).not.toBeNull();
      await waitFor(() => counted(s), (n) => n === LIMIT - 1, { what: "the claim to reach the stored count" });
      expect((await create(s.api)).status).toBe(201);
      expectRefusal(await create(onOther), LIMIT);
    } finally {
      await other.close();
    }
  });
});

describe("drift repair", () => {
  it("a count left wrong is set from the brand's pending tasks once the brand is quiet", async () => {
    const recount = server.description.background.find((b) => b.name === "queued-count-recount");
    if (!recount) throw new Error("no queued-count-recount background service");
    const s = await newSeller();
    await s.api.pending();
    await s.api.pending();
    // What a process killed before its count update leaves: a task created (or claimed) uncounted.
    const counts = server.db.connection.collection(QUEUED_COUNTS_COLLECTION);
    await counts.updateOne({ _id: s.brand } as Body, { $set: { pending: LIMIT, verified: false, updated_at: new Date(Date.now() - 60_000) } });
    expectRefusal(await createFar(s), LIMIT);

    await recount.start();
    try {
      await waitFor(() => counted(s), (n) => n === 2, { what: "the count to be repaired" });
    } finally {
      await recount.stop();
    }
    await expectCountOf(s, 2);
    expect((await createFar(s)).status).toBe(201);
    await expectCountOf(s, 3);
  });

  it("brands whose tasks were queued before any count existed are counted at start", async () => {
    const database = server.testDatabase;
    const s = await newSeller();
    await s.api.pending();
    await s.api.pending();
    await s.api.pending();
    await server.db.connection.collection(QUEUED_COUNTS_COLLECTION).deleteMany({});
    const restarted = await startTestServer({ TASK_QUEUED_LIMIT_PER_BRAND: String(LIMIT) }, { database, taskExecution: false });
    try {
      expect(await counted(s, restarted)).toBe(3);
    } finally {
      await restarted.close();
    }
  });
});
