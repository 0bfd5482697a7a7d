/**
 * The plugin poll endpoint under load, and how fast a new task reaches the extension.
 *
 * 1. Throughput: GET /api/plugin/tasks for 10,000 sellers (users and sessions seeded through the
 *    models, access tokens minted with the server's secret), round-robin, keep-alive, 64 in flight;
 *    next to a bare Express app answering the same constant JSON, with the same client, on the same
 *    machine, in the same run. Each server runs alone in its own child process (this file, started
 *    with --plugin-bench-server); the per-seller pacing is off (PLUGIN_POLL_INTERVAL_MS=0), since
 *    the load generator polls each seller far more often than a real extension would.
 *    The warm-up polls every seller once: what is measured is the steady state of sellers polling
 *    every few seconds (the first poll of a seller after a restart reads its session).
 * 2. Latency from "task created" to "the simulated extension has it": long-poll (?wait=25) vs
 *    plain polling every 5 s (the extension's interval, simulated in real time; 5 samples).
 * 3. Claims per second: 50 sellers each holding ?wait=25 polls and posting a result for every task
 *    they get, while a producer creates their tasks at a fixed rate (CLAIM_RATE a second for
 *    CLAIM_SECONDS s, round-robin over the sellers): claims/s reached, tasks handed out twice,
 *    create → claim median and p95 (from the moment the create is sent), server CPU per task.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { cpuSeconds, opsPerSecond, row } from "./lib.js";

const SELLERS = 10_000;
const IN_FLIGHT = 64;
const WARMUP_REQUESTS = SELLERS;
const MEASURED_REQUESTS = 12_000;
const POLL_ROUNDS = 4;
const LONG_POLL_SAMPLES = 20;
const PLAIN_POLL_SAMPLES = 5;
const PLAIN_POLL_INTERVAL_MS = 5_000;
const JWT_SECRET = "plugin-bench-secret-0123456789abcdef0123456789";
const NO_TASK = { task_id: null, message: "No pending tasks" };
const SERVER_FLAG = "--plugin-bench-server";
const CLAIM_SELLERS = 50;
const CLAIM_RATE = Number(process.env.BENCH_CLAIM_RATE ?? 300);
const CLAIM_SECONDS = 10;
const CLAIM_CREATES_IN_FLIGHT = 32;

// ---------------------------------------------------------------------------------------------
// The servers (child side)
// ---------------------------------------------------------------------------------------------

async function serveBare(): Promise<number> {
  const { default: express } = await import("express");
  const app = express();
  app.get("/api/plugin/tasks", (_req, res) => {
    res.json(NO_TASK);
  });
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
  countCommands(db.embedded?.engine);
  const server = await listen(app, 0, "127.0.0.1");
  return addressOf(server).port;
}

/** Counts the engine's commands by name and collection; the parent asks for them over IPC. */
function countCommands(engine: { run(cmd: Record<string, unknown>, connectionId: number): unknown } | undefined): void {
  if (!engine) return;
  const counts: Record<string, number> = {};
  const run = engine.run.bind(engine);
  engine.run = (cmd, connectionId) => {
    const name = Object.keys(cmd)[0];
    const key = `${name} ${typeof cmd[name] === "string" ? cmd[name] : ""}`.trim();
    counts[key] = (counts[key] ?? 0) + 1;
    return run(cmd, connectionId);
  };
  process.on("message", () => process.send?.({ ...counts }));
}

