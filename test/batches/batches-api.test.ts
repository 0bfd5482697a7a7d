/**
 * spec/batches-and-dashboard-endpoints.md over HTTP: selling accounts, batches (create, list, get),
 * status read from counters, pause / resume / cancel as bulk lifecycle transitions, concurrency,
 * and tenancy (another brand's accounts and batches do not exist).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountSchema, AccountListResponseSchema } from "../../shared/accounts.js";
import { BatchListResponseSchema, BatchSchema, BatchStatusSchema, type BatchView } from "../../shared/batches.js";
import { TaskListResponseSchema } from "../../shared/tasks.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { FAR_FUTURE, TaskApi, waitFor, type Body } from "../tasks/fixtures/tasks.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

async function newSeller(): Promise<TaskApi> {
  const user = await server.register();
  return new TaskApi(server.request, user.access_token);
}

async function newAccount(api: TaskApi, body: Body = {}): Promise<string> {
  const res = await api.call("POST", "/api/v1/accounts/", { name: "Shop", ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return AccountSchema.parse(res.body).account_id;
}

async function newBatch(api: TaskApi, body: Body): Promise<BatchView> {
  const res = await api.call("POST", "/api/v1/batches/", body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return BatchSchema.parse(res.body);
}

async function status(api: TaskApi, batchId: string) {
  const res = await api.call("GET", `/api/v1/batches/${batchId}/status`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return BatchStatusSchema.parse(res.body);
}

async function batch(api: TaskApi, batchId: string): Promise<BatchView> {
  const res = await api.call("GET", `/api/v1/batches/${batchId}/`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return BatchSchema.parse(res.body);
}

/** fetch() adds `Cache-Control: no-cache` to a conditional request unless one is given (a browser's revalidation sends max-age=0). */
const revalidate = (etag: string) => ({ "If-None-Match": etag, "Cache-Control": "max-age=0" });

const quickJobs = (n: number, extra: Body = {}) => Array.from({ length: n }, (_, i) => ({ context_data: { steps: 1, step_ms: 1, checkpoint_every: 0, n: i, ...extra } }));

describe("accounts", () => {
  it("CRUD with defaults, a generated id, filters and the usual errors", async () => {
    const api = await newSeller();
    const created = await api.call("POST", "/api/v1/accounts/", { account_id: "acc-chile-001", name: "Cliente Chile Principal", balance: 5000, billing_type: "credits" });
    expect(created.status).toBe(201);
    expect(AccountSchema.parse(created.body)).toMatchObject({
      account_id: "acc-chile-001",
      name: "Cliente Chile Principal",
      status: "active",
      balance: 5000,
      billing_type: "credits",
      marketplace_connection: null,
    });
    const generated = AccountSchema.parse((await api.call("POST", "/api/v1/accounts/", { name: "Second", marketplace_connection: "vinted:shop" })).body);
    expect(generated.account_id).toMatch(/^acc-[0-9a-f]{8}$/);
    expect(generated).toMatchObject({ billing_type: "postpaid", balance: 0, marketplace_connection: "vinted:shop" });

    const duplicate = await api.call("POST", "/api/v1/accounts/", { account_id: "acc-chile-001", name: "Again" });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ error_code: "CONFLICT" });
    const invalid = await api.call("POST", "/api/v1/accounts/", { name: "", balance: -1, billing_type: "gold" });
    expect(invalid.status).toBe(400);
    expect(Object.keys((invalid.body as { field_errors: object }).field_errors).sort()).toEqual(["balance", "billing_type", "name"]);

    const list = AccountListResponseSchema.parse((await api.call("GET", "/api/v1/accounts/?billing_type=credits")).body);
    expect(list.results.map((a) => a.account_id)).toEqual(["acc-chile-001"]);
    expect(AccountListResponseSchema.parse((await api.call("GET", "/api/v1/accounts/")).body).count).toBe(2);

    const patched = await api.call("PATCH", "/api/v1/accounts/acc-chile-001/", { name: "Chile", status: "suspended" });
    expect(AccountSchema.parse(patched.body)).toMatchObject({ name: "Chile", status: "suspended", balance: 5000 });
    expect((await api.call("GET", "/api/v1/accounts/acc-chile-001/")).body).toMatchObject({ name: "Chile" });
    expect((await api.call("DELETE", `/api/v1/accounts/${generated.account_id}/`)).status).toBe(204);
    expect((await api.call("GET", `/api/v1/accounts/${generated.account_id}/`)).status).toBe(404);
    expect((await api.call("DELETE", `/api/v1/accounts/${generated.account_id}/`)).status).toBe(404);
  });

  it("another brand's account is 404 everywhere, and its id can be reused in my brand", async () => {
    const mine = await newSeller();
    const other = await newSeller();
    const id = await newAccount(other, { account_id: "acc-shared-name" });
    expect((await mine.call("GET", `/api/v1/accounts/${id}/`)).status).toBe(404);
    expect((await mine.call("PATCH", `/api/v1/accounts/${id}/`, { name: "x" })).status).toBe(404);
    expect((await mine.call("DELETE", `/api/v1/accounts/${id}/`)).status).toBe(404);
    expect((await mine.call("POST", `/api/v1/accounts/${id}/top-up/`, { amount: 5 })).status).toBe(404);
    expect(AccountListResponseSchema.parse((await mine.call("GET", "/api/v1/accounts/")).body).count).toBe(0);
    expect(await newAccount(mine, { account_id: "acc-shared-name" })).toBe("acc-shared-name");
  });

  it("an account with an active batch cannot be deleted (409); once it is cancelled it can", async () => {
    const api = await newSeller();
    const account = await newAccount(api);
    const b = await newBatch(api, { account_id: account, task_type: "simulated", jobs: quickJobs(2), scheduled_for: FAR_FUTURE });
    expect((await api.call("DELETE", `/api/v1/accounts/${account}/`)).status).toBe(409);
    expect((await api.call("POST", `/api/v1/batches/${b.batch_id}/cancel`)).status).toBe(200);
    expect((await api.call("DELETE", `/api/v1/accounts/${account}/`)).status).toBe(204);
  });
});

