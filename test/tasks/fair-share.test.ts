/**
 * Fair share of server-side work between brands, with two server processes on one database:
 * a brand never has more than TASK_RUNNING_LIMIT_PER_BRAND tasks running, whatever the number of
 * workers and however its tasks arrive (one by one through either process, or as a batch); at
 * equal priority, brands take turns — another brand's single task is claimed while the first has
 * thousands queued ahead of it; and a run that ends hands its slot to the same brand's next task.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { rawTasks, sleep, TaskApi, waitFor, type Body } from "./fixtures/tasks.js";

const LIMIT = 2;
const BACKLOG = 2_000;
/** Long enough to hold their slot for the whole suite (they are cancelled at the end). */
const LONG = { steps: 600, step_ms: 100, checkpoint_every: 0 };
const QUICK = { steps: 1, step_ms: 1, checkpoint_every: 0 };

// One secret for both processes: a user's token is good on either.
const env = { TASK_CONCURRENCY: "3", TASK_RUNNING_LIMIT_PER_BRAND: String(LIMIT), JWT_SECRET: randomBytes(32).toString("hex") };
let first: TestServer;
let second: TestServer;

/** The brand's running count, sampled all along until stop() (the largest value seen). */
function watchRunning(api: TaskApi) {
  let watching = true;
  let max = 0;
  let count = 0;
  const done = (async () => {
    while (watching) {
      max = Math.max(max, (await api.list("status=running&page_size=1")).count);
      count++;
      await sleep(20);
    }
  })();
  return {
    samples: () => count,
    max: () => max,
    stop: async () => {
      watching = false;
      await done;
      return max;
    },
  };
}

const runningCount = async (api: TaskApi) => (await api.list("status=running&page_size=1")).count;
const pendingCount = async (api: TaskApi) => (await api.list("status=pending&page_size=1")).count;

async function seller(server: TestServer): Promise<TaskApi> {
  return new TaskApi(server.request, (await server.register()).access_token);
}

/** The same user through the other process. */
const via = (server: TestServer, api: TaskApi) => new TaskApi(server.request, api.token);

async function batchOf(api: TaskApi, jobs: number, extra: Body = {}): Promise<string> {
  const account = await api.call<Body>("POST", "/api/v1/accounts/", { name: "Big shop" });
  expect(account.status).toBe(201);
  const body = { account_id: account.body.account_id, task_type: "simulated", priority: "normal", jobs: Array.from({ length: jobs }, (_, n) => ({ context_data: { ...LONG, n } })), ...extra };
  const batch = await api.call<Body>("POST", "/api/v1/batches/", body);
  expect(batch.status, JSON.stringify(batch.body).slice(0, 500)).toBe(201);
  return batch.body.batch_id as string;
}

const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  // Six worker slots in all (two processes × 3), for a limit of two per brand.
  first = await startTestServer(env);
  second = await startTestServer(env, { database: first.testDatabase });
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  // Both processes stop executing before either database connection closes.
  await second?.description.services.execution.stop();
  await first?.description.services.execution.stop();
  await second?.close();
  await first?.close();
});

describe("the running limit", () => {
  it("holds when twelve due tasks arrive at once through both processes", async () => {
    const c = await seller(first);
    const watch = watchRunning(c);
    cleanups.push(() => watch.stop());
    const created = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? via(second, c) : c).create({ task_type: "simulated", context_data: LONG })),
    );
    const cancelAll = () => Promise.all(created.map((t) => c.call("POST", `/tasks/${t.id}/cancel/`)));
    cleanups.push(cancelAll);
    await waitFor(() => runningCount(c), (n) => n >= LIMIT, { what: `brand C at its ${LIMIT} running slots` });
    // Every worker of both processes had a go at the queue meanwhile.
    await waitFor(async () => watch.samples(), (n) => n >= 30, { what: "30 samples of C's running count" });
    expect(await watch.stop()).toBe(LIMIT);
    expect(await pendingCount(c)).toBe(12 - LIMIT);
    // Its worker slots go back to the other tests.
    await cancelAll();
    await waitFor(() => runningCount(c), (n) => n === 0, { what: "brand C's runs stopped" });
  });
});

