/** `bulk_operations`: one task, one batch of jobs of another type, its id in the result. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { TaskApi, waitFor, type Body } from "./fixtures/tasks.js";

let server: TestServer;
let api: TaskApi;
beforeAll(async () => {
  server = await startTestServer();
  const user = await server.register();
  api = new TaskApi(server.request, user.access_token);
  const account = await api.call("POST", "/api/v1/accounts/", { account_id: "acc-bulk", name: "Bulk", balance: 100, billing_type: "credits" });
  expect(account.status, JSON.stringify(account.body)).toBe(201);
});
afterAll(() => server?.close());

const quick = { steps: 1, step_ms: 1, checkpoint_every: 0 };

describe("bulk_operations", () => {
  it("starts a batch of the jobs given and reports its id; the jobs run", async () => {
    const task = await api.create({
      task_type: "bulk_operations",
      description: "Re-run three simulations",
      context_data: { account_id: "acc-bulk", task_type: "simulated", name: "three", context_data: quick, jobs: [{ context_data: { steps: 1 } }, { context_data: { steps: 2 } }, { context_data: { steps: 3 } }] },
    });
    const done = await api.waitForFinish(task.id);
    expect(done.status, JSON.stringify(done.error_message)).toBe("completed");
    const result = done.result_data as Body;
    expect(result).toMatchObject({ task_type: "simulated", account_id: "acc-bulk", jobs_created: 3, resumed: false });
    const batchId = result.batch_id as string;
    expect(result.status_url).toBe(`/api/v1/batches/${batchId}/status`);
    const finished = await waitFor(
      async () => (await api.call<Body>("GET", `/api/v1/batches/${batchId}/`)).body,
      (b) => (b.counts as Record<string, number>)?.completed === 3,
      { what: "the batch's three jobs completed" },
    );
    expect(finished).toMatchObject({ task_type: "simulated", total_jobs: 3 });
    const jobs = await api.list(`search=three&task_type=simulated&page_size=10`);
    expect(jobs.results.map((j) => (j.result_data as Body).steps_completed).sort()).toEqual([1, 2, 3]);
  });

  it("fails for good, saying why, when the batch is refused", async () => {
    const task = await api.create({ task_type: "bulk_operations", context_data: { account_id: "acc-nobody", task_type: "simulated", jobs: [{ context_data: quick }] } });
    const done = await api.waitForFinish(task.id);
    expect(done).toMatchObject({ status: "failed", retry_count: 0 });
    expect(done.error_message).toContain("Unknown account 'acc-nobody'");
  });

  it("refuses a batch body that is not one, and nested bulk operations, at creation", async () => {
    const nested = await api.call<Body>("POST", "/tasks/", { task_type: "bulk_operations", context_data: { account_id: "acc-bulk", task_type: "bulk_operations", jobs: [{ context_data: {} }] } });
    expect(nested.status).toBe(400);
    expect(nested.body.field_errors).toHaveProperty(["context_data.task_type"]);
    const empty = await api.call<Body>("POST", "/tasks/", { task_type: "bulk_operations", context_data: { account_id: "acc-bulk", task_type: "simulated" } });
    expect(empty.status).toBe(400);
    expect(empty.body.field_errors).toHaveProperty(["context_data.jobs"]);
  });
});
