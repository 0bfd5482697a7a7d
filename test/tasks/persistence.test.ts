/**
 * Persistent jobs (spec/tasks-infrastructure-overview.md, task_persistence): the job list, the
 * resumable list, detail with the last checkpoint, the resume rules and the checkpoints list, per
 * brand. A crashed worker is planted in the database (its task left running under a silent
 * heartbeat) and found by the server's own recovery; processes.test.ts kills real processes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointListResponseSchema, PersistentJobListResponseSchema, PersistentJobSchema, ResumeJobResponseSchema } from "../../shared/persistence.js";
import type { TaskView } from "../../shared/tasks.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { TaskApi, plantCrashedRun, sleep, type Body } from "./fixtures/tasks.js";

const P = "/tasks/persistent-jobs";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ TASK_AUTO_RESUME: "false" });
});
afterAll(() => server?.close());

async function user(on: TestServer = server): Promise<TaskApi> {
  return new TaskApi(on.request, (await on.register()).access_token);
}

/** A simulated task of `steps` steps, planted as crashed after `checkpoints` of them, then found by recovery. */
async function interruptedJob(api: TaskApi, on: TestServer, { steps = 10, checkpoints = 3, workerId = "crashed-worker" } = {}): Promise<TaskView> {
  const task = await api.pending({ context_data: { steps, step_ms: 10, checkpoint_every: 1 } });
  await plantCrashedRun(on.db.connection, task, { steps, checkpoints, workerId });
  return api.waitFor(task.id, (t) => t.status !== "running", "recovery to find the dead worker's task", 5_000);
}

async function ok<T = Body>(api: TaskApi, method: string, path: string): Promise<T> {
  const res = await api.call<T>(method, path);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body;
}

