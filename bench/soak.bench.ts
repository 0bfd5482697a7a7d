/**
 * Memory under steady work with a short retention: tasks are created and finished in rounds, and
 * the resident memory of the app and of the engine is printed after each round, once the retention
 * sweep has removed that round's finished work and after a full garbage collection in each process
 * (the engine's is asked for over the bench's IPC channel: engine-probe.ts). Flat after the first round means nothing is kept
 * of finished tasks (the first round sizes the heaps and caches).
 *
 * Each round: one batch of jobs scheduled ahead, then cancelled (created and finished by the same
 * paths as at any size: insertMany per 5,000 jobs, bulk cancel in slices), plus server tasks due at
 * once that really run (queue, claim, run, complete with metrics). TASK_RETENTION=1s, and the
 * retention sweep is run until the round's tasks are gone.
 *
 * SOAK_ROUNDS (default 5) and SOAK_TASKS_PER_ROUND (default 20,000) scale it: the default is
 * 100,000 tasks. Engine in its own process with its journal; production settings.
 */
import fs from "node:fs";
import v8 from "node:v8";
import vm from "node:vm";
import { startBenchApp } from "./app.js";
import { row } from "./lib.js";

const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.SOAK_TASKS_PER_ROUND ?? 20_000);
/** Of each round's tasks, these run for real (the rest are a batch's jobs, cancelled). */
const RUN_PER_ROUND = 200;
const FAR_FUTURE = "2999-01-01T00:00:00Z";
const ROUND_DEADLINE_MS = 300_000;

v8.setFlagsFromString("--expose-gc");
/** A full collection before each reading: what is measured is what stays reachable. */
const collectGarbage = vm.runInNewContext("gc") as () => void;

const MiB = 1024 * 1024;

function residentMiB(pid: number | "self"): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ROUND_DEADLINE_MS;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`soak: ${what} did not happen within ${ROUND_DEADLINE_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function runSoakBench(): Promise<void> {
  const total = ROUNDS * PER_ROUND;
  console.log(`\nSoak: ${total.toLocaleString("en-US")} tasks created and finished in ${ROUNDS} rounds, retention 1 s (app in this process, engine in its own process; production settings)`);
  const { engine, services, call, close } = await startBenchApp("soak", {
    BODY_LIMIT: "5mb",
    TASK_RETENTION: "1s",
    TASK_CONCURRENCY: "8",
    TASK_RUNNING_LIMIT_PER_BRAND: "8",
  });
  const tasks = services.lifecycle.tasks.collection;
  try {
    await services.execution.start();
    await call("POST", "/api/v1/accounts/", { account_id: "acc-soak", name: "Soak" });
    const readings: Array<{ app: number; engine: number }> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const started = performance.now();
      const batch = await call("POST", "/api/v1/batches/", {
        account_id: "acc-soak",
        task_type: "simulated",
        product_ids: Array.from({ length: PER_ROUND - RUN_PER_ROUND }, (_, i) => i + 1),
        scheduled_for: FAR_FUTURE,
        concurrency: 10,
      });
      for (let i = 0; i < RUN_PER_ROUND; i++) await call("POST", "/tasks/", { task_type: "simulated", context_data: { steps: 1 } });
      await call("POST", `/api/v1/batches/${batch.batch_id as string}/cancel?reason=soak`);
      await until(`round ${round}'s runs to finish`, async () => (await tasks.countDocuments({ status: { $in: ["pending", "running"] } })) === 0);
      // The sweep the retention loop runs every RETENTION_SWEEP_INTERVAL, called here as soon as
      // the round's work is past its 1 s of retention.
      await until(`round ${round}'s tasks to be swept`, async () => {
        await services.retention.sweep();
        return (await tasks.estimatedDocumentCount()) === 0;
      });
      collectGarbage();
      const engineMemory = await engine.memoryAfterGc();
      const reading = { app: residentMiB("self"), engine: engineMemory.rss / MiB };
      readings.push(reading);
      const took = ((performance.now() - started) / 1000).toFixed(0);
      row(
        `round ${round}: ${(round * PER_ROUND).toLocaleString("en-US")} tasks so far, RSS app / engine`,
        `${reading.app.toFixed(0)} / ${reading.engine.toFixed(0)}`,
        `MiB (engine heap used / total ${(engineMemory.heapUsed / MiB).toFixed(0)} / ${(engineMemory.heapTotal / MiB).toFixed(0)}, external ${(engineMemory.external / MiB).toFixed(0)} MiB; round: ${took} s)`,
      );
    }
    if (readings.length > 1) {
      const [first, last] = [readings[0], readings.at(-1)!];
      row("RSS last / first round: app", last.app / first.app, "x");
      row("RSS last / first round: engine", last.engine / first.engine, "x");
    }
  } finally {
    await close();
  }
}