describe("a brand with thousands of tasks queued", () => {
  let a: TaskApi;
  let watch: ReturnType<typeof watchRunning>;
  beforeAll(async () => {
    a = await seller(first);
    const batchId = await batchOf(a, BACKLOG);
    cleanups.push(() => a.call("POST", `/api/v1/batches/${batchId}/cancel`));
    watch = watchRunning(a);
    cleanups.push(() => watch.stop());
  }, 120_000);

  it("does not starve another brand's single task at the same priority", async () => {
    await waitFor(() => runningCount(a), (n) => n >= LIMIT, { what: `brand A at its ${LIMIT} running slots` });
    const b = await seller(second);
    const single = await b.create({ task_type: "simulated", priority: "normal", context_data: QUICK });
    expect((await b.waitForStatus(single.id, "completed")).status).toBe("completed");
    // Claimed while A still had (nearly) all of its thousands queued, and A stayed within its slots.
    expect(await pendingCount(a)).toBeGreaterThan(BACKLOG - 50);
    expect(watch.max()).toBe(LIMIT);
  });

  it("a run that ends hands its slot to the brand's next task; the limit still holds", async () => {
    const running = (await a.list("status=running&page_size=10")).results;
    expect(running).toHaveLength(LIMIT);
    const stopped = running[0];
    expect((await a.call("POST", `/tasks/${stopped.id}/cancel/`)).status).toBe(200);
    const next = await waitFor(
      async () => (await a.list("status=running&page_size=10")).results.map((t) => t.id),
      (ids) => ids.length === LIMIT && !ids.includes(stopped.id),
      { what: "another task of A in the freed slot" },
    );
    expect(next).toContain(running[1].id);
    expect(watch.max()).toBe(LIMIT);
  });
});

describe("round-robin at equal priority", () => {
  it("a thousand runs of one brand falling due together do not go before another brand's run due at the same time", async () => {
    const d = await seller(first);
    const e = await seller(second);
    // Queued for later (each run gets its queue entry), then made due together in the database
    // while nothing claims (the runners stop; A's runs go back to wait for their slots).
    const runners = [first, second].map((srv) => srv.description.services.execution.runner);
    for (const runner of runners) await runner.stop(0);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const batchId = await batchOf(d, 1_000, { scheduled_for: later });
    cleanups.push(() => d.call("POST", `/api/v1/batches/${batchId}/cancel`));
    const single = await e.create({ task_type: "simulated", priority: "normal", scheduled_for: later, context_data: QUICK });
    const connection = first.db.connection;
    const brandOf = async (api: TaskApi) => (await api.list("page_size=1")).results[0].brand.id;
    const brands = [await brandOf(d), await brandOf(e)];
    const ids = (await rawTasks(connection).find({ brand: { $in: brands }, status: "pending" }, { projection: { task_id: 1 } }).toArray()).map((t) => t.task_id as string);
    expect(ids).toHaveLength(1_001);
    const now = new Date();
    await rawTasks(connection).updateMany({ task_id: { $in: ids } }, { $set: { scheduled_for: now } });
    const entries = await connection.collection("agenda_jobs").updateMany({ "data.task_id": { $in: ids } }, { $set: { nextRunAt: now } });
    expect(entries.modifiedCount).toBe(1_001);
    for (const runner of runners) await runner.start();
    expect((await e.waitForStatus(single.id, "completed")).status).toBe("completed");
    // D's runs looked at so far: those running, and those found with no free slot (sent to wait).
    // In plain arrival order E's run would come after all thousand of them.
    const looked = await rawTasks(connection).countDocuments({ brand: brands[0], $or: [{ status: "running" }, { awaiting_slot: true }] });
    expect(looked).toBeLessThan(500);
  }, 120_000);
});

describe("the default", () => {
  it("is four running server tasks per brand (one of TASK_CONCURRENCY's five left to others)", async () => {
    const { loadConfig } = await import("../../server/src/config.js");
    const result = loadConfig({ NODE_ENV: "test", JWT_SECRET: "x".repeat(40) });
    expect(result.ok && result.config.tasks.runningLimitPerBrand).toBe(4);
  });
});
