/**
 * Batches of extension jobs, with the test playing the seller's extension over the plugin API
 * (GET /api/plugin/tasks, heartbeat, result, release): a batch's `concurrency` caps the leases its
 * jobs hold at once, and a cancelled batch hands out nothing more — a job its bulk cancel has not
 * reached yet, or one handed back after it, ends cancelled; a lease of a cancelled job is refused.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchSchema, BatchStatusSchema, type BatchView } from "../../shared/batches.js";
import type { ClaimedTask } from "../../shared/plugin.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { newSeller, resultBody, resultDataFor, storedTask, type Seller } from "../plugin/helpers.js";
import { FAR_FUTURE, waitFor } from "../tasks/fixtures/tasks.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0" });
});
afterAll(() => server?.close());

const stats = (n: number) => Array.from({ length: n }, (_, i) => ({ context_data: { item_id: 1000 + i } }));

async function newBatch(seller: Seller, body: Record<string, unknown>): Promise<BatchView> {
  const account = await seller.request("POST", "/api/v1/accounts/", { body: { name: "Shop" } });
  expect(account.status, JSON.stringify(account.body)).toBe(201);
  const res = await seller.request("POST", "/api/v1/batches/", { body: { account_id: account.body.account_id, task_type: "vinted.get_stats", ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return BatchSchema.parse(res.body);
}

async function batchOf(seller: Seller, batchId: string): Promise<BatchView> {
  const res = await seller.request("GET", `/api/v1/batches/${batchId}/`);
  expect(res.status).toBe(200);
  return BatchSchema.parse(res.body);
}

/** Leases handed out until the extension is told there is nothing to claim. */
async function claimAll(seller: Seller): Promise<ClaimedTask[]> {
  const leases: ClaimedTask[] = [];
  for (;;) {
    const next = await seller.poll();
    if (next.task_id === null) return leases;
    leases.push(next as ClaimedTask);
  }
}

const succeed = (seller: Seller, lease: ClaimedTask) => seller.result(lease.task_id, resultBody(lease.lease_token, true, resultDataFor("get_stats", lease.params as Record<string, unknown>)));

/** The batch as the cancel endpoint leaves it before its bulk pass has reached every job. */
async function markCancelled(batchId: string, reason: string): Promise<void> {
  const batches = server.description.services.batches.batches.batches;
  await batches.updateOne({ batch_id: batchId, brand: { $exists: true } }, { $set: { state: "cancelled", is_active: false, completed_at: new Date(), cancellation_reason: reason } });
}

describe("extension jobs of a batch", () => {
  it("concurrency: the extension holds at most N leases of the batch at once; a finished job frees a slot; other tasks are not held back", async () => {
    const seller = await newSeller(server);
    const b = await newBatch(seller, { jobs: stats(5), concurrency: 2 });
    expect(b).toMatchObject({ executor: "extension", concurrency: 2 });

    const first = await claimAll(seller);
    expect(first.map((l) => l.task_id).every((id) => id !== null)).toBe(true);
    expect(first).toHaveLength(2);
    expect((await batchOf(seller, b.batch_id)).counts).toMatchObject({ running: 2, pending: 3 });

    // A task outside the batch is handed out while the batch's slots are taken.
    const own = await seller.create("get_user_data");
    const other = await claimAll(seller);
    expect(other.map((l) => l.task_id)).toEqual([own.task_id]);

    let most = 2;
    let leases = first;
    let done = 0;
    while (leases.length > 0) {
      const [finished, ...rest] = leases;
      expect((await succeed(seller, finished)).status).toBe(200);
      done++;
      leases = [...rest, ...(await claimAll(seller))];
      most = Math.max(most, leases.length);
      expect(leases.length).toBeLessThanOrEqual(2);
    }
    expect(done).toBe(5);
    expect(most).toBe(2);
    const status = BatchStatusSchema.parse((await seller.request("GET", `/api/v1/batches/${b.batch_id}/status`)).body);
    expect(status).toMatchObject({ is_active: false, total_jobs: 5, completed_jobs: 5, pending_jobs: 0 });
  });

  it("while a batch is being cancelled its pending jobs are not handed out but cancelled, and a job handed back then is cancelled too", async () => {
    const seller = await newSeller(server);
    const b = await newBatch(seller, { jobs: stats(3) });
    const held = await seller.claim();
    expect((await batchOf(seller, b.batch_id)).counts).toMatchObject({ running: 1, pending: 2 });
    const tasks = (await seller.request("GET", `/tasks/?batch_id=${b.batch_id}`)).body as { results: Array<{ task_id: string }> };
    expect(tasks.results).toHaveLength(3);

    await markCancelled(b.batch_id, "stop");
    expect(await seller.poll()).toMatchObject({ task_id: null });
    const release = await seller.request("POST", `/api/plugin/tasks/${held.task_id}/release`, { body: { lease_token: held.lease_token, reason_code: "VINTED_LOGGED_OUT", reason: "Logged out of Vinted" } });
    expect(release.status).toBe(200);
    const settled = await waitFor(() => batchOf(seller, b.batch_id), (x) => x.counts.cancelled === 3, { what: "every job cancelled" });
    expect(settled.counts).toMatchObject({ pending: 0, running: 0, suspended: 0, completed: 0 });
    for (const t of tasks.results) {
      const stored = await storedTask(server, t.task_id);
      expect(stored).toMatchObject({ status: "cancelled", error_message: "Batch cancelled: stop" });
    }
    expect(await seller.poll()).toMatchObject({ task_id: null });
  });

  it("a lease of a job cancelled with its batch is refused: heartbeat and result answer 409 cancelled and change nothing", async () => {
    const seller = await newSeller(server);
    const b = await newBatch(seller, { jobs: stats(2) });
    const leases = await claimAll(seller);
    expect(leases).toHaveLength(2);
    const cancel = await seller.request("POST", `/api/v1/batches/${b.batch_id}/cancel?reason=enough`);
    expect(cancel.status).toBe(200);
    const heartbeat = await seller.heartbeat(leases[0].task_id, { lease_token: leases[0].lease_token });
    expect(heartbeat.status).toBe(409);
    expect(JSON.stringify(heartbeat.body)).toContain("cancelled");
    const result = await succeed(seller, leases[1]);
    expect(result.status).toBe(409);
    expect(JSON.stringify(result.body)).toContain("cancelled");
    for (const lease of leases) expect(await storedTask(server, lease.task_id)).toMatchObject({ status: "cancelled", result_data: null, error_message: "Batch cancelled: enough" });
    expect((await batchOf(seller, b.batch_id)).counts).toMatchObject({ cancelled: 2, completed: 0, running: 0 });
  });
});

