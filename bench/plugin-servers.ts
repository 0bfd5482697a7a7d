/**
 * The servers the plugin and claims benches load, each alone in a child process (this file, started
 * with --plugin-bench-server): MarketHub on a fresh in-memory engine with 10,000 sellers seeded, or
 * a bare Express app answering a constant JSON; and the HTTP client both benches use.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const SELLERS = 10_000;
export const IN_FLIGHT = 64;
export const JWT_SECRET = "plugin-bench-secret-0123456789abcdef0123456789";
export const NO_TASK = { task_id: null, message: "No pending tasks" };
const SERVER_FLAG = "--plugin-bench-server";

// ---------------------------------------------------------------------------------------------
// The servers (child side)
// ---------------------------------------------------------------------------------------------

async function serveBare(): Promise<number> {
  const { default: express } = await import("express");
  const app = express();
  app.get("/api/plugin/tasks", (_req, res) => {
    res.json(NO_TASK);
  });
  reportCounters({});
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as { port: number }).port;
}

async function serveMarketHub(): Promise<number> {
  const { createApp } = await import("../server/src/app.js");
  const { loadConfig } = await import("../server/src/config.js");
  const { connectDatabase } = await import("../server/src/db/connect.js");
  const { listen, addressOf } = await import("../server/src/lifecycle/http-server.js");
  const { createLogger } = await import("../server/src/logger.js");
  const { authModels } = await import("../server/src/auth/model.js");
  const result = loadConfig({
    NODE_ENV: "production",
    LOG_LEVEL: "silent",
    JWT_SECRET,
    CREDENTIALS_KEY: "0123456789abcdef".repeat(4),
    ACCESS_TOKEN_TTL: "1h",
    PLUGIN_POLL_INTERVAL_MS: "0",
    // The claims round registers its 50 sellers through the API.
    AUTH_RATE_LIMIT: "1000",
  });
  if (!result.ok) throw new Error(result.problems.join("; "));
  const config = result.config;
  const db = await connectDatabase({ dataDir: null });
  const { app, background } = await createApp({ config, logger: createLogger(config), connection: db.connection });
  for (const service of background) await service.start();

  // 10,000 sellers, straight into the collections (a password hash is never checked here).
  const { User, Session } = authModels(db.connection);
  const expires = new Date(Date.now() + 24 * 3600_000);
  for (let from = 1; from <= SELLERS; from += 1_000) {
    const ids = Array.from({ length: Math.min(1_000, SELLERS - from + 1) }, (_, i) => from + i);
    await User.insertMany(ids.map((id) => ({ _id: id, email: `seller${id}@bench.example`, username: `seller${id}`, password_hash: "bench:not-a-hash", personal_brand_id: 0 })));
    await Session.insertMany(ids.map((id) => ({ _id: `bench-session-${id}`, user_id: id, expires_at: expires })));
  }
  // Users registered later (the latency sellers) get ids after the seeded ones.
  await db.connection.collection<{ _id: string; seq: number }>("counters").updateOne({ _id: "users" }, { $set: { seq: SELLERS } }, { upsert: true });
  reportCounters(countCommands(db.embedded?.engine));
  const server = await listen(app, 0, "127.0.0.1");
  return addressOf(server).port;
}

/** What the parent reads from a child over IPC. */
export interface ChildCounters {
  /** The engine's commands so far, by name and collection (none for the bare server). */
  commands: Record<string, number>;
  /** The event loop's time so far running code (active) and waiting (idle), in ms. */
  loop: { active: number; idle: number };
}

/** Counts the engine's commands by name and collection; the returned counts grow as it runs. */
function countCommands(engine: { run(cmd: Record<string, unknown>, connectionId: number): unknown } | undefined): Record<string, number> {
  const counts: Record<string, number> = {};
  if (!engine) return counts;
  const run = engine.run.bind(engine);
  engine.run = (cmd, connectionId) => {
    const name = Object.keys(cmd)[0];
    const key = `${name} ${typeof cmd[name] === "string" ? cmd[name] : ""}`.trim();
    counts[key] = (counts[key] ?? 0) + 1;
    return run(cmd, connectionId);
  };
  return counts;
}

/** Answers the parent's request over IPC with the command counts and the event loop's time. */
function reportCounters(commands: Record<string, number>): void {
  process.on("message", () => {
    const { active, idle } = performance.eventLoopUtilization();
    process.send?.({ commands: { ...commands }, loop: { active, idle } } satisfies ChildCounters);
  });
}

async function serve(mode: string): Promise<void> {
  const port = mode === "bare" ? await serveBare() : await serveMarketHub();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.once("SIGTERM", () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// The load generator (parent side)
// ---------------------------------------------------------------------------------------------

export interface ChildServer {
  base: string;
  pid: number;
  counters(): Promise<ChildCounters>;
  stop(): Promise<void>;
}

/** BENCH_PROFILE=dir writes a CPU profile of each server child there, to see where a request goes. */
function profileArgs(mode: string): string[] {
  const dir = process.env.BENCH_PROFILE;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}/${mode}`] : [];
}

export async function startChild(mode: "bare" | "markethub"): Promise<ChildServer> {
  const child: ChildProcess = spawn(process.execPath, [...profileArgs(mode), "--import", "tsx", fileURLToPath(import.meta.url), SERVER_FLAG, mode], {
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await Promise.race([once(lines, "line"), once(child, "exit").then(() => [null])])) as [string | null];
  if (!line) throw new Error(`the ${mode} bench server exited before listening`);
  const { port } = JSON.parse(line) as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async counters() {
      const answer = once(child, "message");
      child.send("counters");
      return (await answer)[0] as ChildCounters;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** `via`: the connections to use (a seller of the claims round has its own, as each browser does). */
export function call(base: string, method: string, path: string, token?: string, body?: unknown, via: http.Agent = agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload) Object.assign(headers, { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) });
    const req = http.request(`${base}${path}`, { method, agent: via, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function registerSeller(base: string, name: string): Promise<string> {
  const answer = await call(base, "POST", "/api/v1/auth/register", undefined, { email: `${name}-${process.pid}@bench.example`, password: "bench password 123" });
  if (answer.status !== 201) throw new Error(`register ${name}: ${answer.status}`);
  return answer.body.access_token as string;
}

export async function createTask(base: string, token: string): Promise<string> {
  const answer = await call(base, "POST", "/api/plugin/tasks", token, { action: "get_user_data", params: {} });
  if (answer.status !== 201) throw new Error(`create: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.task_id as string;
}

/** A lease as a claiming poll hands it out. */
export interface Claimed {
  taskId: string;
  lease: string;
}

/** The success an extension posts for a get_user_data task. */
export async function postResult(base: string, token: string, claimed: Claimed, via: http.Agent = agent): Promise<void> {
  const answer = await call(base, "POST", `/api/plugin/tasks/${claimed.taskId}/result`, token, {
    lease_token: claimed.lease,
    success: true,
    data: { user_id: 29535217, login: "bench.shop", email: "bench@example.com", origin: "https://www.vinted.fr", item_count: 3 },
    execution_time_ms: 5,
  }, via);
  if (answer.status !== 200) throw new Error(`result: ${answer.status} ${JSON.stringify(answer.body)}`);
}


if (process.argv[2] === SERVER_FLAG) await serve(process.argv[3] ?? "markethub");
