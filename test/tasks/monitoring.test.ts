/**
 * /tasks/monitoring/ over HTTP: per-task metrics (filters, search keywords, detail), the dashboard
 * (exact percentiles on seeded durations, throughput buckets, cost) next to real runs of the
 * `simulated` type, the workers overview, alert rules CRUD and validation, alerts raised and
 * resolved by the background evaluator, acknowledge/resolve transitions, de-duplication across
 * evaluators, and brand isolation. States the API cannot produce on demand (old completion dates,
 * known durations, stale workers) are written into the collections directly.
 */
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "../../shared/common.js";
import { MetricsDashboardSchema, TaskMetricListResponseSchema, TaskMetricRecordSchema, WorkersOverviewSchema, type MetricsDashboard, type TaskMetricRecord } from "../../shared/monitoring.js";
import { AlertListResponseSchema, AlertRuleListResponseSchema, AlertRuleSchema, AlertSchema, type AlertView } from "../../shared/alerts.js";
import type { TaskView } from "../../shared/tasks.js";
import { connectDatabase, type Database } from "../../server/src/db/connect.js";
import { nextSequence } from "../../server/src/db/counters.js";
import { createLogger } from "../../server/src/logger.js";
import { alertModels } from "../../server/src/monitoring/alert-model.js";
import { AlertEvaluator } from "../../server/src/monitoring/evaluator.js";
import { workerModel } from "../../server/src/tasks/executor/worker-model.js";
import { taskModel, type Task } from "../../server/src/tasks/model.js";
import { startTestServer, type RegisteredUser, type TestServer, type TestResponse } from "../helpers/app.js";

type Body = Record<string, unknown>;

let server: TestServer;
beforeAll(async () => {
  // Rules evaluated every 100 ms. The helper starts task execution only; the hub's background
  // service (main.ts) would start the evaluator too, so the suite starts it the same way.
  server = await startTestServer({ ALERT_EVAL_MS: "100" });
  await server.description.services.monitoring.evaluator.start();
});
afterAll(async () => {
  await server?.description.services.monitoring.evaluator.stop();
  await server?.close();
});

const M = "/tasks/monitoring";
const HOUR = 3_600_000;
const MINUTE = 60_000;

class Api {
  constructor(readonly user: RegisteredUser) {}
  call<T = Body>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse<T>> {
    return server.request<T>(method, path, { token: this.user.access_token, body, headers });
  }
  async ok<T = Body>(method: string, path: string, body?: unknown, status = 200): Promise<T> {
    const res = await this.call<T>(method, path, body);
    if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
  get brandId(): number {
    return this.user.user.personal_brand_id;
  }
}

async function newApi(): Promise<Api> {
  return new Api(await server.register());
}

async function waitFor<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await sleep(40);
  }
}

/** Creates a `simulated` task and waits until it has finished (completed or failed). */
async function runTask(api: Api, context: Body, extra: Body = {}): Promise<TaskView> {
  const created = await api.ok<TaskView>("POST", "/tasks/", { task_type: "simulated", context_data: { checkpoint_every: 0, ...context }, ...extra }, 201);
  return waitFor(
    `task ${created.task_id} to finish`,
    () => api.ok<TaskView>("GET", `/tasks/${created.id}/`),
    (t) => t.status === "completed" || t.status === "failed",
  );
}

interface Seed {
  task_type: string;
  status: Task["status"];
  description?: string;
  completed_at?: Date | null;
  executor?: "server" | "extension";
  scheduled_for?: Date | null;
  metrics?: { execution_time_ms: number; memory_usage_mb: number; cost_usd: number; recorded_at: Date } | null;
}

/** A task written straight into the collection (never queued, so no worker touches it). */
async function seedTask(api: Api, seed: Seed): Promise<Task> {
  const connection = server.db.connection;
  const id = await nextSequence(connection, "tasks");
  const doc = await taskModel(connection).create({
    id,
    task_id: `task_seed${id}x${Math.random().toString(36).slice(2, 8)}`,
    brand: api.brandId,
    created_by: api.user.user.id,
    executor: seed.executor ?? "server",
    description: seed.description ?? "",
    started_at: seed.completed_at ?? null,
    ...seed,
  });
  return doc.toObject();
}

const metricsOf = (ms: number, at: Date, cost = 0, memory = 100) => ({ execution_time_ms: ms, memory_usage_mb: memory, cost_usd: cost, recorded_at: at });

