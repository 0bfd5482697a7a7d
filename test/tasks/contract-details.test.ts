/**
 * Smaller points of spec/task-core-api.md: page links as the spec shows them, retry's reset_progress
 * and checkpoints, updates of finished tasks and partial PUTs, the bare base paths of the sub-APIs,
 * a cancelled checkpointed job, and the spec's permission error for a task the caller may know.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrandSchema } from "../../shared/brands.js";
import { CheckpointListResponseSchema } from "../../shared/persistence.js";
import { startTestServer, type RegisteredUser, type TestServer } from "../helpers/app.js";
import { FAR_FUTURE, TaskApi, patchTaskDocument, type Body } from "./fixtures/tasks.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const P = "/tasks/persistent-jobs";
const PERMISSION = { detail: "You do not have permission to access this task", error_code: "PERMISSION_DENIED" };

async function newUser(): Promise<{ user: RegisteredUser; api: TaskApi }> {
  const user = await server.register();
  return { user, api: new TaskApi(server.request, user.access_token) };
}

async function checkpointsOf(api: TaskApi, taskId: string) {
  const res = await api.call("GET", `${P}/checkpoints/?task_id=${taskId}&page_size=100`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return CheckpointListResponseSchema.parse(res.body);
}

/** A failed job that had saved `n` checkpoints ({step: k}), written as a run would have left it. */
async function plantFailedJob(api: TaskApi, n: number, steps: number) {
  const task = await api.pending({ context_data: { steps, step_ms: 1, checkpoint_every: 1 } });
  const db = server.db.connection;
  for (let k = 1; k <= n; k++) {
    await db.collection("task_checkpoints").insertOne({ task_id: task.task_id, brand: task.brand.id, sequence: k, state: { step: k }, progress_percentage: (k / steps) * 100, worker_id: "w", created_at: new Date() });
  }
  await patchTaskDocument(db, task.task_id, {
    status: "failed",
    completed_at: new Date(),
    error_message: "boom",
    progress_percentage: (n / steps) * 100,
    persistent_job: { state: "failed", can_resume: true, checkpoint_count: n, last_checkpoint_at: new Date(), progress_percentage: (n / steps) * 100, interrupted_at: null, resumed_at: null, resume_count: 0 },
  });
  return task;
}

describe("page links", () => {
  it("next and previous are as the spec shows them: ?page=2", async () => {
    const { api } = await newUser();
    for (let n = 0; n < 21; n++) await api.pending();
    const first = await api.call<Body>("GET", "/tasks/");
    expect(first.body).toMatchObject({ count: 21, next: "?page=2", previous: null });
    const second = await api.call<Body>("GET", `/tasks/${first.body.next as string}`);
    expect(second.body).toMatchObject({ count: 21, next: null, previous: "?page=1" });
    expect((second.body.results as Body[]).length).toBe(1);
    const filtered = await api.call<Body>("GET", "/tasks/?status=pending&page_size=20");
    expect(filtered.body.next).toBe("?status=pending&page_size=20&page=2");
  });
});

