/**
 * A process killed between making a task pending and saving its run leaves a task no run holds;
 * one killed after locking a run but before claiming its task leaves the run locked for Agenda's
 * lock lifetime (60 s). Both are put back by the sweep of dead workers' work, which goes through the
 * pending tasks once a dead worker is first seen. The state a crash leaves is written directly to
 * the database: the moment of a real SIGKILL cannot be aimed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchSchema } from "../../shared/batches.js";
import { TaskListResponseSchema } from "../../shared/tasks.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { AGENDA_COLLECTION } from "../../server/src/tasks/executor/runner.js";
import { TaskApi, waitFor } from "./fixtures/tasks.js";

/** Heartbeats every second: a silent worker is dead after 3 s, and the sweep runs every second. */
const FAST = { TASK_HEARTBEAT_MS: "1000", TASK_POLL_MS: "100" };
/** Well below Agenda's 60 s lock lifetime, which is what a locked run would otherwise wait for. */
const SOONER_THAN_LOCK_EXPIRY_MS = 40_000;

let server: TestServer;
let api: TaskApi;
beforeAll(async () => {
  server = await startTestServer(FAST);
  api = new TaskApi(server.request, (await server.register()).access_token);
});
afterAll(() => server?.close());

const tasks = () => server.db.connection.collection("tasks");
const runs = () => server.db.connection.collection(AGENDA_COLLECTION);
const workers = () => server.db.connection.collection("task_workers");
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
const longAgo = () => new Date(Date.now() - 600_000);

/** A task queued for later, so that the test can shape its run before it would start. */
async function queuedForLater(context: Record<string, unknown> = { steps: 1, step_ms: 1 }) {
  const task = await api.create({ task_type: "simulated", scheduled_for: inAnHour(), context_data: context });
  await waitFor(() => runs().countDocuments({ "data.task_id": task.task_id }), (n) => n === 1, { what: "its run saved" });
  return task;
}

describe("work a dead process left behind", () => {
  it("a pending task with no run (its process died before saving it) is queued again and runs", async () => {
    const task = await queuedForLater();
    // What a process killed between the task's write and its run's save leaves: a due task, no run,
    // and the dead process's worker row, silent since.
    await runs().deleteMany({ "data.task_id": task.task_id });
    await tasks().updateOne({ task_id: task.task_id }, { $set: { scheduled_for: null, updated_at: new Date() } });
    const silentSince = longAgo();
    await workers().insertOne({ worker_id: "gone-host:999998:dead01", host: "gone-host", pid: 999998, started_at: silentSince, last_heartbeat: silentSince, running_jobs: [], stopped_at: null });

    const done = await api.waitForStatus(task.id, ["completed"]);
    expect(done.retry_count).toBe(0);
    // Its one run is removed once finished (Agenda does so just after the task's last write).
    await waitFor(() => runs().countDocuments({ "data.task_id": task.task_id }), (n) => n === 0, { what: "the finished run removed" });
  });

  it("a run locked by a worker that died before claiming its task is released, long before its lock expires", async () => {
    const task = await queuedForLater();
    await runs().updateOne({ "data.task_id": task.task_id }, { $set: { lockedAt: new Date(), nextRunAt: null, lastModifiedBy: "gone-host:999999:dead00" } });
    await tasks().updateOne({ task_id: task.task_id }, { $set: { scheduled_for: null } });

    const done = await api.waitForStatus(task.id, ["completed"], SOONER_THAN_LOCK_EXPIRY_MS);
    expect(done.retry_count).toBe(0);
  });

  it("leaves the pending jobs a batch holds for its concurrency to the batch, and queues a lost one beside them", async () => {
    expect((await api.call("POST", "/api/v1/accounts/", { account_id: "acc-lost", name: "Lost" })).status).toBe(201);
    const res = await api.call("POST", "/api/v1/batches/", {
      account_id: "acc-lost",
      task_type: "simulated",
      concurrency: 1,
      jobs: Array.from({ length: 4 }, () => ({ context_data: { steps: 400, step_ms: 50 } })),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const batchId = BatchSchema.parse(res.body).batch_id;
    const listed = async (status: string) => TaskListResponseSchema.parse((await api.call("GET", `/tasks/?batch_id=${batchId}&status=${status}&page_size=10`)).body);
    await waitFor(() => listed("running"), (l) => l.count === 1, { what: "one job of the batch running" });
    const held = (await listed("pending")).results.map((t) => t.task_id);
    expect(held).toHaveLength(3);
    expect(await runs().countDocuments({ "data.task_id": { $in: held } })).toBe(0);

    const lost = await queuedForLater();
    await runs().deleteMany({ "data.task_id": lost.task_id });
    await tasks().updateMany({ task_id: { $in: [...held, lost.task_id] } }, { $set: { updated_at: longAgo() } });
    await tasks().updateOne({ task_id: lost.task_id }, { $set: { scheduled_for: null } });

    // The sweep, called here as its timer calls it (the timer may have taken the lost task first).
    const requeued = await server.description.services.execution.lostRuns.requeueLost();
    expect(requeued).toBeLessThanOrEqual(1);
    await api.waitForStatus(lost.id, ["completed"]);
    expect(await runs().countDocuments({ "data.task_id": { $in: held } })).toBe(0);
    expect((await listed("pending")).count).toBe(3);

    expect((await api.call("POST", `/api/v1/batches/${batchId}/cancel?reason=done`)).status).toBe(200);
  });
});