async function metricPage(api: Api, query = ""): Promise<Page<TaskMetricRecord>> {
  const res = await api.call(`GET`, `${M}/metrics/${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return TaskMetricListResponseSchema.parse(res.body);
}

const taskIds = (page: Page<{ task_id: string }>) => page.results.map((r) => r.task_id).sort();

// -------------------------------------------------------------------------------------------------
// Metrics from real runs
// -------------------------------------------------------------------------------------------------

describe("GET /tasks/monitoring/metrics/ (real runs)", () => {
  let api: Api;
  let cheap: TaskView;
  let pricey: TaskView;
  let broken: TaskView;
  let all: TaskMetricRecord[];
  const startedAt = new Date(Date.now() - 1000);

  beforeAll(async () => {
    api = await newApi();
    [cheap, pricey, broken] = await Promise.all([
      runTask(api, { steps: 3, step_ms: 10, cost_per_step: 0.25 }, { description: "cheap batch of listings" }),
      runTask(api, { steps: 2, step_ms: 200, cost_per_step: 1 }, { description: "pricey enrichment" }),
      runTask(api, { fail_permanently: true, fail_message: "vinted said no" }, { description: "doomed", max_retries: 0 }),
    ]);
    all = (await metricPage(api, "?page_size=100")).results;
  });

  it("records a metrics row per finished run, with the cost the handler reported", () => {
    expect(cheap.status).toBe("completed");
    expect(pricey.status).toBe("completed");
    expect(broken.status).toBe("failed");
    expect(all).toHaveLength(3);
    const byTask = new Map(all.map((m) => [m.task_id, m]));
    expect(byTask.get(cheap.task_id)).toMatchObject({ id: cheap.id, task_type: "simulated", status: "completed", cost_usd: 0.75, description: "cheap batch of listings" });
    expect(byTask.get(pricey.task_id)).toMatchObject({ status: "completed", cost_usd: 2, flags: ["expensive"] });
    expect(byTask.get(broken.task_id)).toMatchObject({ status: "failed", cost_usd: 0 });
    expect(byTask.get(pricey.task_id)!.execution_time_ms).toBeGreaterThanOrEqual(400);
    for (const m of all) {
      expect(m.memory_usage_mb).toBeGreaterThan(0);
      expect(new Date(m.recorded_at!).getTime()).toBeGreaterThanOrEqual(startedAt.getTime());
    }
    // Default order: most recently recorded first.
    const recorded = all.map((m) => new Date(m.recorded_at!).getTime());
    expect(recorded).toEqual([...recorded].sort((a, b) => b - a));
  });

  it("filters by status and task_type", async () => {
    expect(taskIds(await metricPage(api, "?status=failed"))).toEqual([broken.task_id]);
    expect(taskIds(await metricPage(api, "?status=completed,failed"))).toEqual(taskIds({ results: all } as Page<TaskMetricRecord>));
    expect((await metricPage(api, "?task_type=simulated")).count).toBe(3);
    expect((await metricPage(api, "?task_type=data_export,report_generation")).count).toBe(0);
  });

  it("filters by execution time, memory and cost ranges", async () => {
    const slowest = Math.max(...all.map((m) => m.execution_time_ms));
    const expectIds = (page: Page<TaskMetricRecord>, keep: (m: TaskMetricRecord) => boolean) =>
      expect(taskIds(page)).toEqual(all.filter(keep).map((m) => m.task_id).sort());

    // Which run was slowest depends on how busy the machine was, so the answers come from the recorded times.
    const slowestTask = all.find((m) => m.execution_time_ms === slowest)!.task_id;
    expectIds(await metricPage(api, `?execution_time__gte=${slowest}`), (m) => m.execution_time_ms >= slowest);
    expect(taskIds(await metricPage(api, `?execution_time__gte=${slowest}`))).toContain(slowestTask);
    expectIds(await metricPage(api, `?execution_time__lte=${slowest - 1}`), (m) => m.execution_time_ms <= slowest - 1);
    expect(taskIds(await metricPage(api, `?execution_time__lte=${slowest - 1}`))).not.toContain(slowestTask);
    expect((await metricPage(api, `?execution_time__gte=${slowest + 1}`)).count).toBe(0);
    const memory = all[0].memory_usage_mb;
    expectIds(await metricPage(api, `?memory_usage_mb__gte=${memory}`), (m) => m.memory_usage_mb >= memory);
    expectIds(await metricPage(api, `?memory_usage_mb__lte=${memory}`), (m) => m.memory_usage_mb <= memory);
    expect(taskIds(await metricPage(api, "?cost_usd__gte=1"))).toEqual([pricey.task_id]);
    expect(taskIds(await metricPage(api, "?cost_usd__gte=0.5&cost_usd__lte=1"))).toEqual([cheap.task_id]);
  });

  it("filters by recording time (instants and whole days)", async () => {
    expect((await metricPage(api, `?recorded_after=${startedAt.toISOString()}`)).count).toBe(3);
    expect((await metricPage(api, `?recorded_after=${new Date(Date.now() + HOUR).toISOString()}`)).count).toBe(0);
    expect((await metricPage(api, "?recorded_before=2000-01-01")).count).toBe(0);
    // A date alone covers that whole day (UTC).
    const day = all[0].recorded_at!.slice(0, 10);
    const thatDay = all.filter((m) => m.recorded_at!.startsWith(day)).map((m) => m.task_id).sort();
    expect(taskIds(await metricPage(api, `?recorded_after=${day}&recorded_before=${day}`))).toEqual(thatDay);
    expect(thatDay.length).toBeGreaterThan(0);
  });

  it("orders and paginates", async () => {
    expect((await metricPage(api, "?ordering=-cost_usd")).results.map((m) => m.task_id)).toEqual([pricey.task_id, cheap.task_id, broken.task_id]);
    expect((await metricPage(api, "?ordering=cost_usd")).results.map((m) => m.task_id)).toEqual([broken.task_id, cheap.task_id, pricey.task_id]);
    const byTime = (await metricPage(api, "?ordering=-execution_time")).results.map((m) => m.execution_time_ms);
    expect(byTime).toEqual([...byTime].sort((a, b) => b - a));
    const first = await metricPage(api, "?ordering=id&page_size=2");
    expect(first).toMatchObject({ count: 3, previous: null, next: "?ordering=id&page_size=2&page=2" });
    const second = await metricPage(api, first.next!);
    expect(second.results.map((m) => m.id)).toEqual([Math.max(cheap.id, pricey.id, broken.id)]);
    expect([...first.results, ...second.results].map((m) => m.id)).toEqual([cheap.id, pricey.id, broken.id].sort((a, b) => a - b));
  });

  it("searches type, description and task_id", async () => {
    expect(taskIds(await metricPage(api, "?search=CHEAP"))).toEqual([cheap.task_id]);
    expect(taskIds(await metricPage(api, `?search=${broken.task_id}`))).toEqual([broken.task_id]);
    expect((await metricPage(api, "?search=simulated")).count).toBe(3);
    expect((await metricPage(api, "?search=nothing-like-this")).count).toBe(0);
  });

  it("answers one task's metrics by id or task_id", async () => {
    for (const key of [String(pricey.id), pricey.task_id]) {
      const res = await api.call("GET", `${M}/metrics/${key}/`);
      expect(res.status).toBe(200);
      expect(TaskMetricRecordSchema.parse(res.body)).toEqual(all.find((m) => m.task_id === pricey.task_id));
    }
    expect((await api.call("GET", `${M}/metrics/999999/`)).body).toMatchObject({ error_code: "TASK_NOT_FOUND" });
    const pending = await api.ok<TaskView>("POST", "/tasks/", { task_type: "simulated", scheduled_for: "2999-01-01T00:00:00Z" }, 201);
    const noMetrics = await api.call("GET", `${M}/metrics/${pending.id}/`);
    expect(noMetrics.status).toBe(404);
    expect(noMetrics.body).toMatchObject({ error_code: "NOT_FOUND", detail: expect.stringContaining("No metrics") });
    expect((await metricPage(api)).count).toBe(3); // a task without metrics is not listed
    expect((await api.call("GET", `${M}/metrics/not-an-id/`)).status).toBe(400);
  });

  it("refuses invalid filters with field errors", async () => {
    for (const [query, field] of [
      ["ordering=bogus", "ordering"],
      ["status=finished", "status"],
      ["execution_time__gte=-1", "execution_time__gte"],
      ["cost_usd__gte=abc", "cost_usd__gte"],
      ["recorded_after=yesterday", "recorded_after"],
      ["page_size=1000", "page_size"],
    ] as const) {
      const res = await api.call<Body>("GET", `${M}/metrics/?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body).toMatchObject({ error_code: "VALIDATION_ERROR", field_errors: { [field]: expect.any(Array) } });
    }
  });

  it("shows the runs on the dashboard (end to end)", async () => {
    const dash = MetricsDashboardSchema.parse(await api.ok("GET", `${M}/metrics/dashboard/`));
    // The scheduled task created above is pending.
    expect(dash.totals).toEqual({ tasks: 4, pending: 1, running: 0, completed: 2, failed: 1, cancelled: 0 });
    expect(dash.success_rate).toBe(66.7);
    expect(dash.period_totals).toEqual({ completed: 2, failed: 1, success_rate: 66.7 });
    expect(dash.durations.by_task_type.simulated.count).toBe(2);
    // The dashboard and the metrics list read the same recorded time; which completed run was the
    // slowest depends on the machine's load (the 3 × 10 ms run can outlast the 2 × 200 ms one).
    const completedTimes = all.filter((m) => m.status === "completed").map((m) => m.execution_time_ms);
    expect(dash.durations.by_task_type.simulated).toMatchObject({ min_ms: Math.min(...completedTimes), max_ms: Math.max(...completedTimes) });
    expect(dash.cost).toEqual({ total_usd: 2.75, by_task_type: { simulated: 2.75 }, all_time_usd: 2.75 });
    expect(dash.throughput.reduce((n, b) => n + b.completed, 0)).toBe(2);
    expect(dash.throughput.reduce((n, b) => n + b.failed, 0)).toBe(1);
  });
});

