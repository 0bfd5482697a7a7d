/**
 * Long-polls (?wait=N), the per-seller poll pacing (429 + Retry-After) and held polls on shutdown.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoClient } from "mongodb";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { startServerProcess, type ServerProcess } from "../helpers/process.js";
import { waitFor } from "../tasks/fixtures/tasks.js";
import { newSeller, storedTask } from "./helpers.js";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The longest a poll may be held (?wait=25): a poll answered only at its timeout takes that long. */
const LONGEST_WAIT_S = 25;
/**
 * A held poll must be answered by the event well before its own timeout: this bound is far above
 * any slowness of a loaded machine and far below the timeout, so only a poll that waited it out fails.
 */
const WELL_BEFORE_TIMEOUT_MS = 12_000;

/** Resolves with the promise's value, or fails if it has not settled within `ms`. */
async function settledWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not answered within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `count` long-polls are held by the server (instead of guessing how long a request takes to arrive). */
function heldPolls(server: TestServer, count = 1): Promise<number> {
  return waitFor(async () => server.description.services.plugin.delivery.waiters.size, (n) => n === count, { what: `${count} held long-poll(s)` });
}

describe("long-poll", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0", PLUGIN_LONG_POLL_RECHECK_MS: "200" });
  });
  afterAll(() => server?.close());

  it("a held poll is woken by a task created for that seller, long before its timeout", async () => {
    const seller = await newSeller(server);
    const held = seller.request<{ task_id: string | null }>("GET", `/api/plugin/tasks?wait=${LONGEST_WAIT_S}`);
    await heldPolls(server);
    const task = await seller.create("get_user_data");
    const answer = await settledWithin(held, WELL_BEFORE_TIMEOUT_MS, "the held poll");
    expect(answer.status).toBe(200);
    expect(answer.body.task_id).toBe(task.task_id);
    expect((await storedTask(server, task.task_id)).status).toBe("running");
  });

  it("a long-poll held across a logout claims nothing and answers 401", async () => {
    const seller = await newSeller(server);
    const held = seller.request<{ task_id: string | null; error_code?: string }>("GET", `/api/plugin/tasks?wait=${LONGEST_WAIT_S}`);
    await heldPolls(server);
    const logout = await seller.request("POST", "/api/v1/auth/logout", { body: {} });
    expect(logout.status).toBe(204);
    // A task arrives for that seller (created from another, live session): it wakes the held poll.
    const login = await server.request<{ access_token: string }>("POST", "/api/v1/auth/login", { body: { email: seller.user.email, password: seller.user.password } });
    const created = await server.request<{ task_id: string }>("POST", "/api/plugin/tasks", { token: login.body.access_token, body: { action: "get_user_data", params: {} } });
    expect(created.status).toBe(201);
    const answer = await settledWithin(held, WELL_BEFORE_TIMEOUT_MS, "the held poll");
    expect(answer.status).toBe(401);
    expect(answer.body.error_code).toBe("TOKEN_REVOKED");
    expect((await storedTask(server, created.body.task_id)).status).toBe("pending");
  });

  it("answers No pending tasks after N seconds, and is not woken by another seller's task", async () => {
    const seller = await newSeller(server);
    const other = await newSeller(server);
    const started = performance.now();
    const held = seller.request("GET", "/api/plugin/tasks?wait=1");
    await heldPolls(server);
    await other.create("get_user_data");
    const answer = await held;
    expect(answer.body).toEqual({ task_id: null, message: "No pending tasks" });
    // Held for its whole second (a loaded machine can only make it longer).
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("finds a task written by another server process (database re-check)", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("get_stats", { item_id: 9 });
    // Park it where no poll would take it, as if it did not exist yet…
    const client = await MongoClient.connect(server.testDatabase.serverUri);
    const tasks = client.db(server.testDatabase.dbName).collection("tasks");
    try {
      await tasks.updateOne({ task_id: task.task_id }, { $set: { status: "cancelled" } });
      const held = seller.request<{ task_id: string | null }>("GET", `/api/plugin/tasks?wait=${LONGEST_WAIT_S}`);
      await heldPolls(server);
      // …then "another process" makes it pending behind this process's back: no in-process wake-up.
      await tasks.updateOne({ task_id: task.task_id }, { $set: { status: "pending" } });
      const answer = await settledWithin(held, WELL_BEFORE_TIMEOUT_MS, "the held poll");
      expect(answer.body.task_id).toBe(task.task_id);
    } finally {
      await client.close();
    }
  });

  it("refuses wait > 25", async () => {
    const seller = await newSeller(server);
    const res = await seller.request("GET", "/api/plugin/tasks?wait=26");
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error_code: "VALIDATION_ERROR", field_errors: { wait: expect.any(Array) } });
  });

  it("a client that hangs up does not get a task claimed for it", async () => {
    const seller = await newSeller(server);
    const controller = new AbortController();
    const held = fetch(`${server.baseUrl}/api/plugin/tasks?wait=${LONGEST_WAIT_S}`, { headers: server.authHeader(seller.token), signal: controller.signal }).catch(() => null);
    await heldPolls(server);
    controller.abort();
    await held;
    // The server notices the hang-up and lets go of the poll…
    await heldPolls(server, 0);
    // …so the task created next is not claimed for it: the seller's next poll is handed it.
    const task = await seller.create("get_user_data");
    const next = await seller.request<{ task_id: string | null }>("GET", "/api/plugin/tasks");
    expect(next.body.task_id).toBe(task.task_id);
  });

  it("stopping the hub's service answers held polls at once", async () => {
    const stopping = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0" }, { taskExecution: false });
    try {
      const seller = await newSeller(stopping);
      const held = seller.request("GET", `/api/plugin/tasks?wait=${LONGEST_WAIT_S}`);
      await heldPolls(stopping);
      await stopping.description.services.plugin.service.stop();
      const answer = await settledWithin(held, WELL_BEFORE_TIMEOUT_MS, "the held poll");
      expect(answer.body).toEqual({ task_id: null, message: "No pending tasks" });
    } finally {
      await stopping.close();
    }
  });
});

