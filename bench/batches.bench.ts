/**
 * Batches at size.
 *
 * 1. POST /api/v1/batches/ with 100,000 product ids (one insertMany per 5,000 jobs, built from one
 *    validated document per chunk).
 * 2. GET …/status on the 100,000-job batch vs a 1,000-job batch: medians and their ratio (≈1: the
 *    read does not grow with the batch — it is one document read of counters).
 * 3. GET /api/v1/dashboard/overview with 101,000 jobs (one $facet over the batches' counters).
 * 4. POST …/cancel of the 100,000-job batch (per from-state, updateMany in slices of 10,000 ids).
 *
 * Create and cancel also print the CPU seconds of the app and of the engine: on a shared machine the
 * wall time includes waiting for a core.
 *
 * Jobs are `simulated`, scheduled far ahead with a concurrency of 10, so nothing runs meanwhile and
 * only 10 queue entries are made. Engine in its own process with its journal; production settings.
 */
import { startBenchApp } from "./app.js";
import { cpuSeconds, medianMs, row } from "./lib.js";

const BIG = 100_000;
const SMALL = 1_000;
const READS = 200;
const FAR_FUTURE = "2999-01-01T00:00:00Z";

async function timed<T>(op: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const value = await op();
  return [value, performance.now() - t];
}

/** Runs `op`: its value, and the CPU seconds it cost the app and the engine ("app / engine"). */
async function withCpu<T>(enginePid: number, op: () => Promise<T>): Promise<[T, string]> {
  const before = cpuSeconds(enginePid);
  const value = await op();
  const after = cpuSeconds(enginePid);
  const engine = before.other === null || after.other === null ? "n/a" : (after.other - before.other).toFixed(1);
  return [value, `${(after.self - before.self).toFixed(1)} / ${engine}`];
}

export async function runBatchesBench(): Promise<void> {
  console.log("\nBatches (app in this process, engine in its own process with its journal; production settings)");
  const { engine, call, close } = await startBenchApp("batches", {
    BODY_LIMIT: "5mb",
    // 101,000 jobs queued in one brand: past the default queued quota (100,000).
    TASK_QUEUED_LIMIT_PER_BRAND: "200000",
  });
  try {
    await call("POST", "/api/v1/accounts/", { account_id: "acc-bench", name: "Bench" });
    const batch = (n: number) =>
      call("POST", "/api/v1/batches/", {
        account_id: "acc-bench",
        task_type: "simulated",
        product_ids: Array.from({ length: n }, (_, i) => i + 1),
        scheduled_for: FAR_FUTURE,
        concurrency: 10,
      });

    const small = (await batch(SMALL)).batch_id as string;
    const [[big, createMs], createCpu] = await withCpu(engine.pid, () => timed(() => batch(BIG)));
    const bigId = big.batch_id as string;
    row(`create a ${BIG.toLocaleString("en-US")}-job batch (POST, HTTP)`, createMs / 1000, "s");
    row("  jobs stored per second", BIG / (createMs / 1000), "jobs/s");
    row("  CPU seconds: app / engine", createCpu, "s");

    const smallMs = await medianMs(READS, () => call("GET", `/api/v1/batches/${small}/status`));
    const bigMs = await medianMs(READS, () => call("GET", `/api/v1/batches/${bigId}/status`));
    row(`status, ${SMALL.toLocaleString("en-US")}-job batch, median`, smallMs, "ms");
    row(`status, ${BIG.toLocaleString("en-US")}-job batch, median`, bigMs, "ms");
    row("ratio 100k / 1k (aim ≤ 1.2)", bigMs / smallMs, "x");

    const overviewMs = await medianMs(50, () => call("GET", "/api/v1/dashboard/overview?account_id=acc-bench"), 5);
    row(`overview with ${(BIG + SMALL).toLocaleString("en-US")} jobs, median`, overviewMs, "ms");

    const [[, cancelMs], cancelCpu] = await withCpu(engine.pid, () => timed(() => call("POST", `/api/v1/batches/${bigId}/cancel?reason=bench`)));
    row(`cancel the ${BIG.toLocaleString("en-US")}-job batch (POST, HTTP)`, cancelMs / 1000, "s");
    row("  CPU seconds: app / engine", cancelCpu, "s");
    const after = await call("GET", `/api/v1/batches/${bigId}/status`);
    row("  counters after cancel: pending + suspended", Number(after.pending_jobs) + Number(after.suspended_jobs));
  } finally {
    await close();
  }
}