// -------------------------------------------------------------------------------------------------
// Search keywords
// -------------------------------------------------------------------------------------------------

describe("metrics search keywords", () => {
  it("high_memory, slow and expensive match tasks over their thresholds (and the word in text)", async () => {
    const api = await newApi();
    const now = new Date();
    const hungry = await seedTask(api, { task_type: "report_generation", status: "completed", completed_at: now, metrics: metricsOf(100, now, 0, 900) });
    const named = await seedTask(api, { task_type: "high_memory_probe", status: "completed", completed_at: now, metrics: metricsOf(100, now, 0, 10) });
    const slow = await seedTask(api, { task_type: "data_export", status: "completed", completed_at: now, metrics: metricsOf(120_000, now) });
    const pricey = await seedTask(api, { task_type: "data_export", status: "failed", completed_at: now, metrics: metricsOf(10, now, 5) });
    const plain = await seedTask(api, { task_type: "data_export", status: "completed", completed_at: now, metrics: metricsOf(10, now, 0.5, 200) });

    expect(taskIds(await metricPage(api, "?search=high_memory"))).toEqual([hungry.task_id, named.task_id].sort());
    expect(taskIds(await metricPage(api, "?search=High%20Memory"))).toEqual([hungry.task_id, named.task_id].sort());
    expect(taskIds(await metricPage(api, "?search=slow"))).toEqual([slow.task_id]);
    expect(taskIds(await metricPage(api, "?search=expensive"))).toEqual([pricey.task_id]);
    // Keywords combine with the other filters.
    expect(taskIds(await metricPage(api, "?search=expensive&status=completed"))).toEqual([]);

    const flags = Object.fromEntries((await metricPage(api)).results.map((m) => [m.task_id, m.flags]));
    expect(flags).toEqual({
      [hungry.task_id]: ["high_memory"],
      [named.task_id]: [],
      [slow.task_id]: ["slow"],
      [pricey.task_id]: ["expensive"],
      [plain.task_id]: [],
    });
  });
});

// -------------------------------------------------------------------------------------------------
// Dashboard on seeded, known figures
// -------------------------------------------------------------------------------------------------

