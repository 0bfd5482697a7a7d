/**
 * The plugin poll endpoint under load, and how fast a new task reaches the extension.
 *
 * 1. Throughput: GET /api/plugin/tasks for 10,000 sellers (users and sessions seeded through the
 *    models, access tokens minted with the server's secret), round-robin, keep-alive, 64 in flight;
 *    next to a bare Express app answering the same constant JSON, with the same client, on the same
 *    machine, in the same run. Each server runs alone in its own child process (plugin-servers.ts);
 *    the per-seller pacing is off (PLUGIN_POLL_INTERVAL_MS=0), since the load generator polls each
 *    seller far more often than a real extension would.
 *    The warm-up polls every seller once: what is measured is the steady state of sellers polling
 *    every few seconds (the first poll of a seller after a restart reads its session).
 * 2. Latency from "task created" to "the simulated extension has it": long-poll (?wait=25) vs
 *    plain polling every 5 s (the extension's interval, simulated in real time; 5 samples).
 */
import { cpuSeconds, opsPerSecond, row } from "./lib.js";
import { agent, call, createTask, IN_FLIGHT, JWT_SECRET, median, registerSeller, SELLERS, sleep, startChild, type ChildServer } from "./plugin-servers.js";

const WARMUP_REQUESTS = SELLERS;
const MEASURED_REQUESTS = 12_000;
const POLL_ROUNDS = 4;
const LONG_POLL_SAMPLES = 20;
const PLAIN_POLL_SAMPLES = 5;
const PLAIN_POLL_INTERVAL_MS = 5_000;

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
