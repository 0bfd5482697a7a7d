/** GET /api/v1/batches/{id}/summary over HTTP: counts, durations, cost, throughput, ETA, top errors, reason. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchSchema, BatchStatusSchema, BatchSummarySchema } from "../../shared/batches.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { FAR_FUTURE, TaskApi, waitFor, type Body } from "../tasks/fixtures/tasks.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const job = (extra: Body = {}) => ({ context_data: { steps: 1, step_ms: 5, checkpoint_every: 0, ...extra } });

describe("batch summary", () => {
  it("a finished batch: counts, durations, cost, throughput, the most frequent errors with examples", async () => {
    const api = new TaskApi(server.request, (await server.register()).access_token);
    await api.call("POST", "/api/v1/accounts/", { account_id: "acc-sum", name: "Summary" });
    const create = async (body: Body) => BatchSchema.parse((await api.call("POST", "/api/v1/batches/", { account_id: "acc-sum", task_type: "simulated", ...body })).body);
    const b = await create({
      jobs: [job(), job(), job(), job({ fail_permanently: true, fail_message: "listing rejected" }), job({ fail_permanently: true, fail_message: "listing rejected" }), job({ fail_permanently: true, fail_message: "photo missing" })],
      cost_per_job: 0.5,
    });
    await waitFor(async () => BatchStatusSchema.parse((await api.call("GET", `/api/v1/batches/${b.batch_id}/status`)).body), (s) => !s.is_active, { timeoutMs: 30_000 });
    const res = await api.call("GET", `/api/v1/batches/${b.batch_id}/summary`);
    expect(res.status).toBe(200);
    const s = BatchSummarySchema.parse(res.body);
    expect(s.counts).toEqual({ pending: 0, running: 0, completed: 3, failed: 3, cancelled: 0, suspended: 0 });
    expect(s.cost).toEqual({ total: 1.5, per_job: 0.5, unpaid_jobs: 0 });
    expect(s.duration_seconds.p50).not.toBeNull();
    expect(s.duration_seconds.p95!).toBeGreaterThanOrEqual(s.duration_seconds.p50!);
    expect(s.throughput_per_minute).toBeGreaterThan(0);
    expect(s.eta).toBeNull();
    expect(s.top_errors.map((e) => [e.error_message, e.count, e.example_job_ids.length])).toEqual([
      ["listing rejected", 2, 2],
      ["photo missing", 1, 1],
    ]);
    expect(s.timestamps.completed_at).not.toBeNull();

    const cancelled = await create({ jobs: [job(), job()], scheduled_for: FAR_FUTURE });
    await api.call("POST", `/api/v1/batches/${cancelled.batch_id}/cancel?reason=wrong%20prices`);
    const c = BatchSummarySchema.parse((await api.call("GET", `/api/v1/batches/${cancelled.batch_id}/summary`)).body);
    expect(c).toMatchObject({ cancellation_reason: "wrong prices", counts: { cancelled: 2 }, duration_seconds: { avg: null, p50: null, p95: null }, eta: null });
    const stranger = new TaskApi(server.request, (await server.register()).access_token);
    expect((await stranger.call("GET", `/api/v1/batches/${b.batch_id}/summary`)).status).toBe(404);
  });
});