describe("a job interrupted by a dead worker (TASK_AUTO_RESUME=false)", () => {
  let api: TaskApi;
  let job: TaskView;
  let completed: TaskView;
  let plain: TaskView;
  beforeAll(async () => {
    api = await user();
    completed = await api.create({ task_type: "simulated", context_data: { steps: 2, step_ms: 1, checkpoint_every: 1 } });
    plain = await api.create({ task_type: "simulated", context_data: { steps: 1, step_ms: 1, checkpoint_every: 0 } });
    completed = await api.waitForStatus(completed.id, "completed");
    await api.waitForStatus(plain.id, "completed");
    job = await interruptedJob(api, server);
  });

  it("is failed and interrupted, resumable from its checkpoint", () => {
    expect(job).toMatchObject({
      status: "failed",
      retry_count: 0,
      persistent_job: { state: "interrupted", can_resume: true, checkpoint_count: 3, progress_percentage: 30, resume_count: 0 },
    });
    expect(job.error_message).toContain("crashed-worker");
    expect(job.persistent_job!.interrupted_at).not.toBeNull();
  });

  it("GET persistent-jobs/: the brand's checkpointing tasks only, newest checkpoint first", async () => {
    const page = PersistentJobListResponseSchema.parse(await ok(api, "GET", `${P}/persistent-jobs/`));
    expect(page.results.map((j) => j.task_id)).toEqual([completed.task_id, job.task_id]);
    expect(page.count).toBe(2);
    expect(page.results[0]).toMatchObject({ id: completed.id, task_type: "simulated", status: "completed", state: "completed", can_resume: false, checkpoint_count: 2 });
    expect(page.results[0].last_checkpoint).toMatchObject({ sequence: 2, state: { step: 2 }, progress_percentage: 100 });
    const small = PersistentJobListResponseSchema.parse(await ok(api, "GET", `${P}/persistent-jobs/?page_size=1`));
    expect(small.results).toHaveLength(1);
    expect(small.next).toContain("page=2");
    expect((await api.call("GET", `${P}/persistent-jobs/?page_size=0`)).status).toBe(400);
  });

  it("GET persistent-jobs/resumable/: only the interrupted one", async () => {
    const page = PersistentJobListResponseSchema.parse(await ok(api, "GET", `${P}/persistent-jobs/resumable/`));
    expect(page.count).toBe(1);
    expect(page.results[0]).toMatchObject({ task_id: job.task_id, status: "failed", state: "interrupted", can_resume: true });
    expect(await api.ids("is_resumable=true")).toEqual([job.id]);
  });

  it("GET persistent-jobs/{id}/: by id or task_id, with the last checkpoint", async () => {
    const detail = PersistentJobSchema.parse(await ok(api, "GET", `${P}/persistent-jobs/${job.id}/`));
    expect(detail).toMatchObject({
      id: job.id,
      task_id: job.task_id,
      status: "failed",
      state: "interrupted",
      checkpoint_count: 3,
      progress_percentage: 30,
      last_checkpoint: { task_id: job.task_id, sequence: 3, state: { step: 3 }, progress_percentage: 30, worker_id: "crashed-worker" },
    });
    expect(await ok(api, "GET", `${P}/persistent-jobs/${job.task_id}/`)).toEqual(detail);
    // A task that never checkpointed is no persistent job.
    const none = await api.call<Body>("GET", `${P}/persistent-jobs/${plain.id}/`);
    expect(none.status).toBe(404);
    expect(none.body.error_code).toBe("TASK_NOT_FOUND");
    expect((await api.call("GET", `${P}/persistent-jobs/99999999/`)).status).toBe(404);
    expect((await api.call("GET", `${P}/persistent-jobs/nope/`)).status).toBe(400);
  });

  it("GET checkpoints/: the brand's checkpoints, newest first, filtered by task_id", async () => {
    const all = CheckpointListResponseSchema.parse(await ok(api, "GET", `${P}/checkpoints/?page_size=100`));
    expect(all.count).toBe(5);
    const mine = CheckpointListResponseSchema.parse(await ok(api, "GET", `${P}/checkpoints/?task_id=${job.task_id}`));
    expect(mine.results.map((c) => c.sequence)).toEqual([3, 2, 1]);
    expect(mine.results.every((c) => c.task_id === job.task_id)).toBe(true);
    const other = CheckpointListResponseSchema.parse(await ok(api, "GET", `${P}/checkpoints/?task_id=${completed.task_id}`));
    expect(other.results.map((c) => [c.sequence, c.state])).toEqual([[2, { step: 2 }], [1, { step: 1 }]]);
    expect((await api.call("GET", `${P}/checkpoints/?task_id=not-a-task-id`)).status).toBe(400);
    expect(CheckpointListResponseSchema.parse(await ok(api, "GET", `${P}/checkpoints/?task_id=task_0000000000`)).count).toBe(0);
  });

  it("POST …/resume/: continues from the checkpoint, not from scratch; only once", async () => {
    const before = Date.now();
    const res = await api.call("POST", `${P}/persistent-jobs/${job.id}/resume/`);
    expect(res.status).toBe(200);
    expect(ResumeJobResponseSchema.parse(res.body)).toEqual({
      message: "Job resumed from its last checkpoint",
      task_id: job.task_id,
      new_status: "pending",
      resumed_from_checkpoint: 3,
      progress_percentage: 30,
    });
    const done = await api.waitForStatus(job.id, "completed", 5_000);
    expect(done.result_data).toMatchObject({ steps_completed: 10, resumed_from_step: 3, steps_executed_this_run: 7 });
    expect(done.persistent_job).toMatchObject({ state: "completed", can_resume: false, checkpoint_count: 10, resume_count: 1 });
    expect(Date.parse(done.persistent_job!.resumed_at!)).toBeGreaterThanOrEqual(before - 1_000);
    expect(done.error_message).toBeNull();
    const cps = CheckpointListResponseSchema.parse(await ok(api, "GET", `${P}/checkpoints/?task_id=${job.task_id}&page_size=100`));
    expect(cps.results.map((c) => c.sequence)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);

    const again = await api.call<Body>("POST", `${P}/persistent-jobs/${job.id}/resume/`);
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error_code: "INVALID_OPERATION", current_status: "completed", allowed_statuses: ["failed", "cancelled"] });
    expect(PersistentJobListResponseSchema.parse(await ok(api, "GET", `${P}/persistent-jobs/resumable/`)).count).toBe(0);
  });
});

