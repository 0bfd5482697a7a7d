/**
 * Credits billing over HTTP: each completed job's cost is taken from the account's balance
 * atomically; when the balance cannot pay for another job, the account's remaining batch jobs are
 * suspended, and a top-up resumes them. The balance never goes negative; no job is paid twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountSchema } from "../../shared/accounts.js";
import { BatchSchema, BatchStatusSchema } from "../../shared/batches.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { TaskApi, waitFor } from "../tasks/fixtures/tasks.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const quick = (n: number) => Array.from({ length: n }, () => ({ context_data: { steps: 1, step_ms: 1, checkpoint_every: 0 } }));

describe("credits billing", () => {
  it("pays job by job, suspends what the balance cannot pay, resumes on top-up; never negative", async () => {
    const api = new TaskApi(server.request, (await server.register()).access_token);
    expect((await api.call("POST", "/api/v1/accounts/", { account_id: "acc-credits", name: "Credits", billing_type: "credits", balance: 5 })).status).toBe(201);
    const created = await api.call("POST", "/api/v1/batches/", { account_id: "acc-credits", task_type: "simulated", jobs: quick(5), cost_per_job: 2, concurrency: 1 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = BatchSchema.parse(created.body).batch_id;
    const status = async () => BatchStatusSchema.parse((await api.call("GET", `/api/v1/batches/${id}/status`)).body);
    const account = async () => AccountSchema.parse((await api.call("GET", "/api/v1/accounts/acc-credits/")).body);

    const held = await waitFor(status, (s) => s.completed_jobs === 2 && s.suspended_jobs === 3, { what: "2 paid jobs, 3 held", timeoutMs: 30_000 });
    expect(held).toMatchObject({ is_active: true, pending_jobs: 0, total_cost: 4 });
    expect((await account()).balance).toBe(1);

    const topped = await api.call("POST", "/api/v1/accounts/acc-credits/top-up/", { amount: 10 });
    expect(AccountSchema.parse(topped.body).balance).toBe(11);
    const done = await waitFor(status, (s) => !s.is_active, { what: "the batch to finish after the top-up", timeoutMs: 30_000 });
    expect(done).toMatchObject({ completed_jobs: 5, suspended_jobs: 0, total_cost: 10 });
    expect((await account()).balance).toBe(5);
    expect((await api.call("POST", "/api/v1/accounts/acc-credits/top-up/", { amount: 0 })).status).toBe(400);
  });

  it("a postpaid account runs everything and its balance records what it owes", async () => {
    const api = new TaskApi(server.request, (await server.register()).access_token);
    await api.call("POST", "/api/v1/accounts/", { account_id: "acc-post", name: "Post", billing_type: "postpaid" });
    const id = BatchSchema.parse((await api.call("POST", "/api/v1/batches/", { account_id: "acc-post", task_type: "simulated", jobs: quick(3), cost_per_job: 1.5 })).body).batch_id;
    await waitFor(async () => BatchStatusSchema.parse((await api.call("GET", `/api/v1/batches/${id}/status`)).body), (s) => !s.is_active, { timeoutMs: 30_000 });
    expect(AccountSchema.parse((await api.call("GET", "/api/v1/accounts/acc-post/")).body).balance).toBe(4.5);
  });
});
