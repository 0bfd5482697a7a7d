/**
 * Retention over the real server and engine: finished tasks older than TASK_RETENTION go with their
 * checkpoints (and so their metrics), a finished batch goes with its jobs, work still to do and
 * recent results stay; Vinted stats snapshots older than VINTED_SNAPSHOT_DAILY_AFTER keep the last
 * one of each listing and day. The sweep is given a "now" in the future instead of waiting days.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchSchema } from "../../shared/batches.js";
import { loadConfig } from "../../server/src/config.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { TaskApi, waitFor } from "../tasks/fixtures/tasks.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let server: TestServer;
let api: TaskApi;
beforeAll(async () => {
  server = await startTestServer({ TASK_RETENTION: "2h", VINTED_SNAPSHOT_DAILY_AFTER: "7d" });
  api = new TaskApi(server.request, (await server.register()).access_token);
});
afterAll(() => server?.close());

const sweep = (at: Date) => server.description.services.retention.sweep(at);
const checkpointsOf = (taskId: string) => server.db.connection.collection("task_checkpoints").countDocuments({ task_id: taskId });

describe("retention", () => {
  it("removes finished tasks past the retention period with their checkpoints; keeps pending and recent ones", async () => {
    const done = await api.create({ task_type: "simulated", context_data: { steps: 2, step_ms: 1, checkpoint_every: 1 } });
    const finished = await api.waitForStatus(done.id, "completed");
    expect(await checkpointsOf(finished.task_id)).toBeGreaterThan(0);
    const waiting = await api.pending();

    // An hour later nothing is old enough.
    expect(await sweep(new Date(Date.now() + HOUR))).toMatchObject({ tasks: 0, checkpoints: 0 });
    expect((await api.call("GET", `/tasks/${done.id}/`)).status).toBe(200);

    const report = await sweep(new Date(Date.now() + 3 * HOUR));
    expect(report.tasks).toBeGreaterThanOrEqual(1);
    expect(report.checkpoints).toBeGreaterThanOrEqual(2);
    expect((await api.call("GET", `/tasks/${done.id}/`)).status).toBe(404);
    expect(await checkpointsOf(finished.task_id)).toBe(0);
    expect((await api.get(waiting.id)).status).toBe("pending");
    const metrics = await api.call<{ results: Array<{ task_id: string }> }>("GET", `/tasks/monitoring/metrics/?task_id=${finished.task_id}`);
    expect(metrics.body.results ?? []).toEqual([]);
  });

  it("removes a finished batch with its jobs, and leaves an active one whole", async () => {
    await api.call("POST", "/api/v1/accounts/", { account_id: "acc-keep", name: "Keep" });
    const jobs = (n: number) => Array.from({ length: n }, () => ({ context_data: { steps: 1, step_ms: 1, checkpoint_every: 0 } }));
    const finishedId = BatchSchema.parse((await api.call("POST", "/api/v1/batches/", { account_id: "acc-keep", task_type: "simulated", jobs: jobs(3) })).body).batch_id;
    const activeId = BatchSchema.parse(
      (await api.call("POST", "/api/v1/batches/", { account_id: "acc-keep", task_type: "simulated", jobs: jobs(2), scheduled_for: new Date(Date.now() + 30 * DAY).toISOString() })).body,
    ).batch_id;
    await waitFor(async () => BatchSchema.parse((await api.call("GET", `/api/v1/batches/${finishedId}/`)).body), (b) => !b.is_active, { what: "the batch to finish", timeoutMs: 60_000 });

    await sweep(new Date(Date.now() + 3 * HOUR));
    expect((await api.call("GET", `/api/v1/batches/${finishedId}/`)).status).toBe(404);
    expect((await api.list(`batch_id=${finishedId}`)).count).toBe(0);
    const active = BatchSchema.parse((await api.call("GET", `/api/v1/batches/${activeId}/`)).body);
    expect(active.total_jobs).toBe(2);
    expect((await api.list(`batch_id=${activeId}`)).count).toBe(2);
  });

  it("thins stats snapshots older than a week to the last one of each listing and day", async () => {
    const snapshots = server.description.services.vinted.models.StatsSnapshot;
    const now = Date.now();
    const startOfToday = now - (now % DAY);
    const rows = [];
    for (let day = 0; day < 10; day++) {
      for (const hour of [1, 9, 17]) {
        for (const vinted_id of [101, 202]) {
          rows.push({ owner: 999_001, vinted_id, view_count: day * 100 + hour, favourite_count: hour, captured_at: new Date(startOfToday - day * DAY + hour * HOUR) });
        }
      }
    }
    await snapshots.insertMany(rows);
    const cutoff = now - 7 * DAY;
    const dayOf = (r: { vinted_id: number; captured_at: Date }) => `${r.vinted_id}:${r.captured_at.toISOString().slice(0, 10)}`;
    // Expected: every snapshot from the last 7 days, and of the older ones the last of each listing and day.
    const lastOfDay = new Map<string, number>();
    for (const r of rows.filter((r) => r.captured_at.getTime() < cutoff)) lastOfDay.set(dayOf(r), Math.max(lastOfDay.get(dayOf(r)) ?? 0, r.captured_at.getTime()));
    const expected = rows.filter((r) => r.captured_at.getTime() >= cutoff || lastOfDay.get(dayOf(r)) === r.captured_at.getTime());
    expect(lastOfDay.size).toBeGreaterThanOrEqual(4);

    const report = await sweep(new Date(now));
    const left = await snapshots.find({ owner: 999_001 }).lean();
    const key = (r: { vinted_id: number; captured_at: Date }) => `${r.vinted_id}@${r.captured_at.toISOString()}`;
    expect(left.map(key).sort()).toEqual(expected.map(key).sort());
    expect(report.snapshots).toBe(rows.length - expected.length);
    // A second sweep has nothing left to thin.
    expect((await sweep(new Date(now))).snapshots).toBe(0);
  });
});

describe("retention settings", () => {
  const base = { NODE_ENV: "test", JWT_SECRET: "x".repeat(64) };
  it("TASK_RETENTION=off keeps everything; a bad duration is refused at start", () => {
    const off = loadConfig({ ...base, TASK_RETENTION: "off" });
    expect(off.ok && off.config.retention.taskRetentionSeconds).toBeNull();
    const fallback = loadConfig(base);
    expect(fallback.ok && fallback.config.retention).toEqual({ taskRetentionSeconds: 30 * 86_400, snapshotDailyAfterSeconds: 7 * 86_400, sweepIntervalSeconds: 3_600 });
    const bad = loadConfig({ ...base, TASK_RETENTION: "soon" });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems.join(" ")).toMatch(/TASK_RETENTION/);
  });
});
