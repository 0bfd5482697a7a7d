/**
 * What a request costs the server's event loop when it arrives alone, against the same request
 * arriving back to back with others: empty polls, on MarketHub and on a bare Express server
 * answering a constant JSON. The bare server's ratio is the machine's and Node's own (no app code
 * runs there); the claims rounds at lower rates pay it per task, so their loop time per task grows
 * as the rate falls.
 */
import { opsPerSecond, row } from "./lib.js";
import { call, registerSeller, sleep, startChild, type ChildServer } from "./plugin-servers.js";

const WARM_REQUESTS = 2_000;
const BACK_TO_BACK_REQUESTS = 4_000;
const IN_FLIGHT = 16;
/** Alone: one request every 50 ms, each answered long before the next is sent. */
const ALONE_RATE = 20;
const ALONE_REQUESTS = 200;

/** µs of loop time per request while `send` runs. */
async function loopPerRequest(server: ChildServer, requests: number, send: () => Promise<void>): Promise<number> {
  const before = await server.counters();
  await send();
  const after = await server.counters();
  return ((after.loop.active - before.loop.active) * 1000) / requests;
}

async function emptyPollCosts(server: ChildServer, token?: string): Promise<{ backToBack: number; alone: number }> {
  const poll = async () => {
    const answer = await call(server.base, "GET", "/api/plugin/tasks", token);
    if (answer.status !== 200 || answer.body.task_id !== null) throw new Error(`empty poll: ${answer.status} ${JSON.stringify(answer.body)}`);
  };
  await opsPerSecond(WARM_REQUESTS, IN_FLIGHT, poll);
  const backToBack = await loopPerRequest(server, BACK_TO_BACK_REQUESTS, () => opsPerSecond(BACK_TO_BACK_REQUESTS, IN_FLIGHT, poll).then(() => undefined));
  const alone = await loopPerRequest(server, ALONE_REQUESTS, async () => {
    const started = performance.now();
    for (let i = 0; i < ALONE_REQUESTS; i++) {
      const wait = started + (i * 1000) / ALONE_RATE - performance.now();
      if (wait > 0) await sleep(wait);
      await poll();
    }
  });
  return { backToBack, alone };
}

async function measure(mode: "bare" | "markethub"): Promise<{ backToBack: number; alone: number }> {
  const server = await startChild(mode);
  try {
    const token = mode === "markethub" ? await registerSeller(server.base, "alone") : undefined;
    return await emptyPollCosts(server, token);
  } finally {
    await server.stop();
  }
}

export async function runRequestAloneCosts(): Promise<void> {
  console.log(`\nA request alone (${ALONE_RATE}/s) against back to back (${IN_FLIGHT} in flight): event-loop time per empty poll`);
  const bare = await measure("bare");
  const markethub = await measure("markethub");
  row("bare Express, back to back", bare.backToBack, "µs");
  row("bare Express, alone", bare.alone, "µs");
  row("ratio alone / back to back, bare Express", bare.alone / bare.backToBack, "x");
  row("MarketHub, back to back", markethub.backToBack, "µs");
  row("MarketHub, alone", markethub.alone, "µs");
  row("ratio alone / back to back, MarketHub", markethub.alone / markethub.backToBack, "x");
}
