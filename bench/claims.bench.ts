/**
 * Claims per second: 50 sellers each holding ?wait=25 polls and posting a result for every task
 * they get, while a producer creates their tasks at a fixed rate for CLAIM_SECONDS s, round-robin
 * over the sellers. One round per rate of CLAIM_RATES, each on a fresh server: the target's rate,
 * then half of it, where the server has room, to show the latency the target's rate loses.
 * Per round: claims/s reached, tasks handed out twice, create → claim median and p95 (from the
 * moment the create is sent), server CPU and database commands per task and how busy its event
 * loop was (read from the server child over IPC), and the load generator's own CPU per task.
 */
import http from "node:http";
import { cpuSeconds, row } from "./lib.js";
import { agent, call, createTask, postResult, registerSeller, sleep, startChild, type ChildServer } from "./plugin-servers.js";
import { runRequestAloneCosts } from "./request-alone.js";
import { runTaskRequestCosts } from "./task-requests.js";

const CLAIM_SELLERS = 50;
/** BENCH_CLAIM_RATES=300,150 (the default) or any other list of creations per second. */
const CLAIM_RATES = (process.env.BENCH_CLAIM_RATES ?? "300,150").split(",").map(Number);
const CLAIM_SECONDS = 10;
const CLAIM_CREATES_IN_FLIGHT = 32;

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

interface ClaimFigures {
  claimsPerSecond: number;
  created: number;
  claimed: number;
  doubles: number;
  p50: number;
  p95: number;
  cpuMsPerTask: number | null;
  /** Share of the round the server's event loop (its one JavaScript thread) spent running code. */
  serverLoopBusy: number;
  /** The event loop's running time per task handed out. */
  serverLoopMsPerTask: number;
  /** CPU this process (the sellers and the producer) spent per task handed out. */
  clientCpuMsPerTask: number;
  /** Database commands per task handed out, by command and collection. */
  commandsPerTask: Record<string, number>;
}

/** A simulated extension: holds ?wait=25 polls, posts a success for each task it gets, until stopped. */
async function extensionLoop(base: string, token: string, claimedAt: Map<string, number[]>, stop: { now: boolean }): Promise<void> {
  // Its own connection, as a browser has: a held poll must not take a socket the producer needs.
  const own = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await serveTasks(base, token, claimedAt, stop, own);
  } finally {
    own.destroy();
  }
}

async function serveTasks(base: string, token: string, claimedAt: Map<string, number[]>, stop: { now: boolean }, own: http.Agent): Promise<void> {
  while (!stop.now) {
    const answer = await call(base, "GET", "/api/plugin/tasks?wait=25", token, undefined, own);
    if (answer.status !== 200) throw new Error(`claim poll: ${answer.status} ${JSON.stringify(answer.body)}`);
    const taskId = answer.body.task_id;
    if (typeof taskId !== "string") continue;
    const at = performance.now();
    const seen = claimedAt.get(taskId);
    if (seen) seen.push(at);
    else claimedAt.set(taskId, [at]);
    await postResult(base, token, { taskId, lease: answer.body.lease_token as string }, own);
  }
}

async function claimThroughput(server: ChildServer, rate: number): Promise<ClaimFigures> {
  const tokens: string[] = [];
  for (let i = 0; i < CLAIM_SELLERS; i += 5) tokens.push(...(await Promise.all(Array.from({ length: 5 }, (_, j) => registerSeller(server.base, `claims${i + j}`)))));
  const claimedAt = new Map<string, number[]>();
  const sentAt = new Map<string, number>();
  const stop = { now: false };
  const loops = tokens.map((token) => extensionLoop(server.base, token, claimedAt, stop));
  await sleep(300); // every seller's first poll is held

  const total = rate * CLAIM_SECONDS;
  const before = await server.counters();
  const cpuBefore = cpuSeconds(server.pid).other;
  const clientCpuBefore = process.cpuUsage();
  const started = performance.now();
  let inFlight = 0;
  const creates: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
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
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const after = await server.counters();
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
    serverLoopBusy: (after.loop.active - before.loop.active) / (after.loop.active - before.loop.active + after.loop.idle - before.loop.idle),
    serverLoopMsPerTask: (after.loop.active - before.loop.active) / claimedAt.size,
    clientCpuMsPerTask: (clientCpu.user + clientCpu.system) / 1000 / claimedAt.size,
    commandsPerTask: Object.fromEntries(Object.entries(after.commands).map(([key, n]) => [key, (n - (before.commands[key] ?? 0)) / claimedAt.size])),
  };
}

/**
 * 50 long-polling sellers and a producer, at each rate: claims per second, double deliveries, latency,
 * costs; then what each of a task's requests costs the server on its own.
 */
export async function runClaimsBench(): Promise<void> {
  for (const rate of CLAIM_RATES) {
    if (!(rate > 0)) throw new Error(`BENCH_CLAIM_RATES: ${process.env.BENCH_CLAIM_RATES} is not a list of positive rates`);
    await claimsRound(rate);
  }
  await runTaskRequestCosts();
  await runRequestAloneCosts();
  agent.destroy();
}

async function claimsRound(rate: number): Promise<void> {
  console.log(`\nClaims: ${CLAIM_SELLERS} sellers long-polling, results posted, tasks created at ${rate}/s for ${CLAIM_SECONDS} s`);
  const markethub = await startChild("markethub");
  try {
    const claims = await claimThroughput(markethub, rate);
    row("claims per second", claims.claimsPerSecond, "/s");
    row("ratio claims/s / creation rate asked", claims.claimsPerSecond / rate, "x");
    row("tasks created / handed out / handed out twice", `${claims.created} / ${claims.claimed} / ${claims.doubles}`);
    row("create → claim, median", claims.p50, "ms");
    row("create → claim, p95", claims.p95, "ms");
    if (claims.cpuMsPerTask !== null) row("server CPU per task (create, claim, result)", claims.cpuMsPerTask, "ms");
    row("server event loop busy during the round", `${Math.round(claims.serverLoopBusy * 100)} %`);
    row("server event-loop time per task", claims.serverLoopMsPerTask, "ms");
    row("load generator CPU per task (sellers, producer)", claims.clientCpuMsPerTask, "ms");
    const commands = Object.entries(claims.commandsPerTask).filter(([, n]) => n >= 0.05).sort((a, b) => b[1] - a[1]);
    row("database commands per task", commands.reduce((sum, [, n]) => sum + n, 0).toFixed(1));
    for (const [key, n] of commands) row(`  ${key}`, n.toFixed(2));
  } finally {
    await markethub.stop();
  }
}