describe("batches: create, list, get", () => {
  it("creates jobs from jobs[] that run to completion; status comes from the counters", async () => {
    const api = await newSeller();
    const account = await newAccount(api);
    const created = await newBatch(api, { account_id: account, task_type: "simulated", name: "Relist", jobs: quickJobs(5), cost_per_job: 2.5 });
    expect(created.batch_id).toMatch(/^batch-\d{8}-[a-z0-9]{6}$/);
    expect(created.batch_id.slice(6, 14)).toBe(new Date().toISOString().slice(0, 10).replace(/-/g, ""));
    expect(created).toMatchObject({ account_id: account, task_type: "simulated", executor: "server", total_jobs: 5, name: "Relist", is_active: true });

    const done = await waitFor(() => status(api, created.batch_id), (s) => !s.is_active, { what: "the batch to finish", timeoutMs: 30_000 });
    expect(done).toMatchObject({
      batch_id: created.batch_id,
      is_active: false,
      total_jobs: 5,
      pending_jobs: 0,
      completed_jobs: 5,
      failed_jobs: 0,
      suspended_jobs: 0,
      total_cost: 12.5,
      progress_percentage: 100,
    });
    expect(Object.keys(done)).toEqual([
      "batch_id",
      "is_active",
      "total_jobs",
      "pending_jobs",
      "completed_jobs",
      "failed_jobs",
      "suspended_jobs",
      "total_cost",
      "total_minutes",
      "progress_percentage",
      "started_at",
      "completed_at",
    ]);
    expect(done.started_at).not.toBeNull();
    expect(done.completed_at).not.toBeNull();
    expect((await batch(api, created.batch_id)).state).toBe("completed");
  });

  it("creates jobs from product_ids with priority and scheduled_for; jobs are tasks filterable by batch_id and account_id", async () => {
    const api = await newSeller();
    const account = await newAccount(api);
    const b = await newBatch(api, {
      account_id: account,
      task_type: "simulated",
      product_ids: ["p-1", "p-2", 3],
      context_data: { steps: 1 },
      priority: "high",
      scheduled_for: FAR_FUTURE,
    });
    expect(b).toMatchObject({ total_jobs: 3, priority: "high", scheduled_for: FAR_FUTURE, counts: { pending: 3, running: 0 } });
    const byBatch = TaskListResponseSchema.parse((await api.call("GET", `/tasks/?batch_id=${b.batch_id}&ordering=id`)).body);
    expect(byBatch.count).toBe(3);
    expect(byBatch.results.map((t) => t.context_data)).toEqual([
      { steps: 1, product_id: "p-1" },
      { steps: 1, product_id: "p-2" },
      { steps: 1, product_id: 3 },
    ]);
    expect(byBatch.results.every((t) => t.batch_id === b.batch_id && t.account_id === account && t.priority === "high" && t.status === "pending")).toBe(true);
    expect(TaskListResponseSchema.parse((await api.call("GET", `/tasks/?account_id=${account}`)).body).count).toBe(3);
    expect(TaskListResponseSchema.parse((await api.call("GET", `/tasks/?account_id=acc-nobody`)).body).count).toBe(0);
  });

  it("extension task types: jobs go to the seller's extension; their params are validated per job", async () => {
    const api = await newSeller();
    const account = await newAccount(api);
    const bad = await api.call("POST", "/api/v1/batches/", { account_id: account, task_type: "vinted.update_product", jobs: [{ context_data: {} }] });
    expect(bad.status).toBe(400);
    expect(Object.keys((bad.body as { field_errors: object }).field_errors)[0]).toMatch(/^jobs\.0\.context_data/);
    const b = await newBatch(api, { account_id: account, task_type: "vinted.get_stats", jobs: [{ context_data: { item_id: 1 } }, { context_data: { item_id: 2 } }] });
    expect(b).toMatchObject({ executor: "extension", total_jobs: 2 });
  });

  it("refuses bad input clearly", async () => {
    const api = await newSeller();
    const account = await newAccount(api);
    const cases: Array<[Body, string]> = [
      [{ account_id: account, task_type: "simulated" }, "jobs"],
      [{ account_id: account, task_type: "simulated", jobs: quickJobs(1), product_ids: [1] }, "jobs"],
      [{ account_id: account, task_type: "no_such_type", jobs: quickJobs(1) }, "task_type"],
      [{ account_id: "acc-unknown", task_type: "simulated", jobs: quickJobs(1) }, "account_id"],
      [{ account_id: account, task_type: "simulated", jobs: [] }, "jobs"],
      [{ account_id: account, task_type: "simulated", jobs: quickJobs(1), concurrency: 0 }, "concurrency"],
    ];
    for (const [body, field] of cases) {
      const res = await api.call("POST", "/api/v1/batches/", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys((res.body as { field_errors: object }).field_errors), JSON.stringify(res.body)).toContain(field);
    }
    const tooMany = await api.call("POST", "/api/v1/batches/", { account_id: account, task_type: "simulated", product_ids: Array.from({ length: 100_001 }, (_, i) => i) });
    expect(tooMany.status).toBe(400);
    await api.call("PATCH", `/api/v1/accounts/${account}/`, { status: "suspended" });
    expect((await api.call("POST", "/api/v1/batches/", { account_id: account, task_type: "simulated", jobs: quickJobs(1) })).status).toBe(409);
  });

  it("lists with is_active, account_id filters, pagination and ordering; another brand's batches are 404", async () => {
    const api = await newSeller();
    const a1 = await newAccount(api);
    const a2 = await newAccount(api);
    const b1 = await newBatch(api, { account_id: a1, task_type: "simulated", jobs: quickJobs(1), scheduled_for: FAR_FUTURE });
    const b2 = await newBatch(api, { account_id: a2, task_type: "simulated", jobs: quickJobs(3), scheduled_for: FAR_FUTURE });
    const b3 = await newBatch(api, { account_id: a2, task_type: "simulated", jobs: quickJobs(2), scheduled_for: FAR_FUTURE });
    await api.call("POST", `/api/v1/batches/${b3.batch_id}/cancel`);
    const ids = async (query: string) => BatchListResponseSchema.parse((await api.call("GET", `/api/v1/batches/${query}`)).body).results.map((b) => b.batch_id);
    expect(await ids("")).toEqual([b3.batch_id, b2.batch_id, b1.batch_id]);
    expect(await ids("?ordering=created_at")).toEqual([b1.batch_id, b2.batch_id, b3.batch_id]);
    expect(await ids("?ordering=-total_jobs")).toEqual([b2.batch_id, b3.batch_id, b1.batch_id]);
    expect(await ids(`?account_id=${a2}`)).toEqual([b3.batch_id, b2.batch_id]);
    expect(await ids("?is_active=true")).toEqual([b2.batch_id, b1.batch_id]);
    expect(await ids("?is_active=false")).toEqual([b3.batch_id]);
    const page = BatchListResponseSchema.parse((await api.call("GET", "/api/v1/batches/?page_size=2&page=2")).body);
    expect(page).toMatchObject({ count: 3, next: null });
    expect(page.results.map((b) => b.batch_id)).toEqual([b1.batch_id]);
    expect((await api.call("GET", "/api/v1/batches/?is_active=maybe")).status).toBe(400);

    const other = await newSeller();
    for (const [method, path] of [
      ["GET", `/api/v1/batches/${b1.batch_id}/`],
      ["GET", `/api/v1/batches/${b1.batch_id}/status`],
      ["POST", `/api/v1/batches/${b1.batch_id}/pause`],
      ["POST", `/api/v1/batches/${b1.batch_id}/resume`],
      ["POST", `/api/v1/batches/${b1.batch_id}/cancel`],
    ] as const) {
      expect((await other.call(method, path)).status, `${method} ${path}`).toBe(404);
    }
    expect(BatchListResponseSchema.parse((await other.call("GET", "/api/v1/batches/")).body).count).toBe(0);
    expect((await api.call("GET", "/api/v1/batches/batch-20250101-zzzzzz/status")).status).toBe(404);
    expect((await api.call("GET", "/api/v1/batches/not-a-batch/status")).status).toBe(400);
  });
});