describe("retry and checkpoints", () => {
  it("reset_progress (the default) discards the checkpoints: the job starts over", async () => {
    const { api } = await newUser();
    const task = await plantFailedJob(api, 3, 5);
    expect((await checkpointsOf(api, task.task_id)).count).toBe(3);
    const res = await api.call("POST", `/tasks/${task.id}/retry/`, { reset_progress: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const done = await api.waitForStatus(task.id, "completed");
    expect(done.result_data).toMatchObject({ resumed_from_step: 0, steps_executed_this_run: 5 });
    const left = await checkpointsOf(api, task.task_id);
    // Only the new run's: numbered from 1 again, and none of the old states.
    expect(left.results.map((c) => c.sequence).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(left.results.every((c) => c.worker_id !== "w")).toBe(true);
  });

  it("reset_progress: false resumes from the last checkpoint", async () => {
    const { api } = await newUser();
    const task = await plantFailedJob(api, 3, 5);
    expect((await api.call("POST", `/tasks/${task.id}/retry/`, { reset_progress: false })).status).toBe(200);
    const done = await api.waitForStatus(task.id, "completed");
    expect(done.result_data).toMatchObject({ resumed_from_step: 3, steps_executed_this_run: 2 });
    expect((await checkpointsOf(api, task.task_id)).count).toBe(5);
  });

  it("a cancelled checkpointed job is no longer running nor resumable", async () => {
    const { api } = await newUser();
    const task = await api.create({ task_type: "simulated", context_data: { steps: 400, step_ms: 50, checkpoint_every: 1 } });
    await api.waitFor(task.id, (t) => (t.persistent_job?.checkpoint_count ?? 0) >= 2, "two checkpoints");
    expect((await api.call("POST", `/tasks/${task.id}/cancel/`)).status).toBe(200);
    const cancelled = await api.get(task.id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.persistent_job).toMatchObject({ state: "cancelled", can_resume: false });
    const job = await api.call<Body>("GET", `${P}/persistent-jobs/${task.id}/`);
    expect(job.body).toMatchObject({ status: "cancelled", state: "cancelled", can_resume: false });
    const resumable = await api.call<Body>("GET", `${P}/persistent-jobs/resumable/`);
    expect((resumable.body.results as Body[]).map((j) => j.id)).not.toContain(task.id);
    const resume = await api.call<Body>("POST", `${P}/persistent-jobs/${task.id}/resume/`);
    expect(resume.status).toBe(400);
    expect(resume.body).toMatchObject({ error_code: "INVALID_OPERATION", current_status: "cancelled", state: "cancelled", can_resume: false });
    expect((await api.ids("is_resumable=true"))).not.toContain(task.id);
  });
});

describe("PUT and PATCH", () => {
  const full = { priority: "high", description: "put", context_data: { steps: 1 }, scheduled_for: FAR_FUTURE, max_retries: 2, timeout_minutes: 30 };

  it("a finished task cannot be modified", async () => {
    const { api } = await newUser();
    const done = await api.create({ task_type: "simulated", context_data: { steps: 1, step_ms: 1, checkpoint_every: 0 } });
    await api.waitForStatus(done.id, "completed");
    const cancelled = await api.pending();
    await api.call("POST", `/tasks/${cancelled.id}/cancel/`);
    for (const [task, status] of [[done, "completed"], [cancelled, "cancelled"]] as const) {
      for (const [method, body] of [["PATCH", { description: "late" }], ["PUT", full]] as const) {
        const res = await api.call<Body>(method, `/tasks/${task.id}/`, body);
        expect(res.status, `${method} ${status}`).toBe(400);
        expect(res.body).toMatchObject({ error_code: "INVALID_OPERATION", current_status: status, allowed_statuses: ["pending", "running", "suspended"] });
        expect(res.body.detail).toContain(`Cannot modify a ${status} task`);
      }
      expect((await api.get(task.id)).description).toBe("");
    }
  });

  it("a partial PUT is refused, naming each missing field; PATCH takes the same body", async () => {
    const { api } = await newUser();
    const task = await api.pending();
    const partial = await api.call<Body>("PUT", `/tasks/${task.id}/`, { priority: "high", description: "only two" });
    expect(partial.status).toBe(400);
    expect(partial.body.error_code).toBe("VALIDATION_ERROR");
    expect(Object.keys(partial.body.field_errors as Body).sort()).toEqual(["context_data", "max_retries", "scheduled_for", "timeout_minutes"]);
    expect(String((partial.body.field_errors as Record<string, string[]>).context_data[0])).toContain("use PATCH");
    expect((await api.get(task.id)).priority).toBe("normal");
    expect((await api.call("PATCH", `/tasks/${task.id}/`, { priority: "high", description: "only two" })).status).toBe(200);
    const put = await api.call<Body>("PUT", `/tasks/${task.id}/`, { ...full, scheduled_for: null, context_data: { steps: 1, step_ms: 1, checkpoint_every: 0 } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ priority: "high", description: "put", max_retries: 2, timeout_minutes: 30 });
  });
});

describe("bare base paths", () => {
  it("answer 404, not 400; a malformed task id is still a 400", async () => {
    const { api } = await newUser();
    for (const path of ["/tasks/monitoring/", "/tasks/monitoring", "/tasks/persistent-jobs/", "/tasks/scheduled/", "/tasks/monitoring/workers/", "/tasks/monitoring/metrics/dashboard/x/"]) {
      for (const method of ["GET", "PATCH", "DELETE"]) {
        const res = await api.call<Body>(method, path, method === "PATCH" ? {} : undefined);
        expect(res.status, `${method} ${path}`).toBe(404);
      }
    }
    const malformed = await api.call<Body>("GET", "/tasks/not-an-id/");
    expect(malformed.status).toBe(400);
    expect(malformed.body.field_errors).toHaveProperty("id");
    expect((await api.call("GET", "/tasks/monitoring/metrics/")).status).toBe(200);
  });
});

describe("a task of another brand", () => {
  it("is PERMISSION_DENIED for a member of its brand who addressed another brand, with the brand to address", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const shop = BrandSchema.parse((await server.request("POST", "/api/v1/brands", { token: alice.user.access_token, body: { name: "Shop" } })).body);
    await server.request("POST", `/api/v1/brands/${shop.id}/members`, { token: alice.user.access_token, body: { user_id: bob.user.user.id } });
    const inShop = new TaskApi(server.request, alice.user.access_token, { "X-Brand-ID": String(shop.id) });
    const task = await inShop.pending();
    // Bob, a member of Shop, addresses his personal brand (no X-Brand-ID).
    for (const [method, path] of [
      ["GET", `/tasks/${task.id}/`],
      ["GET", `/tasks/${task.task_id}/`],
      ["PATCH", `/tasks/${task.id}/`],
      ["POST", `/tasks/${task.id}/cancel/`],
      ["POST", `/tasks/${task.id}/retry/`],
      ["DELETE", `/tasks/${task.id}/`],
    ]) {
      const res = await bob.api.call<Body>(method, path, method === "GET" || method === "DELETE" ? undefined : {});
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body).toMatchObject({ ...PERMISSION, brand_id: shop.id });
    }
    expect((await new TaskApi(server.request, bob.user.access_token, { "X-Brand-ID": String(shop.id) }).get(task.id)).status).toBe("pending");
  });

  it("is PERMISSION_DENIED for its creator once out of its brand; a stranger still finds nothing (404)", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const carol = await newUser();
    const shop = BrandSchema.parse((await server.request("POST", "/api/v1/brands", { token: alice.user.access_token, body: { name: "Shop" } })).body);
    await server.request("POST", `/api/v1/brands/${shop.id}/members`, { token: alice.user.access_token, body: { user_id: bob.user.user.id } });
    const task = await new TaskApi(server.request, bob.user.access_token, { "X-Brand-ID": String(shop.id) }).pending();
    const removed = await server.request("DELETE", `/api/v1/brands/${shop.id}/members/${bob.user.user.id}`, { token: alice.user.access_token });
    expect([200, 204]).toContain(removed.status);
    const res = await bob.api.call<Body>("GET", `/tasks/${task.id}/`);
    expect(res.status).toBe(403);
    expect(res.body).toEqual(PERMISSION);
    const stranger = await carol.api.call<Body>("GET", `/tasks/${task.id}/`);
    expect(stranger.status).toBe(404);
    expect(stranger.body).toEqual({ detail: "Task not found or access denied", error_code: "TASK_NOT_FOUND" });
  });
});