describe("GET /tasks/monitoring/metrics/dashboard/", () => {
  let api: Api;
  const finished: Array<{ at: Date; status: "completed" | "failed" }> = [];

  beforeAll(async () => {
    api = await newApi();
    const now = Date.now();
    const seed = async (task_type: string, status: "completed" | "failed", agoMs: number, durationMs: number, cost: number) => {
      const at = new Date(now - agoMs);
      finished.push({ at, status });
      await seedTask(api, { task_type, status, completed_at: at, metrics: metricsOf(durationMs, at, cost) });
    };
    // alpha: ten completed runs of 100…1000 ms, one every 50 minutes, 0.1 USD each.
    for (let i = 0; i < 10; i++) await seed("alpha", "completed", i * 50 * MINUTE, (i + 1) * 100, 0.1);
    await seed("beta", "completed", 3 * HOUR, 42, 0.5);
    // Failures are not durations (their huge times must not reach the percentiles).
    await seed("alpha", "failed", 20 * MINUTE, 99_999, 0.05);
    await seed("alpha", "failed", 5 * HOUR, 99_999, 0.05);
    // Outside 24 h, inside 7 d.
    await seed("alpha", "completed", 30 * HOUR, 5_000, 1);
    await seed("alpha", "failed", 48 * HOUR, 99_999, 0);
    await seedTask(api, { task_type: "alpha", status: "pending", scheduled_for: new Date(now + HOUR) });
    await seedTask(api, { task_type: "alpha", status: "running", executor: "extension" });
    await seedTask(api, { task_type: "beta", status: "cancelled" });
  });

  async function dashboard(query = ""): Promise<MetricsDashboard> {
    const res = await api.call("GET", `${M}/metrics/dashboard/${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return MetricsDashboardSchema.parse(res.body);
  }

  /** The buckets the seeded finishes fall in, computed here from the answer's window. */
  function expectedBuckets(dash: MetricsDashboard) {
    const start = new Date(dash.window.start).getTime();
    const size = dash.window.bucket_seconds * 1000;
    const buckets = Array.from({ length: dash.window.bucket_count }, () => ({ completed: 0, failed: 0 }));
    for (const f of finished) {
      const index = Math.floor((f.at.getTime() - start) / size);
      if (index >= 0 && index < buckets.length) buckets[index][f.status]++;
    }
    return buckets;
  }

  it("24h (default): totals, success rates, exact p50/p95 per type, hourly buckets, cost", async () => {
    const asked = Date.now();
    const dash = await dashboard();
    expect(dash.period).toBe("24h");
    expect(dash.totals).toEqual({ tasks: 18, pending: 1, running: 1, completed: 12, failed: 3, cancelled: 1 });
    expect(dash.success_rate).toBe(80); // 12 / 15, all time
    expect(dash.period_totals).toEqual({ completed: 11, failed: 2, success_rate: 84.6 });
    // Linear interpolation between closest ranks: 100…1000 → p50 = 550, p95 = 955.
    expect(dash.durations.by_task_type).toEqual({
      alpha: { count: 10, avg_ms: 550, min_ms: 100, p50_ms: 550, p95_ms: 955, max_ms: 1000 },
      beta: { count: 1, avg_ms: 42, min_ms: 42, p50_ms: 42, p95_ms: 42, max_ms: 42 },
    });
    // 42, 100…1000: p50 is the 6th value (500), p95 halfway between 900 and 1000.
    expect(dash.durations.overall).toEqual({ count: 11, avg_ms: 503.82, min_ms: 42, p50_ms: 500, p95_ms: 950, max_ms: 1000 });
    expect(dash.cost).toEqual({ total_usd: 1.6, by_task_type: { alpha: 1.1, beta: 0.5 }, all_time_usd: 2.6 });

    expect(dash.window).toMatchObject({ bucket_seconds: 3600, bucket_count: 24 });
    expect(dash.throughput).toHaveLength(24);
    expect(dash.throughput.map(({ completed, failed }) => ({ completed, failed }))).toEqual(expectedBuckets(dash));
    // Contiguous, aligned on the hour, the last one holding now, empty buckets included.
    expect(dash.throughput[0].bucket_start).toBe(dash.window.start);
    expect(dash.throughput.at(-1)!.bucket_end).toBe(dash.window.end);
    for (let i = 1; i < 24; i++) expect(dash.throughput[i].bucket_start).toBe(dash.throughput[i - 1].bucket_end);
    expect(new Date(dash.window.start).getTime() % HOUR).toBe(0);
    expect(new Date(dash.window.end).getTime()).toBeGreaterThanOrEqual(asked);
    expect(dash.throughput.filter((b) => b.completed + b.failed === 0).length).toBeGreaterThan(0);
  });

  it("1h: five-minute buckets and the percentiles of that hour only", async () => {
    const dash = await dashboard("?period=1h");
    expect(dash.window).toMatchObject({ bucket_seconds: 300, bucket_count: 12 });
    expect(dash.throughput.map(({ completed, failed }) => ({ completed, failed }))).toEqual(expectedBuckets(dash));
    expect(dash.period_totals).toEqual({ completed: 2, failed: 1, success_rate: 66.7 });
    expect(dash.durations.by_task_type).toEqual({ alpha: { count: 2, avg_ms: 150, min_ms: 100, p50_ms: 150, p95_ms: 195, max_ms: 200 } });
    expect(dash.totals.tasks).toBe(18); // totals are all time whatever the period
  });

  it("7d: six-hour buckets reach the older runs", async () => {
    const dash = await dashboard("?period=7d");
    expect(dash.window).toMatchObject({ bucket_seconds: 21_600, bucket_count: 28 });
    expect(dash.throughput.map(({ completed, failed }) => ({ completed, failed }))).toEqual(expectedBuckets(dash));
    expect(dash.period_totals).toEqual({ completed: 12, failed: 3, success_rate: 80 });
    // 100…1000 and 5000: p50 = 600, p95 halfway between 1000 and 5000.
    expect(dash.durations.by_task_type.alpha).toEqual({ count: 11, avg_ms: 954.55, min_ms: 100, p50_ms: 600, p95_ms: 3000, max_ms: 5000 });
    expect(dash.cost.total_usd).toBe(2.6);
  });

  it("narrows every figure to task types, and refuses an unknown period", async () => {
    const dash = await dashboard("?task_type=beta");
    expect(dash.totals).toEqual({ tasks: 2, pending: 0, running: 0, completed: 1, failed: 0, cancelled: 1 });
    expect(Object.keys(dash.durations.by_task_type)).toEqual(["beta"]);
    expect(dash.cost).toEqual({ total_usd: 0.5, by_task_type: { beta: 0.5 }, all_time_usd: 0.5 });
    const bad = await api.call<Body>("GET", `${M}/metrics/dashboard/?period=2w`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error_code: "VALIDATION_ERROR", field_errors: { period: expect.any(Array) } });
  });

  it("is empty, not missing, for a brand without tasks", async () => {
    const empty = await newApi();
    const dash = MetricsDashboardSchema.parse(await empty.ok("GET", `${M}/metrics/dashboard/`));
    expect(dash.totals.tasks).toBe(0);
    expect(dash.success_rate).toBeNull();
    expect(dash.durations).toEqual({ overall: null, by_task_type: {} });
    expect(dash.throughput.every((b) => b.completed === 0 && b.failed === 0)).toBe(true);
    expect(dash.cost).toEqual({ total_usd: 0, by_task_type: {}, all_time_usd: 0 });
  });
});

// -------------------------------------------------------------------------------------------------
// Workers
// -------------------------------------------------------------------------------------------------

describe("GET /tasks/monitoring/workers/overview/", () => {
  it("shows this process alive with the brand's running task, a stale and a stopped worker", async () => {
    const api = await newApi();
    const other = await newApi();
    const workers = workerModel(server.db.connection);
    const now = Date.now();
    await workers.create([
      { worker_id: "gone-host:4242:aaaaaa", host: "gone-host", pid: 4242, started_at: new Date(now - HOUR), last_heartbeat: new Date(now - 10 * MINUTE), running_jobs: ["task_elsewhere1"] },
      { worker_id: "old-host:77:bbbbbb", host: "old-host", pid: 77, started_at: new Date(now - 2 * HOUR), last_heartbeat: new Date(now - 5 * MINUTE), stopped_at: new Date(now - 5 * MINUTE) },
      { worker_id: "ancient:1:cccccc", host: "ancient", pid: 1, started_at: new Date(now - 90 * HOUR), last_heartbeat: new Date(now - 72 * HOUR), stopped_at: new Date(now - 72 * HOUR) },
    ]);
    const long = await api.ok<TaskView>("POST", "/tasks/", { task_type: "simulated", context_data: { steps: 200, step_ms: 50, checkpoint_every: 0 } }, 201);
    // Workers are shown by an opaque id (their document's), never by host and pid.
    const publicId = async (workerId: string) => String((await workers.findOne({ worker_id: workerId }).lean())!._id);
    const self = await waitFor("this process's heartbeat", () => publicId(server.description.services.execution.workerId).catch(() => null), (id) => id !== null);
    const [gone, old, ancient] = await Promise.all(["gone-host:4242:aaaaaa", "old-host:77:bbbbbb", "ancient:1:cccccc"].map(publicId));

    const overview = await waitFor(
      "the running task in the heartbeat",
      async () => WorkersOverviewSchema.parse(await api.ok("GET", `${M}/workers/overview/`)),
      (o) => o.workers.some((w) => w.worker_id === self && w.running_jobs.task_ids.includes(long.task_id)),
    );
    expect(overview.stale_after_ms).toBe(3 * server.config.tasks.heartbeatMs);
    expect(overview.workers.map((w) => [w.worker_id, w.status])).toEqual([
      [self, "alive"],
      [gone, "stale"],
      [old, "stopped"],
    ]);
    const mine = overview.workers[0];
    expect(mine).toMatchObject({ is_current_process: true, stopped_at: null, running_jobs: { count: 1, task_ids: [long.task_id] } });
    expect(mine.heartbeat_age_ms).toBeLessThan(overview.stale_after_ms);
    // Another brand's task on a worker is counted, never named.
    expect(overview.workers[1]).toMatchObject({ is_current_process: false, running_jobs: { count: 1, task_ids: [] }, heartbeat_age_ms: expect.any(Number) });
    expect(overview.workers[1].heartbeat_age_ms).toBeGreaterThanOrEqual(10 * MINUTE);
    expect(overview.workers[2].running_jobs).toEqual({ count: 0, task_ids: [] });
    expect(overview.totals).toEqual({ workers: 3, alive: 1, stale: 1, stopped: 1, running_jobs: 2, running_jobs_in_brand: 1 });

    const seenByOther = WorkersOverviewSchema.parse(await other.ok("GET", `${M}/workers/overview/`));
    const sameWorker = seenByOther.workers.find((w) => w.worker_id === self)!;
    expect(sameWorker.running_jobs.count).toBeGreaterThanOrEqual(1);
    expect(sameWorker.running_jobs.task_ids).toEqual([]);
    expect(seenByOther.totals.running_jobs_in_brand).toBe(0);
    // No host name, pid or internal worker id reaches a seller.
    for (const seen of [overview, seenByOther]) {
      for (const worker of seen.workers) expect(Object.keys(worker)).not.toEqual(expect.arrayContaining(["host"]));
      const text = JSON.stringify(seen);
      for (const secret of [os.hostname(), "gone-host", "old-host", server.description.services.execution.workerId]) expect(text).not.toContain(secret);
      expect(seen.workers.some((w) => "pid" in w)).toBe(false);
    }

    const stale = WorkersOverviewSchema.parse(await api.ok("GET", `${M}/workers/overview/?status=stale,stopped`));
    expect(stale.workers.map((w) => w.status)).toEqual(["stale", "stopped"]);
    const longAgo = WorkersOverviewSchema.parse(await api.ok("GET", `${M}/workers/overview/?inactive_within_hours=100`));
    expect(longAgo.workers.map((w) => w.worker_id)).toContain(ancient);
    expect((await api.call("GET", `${M}/workers/overview/?status=zombie`)).status).toBe(400);

    await api.ok("POST", `/tasks/${long.id}/cancel/`);
    await workers.deleteMany({ worker_id: { $in: ["gone-host:4242:aaaaaa", "old-host:77:bbbbbb", "ancient:1:cccccc"] } });
  });
});

// -------------------------------------------------------------------------------------------------
// Alert rules
// -------------------------------------------------------------------------------------------------

const RULES = `${M}/alert-rules/`;

describe("alert rules CRUD", () => {
  it("creates, lists, reads, replaces, patches and deletes a rule", async () => {
    const api = await newApi();
    const created = await api.call("POST", RULES, { name: "  Too many failures ", metric: "failure_rate", comparator: "gt", threshold: 20 });
    expect(created.status).toBe(201);
    const rule = AlertRuleSchema.parse(created.body);
    expect(rule).toMatchObject({
      name: "Too many failures",
      description: "",
      metric: "failure_rate",
      comparator: "gt",
      threshold: 20,
      window_minutes: 15,
      task_type: null,
      severity: "warning",
      enabled: true,
      open_alert_id: null,
      created_by: { id: api.user.user.id, username: api.user.user.username },
    });
    expect(["pending", "no_data"]).toContain(rule.state);

    // Evaluated in the background: no finished task, so no data.
    const evaluated = await waitFor("an evaluation", async () => AlertRuleSchema.parse(await api.ok("GET", `${RULES}${rule.id}/`)), (r) => r.last_evaluated_at !== null);
    expect(evaluated).toMatchObject({ state: "no_data", last_value: null });

    const second = AlertRuleSchema.parse(
      await api.ok("POST", RULES, { name: "Queue", description: "backlog", metric: "queue_depth", comparator: "gte", threshold: 50, window_minutes: 5, task_type: "simulated", severity: "critical", enabled: false }, 201),
    );
    expect(second).toMatchObject({ state: "disabled", task_type: "simulated", severity: "critical", enabled: false });

    const list = AlertRuleListResponseSchema.parse(await api.ok("GET", RULES));
    expect(list.results.map((r) => r.id)).toEqual([rule.id, second.id]);
    expect(AlertRuleListResponseSchema.parse(await api.ok("GET", `${RULES}?enabled=false`)).results.map((r) => r.id)).toEqual([second.id]);
    expect(AlertRuleListResponseSchema.parse(await api.ok("GET", `${RULES}?metric=queue_depth,failed_count`)).results.map((r) => r.id)).toEqual([second.id]);

    const patched = AlertRuleSchema.parse(await api.ok("PATCH", `${RULES}${second.id}/`, { threshold: 5, enabled: true }));
    expect(patched).toMatchObject({ threshold: 5, enabled: true, description: "backlog", severity: "critical", name: "Queue" });
    expect(new Date(patched.updated_at).getTime()).toBeGreaterThanOrEqual(new Date(second.updated_at).getTime());

    // PUT replaces: omitted optional fields fall back to their defaults.
    const replaced = AlertRuleSchema.parse(await api.ok("PUT", `${RULES}${second.id}/`, { name: "Queue depth", metric: "queue_depth", comparator: "gt", threshold: 10 }));
    expect(replaced).toMatchObject({ name: "Queue depth", description: "", threshold: 10, comparator: "gt", window_minutes: 15, task_type: null, severity: "warning", enabled: true });
    expect(replaced.created_at).toBe(second.created_at);

    expect((await api.call("DELETE", `${RULES}${second.id}/`)).status).toBe(204);
    expect((await api.call<Body>("GET", `${RULES}${second.id}/`)).body).toMatchObject({ error_code: "NOT_FOUND" });
    expect((await api.call("DELETE", `${RULES}${second.id}/`)).status).toBe(404);
    expect((await api.call("PATCH", `${RULES}${second.id}/`, { threshold: 1 })).status).toBe(404);
    expect(AlertRuleListResponseSchema.parse(await api.ok("GET", RULES)).count).toBe(1);
  });

  it("refuses invalid rules with field errors", async () => {
    const api = await newApi();
    const fieldsOf = async (method: string, path: string, body: unknown) => {
      const res = await api.call<Body>(method, path, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error_code).toBe("VALIDATION_ERROR");
      return Object.keys(res.body.field_errors as Body).sort();
    };
    const valid = { name: "r", metric: "failed_count", comparator: "gte", threshold: 3 };
    expect(await fieldsOf("POST", RULES, {})).toEqual(["comparator", "metric", "name", "threshold"]);
    expect(await fieldsOf("POST", RULES, { ...valid, metric: "cpu" })).toEqual(["metric"]);
    expect(await fieldsOf("POST", RULES, { ...valid, comparator: "eq" })).toEqual(["comparator"]);
    expect(await fieldsOf("POST", RULES, { ...valid, threshold: -1 })).toEqual(["threshold"]);
    expect(await fieldsOf("POST", RULES, { ...valid, threshold: "3" })).toEqual(["threshold"]);
    expect(await fieldsOf("POST", RULES, { ...valid, metric: "failure_rate", threshold: 150 })).toEqual(["threshold"]);
    expect(await fieldsOf("POST", RULES, { ...valid, window_minutes: 0 })).toEqual(["window_minutes"]);
    expect(await fieldsOf("POST", RULES, { ...valid, window_minutes: 100_000 })).toEqual(["window_minutes"]);
    expect(await fieldsOf("POST", RULES, { ...valid, task_type: "no spaces" })).toEqual(["task_type"]);
    expect(await fieldsOf("POST", RULES, { ...valid, severity: "meh" })).toEqual(["severity"]);
    expect(await fieldsOf("POST", RULES, { ...valid, name: "   " })).toEqual(["name"]);
    expect(await fieldsOf("POST", RULES, { ...valid, colour: "red" })).toEqual(["non_field_errors"]);

    const rule = AlertRuleSchema.parse(await api.ok("POST", RULES, valid, 201));
    // Names are unique within a brand…
    expect(await fieldsOf("POST", RULES, valid)).toEqual(["name"]);
    const other = AlertRuleSchema.parse(await api.ok("POST", RULES, { ...valid, name: "r2" }, 201));
    expect(await fieldsOf("PATCH", `${RULES}${other.id}/`, { name: "r" })).toEqual(["name"]);
    // …not across brands.
    expect((await (await newApi()).call("POST", RULES, valid)).status).toBe(201);

    // PATCH is checked once merged with the stored rule.
    expect(await fieldsOf("PATCH", `${RULES}${rule.id}/`, { metric: "failure_rate", threshold: 101 })).toEqual(["threshold"]);
    await api.ok("PATCH", `${RULES}${rule.id}/`, { metric: "failure_rate", threshold: 90 });
    expect(await fieldsOf("PATCH", `${RULES}${rule.id}/`, { threshold: 101 })).toEqual(["threshold"]);
    expect(await fieldsOf("PUT", `${RULES}${rule.id}/`, { threshold: 1 })).toEqual(["comparator", "metric", "name"]);
    expect((await api.call("GET", `${RULES}abc/`)).status).toBe(400);
    expect(AlertRuleSchema.parse(await api.ok("GET", `${RULES}${rule.id}/`))).toMatchObject({ metric: "failure_rate", threshold: 90 });
  });
});

// -------------------------------------------------------------------------------------------------
// Alerts
// -------------------------------------------------------------------------------------------------

const ALERTS = `${M}/alerts/`;

async function alertPage(api: Api, query = ""): Promise<Page<AlertView>> {
  return AlertListResponseSchema.parse(await api.ok("GET", `${ALERTS}${query}`));
}

async function waitForAlert(api: Api, ruleId: number, done: (alerts: AlertView[]) => boolean = (a) => a.length > 0): Promise<AlertView[]> {
  return (await waitFor(`alerts of rule ${ruleId}`, () => alertPage(api, `?status=all&rule_id=${ruleId}`), (p) => done(p.results))).results;
}

/** Waits until the background evaluator has looked at the rule `times` more times. */
async function evaluations(api: Api, ruleId: number, times: number): Promise<void> {
  let seen = (await api.ok<Body>("GET", `${RULES}${ruleId}/`)).last_evaluated_at;
  for (let i = 0; i < times; i++) {
    const previous = seen;
    seen = (await waitFor("an evaluation", () => api.ok<Body>("GET", `${RULES}${ruleId}/`), (r) => r.last_evaluated_at !== previous)).last_evaluated_at;
  }
}

describe("alerts raised by the evaluator", () => {
  it("fires after failures and resolves itself once the failure rate drops", async () => {
    const api = await newApi();
    const rule = AlertRuleSchema.parse(
      await api.ok("POST", RULES, { name: "simulated failing", metric: "failure_rate", comparator: "gt", threshold: 50, window_minutes: 60, task_type: "simulated", severity: "critical" }, 201),
    );
    await Promise.all([1, 2].map(() => runTask(api, { fail_permanently: true }, { max_retries: 0 })));
    // A task of another type does not count for this rule (it would make the rate 66.7).
    await seedTask(api, { task_type: "data_export", status: "completed", completed_at: new Date(), metrics: metricsOf(5, new Date()) });

    const [alert] = await waitForAlert(api, rule.id);
    expect(AlertSchema.parse(alert)).toMatchObject({
      rule_id: rule.id,
      rule_name: "simulated failing",
      metric: "failure_rate",
      comparator: "gt",
      threshold: 50,
      window_minutes: 60,
      task_type: "simulated",
      severity: "critical",
      status: "active",
      value: 100,
      acknowledged_at: null,
      resolved_at: null,
      resolution: null,
    });
    expect(alert.message).toContain("failure_rate is 100");
    expect((await alertPage(api)).results.map((a) => a.id)).toEqual([alert.id]);
    expect(AlertRuleSchema.parse(await api.ok("GET", `${RULES}${rule.id}/`))).toMatchObject({ state: "firing", last_value: 100, open_alert_id: alert.id });

    // Still failing: evaluations refresh the same alert instead of raising others.
    await evaluations(api, rule.id, 3);
    const still = await alertPage(api, `?status=all&rule_id=${rule.id}`);
    expect(still.count).toBe(1);
    expect(new Date(still.results[0].last_evaluated_at).getTime()).toBeGreaterThan(new Date(alert.last_evaluated_at).getTime());

    // 2 failed out of 5: 40 %, under the threshold (it may resolve at 2 of 4 already: 50 is not > 50).
    await Promise.all([1, 2, 3].map(() => runTask(api, { steps: 1, step_ms: 1 })));
    const [resolved] = await waitForAlert(api, rule.id, (a) => a[0]?.status === "resolved");
    expect(resolved).toMatchObject({ id: alert.id, status: "resolved", resolution: "auto", resolved_by: null });
    expect(resolved.last_value).toBeLessThanOrEqual(50);
    expect((await alertPage(api)).count).toBe(0);
    expect((await alertPage(api, "?status=resolved")).results.map((a) => a.id)).toEqual([alert.id]);
    const settled = await waitFor("the rule to settle at 40 %", async () => AlertRuleSchema.parse(await api.ok("GET", `${RULES}${rule.id}/`)), (r) => r.last_value === 40);
    expect(settled).toMatchObject({ state: "ok", open_alert_id: null });
    expect((await alertPage(api, `?status=all&rule_id=${rule.id}`)).count).toBe(1);
  });

  it("acknowledge and resolve follow the state rules", async () => {
    const api = await newApi();
    // A queue of 0 is always >= 0: this rule always holds.
    const rule = AlertRuleSchema.parse(await api.ok("POST", RULES, { name: "always", metric: "queue_depth", comparator: "gte", threshold: 0 }, 201));
    const [first] = await waitForAlert(api, rule.id);
    expect(first).toMatchObject({ status: "active", value: 0 });

    const acked = AlertSchema.parse(await api.ok("POST", `${ALERTS}${first.id}/acknowledge/`, { note: "looking into it" }));
    expect(acked).toMatchObject({ status: "acknowledged", acknowledged_by: { id: api.user.user.id, username: api.user.user.username }, note: "looking into it" });
    expect(acked.acknowledged_at).not.toBeNull();
    expect((await alertPage(api)).count).toBe(0); // the default list shows active alerts only
    expect((await alertPage(api, "?status=acknowledged")).results.map((a) => a.id)).toEqual([first.id]);

    const again = await api.call<Body>("POST", `${ALERTS}${first.id}/acknowledge/`);
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error_code: "INVALID_OPERATION", current_status: "acknowledged", allowed_statuses: ["active"] });

    // Acknowledged stays open: no second alert while the condition holds.
    await evaluations(api, rule.id, 3);
    expect((await alertPage(api, `?status=all&rule_id=${rule.id}`)).count).toBe(1);

    const resolved = AlertSchema.parse(await api.ok("POST", `${ALERTS}${first.id}/resolve/`));
    expect(resolved).toMatchObject({ status: "resolved", resolution: "manual", resolved_by: { id: api.user.user.id }, note: "looking into it" });
    for (const action of ["resolve", "acknowledge"]) {
      const res = await api.call<Body>("POST", `${ALERTS}${first.id}/${action}/`, {});
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        error_code: "INVALID_OPERATION",
        current_status: "resolved",
        allowed_statuses: action === "resolve" ? ["active", "acknowledged"] : ["active"],
      });
    }
    expect(AlertSchema.parse(await api.ok("GET", `${ALERTS}${first.id}/`)).status).toBe("resolved");

    // The condition still holds: the next evaluation raises a new alert, which resolves directly from active.
    const alerts = await waitForAlert(api, rule.id, (a) => a.some((x) => x.status === "active"));
    const second = alerts.find((a) => a.status === "active")!;
    expect(second.id).not.toBe(first.id);
    expect((await api.ok<Body>("POST", `${ALERTS}${second.id}/resolve/`)).status).toBe("resolved");

    // Disabling the rule resolves its open alert and stops new ones.
    const third = (await waitForAlert(api, rule.id, (a) => a.some((x) => x.status === "active"))).find((a) => a.status === "active")!;
    expect(AlertRuleSchema.parse(await api.ok("PATCH", `${RULES}${rule.id}/`, { enabled: false }))).toMatchObject({ state: "disabled", enabled: false });
    expect(AlertSchema.parse(await api.ok("GET", `${ALERTS}${third.id}/`))).toMatchObject({ status: "resolved", resolution: "rule_disabled" });
    // Once an evaluation in progress has finished (stop waits for it), a new one raises nothing for a disabled rule.
    const evaluator = server.description.services.monitoring.evaluator;
    await evaluator.stop();
    await evaluator.evaluateOnce();
    await evaluator.start();
    expect((await alertPage(api, "?status=active,acknowledged")).count).toBe(0);

    // Deleting a rule keeps its alerts as history and resolves the open one.
    await api.ok("PATCH", `${RULES}${rule.id}/`, { enabled: true });
    const fourth = (await waitForAlert(api, rule.id, (a) => a.some((x) => x.status === "active"))).find((a) => a.status === "active")!;
    expect((await api.call("DELETE", `${RULES}${rule.id}/`)).status).toBe(204);
    expect(AlertSchema.parse(await api.ok("GET", `${ALERTS}${fourth.id}/`))).toMatchObject({ status: "resolved", resolution: "rule_deleted" });
    const history = await alertPage(api, `?status=all&rule_id=${rule.id}`);
    expect(history.results.map((a) => a.id)).toEqual(expect.arrayContaining([first.id, second.id, third.id, fourth.id]));
    expect(history.results.every((a) => a.status === "resolved")).toBe(true);

    expect((await api.call<Body>("POST", `${ALERTS}999999/acknowledge/`)).body).toMatchObject({ error_code: "NOT_FOUND" });
    expect((await api.call("GET", `${ALERTS}?status=closed`)).status).toBe(400);
  });

  it("two evaluators (two server processes) never raise the same alert twice", async () => {
    const api = await newApi();
    const rule = AlertRuleSchema.parse(await api.ok("POST", RULES, { name: "race", metric: "total_cost_usd", comparator: "gte", threshold: 0, enabled: false }, 201));
    // A second process: its own connection and evaluator on the same database.
    let second: Database | null = null;
    try {
      second = await connectDatabase({ mongodbUri: server.testDatabase.uri, dataDir: null });
      const local = server.description.services.monitoring.evaluator;
      const remote = new AlertEvaluator(second.connection, { intervalMs: 60_000 }, createLogger(server.config));
      await api.ok("PATCH", `${RULES}${rule.id}/`, { enabled: true });
      const runs = await Promise.all([local, remote, local, remote, remote, local].map((e) => e.evaluateOnce()));
      expect(runs.every((r) => r.firing >= 1)).toBe(true);
      const alerts = await waitForAlert(api, rule.id);
      await evaluations(api, rule.id, 2);
      expect((await alertPage(api, `?status=all&rule_id=${rule.id}`)).results.map((a) => a.id)).toEqual([alerts[0].id]);
      // The index behind it: a second open alert for the rule cannot be stored.
      const { alerts: Alerts } = alertModels(second.connection);
      const copy = { ...(await Alerts.findOne({ brand: api.brandId, rule: rule.id }).lean())!, _id: undefined, id: 987_654_321 };
      await expect(Alerts.create(copy)).rejects.toMatchObject({ code: 11000 });
    } finally {
      await second?.close();
    }
  });
});

// -------------------------------------------------------------------------------------------------
// Brand isolation
// -------------------------------------------------------------------------------------------------

describe("brand isolation", () => {
  it("another brand never sees or touches this brand's metrics, rules and alerts", async () => {
    const owner = await newApi();
    const stranger = await newApi();
    const failed = await runTask(owner, { fail_permanently: true, cost_per_step: 3 }, { max_retries: 0 });
    await runTask(owner, { steps: 1, step_ms: 1, cost_per_step: 3 });
    const rule = AlertRuleSchema.parse(await owner.ok("POST", RULES, { name: "any failure", metric: "failed_count", comparator: "gt", threshold: 0 }, 201));
    const [alert] = await waitForAlert(owner, rule.id);
    expect(alert.value).toBe(1);
    // The stranger's identical rule measures the stranger's (empty) brand only.
    const strangerRule = AlertRuleSchema.parse(await stranger.ok("POST", RULES, { name: "any failure", metric: "failed_count", comparator: "gt", threshold: 0 }, 201));
    await evaluations(stranger, strangerRule.id, 2);
    expect(AlertRuleSchema.parse(await stranger.ok("GET", `${RULES}${strangerRule.id}/`))).toMatchObject({ state: "ok", last_value: 0, open_alert_id: null });

    expect((await metricPage(owner)).count).toBe(2);
    expect((await metricPage(stranger)).count).toBe(0);
    expect((await metricPage(stranger, "?search=simulated")).count).toBe(0);
    expect((await stranger.call<Body>("GET", `${M}/metrics/${failed.id}/`)).body).toMatchObject({ error_code: "TASK_NOT_FOUND" });
    expect((await stranger.call<Body>("GET", `${M}/metrics/${failed.task_id}/`)).status).toBe(404);
    const dash = MetricsDashboardSchema.parse(await stranger.ok("GET", `${M}/metrics/dashboard/`));
    expect(dash.totals.tasks).toBe(0);
    expect(dash.cost.all_time_usd).toBe(0);

    expect(AlertRuleListResponseSchema.parse(await stranger.ok("GET", RULES)).results.map((r) => r.id)).toEqual([strangerRule.id]);
    for (const [method, body] of [["GET", undefined], ["PATCH", { threshold: 9 }], ["PUT", { name: "x", metric: "failed_count", comparator: "gt", threshold: 9 }], ["DELETE", undefined]] as const) {
      const res = await stranger.call<Body>(method, `${RULES}${rule.id}/`, body);
      expect(res.status, method).toBe(404);
    }
    expect((await alertPage(stranger, "?status=all")).count).toBe(0);
    expect((await stranger.call("GET", `${ALERTS}${alert.id}/`)).status).toBe(404);
    expect((await stranger.call("POST", `${ALERTS}${alert.id}/acknowledge/`)).status).toBe(404);
    expect((await stranger.call("POST", `${ALERTS}${alert.id}/resolve/`)).status).toBe(404);
    // Asking for the owner's brand outright is refused.
    const forced = await stranger.call<Body>("GET", ALERTS, undefined, { "X-Brand-ID": String(owner.brandId) });
    expect(forced.status).toBe(403);

    // Nothing the stranger tried changed the owner's rule or alert.
    expect(AlertRuleSchema.parse(await owner.ok("GET", `${RULES}${rule.id}/`)).threshold).toBe(0);
    expect(AlertSchema.parse(await owner.ok("GET", `${ALERTS}${alert.id}/`)).status).toBe("active");
  });
});
