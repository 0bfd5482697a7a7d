/**
 * Empty polls answered from this process's memory: no database operation for a seller with
 * nothing to claim, yet work made by another server process is still found (by the periodic
 * recheck); sessions ended in this process refused at once; empty polls counted, not logged at info.
 */
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PluginPollCounters, WorkersOverview } from "../../shared/monitoring.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { waitFor } from "../tasks/fixtures/tasks.js";
import { newSeller, storedTask, type Seller } from "./helpers.js";

const NOTHING = { task_id: null, message: "No pending tasks" };

/** Operations this process's mongoose sends to the database, per collection (mongoose's debug hook). */
function recordOperations(server: TestServer): string[] {
  const ops: string[] = [];
  server.db.connection.set("debug", (collection: string, method: string) => {
    ops.push(`${collection}.${method}`);
  });
  return ops;
}

async function pollCounters(seller: Seller): Promise<PluginPollCounters> {
  const res = await seller.request<WorkersOverview>("GET", "/tasks/monitoring/workers/overview/");
  expect(res.status).toBe(200);
  return res.body.plugin_polls;
}

async function startWithDelivery(env: Record<string, string>, options: Parameters<typeof startTestServer>[1] = {}): Promise<TestServer> {
  const server = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0", ...env }, { taskExecution: false, ...options });
  await server.description.services.plugin.service.start();
  return server;
}

async function stop(server: TestServer | undefined): Promise<void> {
  if (!server) return;
  await server.description.services.plugin.service.stop();
  await server.close();
}

describe("an empty poll answered from memory", () => {
  let server: TestServer;
  beforeAll(async () => {
    // No background reads during the test: no recheck, no lease sweep, no task execution.
    server = await startWithDelivery({ PLUGIN_LONG_POLL_RECHECK_MS: "60000", PLUGIN_LEASE_SWEEP_MS: "600000" });
  });
  afterAll(() => stop(server));

  it("reads neither the tasks nor the session, and a task created here is claimed at once", async () => {
    const seller = await newSeller(server);
    expect(await seller.poll()).toEqual(NOTHING); // the session is read once here
    const before = await pollCounters(seller);
    const ops = recordOperations(server);
    try {
      for (let i = 0; i < 5; i++) expect(await seller.poll()).toEqual(NOTHING);
      expect(ops.filter((op) => /^(tasks|sessions|brandmembers)\./.test(op))).toEqual([]);
      const after = await pollCounters(seller);
      expect(after.without_database - before.without_database).toBe(5);
      expect(after.database_claims).toBe(before.database_claims);
      expect(after.empty - before.empty).toBe(5);

      const task = await seller.create("get_user_data");
      const claimed = await seller.poll();
      expect(claimed.task_id).toBe(task.task_id);
      expect(ops.some((op) => op.startsWith("tasks."))).toBe(true);
      // The seller's queue is empty again, and this process counted it: the next poll is from memory.
      ops.length = 0;
      expect(await seller.poll()).toEqual(NOTHING);
      expect(ops.filter((op) => op.startsWith("tasks."))).toEqual([]);
    } finally {
      server.db.connection.set("debug", false);
    }
  });

  it("three tasks created here: three claims, and no claim that finds nothing", async () => {
    const seller = await newSeller(server);
    expect(await seller.poll()).toEqual(NOTHING);
    const created = [];
    for (let i = 0; i < 3; i++) created.push((await seller.create("get_user_data")).task_id);
    const before = await pollCounters(seller);
    const handedOut = [];
    for (let i = 0; i < 3; i++) handedOut.push((await seller.poll()).task_id);
    expect(handedOut.sort()).toEqual([...created].sort());
    expect(await seller.poll()).toEqual(NOTHING);
    const after = await pollCounters(seller);
    expect(after.database_claims - before.database_claims).toBe(3);
    expect(after.claimed - before.claimed).toBe(3);
    expect(after.without_database - before.without_database).toBe(1);
  });

  it("a session ended here is refused at once, though it was read as open", async () => {
    const seller = await newSeller(server);
    expect(await seller.poll()).toEqual(NOTHING);
    const logout = await seller.request("POST", "/api/v1/auth/logout", { body: {} });
    expect(logout.status).toBe(204);
    const refused = await seller.request<{ error_code: string }>("GET", "/api/plugin/tasks");
    expect(refused.status).toBe(401);
    expect(refused.body.error_code).toBe("TOKEN_REVOKED");
  });

  it("a held long-poll woken by a task after a logout claims nothing", async () => {
    const seller = await newSeller(server);
    const held = seller.request<{ error_code?: string }>("GET", "/api/plugin/tasks?wait=20");
    await waitFor(async () => server.description.services.plugin.delivery.waiters.size, (n) => n > 0, { what: "the poll to be held" });
    expect((await seller.request("POST", "/api/v1/auth/logout", { body: {} })).status).toBe(204);
    const login = await server.request<{ access_token: string }>("POST", "/api/v1/auth/login", { body: { email: seller.user.email, password: seller.user.password } });
    const created = await server.request<{ task_id: string }>("POST", "/api/plugin/tasks", { token: login.body.access_token, body: { action: "get_user_data", params: {} } });
    expect(created.status).toBe(201);
    const answer = await held;
    expect(answer.status).toBe(401);
    expect(answer.body.error_code).toBe("TOKEN_REVOKED");
    expect((await storedTask(server, created.body.task_id)).status).toBe("pending");
  });
});

