/**
 * GET /api/v1/dashboard/overview and /timeseries over HTTP: the spec's exact shape, numbers that
 * follow the batches' jobs, the account filter, an unknown or foreign account (404).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountSchema } from "../../shared/accounts.js";
import { BatchSchema, BatchStatusSchema } from "../../shared/batches.js";
import { DashboardOverviewSchema, TimeseriesSchema } from "../../shared/dashboard.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { FAR_FUTURE, TaskApi, waitFor, type Body } from "../tasks/fixtures/tasks.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const job = (extra: Body = {}) => ({ context_data: { steps: 1, step_ms: 1, checkpoint_every: 0, ...extra } });

async function seller(): Promise<TaskApi> {
  return new TaskApi(server.request, (await server.register()).access_token);
}

async function post(api: TaskApi, path: string, body: Body) {
  const res = await api.call("POST", path, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

describe("dashboard", () => {
  it("overview: the spec's shape and numbers, overall and for one account; unknown or foreign account 404", async () => {
    const api = await seller();
    const acc = AccountSchema.parse(await post(api, "/api/v1/accounts/", { account_id: "acc-chile-001", name: "Cliente Chile Principal", balance: 5000, billing_type: "credits" }));
    const other = AccountSchema.parse(await post(api, "/api/v1/accounts/", { name: "Other" }));
    // 3 completed + 1 failed for acc; 2 scheduled (pending) for acc; 1 pending for the other account.
    const done = BatchSchema.parse(
      await post(api, "/api/v1/batches/", {
        account_id: acc.account_id,
        task_type: "simulated",
        jobs: [job(), job(), job(), job({ fail_permanently: true })],
        cost_per_job: 2.5,
      }),
    );
    await waitFor(
      async () => BatchStatusSchema.parse((await api.call("GET", `/api/v1/batches/${done.batch_id}/status`)).body),
      (s) => !s.is_active,
      { timeoutMs: 30_000, what: "the batch to finish" },
    );
    await post(api, "/api/v1/batches/", { account_id: acc.account_id, task_type: "simulated", jobs: [job(), job()], scheduled_for: FAR_FUTURE });
    await post(api, "/api/v1/batches/", { account_id: other.account_id, task_type: "simulated", jobs: [job()], scheduled_for: FAR_FUTURE });

    const res = await api.call("GET", "/api/v1/dashboard/overview?account_id=acc-chile-001");
    expect(res.status).toBe(200);
    const view = DashboardOverviewSchema.parse(res.body);
    expect(Object.keys(res.body as object)).toEqual(["success", "timestamp", "account", "metrics", "detailed_stats"]);
    expect(view).toMatchObject({
      success: true,
      account: { account_id: "acc-chile-001", name: "Cliente Chile Principal", status: "active", balance: 5000 - 3 * 2.5, billing_type: "credits" },
      metrics: { jobs_today: 6, success_rate_percentage: 75, active_batches: 1, pending_jobs: 2 },
      detailed_stats: {
        jobs: { today: 6, pending: 2, completed: 3, failed: 1, total_finished: 4 },
        batches: { active_count: 1, total_jobs: 6, total_cost: 7.5 },
      },
    });
    expect(Object.keys(view.account!)).toEqual(["account_id", "name", "status", "balance", "billing_type"]);

    const all = DashboardOverviewSchema.parse((await api.call("GET", "/api/v1/dashboard/overview")).body);
    expect(all).toMatchObject({ account: null, metrics: { jobs_today: 7, active_batches: 2, pending_jobs: 3, success_rate_percentage: 75 } });

    expect((await api.call("GET", "/api/v1/dashboard/overview?account_id=acc-nobody")).status).toBe(404);
    const stranger = await seller();
    expect((await stranger.call("GET", "/api/v1/dashboard/overview?account_id=acc-chile-001")).status).toBe(404);
    expect(DashboardOverviewSchema.parse((await stranger.call("GET", "/api/v1/dashboard/overview")).body).metrics).toEqual({
      jobs_today: 0,
      success_rate_percentage: 0,
      active_batches: 0,
      pending_jobs: 0,
    });

    const series = TimeseriesSchema.parse((await api.call("GET", `/api/v1/dashboard/timeseries?account_id=${acc.account_id}&interval=hour&periods=3`)).body);
    expect(series.points).toHaveLength(3);
    const sum = (k: "created" | "completed" | "failed" | "cost") => series.points.reduce((n, p) => n + p[k], 0);
    expect([sum("created"), sum("completed"), sum("failed"), sum("cost")]).toEqual([6, 3, 1, 7.5]);
    const daily = TimeseriesSchema.parse((await api.call("GET", "/api/v1/dashboard/timeseries?interval=day&periods=7")).body);
    expect(daily.points).toHaveLength(7);
    expect(daily.points.at(-1)!.bucket).toBe(`${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`);
    expect((await api.call("GET", "/api/v1/dashboard/timeseries?interval=week")).status).toBe(400);
    expect((await api.call("GET", "/api/v1/dashboard/timeseries?account_id=acc-nobody")).status).toBe(404);
  });
});
