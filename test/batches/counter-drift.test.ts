/**
 * Batch counters never drift: two real server processes run batches with retries, permanent
 * failures, single cancels, a pause and resume, a bulk cancel of running jobs, and one process is
 * killed with SIGKILL mid-run (its jobs are recovered by the other). At the end every counter of
 * every batch equals a count of its jobs by status.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchSchema, type BatchView } from "../../shared/batches.js";
import { TaskListResponseSchema, TASK_STATUSES } from "../../shared/tasks.js";
import { startCluster, type Cluster } from "../tasks/fixtures/cluster.js";
import { TaskApi, waitFor, type Body } from "../tasks/fixtures/tasks.js";

const FAST = { BATCH_COUNTS_QUIET_MS: "1000", TASK_POLL_MS: "100", TASK_HEARTBEAT_MS: "1000", TASK_CANCEL_POLL_MS: "100", TASK_RETRY_BASE_MS: "100", TASK_AUTO_RESUME: "true" };

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster(["a", "b"], FAST);
}, 60_000);
afterAll(() => cluster?.close());

const jobs = (n: number, context: Body) => Array.from({ length: n }, () => ({ context_data: { checkpoint_every: 0, steps: 1, step_ms: 5, ...context } }));

async function batchOf(api: TaskApi, batchId: string): Promise<BatchView> {
  const res = await api.call("GET", `/api/v1/batches/${batchId}/`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return BatchSchema.parse(res.body);
}

/** The jobs of the batch counted by status, through /tasks/. */
async function countedJobs(api: TaskApi, batchId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const status of TASK_STATUSES) {
    const res = await api.call("GET", `/tasks/?batch_id=${batchId}&status=${status}&page_size=1`);
    counts[status] = TaskListResponseSchema.parse(res.body).count;
  }
  return counts;
}

describe("batch counters against a count of the jobs", () => {
  it("retries, failures, cancels, pause/resume, a bulk cancel and a SIGKILLed process: no drift", async () => {
    const [a, b] = cluster.servers;
    const reg = await a.request<{ access_token: string }>("POST", "/api/v1/auth/register", {
      body: { email: `drift-${Date.now()}@example.com`, password: "a long enough password" },
    });
    const onA = new TaskApi(a.request, reg.body.access_token);
    const onB = new TaskApi(b.request, reg.body.access_token);
    expect((await onA.call("POST", "/api/v1/accounts/", { account_id: "acc-drift", name: "Drift" })).status).toBe(201);

    const create = async (body: Body) => {
      const res = await onA.call("POST", "/api/v1/batches/", { account_id: "acc-drift", task_type: "simulated", max_retries: 2, ...body });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return BatchSchema.parse(res.body).batch_id;
    };
    const main = await create({
      jobs: [
        ...jobs(20, {}),
        ...jobs(8, { fail_times: 1 }),
        ...jobs(6, { fail_permanently: true }),
        ...jobs(8, { steps: 40, step_ms: 50, checkpoint_every: 1 }),
      ],
    });
    const doomed = await create({ jobs: jobs(10, { steps: 200, step_ms: 50 }) });

    await waitFor(() => batchOf(onA, main), (x) => x.counts.running > 0, { what: "jobs running", timeoutMs: 20_000 });
    // Pause while jobs run, then resume.
    expect((await onA.call("POST", `/api/v1/batches/${main}/pause`)).status).toBe(200);
    expect((await onA.call("POST", `/api/v1/batches/${main}/resume`)).status).toBe(200);
    // Cancel two single jobs (one-task transitions), whatever their state.
    const some = TaskListResponseSchema.parse((await onA.call("GET", `/tasks/?batch_id=${main}&ordering=-id&page_size=2`)).body).results;
    for (const t of some) await onA.call("POST", `/tasks/${t.task_id}/cancel/`);

    // Kill the process running long jobs while it runs them.
    await waitFor(() => batchOf(onA, doomed), (x) => x.counts.running > 0, { what: "doomed jobs running", timeoutMs: 20_000 });
    expect(await a.kill("SIGKILL")).toBe("SIGKILL");

    // Bulk cancel a batch with running jobs, through the survivor.
    expect((await onB.call("POST", `/api/v1/batches/${doomed}/cancel?reason=drift`)).status).toBe(200);

    const finished = await waitFor(() => batchOf(onB, main), (x) => !x.is_active, { what: "the main batch to finish", timeoutMs: 120_000, intervalMs: 250 });
    expect(finished.counts.failed).toBeGreaterThanOrEqual(6);
    for (const id of [main, doomed]) {
      const x = await batchOf(onB, id);
      const counted = await countedJobs(onB, id);
      expect(x.counts, `${id} counters vs jobs`).toEqual(counted);
      expect(x.total_jobs).toBe(Object.values(counted).reduce((n, c) => n + c, 0));
    }
    // A job claimed while the cancel was being written may still be running out its last steps:
    // wait for the cancelled batch to settle, then its counters must still equal its jobs.
    const settled = await waitFor(
      () => batchOf(onB, doomed),
      (x) => x.counts.pending === 0 && x.counts.running === 0 && x.counts.suspended === 0,
      { what: "the cancelled batch to settle", timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(settled.counts, `${doomed} counters vs jobs once settled`).toEqual(await countedJobs(onB, doomed));
  }, 180_000);
});
