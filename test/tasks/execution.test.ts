import { hostname } from "node:os";
/**
 * Task execution as seen over HTTP: cancellation that really stops a run, timeouts, retries with
 * exponential backoff, permanent failures, max_retries, priority order, scheduled starts, progress,
 * cost and metrics, a server that only queues, and a worker that stops in the middle of a run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointListResponseSchema } from "../../shared/persistence.js";
import type { TaskView } from "../../shared/tasks.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { TaskApi, sleep, waitFor } from "./fixtures/tasks.js";

const BACKOFF_BASE_MS = 200;

let server: TestServer;
let api: TaskApi;
beforeAll(async () => {
  server = await startTestServer({ TASK_RETRY_BASE_MS: String(BACKOFF_BASE_MS) });
  api = new TaskApi(server.request, (await server.register()).access_token);
});
afterAll(() => server?.close());

async function checkpointCount(client: TaskApi, taskId: string): Promise<number> {
  const res = await client.call("GET", `/tasks/persistent-jobs/checkpoints/?task_id=${taskId}&page_size=1`);
  expect(res.status).toBe(200);
  return CheckpointListResponseSchema.parse(res.body).count;
}

describe("cancellation", () => {
  it("a running task cancelled mid-way stops: progress and checkpoints stop growing, status cancelled", async () => {
    const steps = 60;
    const task = await api.create({ task_type: "simulated", context_data: { steps, step_ms: 40, checkpoint_every: 1 } });
    const running = await api.waitFor(task.id, (t) => t.status === "running" && t.progress_percentage >= 10, "10% progress");
    expect(running.progress_percentage).toBeLessThan(100);

    const res = await api.call("POST", `/tasks/${task.id}/cancel/`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ previous_status: "running", task_id: task.task_id });

    // Once the runner has let go of the run, nothing may change any more.
    await waitFor(async () => server.description.services.execution.runner.runningTaskIds(), (ids) => !ids.includes(task.task_id), { what: "the runner to let go of the run" });
    const first = await api.get(task.id);
    const executed = await checkpointCount(api, task.task_id);
    await sleep(500);
    const later = await api.get(task.id);
    expect(later.status).toBe("cancelled");
    expect(later.progress_percentage).toBe(first.progress_percentage);
    expect(later.progress_percentage).toBeLessThan(100);
    expect(await checkpointCount(api, task.task_id)).toBe(executed);
    expect(executed).toBeGreaterThanOrEqual(6);
    expect(executed).toBeLessThan(steps);
    expect(later.result_data).toBeNull();
    expect(later.cancelled_at).not.toBeNull();
    expect(later.metrics?.execution_time_ms).toBeGreaterThan(0);
    expect(server.description.services.execution.runner.runningTaskIds()).not.toContain(task.task_id);
  });

  it("a handler that ignores the abort still ends cancelled, and its late writes are refused", async () => {
    const task = await api.create({ task_type: "simulated", context_data: { steps: 30, step_ms: 50, checkpoint_every: 1, ignore_abort: true } });
    await api.waitFor(task.id, (t) => t.status === "running" && (t.persistent_job?.checkpoint_count ?? 0) >= 2, "two checkpoints");
    expect((await api.call("POST", `/tasks/${task.id}/cancel/`)).status).toBe(200);
    await waitFor(async () => server.description.services.execution.runner.runningTaskIds(), (ids) => !ids.includes(task.task_id), { what: "the runner to let go of the run" });
    await sleep(100);
    const atCancel = await checkpointCount(api, task.task_id);
    const progress = (await api.get(task.id)).progress_percentage;
    await sleep(400); // the handler would have written ~8 more checkpoints by now
    const later = await api.get(task.id);
    expect(later.status).toBe("cancelled");
    expect(later.progress_percentage).toBe(progress);
    expect(await checkpointCount(api, task.task_id)).toBe(atCancel);
  });
});

describe("a run whose task changes under it in the database (another process's doing)", () => {
  const changes: Record<string, (db: TestServer["db"]["connection"], taskId: string) => Promise<unknown>> = {
    cancelled: (db, taskId) => db.collection("tasks").updateOne({ task_id: taskId }, { $set: { status: "cancelled", cancelled_at: new Date() } }),
    deleted: (db, taskId) => db.collection("tasks").deleteOne({ task_id: taskId }),
    // The other worker must look alive, or recovery (rightly) takes the task back from it.
    "taken over by another worker": async (db, taskId) => {
      const heartbeat = new Date(Date.now() + 60_000);
      await db.collection("task_workers").insertOne({ worker_id: "another-worker", host: hostname(), pid: process.pid, started_at: new Date(), last_heartbeat: heartbeat, running_jobs: [taskId], stopped_at: null });
      return db.collection("tasks").updateOne({ task_id: taskId }, { $set: { run_token: "another-run", worker_id: "another-worker" } });
    },
  };
  for (const [change, apply] of Object.entries(changes)) {
    it(`${change}: the run stops within the cancel poll and saves no more checkpoints`, async () => {
      const runner = server.description.services.execution.runner;
      const task = await api.create({ task_type: "simulated", context_data: { steps: 100, step_ms: 30, checkpoint_every: 1 } });
      await api.waitFor(task.id, (t) => t.status === "running" && (t.persistent_job?.checkpoint_count ?? 0) >= 2, "two checkpoints");
      await apply(server.db.connection, task.task_id);
      await waitFor(async () => runner.runningTaskIds(), (ids) => !ids.includes(task.task_id), { what: "the run to stop" });
      const count = await server.db.connection.collection("task_checkpoints").countDocuments({ task_id: task.task_id });
      await sleep(300);
      expect(await server.db.connection.collection("task_checkpoints").countDocuments({ task_id: task.task_id })).toBe(count);
      expect(count).toBeLessThan(100);
      const doc = await server.db.connection.collection("tasks").findOne({ task_id: task.task_id });
      if (change === "deleted") expect(doc).toBeNull();
      else expect(doc).toMatchObject({ status: change === "cancelled" ? "cancelled" : "running", result_data: null });
      if (change !== "deleted") await server.db.connection.collection("tasks").updateOne({ task_id: task.task_id }, { $set: { status: "cancelled" } });
    });
  }
});

describe("timeouts", () => {
  it("timeout_minutes (fractional) fails the task with a timeout error", async () => {
    const task = await api.create({ task_type: "simulated", timeout_minutes: 0.005, max_retries: 0, context_data: { steps: 50, step_ms: 100, checkpoint_every: 0 } });
    const failed = await api.waitForFinish(task.id);
    expect(failed).toMatchObject({ status: "failed", retry_count: 0, error_message: "Task timed out after 0.005 minutes", error_details: { type: "TaskStoppedError" } });
    // Stopped at its timeout (0.3 s, never sooner), not run to its end (5 s of steps).
    expect(Date.parse(failed.completed_at!) - Date.parse(failed.started_at!)).toBeGreaterThanOrEqual(280);
    expect(failed.progress_percentage).toBeLessThan(100);
    expect(failed.metrics?.execution_time_ms).toBeGreaterThanOrEqual(280);
  });

  it("a handler that ignores the abort still times out", async () => {
    const task = await api.create({ task_type: "simulated", timeout_minutes: 0.005, max_retries: 0, context_data: { steps: 50, step_ms: 100, checkpoint_every: 0, ignore_abort: true } });
    const failed = await api.waitForFinish(task.id);
    expect(failed.status).toBe("failed");
    expect(failed.error_message).toContain("timed out");
    // Failed at the timeout without waiting for the handler, which would have reached 100 % (5 s of steps).
    expect(failed.progress_percentage).toBeLessThan(100);
    expect(failed.result_data).toBeNull();
  });

  it("a timed-out attempt is retried like any failure while retries remain", async () => {
    const task = await api.create({ task_type: "simulated", timeout_minutes: 0.003, max_retries: 1, context_data: { steps: 50, step_ms: 100, checkpoint_every: 0 } });
    const failed = await api.waitFor(task.id, (t) => t.status === "failed", "failed after its retry");
    expect(failed.retry_count).toBe(1);
    expect(failed.error_message).toContain("timed out");
  });
});

describe("retries", () => {
  it("fail_times: 3 → each retry is scheduled base·2ⁿ after its failure (base, 2·base, 4·base), and completes on the fourth attempt", async () => {
    // What the server wrote at each retry, as it wrote it (no polling that could miss a short wait).
    const retries: Array<{ retry_count: number; failed_at: number; scheduled_for: number; error_message: string | null }> = [];
    const starts: Array<{ attempt: number; started_at: number }> = [];
    let taskId = "";
    const off = server.description.services.lifecycle.events.on("task.status_changed", ({ task, to }) => {
      if (task.task_id !== taskId) return;
      if (to === "pending" && task.scheduled_for) {
        retries.push({ retry_count: task.retry_count, failed_at: task.updated_at.getTime(), scheduled_for: task.scheduled_for.getTime(), error_message: task.error_message });
      }
      if (to === "running" && task.started_at) starts.push({ attempt: task.retry_count + 1, started_at: task.started_at.getTime() });
    });
    try {
      const task = await api.create({ task_type: "simulated", max_retries: 3, context_data: { fail_times: 3, steps: 1, step_ms: 1, checkpoint_every: 0 } });
      taskId = task.task_id;
      const done = await api.waitForFinish(task.id);
      expect(done).toMatchObject({ status: "completed", retry_count: 3, error_message: null, result_data: { attempt: 4, steps_completed: 1 } });
    } finally {
      off();
    }
    expect(retries.map((r) => [r.retry_count, r.error_message])).toEqual([1, 2, 3].map((n) => [n, `simulated failure (attempt ${n})`]));
    // The delay is decided a moment before the write stamps updated_at: at most base·2ⁿ, and only
    // that moment (synchronous code, far less than half a base) under it.
    const delays = retries.map((r) => r.scheduled_for - r.failed_at);
    delays.forEach((delay, n) => {
      expect(delay).toBeLessThanOrEqual(BACKOFF_BASE_MS * 2 ** n);
      expect(delay).toBeGreaterThan(BACKOFF_BASE_MS * 2 ** n - BACKOFF_BASE_MS / 2);
    });
    // No attempt starts before its retry was due.
    expect(starts.map((s) => s.attempt)).toEqual([1, 2, 3, 4]);
    retries.forEach((r, n) => expect(starts[n + 1].started_at).toBeGreaterThanOrEqual(r.scheduled_for));
  });

  it("fail_permanently → failed at once, no retry", async () => {
    const task = await api.create({ task_type: "simulated", max_retries: 5, context_data: { fail_permanently: true, fail_message: "invalid credentials" } });
    const failed = await api.waitForStatus(task.id, "failed");
    expect(failed).toMatchObject({ retry_count: 0, error_message: "invalid credentials", error_details: { type: "PermanentTaskError" } });
    await sleep(3 * BACKOFF_BASE_MS);
    expect(await api.get(task.id)).toMatchObject({ status: "failed", retry_count: 0, started_at: failed.started_at });
  });

  it("max_retries is respected: 1 + max_retries attempts, then failed", async () => {
    const task = await api.create({ task_type: "simulated", max_retries: 2, context_data: { fail_times: 10, steps: 1, step_ms: 1 } });
    const failed = await api.waitFor(task.id, (t) => t.status === "failed", "failed for good");
    expect(failed).toMatchObject({ retry_count: 2, error_message: "simulated failure (attempt 3)" });
    await sleep(5 * BACKOFF_BASE_MS);
    expect(await api.get(task.id)).toMatchObject({ status: "failed", retry_count: 2, started_at: failed.started_at });

    const none = await api.create({ task_type: "simulated", max_retries: 0, context_data: { fail_times: 1 } });
    expect(await api.waitForStatus(none.id, "failed")).toMatchObject({ retry_count: 0, error_message: "simulated failure (attempt 1)" });
  });
});

describe("progress, cost and metrics", () => {
  it("progress grows while running; cost, time and memory are recorded in metrics", async () => {
    const task = await api.create({ task_type: "simulated", context_data: { steps: 4, step_ms: 200, cost_per_step: 0.05, checkpoint_every: 0 } });
    const observed: Array<{ p: number; m: string | null }> = [];
    const done = await waitFor(
      async () => {
        const t = await api.get(task.id);
        if (t.status === "running") observed.push({ p: t.progress_percentage, m: t.progress_message });
        return t;
      },
      (t) => t.status === "completed" || t.status === "failed",
      { intervalMs: 20, what: "completion" },
    );
    const midway = observed.filter((o) => o.p > 0 && o.p < 100);
    expect(midway.length).toBeGreaterThan(0);
    expect(midway.map((o) => o.m)).toContain(`step ${(midway[0].p / 25) | 0}/4`);
    const values = observed.map((o) => o.p);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(done).toMatchObject({
      status: "completed",
      progress_percentage: 100,
      result_data: { steps_completed: 4, steps_executed_this_run: 4, resumed_from_step: 0, attempt: 1 },
      metrics: { cost_usd: 0.2 },
    });
    expect(done.metrics!.execution_time_ms).toBeGreaterThanOrEqual(800);
    expect(done.metrics!.execution_time_ms).toBeLessThan(Date.parse(done.completed_at!) - Date.parse(done.created_at) + 50);
    expect(done.metrics!.memory_usage_mb).toBeGreaterThan(10);
  });
});

describe("scheduling", () => {
  it("scheduled_for in the future delays the start", async () => {
    const at = new Date(Date.now() + 1_200);
    const task = await api.create({ task_type: "simulated", scheduled_for: at.toISOString(), context_data: { steps: 1, step_ms: 1 } });
    const done = await api.waitForStatus(task.id, "completed");
    // The server's own record: not started before it was due.
    expect(Date.parse(done.started_at!)).toBeGreaterThanOrEqual(at.getTime());
  });

  it("moving scheduled_for earlier with PATCH starts the task sooner", async () => {
    const task = await api.create({ task_type: "simulated", scheduled_for: "2999-01-01T00:00:00Z", context_data: { steps: 1, step_ms: 1 } });
    const res = await api.call("PATCH", `/tasks/${task.id}/`, { scheduled_for: new Date(Date.now() + 200).toISOString() });
    expect(res.status).toBe(200);
    await api.waitForStatus(task.id, "completed");
  });
});

describe("priority order (one task at a time)", () => {
  let single: TestServer;
  let client: TaskApi;
  beforeAll(async () => {
    single = await startTestServer({ TASK_CONCURRENCY: "1" });
    client = new TaskApi(single.request, (await single.register()).access_token);
  });
  afterAll(() => single?.close());

  it("a critical task created after several low ones runs before them; equal priorities run in creation order", async () => {
    // Holds the only slot until every other task is queued, however long creating them takes.
    const blocker = await client.create({ task_type: "simulated", context_data: { steps: 1_000, step_ms: 100, checkpoint_every: 0 } });
    await client.waitForStatus(blocker.id, "running");
    const lows: TaskView[] = [];
    for (let i = 0; i < 3; i++) lows.push(await client.create({ task_type: "simulated", priority: "low", context_data: { steps: 1, step_ms: 20 } }));
    const normal = await client.create({ task_type: "simulated", priority: "normal", context_data: { steps: 1, step_ms: 20 } });
    const critical = await client.create({ task_type: "simulated", priority: "critical", context_data: { steps: 1, step_ms: 20 } });
    expect((await client.get(lows[0].id)).status).toBe("pending");
    expect((await client.call("POST", `/tasks/${blocker.id}/cancel/`)).status).toBe(200);

    const finished = await Promise.all([...lows, normal, critical].map((t) => client.waitForStatus(t.id, "completed")));
    const order = [...finished].sort((a, b) => Date.parse(a.started_at!) - Date.parse(b.started_at!)).map((t) => t.id);
    expect(order).toEqual([critical.id, normal.id, ...lows.map((t) => t.id)]);
    // Never two at once.
    const spans = finished.map((t) => [Date.parse(t.started_at!), Date.parse(t.completed_at!)]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
  });
});

describe("queueing without executing", () => {
  it("a server that does not execute tasks still accepts them; a worker started later runs them", async () => {
    const apiOnly = await startTestServer({}, { taskExecution: false });
    try {
      const client = new TaskApi(apiOnly.request, (await apiOnly.register()).access_token);
      const task = await client.create({ task_type: "simulated", context_data: { steps: 1, step_ms: 1 } });
      await sleep(300);
      expect((await client.get(task.id)).status).toBe("pending");
      await apiOnly.description.services.execution.start();
      expect(await client.waitForStatus(task.id, "completed")).toMatchObject({ result_data: { attempt: 1 } });
    } finally {
      await apiOnly.close();
    }
  });
});

describe("a worker that stops in the middle of a run", () => {
  it("puts the task back in the queue; the next worker resumes it from its checkpoint", async () => {
    const own = await startTestServer();
    try {
      const client = new TaskApi(own.request, (await own.register()).access_token);
      const execution = own.description.services.execution;
      const task = await client.create({ task_type: "simulated", context_data: { steps: 20, step_ms: 50, checkpoint_every: 1 } });
      await client.waitFor(task.id, (t) => t.status === "running" && (t.persistent_job?.checkpoint_count ?? 0) >= 3, "three checkpoints");
      await execution.stop(0);
      const parked = await client.get(task.id);
      expect(parked.status).toBe("pending");
      await sleep(300);
      expect((await client.get(task.id)).status).toBe("pending");

      await execution.start();
      const done = await client.waitForStatus(task.id, "completed");
      const result = done.result_data as { resumed_from_step: number; steps_executed_this_run: number; steps_completed: number };
      expect(result.resumed_from_step).toBeGreaterThanOrEqual(3);
      expect(result.steps_executed_this_run).toBe(20 - result.resumed_from_step);
      expect(done.retry_count).toBe(0);
    } finally {
      await own.close();
    }
  });
});