describe("pause, resume, cancel", () => {
  it("pause suspends pending and scheduled jobs; resume queues them again and they run; 409 when it makes no sense", async () => {
    const api = await newSeller();
    const account = await newAccount(api);
    const b = await newBatch(api, { account_id: account, task_type: "simulated", jobs: quickJobs(4), scheduled_for: FAR_FUTURE });
    const paused = await api.call("POST", `/api/v1/batches/${b.batch_id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toEqual({ success: true, message: "Batch paused successfully", batch_id: b.batch_id, suspended_jobs: 4 });
    expect(await status(api, b.batch_id)).toMatchObject({ is_active: true, pending_jobs: 0, suspended_jobs: 4, total_jobs: 4 });
    expect((await batch(api, b.batch_id)).state).toBe("paused");
    expect(TaskListResponseSchema.parse((await api.call("GET", `/tasks/?batch_id=${b.batch_id}&status=suspended`)).body).count).toBe(4);
    const again = await api.call("POST", `/api/v1/batches/${b.batch_id}/pause`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error_code: "CONFLICT", state: "paused" });

    // Make them due now, through the API (a pending-only field), so that resumed jobs run.
    const resumed = await api.call("POST", `/api/v1/batches/${b.batch_id}/resume`);
    expect(resumed.body).toEqual({ success: true, message: "Batch resumed successfully", batch_id: b.batch_id, resumed_jobs: 4 });
    expect(await status(api, b.batch_id)).toMatchObject({ pending_jobs: 4, suspended_jobs: 0 });
    expect((await api.call("POST", `/api/v1/batches/${b.batch_id}/resume`)).status).toBe(409);
    const tasks = TaskListResponseSchema.parse((await api.call("GET", `/tasks/?batch_id=${b.batch_id}`)).body).results;
    for (const t of tasks) expect((await api.call("PATCH", `/tasks/${t.task_id}/`, { scheduled_for: null })).status).toBe(200);
    const done = await waitFor(() => status(api, b.batch_id), (s) => !s.is_active, { what: "resumed jobs to run", timeoutMs: 30_000 });
    expect(done).toMatchObject({ completed_jobs: 4, pending_jobs: 0 });
    expect((await api.call("POST", `/api/v1/batches/${b.batch_id}/pause`)).status).toBe(409);
    expect((await api.call("POST", `/api/v1/batches/${b.batch_id}/cancel`)).status).toBe(409);
  });

  it("cancel: the spec's answer; pending, suspended and running jobs cancelled with the reason; counters exact", async () => {
    const api = await newSeller();
    const account = await newAccount(api);
    const b = await newBatch(api, {
      account_id: account,
      task_type: "simulated",
      jobs: [...quickJobs(2, { steps: 600, step_ms: 50 }), ...quickJobs(3)],
      concurrency: 2,
    });
    // Two long jobs hold both slots; the quick ones wait for a slot, pending.
    await waitFor(() => batch(api, b.batch_id), (x) => x.counts.running === 2, { what: "two running jobs" });
    const reason = "Cliente solicitó detención";
    const res = await api.call("POST", `/api/v1/batches/${b.batch_id}/cancel?reason=${encodeURIComponent(reason)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: "Batch cancelled successfully", reason });
    const after = await batch(api, b.batch_id);
    expect(after).toMatchObject({ state: "cancelled", is_active: false, cancellation_reason: reason, counts: { pending: 0, running: 0, suspended: 0 } });
    expect(after.completed_at).not.toBeNull();
    expect(after.counts.cancelled + after.counts.completed).toBe(5);
    const tasks = TaskListResponseSchema.parse((await api.call("GET", `/tasks/?batch_id=${b.batch_id}&status=cancelled`)).body).results;
    expect(tasks.length).toBe(after.counts.cancelled);
    expect(tasks.every((t) => t.error_message === `Batch cancelled: ${reason}`)).toBe(true);
    // The stopped runs end: nothing is left running anywhere.
    await waitFor(() => api.call("GET", `/tasks/?batch_id=${b.batch_id}&status=running`), (r) => (r.body as { count: number }).count === 0);
    const second = await api.call("POST", `/api/v1/batches/${b.batch_id}/cancel`);
    expect(second.status).toBe(409);
    expect((await api.call("POST", `/api/v1/batches/${b.batch_id}/resume`)).status).toBe(409);

    const plain = await newBatch(api, { account_id: account, task_type: "simulated", jobs: quickJobs(1), scheduled_for: FAR_FUTURE });
    expect((await api.call("POST", `/api/v1/batches/${plain.batch_id}/cancel`)).body).toEqual({ success: true, message: "Batch cancelled successfully", reason: null });
  });

  it("concurrency: never more than N jobs of the batch run at once, and every job still runs", async () => {
    const api = await newSeller();
    const account = await newAccount(api);
    const b = await newBatch(api, { account_id: account, task_type: "simulated", jobs: quickJobs(8, { steps: 2, step_ms: 40 }), concurrency: 2 });
    let most = 0;
    const done = await waitFor(
      async () => {
        const x = await batch(api, b.batch_id);
        const running = TaskListResponseSchema.parse((await api.call("GET", `/tasks/?batch_id=${b.batch_id}&status=running`)).body).count;
        most = Math.max(most, running, x.counts.running);
        return x;
      },
      (x) => !x.is_active,
      { what: "the batch to finish", timeoutMs: 60_000, intervalMs: 5 },
    );
    expect(done.counts.completed).toBe(8);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
  });

  it("status answers ETag and 304 when nothing changed", async () => {
    const api = await newSeller();
    const account = await newAccount(api);
    const b = await newBatch(api, { account_id: account, task_type: "simulated", jobs: quickJobs(1), scheduled_for: FAR_FUTURE });
    const first = await api.call("GET", `/api/v1/batches/${b.batch_id}/status`);
    const etag = first.headers.get("etag");
    expect(etag).toBeTruthy();
    const again = await server.request("GET", `/api/v1/batches/${b.batch_id}/status`, { token: api.token, headers: revalidate(etag!) });
    expect(again.status).toBe(304);
    await api.call("POST", `/api/v1/batches/${b.batch_id}/pause`);
    const changed = await server.request("GET", `/api/v1/batches/${b.batch_id}/status`, { token: api.token, headers: revalidate(etag!) });
    expect(changed.status).toBe(200);
  });
});