describe("work made by another server process", () => {
  let here: TestServer;
  let there: TestServer;
  beforeAll(async () => {
    // One deployment: the same signing secret, so a seller's token works on either process.
    const env = { PLUGIN_LONG_POLL_RECHECK_MS: "200", JWT_SECRET: randomBytes(32).toString("hex") };
    here = await startWithDelivery(env);
    there = await startWithDelivery(env, { database: here.testDatabase });
  });
  afterAll(async () => {
    await stop(there);
    await stop(here);
  });

  it("is handed out by a plain poll here once the recheck has seen it", async () => {
    const seller = await newSeller(here);
    expect(await seller.poll()).toEqual(NOTHING);
    const created = await there.request<{ task_id: string }>("POST", "/api/plugin/tasks", { token: seller.token, body: { action: "get_user_data", params: {} } });
    expect(created.status).toBe(201);
    const claimed = await waitFor(() => seller.poll(), (answer) => answer.task_id !== null, { intervalMs: 50, what: "the other process's task" });
    expect(claimed.task_id).toBe(created.body.task_id);
  });

  it("a task created there while this process counted the seller's tasks is still handed out here", async () => {
    const seller = await newSeller(here);
    expect(await seller.poll()).toEqual(NOTHING);
    const mine = await seller.create("get_user_data");
    const theirs = await there.request<{ task_id: string }>("POST", "/api/plugin/tasks", { token: seller.token, body: { action: "get_user_data", params: {} } });
    expect(theirs.status).toBe(201);
    const handedOut = new Set<string>();
    await waitFor(
      async () => {
        const answer = await seller.poll();
        if (answer.task_id) handedOut.add(answer.task_id);
        return handedOut.size;
      },
      (n) => n === 2,
      { intervalMs: 50, what: "both tasks handed out" },
    );
    expect([...handedOut].sort()).toEqual([mine.task_id, theirs.body.task_id].sort());
  });

  it("wakes a long-poll held here", async () => {
    const seller = await newSeller(here);
    const held = seller.request<{ task_id: string | null }>("GET", "/api/plugin/tasks?wait=20");
    await waitFor(async () => here.description.services.plugin.delivery.waiters.size, (n) => n > 0, { what: "the poll to be held" });
    const created = await there.request<{ task_id: string }>("POST", "/api/plugin/tasks", { token: seller.token, body: { action: "get_user_data", params: {} } });
    expect((await held).body.task_id).toBe(created.body.task_id);
  });

  it("a scheduled task coming due is handed out", async () => {
    const seller = await newSeller(here);
    const dueAt = new Date(Date.now() + 600).toISOString();
    const created = await seller.request<{ task_id: string }>("POST", "/tasks/", {
      body: { task_type: "vinted.get_user_data", context_data: {}, scheduled_for: dueAt },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const claimed = await waitFor(() => seller.poll(), (answer) => answer.task_id !== null, { intervalMs: 50, what: "the scheduled task" });
    expect(claimed.task_id).toBe(created.body.task_id);
  });
});

describe("the access log", () => {
  let server: TestServer;
  const lines: Array<{ msg?: string; req?: { method?: string; url?: string }; res?: { statusCode?: number } }> = [];
  beforeAll(async () => {
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n")) if (line.trim()) lines.push(JSON.parse(line) as (typeof lines)[number]);
        done();
      },
    });
    server = await startWithDelivery({ LOG_LEVEL: "info" }, { logStream });
  });
  afterAll(() => stop(server));

  const pollLines = () => lines.filter((line) => line.req?.method === "GET" && line.req.url === "/api/plugin/tasks" && line.msg === "request completed");

  it("has no line for an empty poll, which is counted instead; a poll that hands out a task is logged", async () => {
    const seller = await newSeller(server);
    const before = await pollCounters(seller);
    expect(await seller.poll()).toEqual(NOTHING);
    expect(await seller.poll("?wait=1")).toEqual(NOTHING);
    const task = await seller.create("get_user_data");
    expect((await seller.poll()).task_id).toBe(task.task_id);
    await waitFor(async () => pollLines().length, (n) => n >= 1, { what: "the claiming poll's log line" });
    expect(pollLines(), JSON.stringify(pollLines())).toHaveLength(1);
    expect(pollLines()[0].res?.statusCode).toBe(200);
    expect((await pollCounters(seller)).empty - before.empty).toBe(2);
  });
});