async function serve(mode: string): Promise<void> {
  const port = mode === "bare" ? await serveBare() : await serveMarketHub();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.once("SIGTERM", () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// The load generator (parent side)
// ---------------------------------------------------------------------------------------------

interface ChildServer {
  base: string;
  pid: number;
  /** The engine's commands so far, by name and collection (MarketHub only). */
  commands(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** BENCH_PROFILE=dir writes a CPU profile of each server child there, to see where a request goes. */
function profileArgs(mode: string): string[] {
  const dir = process.env.BENCH_PROFILE;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}/${mode}`] : [];
}

async function startChild(mode: "bare" | "markethub"): Promise<ChildServer> {
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
    async commands() {
      const answer = once(child, "message");
      child.send("commands");
      return (await answer)[0] as Record<string, number>;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

function call(base: string, method: string, path: string, token?: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload) Object.assign(headers, { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) });
    const req = http.request(`${base}${path}`, { method, agent, headers }, (res) => {
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

interface PollRound {
  perSecond: number;
  /** Server CPU per request (ms), from /proc; null elsewhere. */
  cpuMs: number | null;
}

async function pollRound(server: ChildServer, tokens: string[], count: number, offset: number): Promise<PollRound> {
  let failures = 0;
  const poll = async (i: number) => {
    const answer = await call(server.base, "GET", "/api/plugin/tasks", tokens[(i + offset) % tokens.length]);
    if (answer.status !== 200 || answer.body.task_id !== null) failures++;
  };
  const cpuBefore = cpuSeconds(server.pid).other;
  const perSecond = await opsPerSecond(count, IN_FLIGHT, poll);
  const cpuAfter = cpuSeconds(server.pid).other;
  if (failures) throw new Error(`${failures} polls did not answer 200 "No pending tasks"`);
  return { perSecond, cpuMs: cpuBefore !== null && cpuAfter !== null ? ((cpuAfter - cpuBefore) * 1000) / count : null };
}

/**
 * Both servers up at once, measured in alternating rounds: on a shared, loaded machine the load
 * changes from one second to the next, and alternating exposes both to the same conditions.
 */
async function pollThroughput(bare: ChildServer, markethub: ChildServer, tokens: string[]): Promise<{ bare: PollRound[]; markethub: PollRound[] }> {
  await pollRound(bare, tokens, 2_000, 0);
  await pollRound(markethub, tokens, WARMUP_REQUESTS, 0);
  const rounds = { bare: [] as PollRound[], markethub: [] as PollRound[] };
  const perRound = Math.floor(MEASURED_REQUESTS / POLL_ROUNDS);
  for (let r = 0; r < POLL_ROUNDS; r++) {
    rounds.bare.push(await pollRound(bare, tokens, perRound, r * perRound));
    rounds.markethub.push(await pollRound(markethub, tokens, perRound, WARMUP_REQUESTS + r * perRound));
  }
  return rounds;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function registerSeller(base: string, name: string): Promise<string> {
  const answer = await call(base, "POST", "/api/v1/auth/register", undefined, { email: `${name}-${process.pid}@bench.example`, password: "bench password 123" });
  if (answer.status !== 201) throw new Error(`register ${name}: ${answer.status}`);
  return answer.body.access_token as string;
}

async function createTask(base: string, token: string): Promise<string> {
  const answer = await call(base, "POST", "/api/plugin/tasks", token, { action: "get_user_data", params: {} });
  if (answer.status !== 201) throw new Error(`create: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.task_id as string;
}

/** A simulated extension holding ?wait=25 polls; each sample: create a task, time until it is handed out. */
async function longPollLatencies(base: string): Promise<number[]> {
  const token = await registerSeller(base, "longpoll");
  const samples: number[] = [];
  for (let i = 0; i < LONG_POLL_SAMPLES; i++) {
    const held = call(base, "GET", "/api/plugin/tasks?wait=25", token);
    await sleep(100 + Math.random() * 200); // the poll is held when the task comes
    const createdAt = performance.now();
    const taskId = await createTask(base, token);
    const answer = await held;
    if (answer.body.task_id !== taskId) throw new Error(`long-poll answered ${JSON.stringify(answer.body)}`);
    samples.push(performance.now() - createdAt);
  }
  return samples;
}

/** Sellers polling every 5 s in real time (in parallel); each gets one task at a random moment. */
async function plainPollLatencies(base: string): Promise<number[]> {
  const tokens = await Promise.all(Array.from({ length: PLAIN_POLL_SAMPLES }, (_, i) => registerSeller(base, `plain${i}`)));
  return Promise.all(
    tokens.map(async (token) => {
      let createdAt = 0;
      let taskId = "";
      const creation = sleep(Math.random() * PLAIN_POLL_INTERVAL_MS + 500).then(async () => {
        createdAt = performance.now();
        taskId = await createTask(base, token);
      });
      for (;;) {
        const answer = await call(base, "GET", "/api/plugin/tasks", token);
        if (answer.status !== 200) throw new Error(`plain poll: ${answer.status}`);
        if (answer.body.task_id !== null) {
          await creation;
          if (answer.body.task_id !== taskId) throw new Error("plain poll got another task");
          return performance.now() - createdAt;
        }
        await sleep(PLAIN_POLL_INTERVAL_MS);
      }
    }),
  );
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

interface ClaimFigures {
  claimsPerSecond: number;
  created: number;
  claimed: number;
  doubles: number;
  p50: number;
  p95: number;
  cpuMsPerTask: number | null;
  /** Database commands per task handed out, by command and collection. */
  commandsPerTask: Record<string, number>;
}

/** A simulated extension: holds ?wait=25 polls, posts a success for each task it gets, until stopped. */
async function extensionLoop(base: string, token: string, claimedAt: Map<string, number[]>, stop: { now: boolean }): Promise<void> {
  while (!stop.now) {
    const answer = await call(base, "GET", "/api/plugin/tasks?wait=25", token);
    if (answer.status !== 200) throw new Error(`claim poll: ${answer.status} ${JSON.stringify(answer.body)}`);
    const taskId = answer.body.task_id;
    if (typeof taskId !== "string") continue;
    const at = performance.now();
    const seen = claimedAt.get(taskId);
    if (seen) seen.push(at);
    else claimedAt.set(taskId, [at]);
    const posted = await call(base, "POST", `/api/plugin/tasks/${taskId}/result`, token, {
      lease_token: answer.body.lease_token,
      success: true,
      data: { user_id: 29535217, login: "bench.shop", email: "bench@example.com", origin: "https://www.vinted.fr", item_count: 3 },
      execution_time_ms: 5,
    });
    if (posted.status !== 200) throw new Error(`result: ${posted.status} ${JSON.stringify(posted.body)}`);
  }
}

async function claimThroughput(server: ChildServer): Promise<ClaimFigures> {
  const tokens: string[] = [];
  for (let i = 0; i < CLAIM_SELLERS; i += 5) tokens.push(...(await Promise.all(Array.from({ length: 5 }, (_, j) => registerSeller(server.base, `claims${i + j}`)))));
  const claimedAt = new Map<string, number[]>();
  const sentAt = new Map<string, number>();
  const stop = { now: false };
  const loops = tokens.map((token) => extensionLoop(server.base, token, claimedAt, stop));
  await sleep(300); // every seller's first poll is held

  const total = CLAIM_RATE * CLAIM_SECONDS;
  const commandsBefore = await server.commands();
  const cpuBefore = cpuSeconds(server.pid).other;
  const started = performance.now();
  let inFlight = 0;
  const creates: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / CLAIM_RATE;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    while (inFlight >= CLAIM_CREATES_IN_FLIGHT) await sleep(1);
    inFlight++;
    const sent = performance.now();
    creates.push(
      createTask(server.base, tokens[i % tokens.length]).then((taskId) => {
        sentAt.set(taskId, sent);
        inFlight--;
      }),
    );
  }
  await Promise.all(creates);
  const deadline = performance.now() + 30_000;
  while (claimedAt.size < total && performance.now() < deadline) await sleep(20);
  const lastClaim = Math.max(...[...claimedAt.values()].map((times) => times[0]));
  const cpuAfter = cpuSeconds(server.pid).other;
  const commandsAfter = await server.commands();
  stop.now = true;

  const latencies = [...sentAt].flatMap(([taskId, sent]) => (claimedAt.has(taskId) ? [claimedAt.get(taskId)![0] - sent] : []));
  const doubles = [...claimedAt.values()].filter((times) => times.length > 1).length;
  // The held polls are answered by the server's shutdown; their loops end there.
  void Promise.allSettled(loops);
  return {
    claimsPerSecond: claimedAt.size / ((lastClaim - started) / 1000),
    created: sentAt.size,
    claimed: claimedAt.size,
    doubles,
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    cpuMsPerTask: cpuBefore !== null && cpuAfter !== null ? ((cpuAfter - cpuBefore) * 1000) / claimedAt.size : null,
    commandsPerTask: Object.fromEntries(Object.entries(commandsAfter).map(([key, n]) => [key, (n - (commandsBefore[key] ?? 0)) / claimedAt.size])),
  };
}

export async function runPluginBench(): Promise<void> {
  console.log(`\nPlugin poll endpoint (${SELLERS.toLocaleString("en-US")} sellers, keep-alive, ${IN_FLIGHT} in flight, each server alone in its own process)`);
  const { signAccessToken } = await import("../server/src/auth/tokens.js");
  const tokens = Array.from({ length: SELLERS }, (_, i) =>
    signAccessToken({ secret: JWT_SECRET, accessTokenTtlSeconds: 3600 }, { userId: i + 1, sessionId: `bench-session-${i + 1}` }),
  );

  const bare = await startChild("bare");
  const markethub = await startChild("markethub");
  try {
    const rounds = await pollThroughput(bare, markethub, tokens);
    await bare.stop();
    const rate = median(rounds.markethub.map((r) => r.perSecond));
    const bareRate = median(rounds.bare.map((r) => r.perSecond));
    const ratios = rounds.markethub.map((r, i) => r.perSecond / rounds.bare[i].perSecond);
    row(`GET /api/plugin/tasks, MarketHub (median of ${POLL_ROUNDS} rounds)`, rate, "req/s");
    row("same client, bare Express constant JSON", bareRate, "req/s");
    row("ratio MarketHub / bare Express (median of the rounds' ratios)", median(ratios), "x");
    row("  the rounds' ratios", ratios.map((x) => x.toFixed(2)).join(" "));
    const cpu = (list: PollRound[]) => (list.every((r) => r.cpuMs !== null) ? median(list.map((r) => r.cpuMs!)) : null);
    const [mhCpu, bareCpu] = [cpu(rounds.markethub), cpu(rounds.bare)];
    if (mhCpu !== null && bareCpu !== null) {
      row("server CPU per empty poll, MarketHub", mhCpu, "ms");
      row("server CPU per request, bare Express", bareCpu, "ms");
      row("ratio of CPU per request, bare / MarketHub", bareCpu / mhCpu, "x");
    }

    const longPoll = await longPollLatencies(markethub.base);
    const plain = await plainPollLatencies(markethub.base);
    row(`task created → extension has it, long-poll (median of ${LONG_POLL_SAMPLES})`, median(longPoll), "ms");
    row(`task created → extension has it, 5 s polling (median of ${PLAIN_POLL_SAMPLES})`, median(plain), "ms");
    row("ratio 5 s polling / long-poll", median(plain) / median(longPoll), "x");
  } finally {
    agent.destroy();
    await bare.stop();
    await markethub.stop();
  }
}

/** 50 long-polling sellers and a producer: claims per second, double deliveries, database commands per task. */
export async function runClaimsBench(): Promise<void> {
  console.log(`\nClaims: ${CLAIM_SELLERS} sellers long-polling, results posted, tasks created at ${CLAIM_RATE}/s for ${CLAIM_SECONDS} s`);
  const markethub = await startChild("markethub");
  try {
    const claims = await claimThroughput(markethub);
    row("claims per second", claims.claimsPerSecond, "/s");
    row("ratio claims/s / creation rate asked", claims.claimsPerSecond / CLAIM_RATE, "x");
    row("tasks created / handed out / handed out twice", `${claims.created} / ${claims.claimed} / ${claims.doubles}`);
    row("create → claim, median", claims.p50, "ms");
    row("create → claim, p95", claims.p95, "ms");
    if (claims.cpuMsPerTask !== null) row("server CPU per task (create, claim, result)", claims.cpuMsPerTask, "ms");
    const commands = Object.entries(claims.commandsPerTask).filter(([, n]) => n >= 0.05).sort((a, b) => b[1] - a[1]);
    row("database commands per task", commands.reduce((sum, [, n]) => sum + n, 0).toFixed(1));
    for (const [key, n] of commands) row(`  ${key}`, n.toFixed(2));
  } finally {
    agent.destroy();
    await markethub.stop();
  }
}

if (process.argv[2] === SERVER_FLAG) await serve(process.argv[3] ?? "markethub");
