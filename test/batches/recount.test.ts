/**
 * Counter repair: a job whose status was written without the batch counter update that follows it
 * (what a process killed between the two writes leaves) is found by the recount once the batch is
 * quiet, and the counters, state and is_active are set from a count of the jobs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchSchema, BatchStatusSchema, type BatchStatus } from "../../shared/batches.js";
import { TaskListResponseSchema } from "../../shared/tasks.js";
import type { BackgroundService } from "../../server/src/lifecycle/services.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { TaskApi, waitFor } from "../tasks/fixtures/tasks.js";

let server: TestServer;
let recount: BackgroundService | undefined;
beforeAll(async () => {
  // No task execution: the jobs stay where the test puts them.
  server = await startTestServer({ BATCH_COUNTS_QUIET_MS: "200" }, { taskExecution: false });
  recount = server.description.background.find((s) => s.name === "batch-recount");
  if (!recount) throw new Error("no batch-recount background service");
  await recount.start();
});
afterAll(async () => {
  await recount?.stop();
  await server?.close();
});

const jobs = (n: number) => Array.from({ length: n }, () => ({ context_data: { steps: 1, step_ms: 1, checkpoint_every: 0 } }));

describe("batch counter recount", () => {
  it("repairs counters a lost update left behind, and the batch finishes when its jobs have", async () => {
    const api = new TaskApi(server.request, (await server.register()).access_token);
    expect((await api.call("POST", "/api/v1/accounts/", { account_id: "acc-recount", name: "Recount" })).status).toBe(201);
    const created = await api.call("POST", "/api/v1/batches/", { account_id: "acc-recount", task_type: "simulated", jobs: jobs(3) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = BatchSchema.parse(created.body).batch_id;
    const status = async (): Promise<BatchStatus> => BatchStatusSchema.parse((await api.call("GET", `/api/v1/batches/${id}/status`)).body);
    expect(await status()).toMatchObject({ pending_jobs: 3, completed_jobs: 0, is_active: true });

    // Two jobs finish behind the counters' back, as if each process died right after its status write.
    const listed = TaskListResponseSchema.parse((await api.call("GET", `/tasks/?batch_id=${id}&page_size=10`)).body).results;
    expect(listed).toHaveLength(3);
    const tasks = server.db.connection.db!.collection("tasks");
    for (const t of listed.slice(0, 2)) {
      const written = await tasks.updateOne({ task_id: t.task_id }, { $set: { status: "completed", completed_at: new Date() } });
      expect(written.modifiedCount).toBe(1);
    }
    // One more through the API (its counter update is applied), so the batch is unverified again.
    expect((await api.call("POST", `/tasks/${listed[2]!.task_id}/cancel/`)).status).toBe(200);

    const repaired = await waitFor(status, (s) => s.completed_jobs === 2, { what: "the counters to be recounted", timeoutMs: 30_000 });
    expect(repaired).toMatchObject({ total_jobs: 3, pending_jobs: 0, completed_jobs: 2, suspended_jobs: 0, is_active: false });
    const view = BatchSchema.parse((await api.call("GET", `/api/v1/batches/${id}/`)).body);
    expect(view.counts).toMatchObject({ running: 0, cancelled: 1 });
    expect(view.state).toBe("completed");
    expect(view.completed_at).not.toBeNull();
  });

  it("leaves exact counters as they are", async () => {
    const api = new TaskApi(server.request, (await server.register()).access_token);
    await api.call("POST", "/api/v1/accounts/", { account_id: "acc-exact", name: "Exact" });
    const id = BatchSchema.parse((await api.call("POST", "/api/v1/batches/", { account_id: "acc-exact", task_type: "simulated", jobs: jobs(4) })).body).batch_id;
    expect((await api.call("POST", `/api/v1/batches/${id}/cancel?reason=done`)).status).toBe(200);
    const batches = server.db.connection.db!.collection("batches");
    const verified = await waitFor(() => batches.findOne({ batch_id: id }), (b) => b?.counts_verified === true, { what: "the recount to confirm the counters", timeoutMs: 30_000 });
    expect(verified).toMatchObject({ total_jobs: 4, cancelled_jobs: 4, pending_jobs: 0, state: "cancelled", is_active: false });
  });
});