describe("per-seller poll pacing", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "2000", PLUGIN_POLL_TOLERANCE_MS: "200" });
  });
  afterAll(() => server?.close());

  it("a poll sooner than the interval is a 429 with Retry-After and the error body; on time it is fine", async () => {
    const seller = await newSeller(server);
    expect((await seller.request("GET", "/api/plugin/tasks")).status).toBe(200);
    const tooSoon = await seller.request("GET", "/api/plugin/tasks");
    expect(tooSoon.status).toBe(429);
    expect(tooSoon.headers.get("retry-after")).toBe("2");
    expect(tooSoon.body).toMatchObject({ error_code: "RATE_LIMITED", detail: expect.stringMatching(/Polling too fast/) });
    // Another seller is not affected.
    const other = await newSeller(server);
    expect((await other.request("GET", "/api/plugin/tasks")).status).toBe(200);
    await delay(1900); // within the tolerance
    expect((await seller.request("GET", "/api/plugin/tasks")).status).toBe(200);
  });

  it("a poll that hands out a task frees the slot: the next task is fetched at once", async () => {
    const seller = await newSeller(server);
    await seller.create("get_stats", { item_id: 1 });
    await seller.create("get_stats", { item_id: 2 });
    const first = await seller.request<{ task_id: string | null }>("GET", "/api/plugin/tasks");
    const second = await seller.request<{ task_id: string | null }>("GET", "/api/plugin/tasks");
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.body.task_id).not.toBeNull();
    expect(second.body.task_id).not.toBeNull();
    expect((await seller.request("GET", "/api/plugin/tasks")).status).toBe(200); // empty: takes the slot
    expect((await seller.request("GET", "/api/plugin/tasks")).status).toBe(429);
  });

  it("a long-poll counts as one poll: held past the interval, the next may follow at once; a short one may not", async () => {
    const seller = await newSeller(server);
    const long = await seller.request("GET", "/api/plugin/tasks?wait=3");
    expect(long.body).toEqual({ task_id: null, message: "No pending tasks" });
    expect((await seller.request("GET", "/api/plugin/tasks?wait=1")).status).toBe(200);
    expect((await seller.request("GET", "/api/plugin/tasks?wait=1")).status).toBe(429);
  });
});

describe("shutdown", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "markethub-plugin-shutdown-"));
  let proc: ServerProcess | null = null;
  afterAll(() => {
    proc?.child.kill("SIGKILL");
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("on SIGTERM a held long-poll is answered at once and the server exits 0", async () => {
    proc = startServerProcess({
      PORT: "0",
      DATA_DIR: dataDir,
      JWT_SECRET: "a-test-secret-of-at-least-thirty-two-characters",
      // Longer than the poll's own wait: only answering held polls at once ends the poll in time.
      SHUTDOWN_TIMEOUT: "60s",
      ...(process.env.MONGODB_URI ? { MONGODB_URI: process.env.MONGODB_URI } : {}),
    });
    const port = await proc.listening();
    const base = `http://127.0.0.1:${port}`;
    const registered = await fetch(`${base}/api/v1/auth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "longpoll@example.com", password: "a long enough password" }),
    });
    const { access_token } = (await registered.json()) as { access_token: string };
    const held = fetch(`${base}/api/plugin/tasks?wait=${LONGEST_WAIT_S}`, { headers: { Authorization: `Bearer ${access_token}` } });
    await delay(500); // the request reaches the server (a poll that arrives while draining is answered at once too)
    proc.child.kill("SIGTERM");
    const answer = await settledWithin(held, WELL_BEFORE_TIMEOUT_MS, "the held poll");
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ task_id: null, message: "No pending tasks" });
    expect(await proc.exited).toBe(0);
  });
});
