/**
 * What a task's requests cost the server's event loop, measured apart from the claims round's
 * queueing. Sixteen sellers; the loop's busy time is read over IPC before and after each step, and
 * the first rounds only warm the server up.
 * - One kind at a time: every seller sends one create, then one claiming poll, one result, one
 *   empty poll. Their sum is one task's loop time with all sixteen arriving together.
 * - Whole tasks as the extension runs them (poll held, the create wakes it, result): all sixteen
 *   started together, then each started at a random moment within a window, as a producer at a
 *   steady rate spreads them. The ratio is what arriving one by one costs.
 */
import http from "node:http";
import { row } from "./lib.js";
import { call, createTask, postResult, registerSeller, sleep, startChild, type Claimed, type ChildServer } from "./plugin-servers.js";

const SELLERS = 16;
const WARM_ROUNDS = 150;
const ROUNDS = 150;
/** Spread tasks start within this window, about the time sixteen of them take at 300/s. */
const SPREAD_MS = 50;
/** Lets a held poll reach the server before its task is created. */
const HOLD_MS = 5;

type Kind = "create" | "claim" | "result" | "empty poll" | "task, started together" | "task, started spread";

interface Cost {
  loopMs: number;
  commands: Record<string, number>;
}

interface Seller {
  token: string;
  /** Its own connection, as a browser has. */
  agent: http.Agent;
}

class Tally {
  readonly costs = new Map<Kind, Cost>();
  counting = false;

  constructor(
    private readonly server: ChildServer,
    readonly sellers: Seller[],
  ) {}

  /** Every seller's `send`, at once; the loop's time and the commands are `kind`'s. */
  async measure(kind: Kind, send: (seller: Seller) => Promise<void>): Promise<void> {
    const before = await this.server.counters();
    await Promise.all(this.sellers.map(send));
    const after = await this.server.counters();
    if (!this.counting) return;
    const cost = this.costs.get(kind) ?? { loopMs: 0, commands: {} };
    cost.loopMs += after.loop.active - before.loop.active;
    for (const [key, n] of Object.entries(after.commands)) cost.commands[key] = (cost.commands[key] ?? 0) + n - (before.commands[key] ?? 0);
    this.costs.set(kind, cost);
  }

  /** µs of loop time per request (or task) of `kind`. */
  perRequest(kind: Kind): number {
    return ((this.costs.get(kind)?.loopMs ?? 0) * 1000) / (this.sellers.length * ROUNDS);
  }
}

async function claimOne(base: string, seller: Seller, wait: number): Promise<Claimed> {
  const answer = await call(base, "GET", `/api/plugin/tasks${wait ? `?wait=${wait}` : ""}`, seller.token, undefined, seller.agent);
  if (typeof answer.body.task_id !== "string") throw new Error(`claim: no task (${JSON.stringify(answer.body)})`);
  return { taskId: answer.body.task_id, lease: answer.body.lease_token as string };
}

async function oneKindAtATime(tally: Tally, base: string): Promise<void> {
  const claimed = new Map<Seller, Claimed>();
  await tally.measure("create", async (seller) => {
    await createTask(base, seller.token);
  });
  await tally.measure("claim", async (seller) => {
    claimed.set(seller, await claimOne(base, seller, 0));
  });
  await tally.measure("result", (seller) => postResult(base, seller.token, claimed.get(seller)!, seller.agent));
  await tally.measure("empty poll", async (seller) => {
    const answer = await call(base, "GET", "/api/plugin/tasks", seller.token, undefined, seller.agent);
    if (answer.body.task_id !== null) throw new Error(`empty poll: got ${JSON.stringify(answer.body)}`);
  });
}

/** The extension's way: its poll is held, the producer's create wakes it, it posts the result. */
async function wholeTask(base: string, seller: Seller, startWithin: number): Promise<void> {
  if (startWithin > 0) await sleep(Math.random() * startWithin);
  const held = claimOne(base, seller, 25);
  await sleep(HOLD_MS);
  await createTask(base, seller.token);
  await postResult(base, seller.token, await held, seller.agent);
}

function printCosts(tally: Tally, kinds: Kind[]): void {
  const requests = tally.sellers.length * ROUNDS;
  for (const kind of kinds) {
    row(kind, tally.perRequest(kind), "µs");
    const commands = Object.entries(tally.costs.get(kind)?.commands ?? {}).filter(([, n]) => n / requests >= 0.05);
    console.log(`    database commands: ${commands.map(([key, n]) => `${(n / requests).toFixed(1)} ${key}`).join(", ") || "none"}`);
  }
}

export async function runTaskRequestCosts(): Promise<void> {
  console.log(`\nA task's requests: event-loop time each (${SELLERS} sellers, ${ROUNDS} rounds after ${WARM_ROUNDS} of warm-up)`);
  const server = await startChild("markethub");
  const sellers = await Promise.all(
    Array.from({ length: SELLERS }, async (_, i) => ({ token: await registerSeller(server.base, `requests${i}`), agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) })),
  );
  try {
    const tally = new Tally(server, sellers);
    for (let round = 0; round < WARM_ROUNDS + ROUNDS; round++) {
      tally.counting = round >= WARM_ROUNDS;
      await oneKindAtATime(tally, server.base);
      await tally.measure("task, started together", (seller) => wholeTask(server.base, seller, 0));
      await tally.measure("task, started spread", (seller) => wholeTask(server.base, seller, SPREAD_MS));
    }
    printCosts(tally, ["create", "claim", "result", "empty poll"]);
    const task = tally.perRequest("create") + tally.perRequest("claim") + tally.perRequest("result");
    row("one task: create + claim + result", task, "µs");
    row("claims/s one event loop serves at 100 % busy", 1e6 / task, "/s");
    const together = tally.perRequest("task, started together");
    const spread = tally.perRequest("task, started spread");
    row("whole task, poll held, 16 started together", together, "µs");
    row(`whole task, poll held, 16 started within ${SPREAD_MS} ms`, spread, "µs");
    row("ratio spread / together", spread / together, "x");
  } finally {
    for (const seller of sellers) seller.agent.destroy();
    await server.stop();
  }
}