describe("resume rules", () => {
  it("400 INVALID_OPERATION for a job that was not interrupted: running, failed on its own, cancelled, completed", async () => {
    const api = await user();
    const running = await api.create({ task_type: "simulated", context_data: { steps: 200, step_ms: 50, checkpoint_every: 1 } });
    const timedOut = await api.create({ task_type: "simulated", timeout_minutes: 0.004, max_retries: 0, context_data: { steps: 50, step_ms: 40, checkpoint_every: 1 } });
    const cancelled = await api.create({ task_type: "simulated", context_data: { steps: 200, step_ms: 30, checkpoint_every: 1 } });
    await api.waitFor(cancelled.id, (t) => (t.persistent_job?.checkpoint_count ?? 0) >= 1, "a checkpoint");
    expect((await api.call("POST", `/tasks/${cancelled.id}/cancel/`)).status).toBe(200);
    await api.waitFor(running.id, (t) => (t.persistent_job?.checkpoint_count ?? 0) >= 1, "a checkpoint");
    const failed = await api.waitForStatus(timedOut.id, "failed", 5_000);
    expect(failed.persistent_job?.checkpoint_count).toBeGreaterThan(0);

    for (const [task, status] of [[running, "running"], [timedOut, "failed"], [cancelled, "cancelled"]] as const) {
      const res = await api.call<Body>("POST", `${P}/persistent-jobs/${task.id}/resume/`);
      expect(res.status, status).toBe(400);
      expect(res.body).toMatchObject({ error_code: "INVALID_OPERATION", current_status: status });
    }
    expect(PersistentJobListResponseSchema.parse(await ok(api, "GET", `${P}/persistent-jobs/resumable/`)).count).toBe(0);
    expect(await api.ids("is_resumable=true")).toEqual([]);
    await api.call("POST", `/tasks/${running.id}/cancel/`);
  });

  it("an orphan without checkpoints counts as a failed attempt: retried while retries remain, else failed", async () => {
    const api = await user();
    const retried = await api.pending({ context_data: { steps: 2, step_ms: 1, checkpoint_every: 0 } });
    const exhausted = await api.pending({ max_retries: 0, context_data: { steps: 2, step_ms: 1, checkpoint_every: 0 } });
    await plantCrashedRun(server.db.connection, retried, { steps: 2, checkpoints: 0 });
    await plantCrashedRun(server.db.connection, exhausted, { steps: 2, checkpoints: 0 });
    const done = await api.waitForStatus(retried.id, ["completed", "failed"], 5_000);
    expect(done).toMatchObject({ status: "completed", retry_count: 1, result_data: { attempt: 2, resumed_from_step: 0, steps_executed_this_run: 2 } });
    const failed = await api.waitForStatus(exhausted.id, ["completed", "failed"], 5_000);
    expect(failed).toMatchObject({ status: "failed", retry_count: 0, persistent_job: null });
    expect(failed.error_message).toContain("stopped while running");
    expect((await api.call("POST", `${P}/persistent-jobs/${exhausted.id}/resume/`)).status).toBe(404);
  });
});

describe("brand isolation", () => {
  it("another brand's jobs and checkpoints do not exist for you", async () => {
    const alice = await user();
    const bob = await user();
    const job = await interruptedJob(alice, server, { workerId: "crashed-worker-2" });
    expect(job.persistent_job?.state).toBe("interrupted");

    for (const path of [`${P}/persistent-jobs/${job.id}/`, `${P}/persistent-jobs/${job.task_id}/`]) {
      const res = await bob.call<Body>("GET", path);
      expect(res.status).toBe(404);
      expect(res.body.error_code).toBe("TASK_NOT_FOUND");
    }
    expect((await bob.call("POST", `${P}/persistent-jobs/${job.id}/resume/`)).status).toBe(404);
    expect(PersistentJobListResponseSchema.parse(await ok(bob, "GET", `${P}/persistent-jobs/`)).count).toBe(0);
    expect(PersistentJobListResponseSchema.parse(await ok(bob, "GET", `${P}/persistent-jobs/resumable/`)).count).toBe(0);
    expect(CheckpointListResponseSchema.parse(await ok(bob, "GET", `${P}/checkpoints/`)).count).toBe(0);
    expect(CheckpointListResponseSchema.parse(await ok(bob, "GET", `${P}/checkpoints/?task_id=${job.task_id}`)).count).toBe(0);
    expect((await alice.get(job.id)).status).toBe("failed");
    expect(PersistentJobListResponseSchema.parse(await ok(alice, "GET", `${P}/persistent-jobs/resumable/`)).count).toBe(1);
  });
});

describe("TASK_AUTO_RESUME=true", () => {
  it("the interrupted job is resumed from its checkpoint by itself", async () => {
    const auto = await startTestServer({ TASK_AUTO_RESUME: "true" });
    try {
      const api = await user(auto);
      const task = await api.pending({ context_data: { steps: 8, step_ms: 10, checkpoint_every: 1 } });
      await plantCrashedRun(auto.db.connection, task, { steps: 8, checkpoints: 5 });
      const done = await api.waitForStatus(task.id, ["completed", "failed"], 5_000);
      expect(done).toMatchObject({
        status: "completed",
        retry_count: 0,
        result_data: { resumed_from_step: 5, steps_executed_this_run: 3 },
        persistent_job: { state: "completed", resume_count: 1, checkpoint_count: 8 },
      });
      expect(PersistentJobListResponseSchema.parse(await ok(api, "GET", `${P}/persistent-jobs/resumable/`)).count).toBe(0);
      await sleep(50);
    } finally {
      await auto.close();
    }
  });
});
