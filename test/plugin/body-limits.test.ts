/**
 * Bodies of /api/plugin/* are read only after authentication, and only results and heartbeats may
 * be PLUGIN_BODY_LIMIT large (a few at a time per seller): an anonymous flood of large posts leaves
 * the server's memory flat and /healthz answering.
 */
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "../helpers/process.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { newSeller } from "./helpers.js";

const MB = 1024 * 1024;

function rssMbOf(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
  if (!line) throw new Error(`no VmRSS for ${pid}`);
  return Number(line.replace(/\D+/g, " ").trim().split(" ")[0]) / 1024;
}

/** POSTs `body` as JSON (without a token unless given) and resolves with the status, or "reset" when the server cut the upload short. */
function post(port: number, urlPath: string, body: Buffer, token?: string): Promise<number | "reset"> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: urlPath, method: "POST", headers: { "Content-Type": "application/json", "Content-Length": body.length, ...(token ? { Authorization: `Bearer ${token}` } : {}) } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", () => resolve("reset"));
    req.end(body);
  });
}

async function healthz(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return res.status;
}

describe("an anonymous flood of large plugin posts", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "markethub-flood-"));
  let proc: ServerProcess;
  let port: number;

  beforeAll(async () => {
    proc = startServerProcess({ PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "info", ...(process.env.MONGODB_URI ? { MONGODB_URI: process.env.MONGODB_URI } : {}) });
    port = await proc.listening();
  }, 120_000);

  afterAll(async () => {
    proc?.child.kill("SIGKILL");
    if (proc) await proc.exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("16 concurrent 24 MB POSTs without a token: all refused 401, RSS stays flat, /healthz answers meanwhile", { timeout: 180_000 }, async () => {
    const pid = proc.child.pid!;
    expect(await healthz(port)).toBe(200);
    const before = rssMbOf(pid);
    // A JSON-looking body: a parser that read it would have to buffer all of it.
    const body = Buffer.alloc(24 * MB, 0x20);
    body.write('{"lease_token":"x","success":true,"data":"', 0);
    body.write('"}', body.length - 2);

    let peak = before;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, rssMbOf(pid));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const flood = Promise.all(Array.from({ length: 16 }, (_, i) => post(port, `/api/plugin/tasks/task_${i}/result`, body)));
    const health: number[] = [];
    let done = false;
    void flood.then(() => (done = true));
    while (!done) health.push(await healthz(port));
    const statuses = await flood;
    sampling = false;
    await sampler;
    const after = rssMbOf(pid);

    console.log(`[figure] RSS before ${before.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, after ${after.toFixed(0)} MB (16 × 24 MB unauthenticated posts); /healthz answered ${health.length} times meanwhile`);
    for (const status of statuses) expect([401, "reset"]).toContain(status);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
    expect(health.length).toBeGreaterThan(0);
    expect(health.every((status) => status === 200)).toBe(true);
    // Before, the bodies were buffered and parsed first: ~1 GB more. 16 × 24 MB is 384 MB.
    expect(peak - before).toBeLessThan(150);
    expect(after - before).toBeLessThan(150);
  });
});

describe("body limits per route, and the per-seller limit on large uploads", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0", BODY_LIMIT: "100kb", PLUGIN_BODY_LIMIT: "5mb", PLUGIN_UPLOADS_PER_SELLER: "1" });
  });
  afterAll(() => server?.close());

  const port = () => Number(new URL(server.baseUrl).port);

  it("a result may be PLUGIN_BODY_LIMIT large; creating a task or releasing one is held to BODY_LIMIT (413)", async () => {
    const seller = await newSeller(server);
    const big = JSON.stringify({ action: "get_user_data", params: {}, padding: "x".repeat(200_000) });
    const create = await server.request("POST", "/api/plugin/tasks", { token: seller.token, rawBody: big, headers: { "Content-Type": "application/json" } });
    expect(create.status).toBe(413);
    const release = await server.request("POST", "/api/plugin/tasks/task_x/release", {
      token: seller.token,
      rawBody: JSON.stringify({ lease_token: "t", reason_code: "RATE_LIMITED", reason: "x", padding: "x".repeat(200_000) }),
      headers: { "Content-Type": "application/json" },
    });
    expect(release.status).toBe(413);
    // The same size on the result route is read (then refused for what it says: no such task).
    const result = await server.request("POST", "/api/plugin/tasks/task_x/result", {
      token: seller.token,
      rawBody: JSON.stringify({ lease_token: "t", success: true, data: { padding: "x".repeat(200_000) }, execution_time_ms: 1, executed_at: "2024-12-07T10:00:15Z" }),
      headers: { "Content-Type": "application/json" },
    });
    expect(result.status).toBe(404);
    const tooBig = await post(port(), "/api/plugin/tasks/task_x/result", Buffer.from(JSON.stringify({ padding: "x".repeat(6 * MB) })), seller.token);
    expect([413, "reset"]).toContain(tooBig);
  });

  it("a seller's second large upload while one is being read is refused 429 + Retry-After; another seller is not held up", async () => {
    const seller = await newSeller(server);
    const other = await newSeller(server);
    // The first upload is half sent and stays in flight.
    const socket = net.connect(port(), "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("data", () => undefined);
    const body = JSON.stringify({ lease_token: "t", progress: { current: 1, total: 2, message: "page 1/2" } });
    socket.write(`POST /api/plugin/tasks/task_x/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${seller.token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    try {
      const uploads = server.description.services.plugin.uploads;
      await expect.poll(() => uploads.inFlightOf(seller.id), { timeout: 10_000, interval: 20 }).toBe(1);
      expect((await seller.request("POST", "/api/plugin/tasks/task_x/heartbeat", { body: { lease_token: "t" } })).status).toBe(429);
      const refused = await seller.request("POST", "/api/plugin/tasks/task_x/result", { body: { lease_token: "t", success: true, execution_time_ms: 1, executed_at: "2024-12-07T10:00:15Z" } });
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(refused.body).toMatchObject({ error_code: "RATE_LIMITED" });
      // Small routes and other sellers are not concerned.
      expect((await seller.request("GET", "/api/plugin/tasks/recent")).status).toBe(200);
      expect((await other.request("POST", "/api/plugin/tasks/task_x/heartbeat", { body: { lease_token: "t" } })).status).toBe(404);
    } finally {
      socket.write(body.slice(10));
      socket.end();
      await closed;
    }
    // The first upload finished: the seller may upload again.
    await expect.poll(async () => (await seller.request("POST", "/api/plugin/tasks/task_x/heartbeat", { body: { lease_token: "t" } })).status, { timeout: 10_000, interval: 50 }).toBe(404);
  });
});