describe("server jobs of a batch being cancelled", () => {
  it("a worker's claim of a job the bulk cancel has not reached yet cancels it instead of running it", async () => {
    const seller = await newSeller(server);
    const account = await seller.request("POST", "/api/v1/accounts/", { body: { name: "Shop" } });
    const created = await seller.request("POST", "/api/v1/batches/", {
      body: { account_id: account.body.account_id, task_type: "simulated", jobs: [{ context_data: { steps: 1, step_ms: 1 } }], scheduled_for: FAR_FUTURE },
    });
    const b = BatchSchema.parse(created.body);
    const [job] = ((await seller.request("GET", `/tasks/?batch_id=${b.batch_id}`)).body as { results: Array<{ task_id: string }> }).results;
    await markCancelled(b.batch_id, "stop");
    const lifecycle = server.description.services.lifecycle;
    await lifecycle.tasks.updateOne({ task_id: job.task_id, brand: { $exists: true } }, { $set: { scheduled_for: null } });
    expect(await lifecycle.claim(job.task_id, randomUUID(), "test-worker")).toBeNull();
    expect(await storedTask(server, job.task_id)).toMatchObject({ status: "cancelled", started_at: null, attempt: 0, error_message: "Batch cancelled: stop" });
    expect((await batchOf(seller, b.batch_id)).counts).toMatchObject({ cancelled: 1, pending: 0 });
  });

  it("a running job is stopped by its runner after the cancel: it records its stopped run and never completes", async () => {
    const seller = await newSeller(server);
    const account = await seller.request("POST", "/api/v1/accounts/", { body: { name: "Shop" } });
    const created = await seller.request("POST", "/api/v1/batches/", {
      body: { account_id: account.body.account_id, task_type: "simulated", jobs: [{ context_data: { steps: 600, step_ms: 50 } }] },
    });
    const b = BatchSchema.parse(created.body);
    await waitFor(() => batchOf(seller, b.batch_id), (x) => x.counts.running === 1, { what: "the job running" });
    expect((await seller.request("POST", `/api/v1/batches/${b.batch_id}/cancel`)).status).toBe(200);
    const [job] = ((await seller.request("GET", `/tasks/?batch_id=${b.batch_id}`)).body as { results: Array<{ task_id: string }> }).results;
    // The runner noticed (its cancel poll): the run's token is cleared and its measures kept.
    const stopped = await waitFor(() => storedTask(server, job.task_id), (t) => t.run_token === null && t.metrics !== null, { what: "the run stopped" });
    expect(stopped.status).toBe("cancelled");
    expect(stopped.progress_percentage).toBeLessThan(100);
  });
});
