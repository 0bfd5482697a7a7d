/**
 * The task hub under a backlog.
 *
 * 1. Throughput of POST /tasks/ over HTTP, 8 requests in flight (tasks scheduled far ahead, so
 *    they stay pending and nothing else runs meanwhile).
 * 2. Create → running latency of a fresh task with 1,000 and then 10,000 tasks queued ahead in the
 *    far future: median and p95, and the ratio 10k / 1k (≈1 means the backlog costs nothing).
 *    Measured from the moment the POST is sent to the task's `started_at` (one clock: this
 *    machine's), because the process that creates a task is told at once and claims it before the
 *    POST has even answered — measured from the answer, the figure would be negative.
 *
 * The engine runs as its own process with its journal on disk (`npm run db`); the app, with task
 * execution on and production settings, runs in this process beside the load generator.
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { createApp } from "../server/src/app.js";
import { loadConfig } from "../server/src/config.js";
import { connectDatabase } from "../server/src/db/connect.js";
import { addressOf, listen } from "../server/src/lifecycle/http-server.js";
import { createLogger } from "../server/src/logger.js";
import { opsPerSecond, row, startEngineProcess } from "./lib.js";

const CREATES_MEASURED = 1_000;
const IN_FLIGHT = 8;
const SAMPLES = 40;
const FAR_FUTURE = "2999-01-01T00:00:00Z";

interface Client {
  post(path: string, body: unknown): Promise<Record<string, unknown>>;
  get(path: string): Promise<Record<string, unknown>>;
}

function client(baseUrl: string, token: string): Client {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return { post: (path, body) => call("POST", path, body), get: (path) => call("GET", path) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface Latencies {
  /** POST sent → started_at. */
  running: number[];
  /** Tasks already running when their POST answered. */
  runningBeforeAnswer: number;
}

/** Creates `SAMPLES` fresh tasks one after the other; for each, ms from sending the POST to its started_at. */
async function createToRunningMs(api: Client): Promise<Latencies> {
  const latencies: number[] = [];
  let runningBeforeAnswer = 0;
  for (let i = 0; i < SAMPLES + 5; i++) {
    const sentAt = Date.now();
    const created = await api.post("/tasks/", { task_type: "simulated", context_data: { steps: 0 } });
    const answeredAt = Date.now();
    let startedAt: string | null = null;
    const deadline = answeredAt + 30_000;
    while (!startedAt) {
      const task = await api.get(`/tasks/${created.id as number}/`);
      startedAt = task.started_at as string | null;
      if (!startedAt) {
        if (Date.now() > deadline) throw new Error(`task ${created.task_id as string} did not start within 30 s`);
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    if (i < 5) continue; // the first few warm up
    latencies.push(Date.parse(startedAt) - sentAt);
    if (Date.parse(startedAt) <= answeredAt) runningBeforeAnswer++;
  }
  return { running: latencies.sort((a, b) => a - b), runningBeforeAnswer };
}

export async function runTasksBench(): Promise<void> {
  console.log("\nTask hub (app in this process, engine in its own process with its journal; production settings)");
  const engine = await startEngineProcess();
  const result = loadConfig({ NODE_ENV: "production", LOG_LEVEL: "silent", JWT_SECRET: randomBytes(32).toString("hex"), CREDENTIALS_KEY: randomBytes(32).toString("hex"), AUTH_RATE_LIMIT: "1000" });
  if (!result.ok) throw new Error(result.problems.join("; "));
  const config = result.config;
  const db = await connectDatabase({ mongodbUri: `${engine.uri}/bench_tasks`, dataDir: null });
  let server: Server | null = null;
  const { app, services } = await createApp({ config, logger: createLogger(config), connection: db.connection });
  try {
    await services.execution.start();
    server = await listen(app, 0, "127.0.0.1");
    const baseUrl = `http://127.0.0.1:${addressOf(server).port}`;
    const registered = await fetch(`${baseUrl}/api/v1/auth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "bench@example.com", password: "bench password 123" }),
    });
    const { access_token: token, user } = (await registered.json()) as { access_token: string; user: { id: number; personal_brand_id: number } };
    const api = client(baseUrl, token);
    const queued = { task_type: "simulated", scheduled_for: FAR_FUTURE, context_data: { steps: 1 } };

    await opsPerSecond(100, IN_FLIGHT, () => api.post("/tasks/", queued)); // warm-up
    const perSecond = await opsPerSecond(CREATES_MEASURED - 100, IN_FLIGHT, () => api.post("/tasks/", queued));
    row(`POST /tasks/ over HTTP, ${IN_FLIGHT} in flight`, perSecond, "tasks/s");

    const at1k = await createToRunningMs(api);
    // The rest of the backlog through the service (the same writes as POST, without HTTP), to save time.
    const principal = { userId: user.id, sessionId: "bench" };
    const brand = { brandId: user.personal_brand_id, role: "owner" as const };
    const body = { priority: "normal" as const, description: "", max_retries: 3, timeout_minutes: 60, ...queued };
    await opsPerSecond(9_000, 16, () => services.tasks.create(principal, brand, body));
    const pending = (await api.get("/tasks/?status=pending&page_size=1")).count as number;
    const at10k = await createToRunningMs(api);

    const median = (xs: number[]) => percentile(xs, 50);
    for (const [queuedAhead, l] of [[1_000, at1k], [pending, at10k]] as const) {
      const n = queuedAhead.toLocaleString("en-US");
      row(`create → running, median, ${n} queued`, median(l.running), "ms");
      row(`create → running, p95, ${n} queued`, percentile(l.running, 95), "ms");
      row(`  running before the POST answered, ${n} queued`, `${l.runningBeforeAnswer}/${SAMPLES}`);
    }
    row("ratio 10k / 1k, median (≈1: the backlog costs nothing)", median(at10k.running) / Math.max(1, median(at1k.running)), "x");
    row("ratio 10k / 1k, p95", percentile(at10k.running, 95) / Math.max(1, percentile(at1k.running, 95)), "x");
  } finally {
    await services.execution.stop(0);
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    }
    await db.close();
    await engine.stop();
  }
}
