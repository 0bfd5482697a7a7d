/**
 * Scheduling (`/tasks/scheduled/`): periodic tasks CRUD, cron validation (grammar, ranges, macros,
 * DST in Europe/Paris and America/New_York), the ready/cron-jobs views, and firing — by this
 * process's ticker and by a second server process on the same database, exactly once per occurrence.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type RegisteredUser, type TestServer } from "../helpers/app.js";
import { startServerProcess, type ServerProcess } from "../helpers/process.js";

const BASE = "/tasks/scheduled/periodic-tasks";

// Every-second schedules fire within a test's time: the one-minute minimum is lowered here (its
// default is tested on a server of its own below).
const server = await startTestServer({ SCHEDULER_TICK_MS: "100", CRON_MIN_INTERVAL_SECONDS: "1" });
const scheduling = server.description.services.scheduling;
const ticker = scheduling.ticker;
const periodicTasks = scheduling.service.periodicTasks;
const children: ServerProcess[] = [];

afterAll(async () => {
  await ticker.stop();
  for (const child of children) {
    if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill("SIGKILL");
    await child.exited;
  }
  await server.close();
});

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const alice = await server.register();

function call(user: RegisteredUser, method: string, path: string, body?: unknown) {
  return server.request<Body>(method, path, { token: user.access_token, body });
}

const create = (user: RegisteredUser, body: Body) => call(user, "POST", `${BASE}/`, body);
const validate = (body: Body) => call(alice, "POST", `${BASE}/validate-cron/`, body);

async function createOk(user: RegisteredUser, body: Body): Promise<Body> {
  const res = await create(user, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** Polls until `check` returns a value (not undefined), or fails at the deadline. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The tests that wait for several real ticks (and task runs) in one or two processes: on a machine
 * whose cores are all busy these take many seconds, so their deadlines are wide. A deadline is only
 * how long to keep polling; a passing run returns as soon as the condition holds.
 */
const BUSY_DEADLINE_MS = 45_000;
const BUSY_TEST_TIMEOUT_MS = 120_000;

async function periodicTasksOf(user: RegisteredUser, periodicId?: number): Promise<Body[]> {
  const res = await call(user, "GET", "/tasks/?is_periodic=true&page_size=100");
  expect(res.status).toBe(200);
  const rows = res.body.results as Body[];
  return periodicId === undefined ? rows : rows.filter((t) => t.periodic_task === periodicId);
}

/** Sets next_run_at directly (as if the schedule had been due for a while). */
async function setNextRun(user: RegisteredUser, ids: number[], at: Date): Promise<void> {
  const result = await periodicTasks.updateMany({ brand: user.user.personal_brand_id, id: { $in: ids } }, { $set: { next_run_at: at } });
  expect(result.modifiedCount).toBe(ids.length);
}

/** The first weekday 09:00 UTC strictly after `after`: "0 9 * * 1-5" computed by hand. */
function nextWeekdayNineUtc(after: Date): Date {
  const d = new Date(Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), after.getUTCDate(), 9));
  while (d <= after || d.getUTCDay() === 0 || d.getUTCDay() === 6) d.setUTCDate(d.getUTCDate() + 1);
  return d;
}

// ---------------------------------------------------------------------------------------------

describe("periodic tasks: create", () => {
  it("accepts the spec's body shape, with a known task type, and fills in the defaults", async () => {
    const before = new Date();
    const res = await create(alice, { cron_expression: "0 9 * * 1-5", task_type: "report_generation" });
    const after = new Date();
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.any(Number),
      name: "report_generation: At 09:00, Monday through Friday",
      task_type: "report_generation",
      cron_expression: "0 9 * * 1-5",
      timezone: "UTC",
      cron_description: "At 09:00, Monday through Friday",
      context_data: {},
      priority: "normal",
      description: "",
      enabled: true,
      max_retries: 3,
      timeout_minutes: 60,
      last_run_at: null,
      total_run_count: 0,
      last_task_id: null,
      brand: { id: alice.user.personal_brand_id },
      created_by: { id: alice.user.id },
    });
    expect([nextWeekdayNineUtc(before).toISOString(), nextWeekdayNineUtc(after).toISOString()]).toContain(res.body.next_run_at);
    expect(res.body.next_run_at_local).toBe(res.body.next_run_at.replace(".000Z", "+00:00"));
  });

  it("takes the spec's example type; refuses an unknown one, listing the known types", async () => {
    const carol = await server.register();
    const example = await create(carol, { cron_expression: "0 9 * * 1-5", task_type: "daily_seo_report" });
    expect(example.status, JSON.stringify(example.body)).toBe(201);
    const res = await create(carol, { cron_expression: "0 9 * * 1-5", task_type: "keyword_research" });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe("VALIDATION_ERROR");
    expect(res.body.field_errors.task_type[0]).toMatch(/Unknown task type 'keyword_research'.*daily_seo_report.*data_export.*report_generation.*simulated/);
    expect(res.body.known_task_types).toEqual(expect.arrayContaining(["daily_seo_report", "data_export", "report_generation", "seo_keyword_analysis", "simulated"]));
  });

  it("keeps every given field, and computes next_run_at in the schedule's zone", async () => {
    const body = await createOk(alice, {
      name: "Nightly export",
      task_type: "data_export",
      cron_expression: "30 2 * * *",
      timezone: "europe/paris",
      context_data: { format: "json" },
      priority: "high",
      description: "CSV of yesterday's tasks",
      max_retries: 5,
      timeout_minutes: 1.5,
    });
    expect(body).toMatchObject({
      name: "Nightly export",
      timezone: "Europe/Paris",
      context_data: { format: "json" },
      priority: "high",
      description: "CSV of yesterday's tasks",
      max_retries: 5,
      timeout_minutes: 1.5,
    });
    // 02:30 on the Paris wall clock (November: CET, +01:00).
    expect(body.next_run_at_local).toMatch(/T02:30:00\+0[12]:00$/);
    expect(new Date(body.next_run_at).getTime()).toBeGreaterThan(Date.now());
  });

  it("can be created paused: no next run", async () => {
    const body = await createOk(alice, { task_type: "simulated", cron_expression: "@hourly", enabled: false });
    expect(body).toMatchObject({ enabled: false, next_run_at: null, next_run_at_local: null, cron_description: "Every hour" });
  });

  it.each([
    ["a bad cron expression", { task_type: "simulated", cron_expression: "60 * * * *" }, { cron_expression: [expect.stringMatching(/minute.*60 is out of range 0-59/)] }],
    ["too few fields", { task_type: "simulated", cron_expression: "* * * *" }, { cron_expression: [expect.stringMatching(/expected 5 fields.*got 4/)] }],
    ["an unknown time zone", { task_type: "simulated", cron_expression: "0 9 * * *", timezone: "Mars/Olympus" }, { timezone: [expect.stringMatching(/Unknown time zone 'Mars\/Olympus'/)] }],
    ["an offset instead of a zone", { task_type: "simulated", cron_expression: "0 9 * * *", timezone: "+01:00" }, { timezone: [expect.stringMatching(/Unknown time zone/)] }],
    ["missing required fields", {}, { task_type: ["Ce champ est requis"], cron_expression: ["Ce champ est requis"] }],
    ["a bad priority", { task_type: "simulated", cron_expression: "@daily", priority: "urgent" }, { priority: [expect.stringMatching(/Choix: low, normal, high, critical/)] }],
    ["read-only or unknown fields", { task_type: "simulated", cron_expression: "@daily", total_run_count: 9 }, { non_field_errors: [expect.stringMatching(/total_run_count/)] }],
  ])("answers 400 VALIDATION_ERROR for %s", async (_name, body, fieldErrors) => {
    const res = await create(alice, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error_code: "VALIDATION_ERROR", field_errors: fieldErrors });
  });

  it("reports an unknown type, a bad expression and a never-existing date together", async () => {
    const res = await create(alice, { task_type: "nope", cron_expression: "0 0 30 2 *" });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors).sort()).toEqual(["cron_expression", "task_type"]);
    expect(res.body.field_errors.cron_expression[0]).toMatch(/never occurs/);
  });
});

describe("the shortest interval between runs (CRON_MIN_INTERVAL_SECONDS)", () => {
  let defaults: TestServer;
  let user: RegisteredUser;
  beforeAll(async () => {
    defaults = await startTestServer({}, { taskExecution: false });
    user = await defaults.register();
  });
  afterAll(() => defaults.close());

  const on = (srv: TestServer, who: RegisteredUser, method: string, path: string, body?: unknown) =>
    srv.request<Body>(method, path, { token: who.access_token, body });

  it("by default, a schedule running more often than once a minute is refused with a 400 naming the limit", async () => {
    for (const expression of ["* * * * * *", "*/30 * * * * *", "0,59 * * * * *", "0-5 0 12 * * *"]) {
      const res = await on(defaults, user, "POST", `${BASE}/`, { task_type: "simulated", cron_expression: expression });
      expect(res.status, expression).toBe(400);
      expect(res.body).toMatchObject({
        error_code: "VALIDATION_ERROR",
        field_errors: { cron_expression: [expect.stringMatching(/at most once every 60 s/)] },
        min_interval_seconds: 60,
      });
    }
    const listed = await on(defaults, user, "GET", `${BASE}/`);
    expect(listed.body.count).toBe(0);
  });

  it("by default, every minute (5 fields, or a single second) and slower are accepted", async () => {
    for (const expression of ["* * * * *", "30 * * * * *", "0 */5 * * * *", "@hourly"]) {
      const res = await on(defaults, user, "POST", `${BASE}/`, { task_type: "simulated", cron_expression: expression, enabled: false });
      expect(res.status, `${expression}: ${JSON.stringify(res.body)}`).toBe(201);
    }
  });

  it("an update to a too frequent expression is refused and leaves the schedule as it was", async () => {
    const created = await on(defaults, user, "POST", `${BASE}/`, { task_type: "simulated", cron_expression: "*/2 * * * *", enabled: false });
    expect(created.status).toBe(201);
    const patched = await on(defaults, user, "PATCH", `${BASE}/${created.body.id}/`, { cron_expression: "*/10 * * * * *" });
    expect(patched.status).toBe(400);
    expect(patched.body.field_errors.cron_expression).toEqual([expect.stringMatching(/every 10 s.*at most once every 60 s/)]);
    const put = await on(defaults, user, "PUT", `${BASE}/${created.body.id}/`, { task_type: "simulated", cron_expression: "* * * * * *" });
    expect(put.status).toBe(400);
    expect((await on(defaults, user, "GET", `${BASE}/${created.body.id}/`)).body.cron_expression).toBe("*/2 * * * *");
  });

  it("validate-cron says a too frequent expression cannot be saved", async () => {
    const res = await on(defaults, user, "POST", `${BASE}/validate-cron/`, { cron_expression: "*/15 * * * * *" });
    expect(res.body.valid).toBe(true);
    expect(res.body.warnings).toContainEqual(expect.stringMatching(/at most once every 60 s: it cannot be saved/));
  });

  it("a lower minimum (this suite's server: 1 s) accepts an every-second schedule; a higher one refuses every minute", async () => {
    const fast = await create(alice, { task_type: "simulated", cron_expression: "* * * * * *", enabled: false });
    expect(fast.status).toBe(201);
    await call(alice, "DELETE", `${BASE}/${fast.body.id}/`);
    const strict = await startTestServer({ CRON_MIN_INTERVAL_SECONDS: "300" }, { taskExecution: false });
    try {
      const someone = await strict.register();
      const minutely = await on(strict, someone, "POST", `${BASE}/`, { task_type: "simulated", cron_expression: "* * * * *" });
      expect(minutely.status).toBe(400);
      expect(minutely.body.min_interval_seconds).toBe(300);
      const fiveMinutes = await on(strict, someone, "POST", `${BASE}/`, { task_type: "simulated", cron_expression: "*/5 * * * *" });
      expect(fiveMinutes.status).toBe(201);
    } finally {
      await strict.close();
    }
  });
});

describe("periodic tasks: read, filter, update, pause, delete", () => {
  let bob: RegisteredUser;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    bob = await server.register();
    ids.report = (await createOk(bob, { name: "Weekly report", task_type: "report_generation", cron_expression: "0 8 * * MON" })).id;
    ids.export = (await createOk(bob, { name: "Export", task_type: "data_export", cron_expression: "0 0 1 * *", description: "monthly CSV" })).id;
    ids.sim = (await createOk(bob, { name: "Sim", task_type: "simulated", cron_expression: "*/15 * * * *", enabled: false })).id;
  });

  it("lists the brand's periodic tasks, newest first, with filters and pagination", async () => {
    const all = await call(bob, "GET", `${BASE}/`);
    expect(all.status).toBe(200);
    expect(all.body.count).toBe(3);
    expect(all.body.results.map((r: Body) => r.id)).toEqual([ids.sim, ids.export, ids.report]);

    const enabled = await call(bob, "GET", `${BASE}/?enabled=true`);
    expect(enabled.body.results.map((r: Body) => r.id).sort()).toEqual([ids.export, ids.report].sort());
    const paused = await call(bob, "GET", `${BASE}/?enabled=false`);
    expect(paused.body.results.map((r: Body) => r.id)).toEqual([ids.sim]);

    const byType = await call(bob, "GET", `${BASE}/?task_type=data_export,simulated&ordering=name`);
    expect(byType.body.results.map((r: Body) => r.name)).toEqual(["Export", "Sim"]);

    const search = await call(bob, "GET", `${BASE}/?search=MONTHLY`);
    expect(search.body.results.map((r: Body) => r.id)).toEqual([ids.export]);
    const searchCron = await call(bob, "GET", `${BASE}/?search=*/15`);
    expect(searchCron.body.results.map((r: Body) => r.id)).toEqual([ids.sim]);

    const page1 = await call(bob, "GET", `${BASE}/?page_size=2&ordering=id`);
    expect(page1.body).toMatchObject({ count: 3, previous: null, next: "?page_size=2&ordering=id&page=2" });
    const page2 = await call(bob, "GET", `${BASE}/${page1.body.next}`);
    expect(page2.body.results.map((r: Body) => r.id)).toEqual([ids.sim]);
    expect(page2.body.next).toBeNull();

    const badFilter = await call(bob, "GET", `${BASE}/?enabled=yes&ordering=color`);
    expect(badFilter.status).toBe(400);
    expect(Object.keys(badFilter.body.field_errors).sort()).toEqual(["enabled", "ordering.0"]);
    expect(badFilter.body.field_errors["ordering.0"][0]).toMatch(/Unknown ordering field/);
  });

  it("keeps brands apart: another brand's periodic task does not exist", async () => {
    expect((await call(alice, "GET", `${BASE}/${ids.report}/`)).status).toBe(404);
    expect((await call(alice, "PATCH", `${BASE}/${ids.report}/`, { name: "mine" })).status).toBe(404);
    expect((await call(alice, "POST", `${BASE}/${ids.report}/pause/`)).status).toBe(404);
    expect((await call(alice, "DELETE", `${BASE}/${ids.report}/`)).status).toBe(404);
    const list = await call(alice, "GET", `${BASE}/?search=Weekly`);
    expect(list.body.count).toBe(0);
    const detail = await call(bob, "GET", `${BASE}/${ids.report}/`);
    expect(detail.status).toBe(200);
    expect(detail.body.name).toBe("Weekly report");
  });

  it("PATCH changes the given fields; a new expression or zone moves next_run_at", async () => {
    const res = await call(bob, "PATCH", `${BASE}/${ids.report}/`, { description: "for the team", priority: "low" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ description: "for the team", priority: "low", cron_expression: "0 8 * * MON", name: "Weekly report" });
    const before = res.body.next_run_at;

    const moved = await call(bob, "PATCH", `${BASE}/${ids.report}/`, { cron_expression: "0 8 * * *" });
    expect(moved.body.cron_description).toBe("At 08:00");
    expect(new Date(moved.body.next_run_at).getTime()).toBeLessThanOrEqual(new Date(before).getTime());
    expect(moved.body.next_run_at).toMatch(/T08:00:00\.000Z$/);

    const zoned = await call(bob, "PATCH", `${BASE}/${ids.report}/`, { timezone: "America/New_York" });
    expect(zoned.body.timezone).toBe("America/New_York");
    expect(zoned.body.next_run_at_local).toMatch(/T08:00:00-0[45]:00$/);
    expect(zoned.body.next_run_at).toMatch(/T1[23]:00:00\.000Z$/);

    const empty = await call(bob, "PATCH", `${BASE}/${ids.report}/`, {});
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ timezone: "America/New_York", next_run_at: zoned.body.next_run_at });

    const bad = await call(bob, "PATCH", `${BASE}/${ids.report}/`, { cron_expression: "0 8 * * MON-FRI/0", task_type: "nope" });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.field_errors).sort()).toEqual(["cron_expression", "task_type"]);
    const unchanged = await call(bob, "GET", `${BASE}/${ids.report}/`);
    expect(unchanged.body).toMatchObject({ cron_expression: "0 8 * * *", task_type: "report_generation", next_run_at: zoned.body.next_run_at });
  });

  it("PUT needs task_type and cron_expression; the other fields change when given", async () => {
    const missing = await call(bob, "PUT", `${BASE}/${ids.export}/`, { name: "x" });
    expect(missing.status).toBe(400);
    expect(Object.keys(missing.body.field_errors).sort()).toEqual(["cron_expression", "task_type"]);

    const res = await call(bob, "PUT", `${BASE}/${ids.export}/`, { task_type: "report_generation", cron_expression: "0 0 L * *", timezone: "UTC" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ task_type: "report_generation", cron_expression: "0 0 L * *", cron_description: "At 00:00, on the last day of the month", name: "Export", description: "monthly CSV" });
    const next = new Date(res.body.next_run_at);
    const dayAfter = new Date(next.getTime() + 86_400_000);
    expect(dayAfter.getUTCDate()).toBe(1); // the last day of its month
  });

  it("pause stops the schedule, resume starts it again from now; both are idempotent", async () => {
    const paused = await call(bob, "POST", `${BASE}/${ids.report}/pause/`);
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ enabled: false, next_run_at: null });
    expect((await call(bob, "POST", `${BASE}/${ids.report}/pause/`)).body).toMatchObject({ enabled: false, next_run_at: null });
    const ready = await call(bob, "GET", "/tasks/scheduled/cron-jobs/");
    expect(ready.body.results.map((r: Body) => r.id)).not.toContain(ids.report);

    const resumed = await call(bob, "POST", `${BASE}/${ids.report}/resume/`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.enabled).toBe(true);
    expect(new Date(resumed.body.next_run_at).getTime()).toBeGreaterThan(Date.now());
    const again = await call(bob, "POST", `${BASE}/${ids.report}/resume/`);
    expect(again.body.next_run_at).toBe(resumed.body.next_run_at);

    const viaPatch = await call(bob, "PATCH", `${BASE}/${ids.report}/`, { enabled: false });
    expect(viaPatch.body).toMatchObject({ enabled: false, next_run_at: null });
    const reenabled = await call(bob, "PATCH", `${BASE}/${ids.report}/`, { enabled: true });
    expect(reenabled.body.next_run_at).toBe(resumed.body.next_run_at);
  });

  it("DELETE removes it (204), then it is gone (404)", async () => {
    expect((await call(bob, "DELETE", `${BASE}/${ids.sim}/`)).status).toBe(204);
    const gone = await call(bob, "GET", `${BASE}/${ids.sim}/`);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ detail: "Periodic task not found or access denied", error_code: "NOT_FOUND" });
    expect((await call(bob, "DELETE", `${BASE}/${ids.sim}/`)).status).toBe(404);
    expect((await call(bob, "GET", `${BASE}/abc/`)).status).toBe(400);
  });
});

// ---------------------------------------------------------------------------------------------

describe("validate-cron", () => {
  it("describes a valid expression and lists its next runs (default 5)", async () => {
    const res = await validate({ cron_expression: "0 9 * * 1-5", after: "2025-01-01T00:00:00Z" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      valid: true,
      cron_expression: "0 9 * * 1-5",
      timezone: "UTC",
      errors: [],
      warnings: [],
      description: "At 09:00, Monday through Friday",
      has_seconds: false,
      next_runs: ["2025-01-01T09:00:00.000Z", "2025-01-02T09:00:00.000Z", "2025-01-03T09:00:00.000Z", "2025-01-06T09:00:00.000Z", "2025-01-07T09:00:00.000Z"],
      next_runs_local: ["2025-01-01T09:00:00+00:00", "2025-01-02T09:00:00+00:00", "2025-01-03T09:00:00+00:00", "2025-01-06T09:00:00+00:00", "2025-01-07T09:00:00+00:00"],
    });
  });

  it("lists runs after now by default, and up to 50", async () => {
    const asked = Date.now();
    const res = await validate({ cron_expression: "*/10 * * * *", count: 50 });
    expect(res.body.next_runs).toHaveLength(50);
    const times = res.body.next_runs.map((t: string) => new Date(t).getTime());
    expect(times[0]).toBeGreaterThan(asked);
    expect(times[0] - Date.now()).toBeLessThanOrEqual(600_000);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBe(600_000);
  });

  it.each([
    ["no cron_expression", {}, "cron_expression"],
    ["count 0", { cron_expression: "@daily", count: 0 }, "count"],
    ["count 51", { cron_expression: "@daily", count: 51 }, "count"],
    ["a bad 'after'", { cron_expression: "@daily", after: "yesterday" }, "after"],
    ["an unknown key", { cron_expression: "@daily", tz: "UTC" }, "non_field_errors"],
  ])("answers 400 VALIDATION_ERROR for %s", async (_name, body, field) => {
    const res = await validate(body);
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe("VALIDATION_ERROR");
    expect(Object.keys(res.body.field_errors)).toEqual([field]);
  });

  it.each([
    ["empty", "", /empty/],
    ["4 fields", "* * * *", /expected 5 fields .* got 4/],
    ["7 fields (no years)", "0 0 12 * * ? 2025", /expected 5 fields .* got 7/],
    ["minute 60", "60 * * * *", /^minute \(field 1, '60'\): 60 is out of range 0-59$/],
    ["hour 24", "0 24 * * *", /^hour .*24 is out of range 0-23/],
    ["day 0", "0 0 0 * *", /^day-of-month .*0 is out of range 1-31/],
    ["day 32", "0 0 32 * *", /^day-of-month .*32 is out of range 1-31/],
    ["month 13", "0 0 1 13 *", /^month .*13 is out of range 1-12/],
    ["month 0", "0 0 1 0 *", /^month .*0 is out of range 1-12/],
    ["day-of-week 8", "0 0 * * 8", /^day-of-week .*8 is out of range 0-7/],
    ["second 60 (6 fields)", "60 0 0 * * *", /^second .*60 is out of range 0-59/],
    ["a range out of bounds", "0-60 * * * *", /60 is out of range 0-59/],
    ["a backwards range", "0 17-9 * * *", /range 17-9 goes backwards/],
    ["step 0", "*/0 * * * *", /a step of 0 is not allowed/],
    ["a step beyond the field", "*/60 * * * *", /step 60 is larger than the field's span \(at most 59\)/],
    ["a step beyond the hours", "0 */24 * * *", /step 24 is larger than the field's span \(at most 23\)/],
    ["two steps", "*/5/2 * * * *", /more than one step/],
    ["a step without a range", "/5 * * * *", /step without a range/],
    ["an empty list element", "1,,2 * * * *", /empty value in the list/],
    ["a trailing comma", "1, * * * *", /./],
    ["a negative value", "-5 * * * *", /negative values are not allowed/],
    ["a decimal", "1.5 * * * *", /'1.5' is not a valid value/],
    ["letters in minutes", "abc * * * *", /names are only allowed in month and day-of-week/],
    ["a full month name", "0 0 1 JANUARY *", /unknown month name 'JANUARY'/],
    ["a bad day name", "0 0 * * MOO", /unknown day-of-week name 'MOO'/],
    ["'?' outside the day fields", "? * * * *", /'\?' is only allowed in day-of-month and day-of-week/],
    ["Jenkins' H", "H * * * *", /'H' \(hashed values\) is not supported/],
    ["W", "0 0 15W * *", /'W' \(nearest weekday\) is not supported/],
    ["#6", "0 0 * * 1#6", /occurrence after '#' must be 1-5/],
    ["# in a list", "0 0 * * 1#2,3", /'#' cannot be combined/],
    ["@reboot", "@reboot", /@reboot is not supported/],
    ["an unknown macro", "@fortnightly", /unknown macro '@fortnightly'/],
    ["30 February", "0 0 30 2 *", /never occurs/],
    ["31 April and June", "0 0 31 4,6 *", /never occurs/],
  ])("refuses %s (200, valid: false, the problem in words)", async (_name, expression, message) => {
    const res = await validate({ cron_expression: expression });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ valid: false, description: null, next_runs: [], next_runs_local: [], warnings: [] });
    expect(res.body.errors.length).toBeGreaterThan(0);
    expect(res.body.errors.join("\n")).toMatch(message);
  });

  it("reports every bad field at once, and a bad zone with it", async () => {
    const res = await validate({ cron_expression: "60 24 0 13 8", timezone: "Europe/Atlantis" });
    expect(res.body.valid).toBe(false);
    expect(res.body.errors).toHaveLength(6);
    expect(res.body.errors[0]).toMatch(/^timezone: unknown time zone 'Europe\/Atlantis'/);
    expect(res.body.errors.slice(1).map((e: string) => e.split(" ")[0])).toEqual(["minute", "hour", "day-of-month", "month", "day-of-week"]);
  });

  it.each([
    ["ranges, steps and names", "*/20 9-10 * * MON-FRI", "2025-01-03T09:30:00Z", ["2025-01-03T09:40:00.000Z", "2025-01-03T10:00:00.000Z", "2025-01-03T10:20:00.000Z", "2025-01-03T10:40:00.000Z", "2025-01-06T09:00:00.000Z"]],
    ["a stepped range", "10-30/10 0 * * *", "2025-01-01T00:00:00Z", ["2025-01-01T00:10:00.000Z", "2025-01-01T00:20:00.000Z", "2025-01-01T00:30:00.000Z", "2025-01-02T00:10:00.000Z", "2025-01-02T00:20:00.000Z"]],
    ["a start with a step", "0 5/8 * * *", "2025-01-01T00:00:00Z", ["2025-01-01T05:00:00.000Z", "2025-01-01T13:00:00.000Z", "2025-01-01T21:00:00.000Z", "2025-01-02T05:00:00.000Z", "2025-01-02T13:00:00.000Z"]],
    ["lists, with overlapping values", "0,30,*/30 12 * * *", "2025-01-01T00:00:00Z", ["2025-01-01T12:00:00.000Z", "2025-01-01T12:30:00.000Z", "2025-01-02T12:00:00.000Z", "2025-01-02T12:30:00.000Z", "2025-01-03T12:00:00.000Z"]],
    ["month names in a list", "0 0 1 jan,JUL *", "2025-01-01T00:00:00Z", ["2025-07-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z", "2026-07-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z", "2027-07-01T00:00:00.000Z"]],
    ["Sunday as 7, and MON-SUN", "0 0 * * 7", "2025-01-01T00:00:00Z", ["2025-01-05T00:00:00.000Z", "2025-01-12T00:00:00.000Z", "2025-01-19T00:00:00.000Z", "2025-01-26T00:00:00.000Z", "2025-02-02T00:00:00.000Z"]],
    ["@daily", "@daily", "2025-01-01T10:00:00Z", ["2025-01-02T00:00:00.000Z", "2025-01-03T00:00:00.000Z", "2025-01-04T00:00:00.000Z", "2025-01-05T00:00:00.000Z", "2025-01-06T00:00:00.000Z"]],
    ["@hourly", "@hourly", "2025-01-01T10:00:00Z", ["2025-01-01T11:00:00.000Z", "2025-01-01T12:00:00.000Z", "2025-01-01T13:00:00.000Z", "2025-01-01T14:00:00.000Z", "2025-01-01T15:00:00.000Z"]],
    ["@weekly (Sundays)", "@weekly", "2025-01-01T00:00:00Z", ["2025-01-05T00:00:00.000Z", "2025-01-12T00:00:00.000Z", "2025-01-19T00:00:00.000Z", "2025-01-26T00:00:00.000Z", "2025-02-02T00:00:00.000Z"]],
    ["@monthly", "@monthly", "2025-01-15T00:00:00Z", ["2025-02-01T00:00:00.000Z", "2025-03-01T00:00:00.000Z", "2025-04-01T00:00:00.000Z", "2025-05-01T00:00:00.000Z", "2025-06-01T00:00:00.000Z"]],
    ["@yearly", "@yearly", "2025-01-15T00:00:00Z", ["2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z", "2028-01-01T00:00:00.000Z", "2029-01-01T00:00:00.000Z", "2030-01-01T00:00:00.000Z"]],
    ["the last day of the month", "0 0 L * *", "2024-01-15T00:00:00Z", ["2024-01-31T00:00:00.000Z", "2024-02-29T00:00:00.000Z", "2024-03-31T00:00:00.000Z", "2024-04-30T00:00:00.000Z", "2024-05-31T00:00:00.000Z"]],
    ["the last Friday", "0 18 * * 5L", "2025-01-01T00:00:00Z", ["2025-01-31T18:00:00.000Z", "2025-02-28T18:00:00.000Z", "2025-03-28T18:00:00.000Z", "2025-04-25T18:00:00.000Z", "2025-05-30T18:00:00.000Z"]],
    ["the second Monday", "0 9 ? * MON#2", "2025-01-01T00:00:00Z", ["2025-01-13T09:00:00.000Z", "2025-02-10T09:00:00.000Z", "2025-03-10T09:00:00.000Z", "2025-04-14T09:00:00.000Z", "2025-05-12T09:00:00.000Z"]],
    ["29 February (leap years only)", "0 0 29 2 *", "2025-01-01T00:00:00Z", ["2028-02-29T00:00:00.000Z", "2032-02-29T00:00:00.000Z", "2036-02-29T00:00:00.000Z", "2040-02-29T00:00:00.000Z", "2044-02-29T00:00:00.000Z"]],
    ["6 fields, with seconds", "*/20 * * * * *", "2025-01-01T00:00:00Z", ["2025-01-01T00:00:20.000Z", "2025-01-01T00:00:40.000Z", "2025-01-01T00:01:00.000Z", "2025-01-01T00:01:20.000Z", "2025-01-01T00:01:40.000Z"]],
    ["extra spaces", "  0   12  * * *  ", "2025-01-01T00:00:00Z", ["2025-01-01T12:00:00.000Z", "2025-01-02T12:00:00.000Z", "2025-01-03T12:00:00.000Z", "2025-01-04T12:00:00.000Z", "2025-01-05T12:00:00.000Z"]],
  ])("accepts %s, with the exact next runs", async (_name, expression, after, runs) => {
    const res = await validate({ cron_expression: expression, after });
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    expect(res.body.valid).toBe(true);
    expect(res.body.description).toEqual(expect.any(String));
    expect(res.body.next_runs).toEqual(runs);
  });

  it("lists no run past the year 9999", async () => {
    const res = await validate({ cron_expression: "0 0 29 2 *", after: "9999-01-01T00:00:00Z" });
    expect(res.body).toMatchObject({ valid: true, next_runs: [], next_runs_local: [] });
  });

  it("marks 6-field expressions and describes them", async () => {
    const res = await validate({ cron_expression: "*/20 * * * * *" });
    expect(res.body).toMatchObject({ has_seconds: true, description: "Every 20 seconds" });
  });

  it("warns when both day fields are restricted (cron's OR rule)", async () => {
    const res = await validate({ cron_expression: "0 0 13 * 5", after: "2025-06-01T00:00:00Z", count: 3 });
    expect(res.body.valid).toBe(true);
    expect(res.body.warnings).toEqual([expect.stringMatching(/EITHER/)]);
    // Fridays, and the 13th (a Friday in June 2025 counts once).
    expect(res.body.next_runs).toEqual(["2025-06-06T00:00:00.000Z", "2025-06-13T00:00:00.000Z", "2025-06-20T00:00:00.000Z"]);
  });

  it("warns when a schedule runs more often than the scheduler tick", async () => {
    const slow = await startTestServer({ SCHEDULER_TICK_MS: "10000", CRON_MIN_INTERVAL_SECONDS: "1" }, { taskExecution: false });
    try {
      const user = await slow.register();
      const res = await slow.request<Body>("POST", `${BASE}/validate-cron/`, { token: user.access_token, body: { cron_expression: "*/5 * * * * *" } });
      expect(res.body.valid).toBe(true);
      expect(res.body.warnings).toEqual([expect.stringMatching(/more often than the scheduler checks \(every 10 s\)/)]);
      const minutely = await slow.request<Body>("POST", `${BASE}/validate-cron/`, { token: user.access_token, body: { cron_expression: "* * * * *" } });
      expect(minutely.body.warnings).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  describe("daylight saving time", () => {
    it.each([
      [
        "Europe/Paris, 02:30 on the spring-forward day (does not exist): once, at 03:30 CEST",
        "30 2 * * *", "Europe/Paris", "2025-03-28T12:00:00Z",
        ["2025-03-29T01:30:00.000Z", "2025-03-30T01:30:00.000Z", "2025-03-31T00:30:00.000Z"],
        ["2025-03-29T02:30:00+01:00", "2025-03-30T03:30:00+02:00", "2025-03-31T02:30:00+02:00"],
      ],
      [
        "Europe/Paris, 02:30 on the fall-back day (happens twice): once, the first time",
        "30 2 * * *", "Europe/Paris", "2025-10-24T12:00:00Z",
        ["2025-10-25T00:30:00.000Z", "2025-10-26T00:30:00.000Z", "2025-10-27T01:30:00.000Z"],
        ["2025-10-25T02:30:00+02:00", "2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"],
      ],
      [
        "Europe/Paris, hourly over spring-forward: no 02:00",
        "0 * * * *", "Europe/Paris", "2025-03-29T23:30:00Z",
        ["2025-03-30T00:00:00.000Z", "2025-03-30T01:00:00.000Z", "2025-03-30T02:00:00.000Z"],
        ["2025-03-30T01:00:00+01:00", "2025-03-30T03:00:00+02:00", "2025-03-30T04:00:00+02:00"],
      ],
      [
        "Europe/Paris, hourly over fall-back: both 02:00s (real hours)",
        "0 * * * *", "Europe/Paris", "2025-10-25T23:30:00Z",
        ["2025-10-26T00:00:00.000Z", "2025-10-26T01:00:00.000Z", "2025-10-26T02:00:00.000Z"],
        ["2025-10-26T02:00:00+02:00", "2025-10-26T02:00:00+01:00", "2025-10-26T03:00:00+01:00"],
      ],
      [
        "Europe/Paris, weekdays 09:00 across the change: 08:00Z then 07:00Z",
        "0 9 * * 1-5", "Europe/Paris", "2025-03-28T00:00:00Z",
        ["2025-03-28T08:00:00.000Z", "2025-03-31T07:00:00.000Z", "2025-04-01T07:00:00.000Z"],
        ["2025-03-28T09:00:00+01:00", "2025-03-31T09:00:00+02:00", "2025-04-01T09:00:00+02:00"],
      ],
      [
        "America/New_York, 02:30 on the spring-forward day: once, at 03:30 EDT",
        "30 2 * * *", "America/New_York", "2025-03-07T12:00:00Z",
        ["2025-03-08T07:30:00.000Z", "2025-03-09T07:30:00.000Z", "2025-03-10T06:30:00.000Z"],
        ["2025-03-08T02:30:00-05:00", "2025-03-09T03:30:00-04:00", "2025-03-10T02:30:00-04:00"],
      ],
      [
        "America/New_York, 01:30 on the fall-back day (happens twice): once, the first time",
        "30 1 * * *", "America/New_York", "2025-10-31T12:00:00Z",
        ["2025-11-01T05:30:00.000Z", "2025-11-02T05:30:00.000Z", "2025-11-03T06:30:00.000Z"],
        ["2025-11-01T01:30:00-04:00", "2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"],
      ],
      [
        "America/New_York, hourly over fall-back: both 01:00s",
        "0 * * * *", "America/New_York", "2025-11-02T04:30:00Z",
        ["2025-11-02T05:00:00.000Z", "2025-11-02T06:00:00.000Z", "2025-11-02T07:00:00.000Z"],
        ["2025-11-02T01:00:00-04:00", "2025-11-02T01:00:00-05:00", "2025-11-02T02:00:00-05:00"],
      ],
    ])("%s", async (_name, expression, timezone, after, utc, local) => {
      const res = await validate({ cron_expression: expression, timezone, after, count: 3 });
      expect(res.body).toMatchObject({ valid: true, timezone, next_runs: utc, next_runs_local: local });
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe("the scheduler (ticks by hand: a chosen 'now')", () => {
  let carol: RegisteredUser;
  beforeAll(async () => {
    carol = await server.register();
  });

  it("ready-for-execution and cron-jobs show a due schedule; one tick fires it once, for all missed runs", async () => {
    const body = await createOk(carol, { name: "Hourly", task_type: "simulated", cron_expression: "0 * * * *", context_data: { steps: 1, step_ms: 1 } });
    const notYet = await call(carol, "GET", `${BASE}/ready-for-execution/`);
    expect(notYet.body).toMatchObject({ count: 0, results: [] });

    // Down for five hours: five occurrences missed.
    const hourAgo = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 5 * 3_600_000);
    await setNextRun(carol, [body.id], hourAgo);
    const ready = await call(carol, "GET", `${BASE}/ready-for-execution/`);
    expect(ready.body.count).toBe(1);
    expect(ready.body.results[0]).toMatchObject({ id: body.id, next_run_at: hourAgo.toISOString() });
    const jobs = await call(carol, "GET", "/tasks/scheduled/cron-jobs/?next_runs=3");
    expect(jobs.body.results).toEqual([
      expect.objectContaining({ id: body.id, periodic_task: body.id, is_due: true, cron_description: "Every hour", timezone: "UTC", next_run_at: hourAgo.toISOString() }),
    ]);
    const coming = jobs.body.results[0].next_runs.map((t: string) => new Date(t).getTime());
    expect(coming[0]).toBe(hourAgo.getTime());
    expect(coming[1]).toBeGreaterThan(Date.now());
    expect(coming[2] - coming[1]).toBe(3_600_000);

    const tickedFrom = Date.now();
    const first = await ticker.tick();
    const tickedUntil = Date.now();
    expect(first.fired).toBe(1);
    const second = await ticker.tick();
    expect(second.fired).toBe(0);

    const after = await call(carol, "GET", `${BASE}/${body.id}/`);
    const nextHour = Math.floor(Date.now() / 3_600_000) * 3_600_000 + 3_600_000;
    expect(after.body).toMatchObject({ total_run_count: 1, next_run_at: new Date(nextHour).toISOString(), last_task_id: expect.stringMatching(/^task_/) });
    // The first tick's own "now".
    expect(new Date(after.body.last_run_at).getTime()).toBeGreaterThanOrEqual(tickedFrom);
    expect(new Date(after.body.last_run_at).getTime()).toBeLessThanOrEqual(tickedUntil);
    expect((await call(carol, "GET", `${BASE}/ready-for-execution/`)).body.count).toBe(0);

    const done = await waitFor("the periodic task to complete", async () => {
      const tasks = await periodicTasksOf(carol, body.id);
      return tasks.length === 1 && tasks[0].status === "completed" ? tasks : undefined;
    });
    expect(done[0]).toMatchObject({
      task_id: after.body.last_task_id,
      task_type: "simulated",
      is_periodic: true,
      periodic_task: body.id,
      scheduled_for: hourAgo.toISOString(),
      created_by: { id: carol.user.id },
      brand: { id: carol.user.personal_brand_id },
      context_data: { steps: 1, step_ms: 1 },
    });
    await call(carol, "POST", `${BASE}/${body.id}/pause/`);
  });

  it("a paused schedule does not fire, even when its time has come", async () => {
    const body = await createOk(carol, { task_type: "simulated", cron_expression: "@daily", enabled: false });
    // Paused with a past next run (as a concurrent pause could leave it): still never fires.
    await periodicTasks.updateOne({ brand: carol.user.personal_brand_id, id: body.id }, { $set: { next_run_at: new Date(Date.now() - 60_000) } });
    expect((await ticker.tick()).fired).toBe(0);
    expect((await call(carol, "GET", `${BASE}/ready-for-execution/`)).body.count).toBe(0);
    expect(await periodicTasksOf(carol, body.id)).toEqual([]);
  });

  it.each([
    [
      "America/New_York 01:30, restarted inside the repeated hour: not a second time that day",
      "30 1 * * *", "America/New_York", "2025-11-02T05:30:00Z", "2025-11-02T06:10:00Z", "2025-11-03T06:30:00.000Z",
    ],
    [
      "Europe/Paris 02:30, ticking inside the repeated hour: not a second time that day",
      "30 2 * * *", "Europe/Paris", "2025-10-26T00:30:00Z", "2025-10-26T01:10:00Z", "2025-10-27T01:30:00.000Z",
    ],
    [
      "Europe/Paris 02:30, the day before spring-forward: next at 03:30 CEST",
      "30 2 * * *", "Europe/Paris", "2025-03-29T01:30:00Z", "2025-03-29T01:30:00.050Z", "2025-03-30T01:30:00.000Z",
    ],
    [
      "Europe/Paris 02:30, on spring-forward day: next the day after, once",
      "30 2 * * *", "Europe/Paris", "2025-03-30T01:30:00Z", "2025-03-30T01:30:00.050Z", "2025-03-31T00:30:00.000Z",
    ],
  ])("DST while firing — %s", async (_name, expression, timezone, due, now, expectedNext) => {
    const body = await createOk(carol, { task_type: "simulated", cron_expression: expression, timezone, context_data: { steps: 0 } });
    await setNextRun(carol, [body.id], new Date(due));
    const result = await ticker.tick(new Date(now));
    expect(result.fired).toBe(1);
    const after = await call(carol, "GET", `${BASE}/${body.id}/`);
    expect(after.body).toMatchObject({ next_run_at: expectedNext, total_run_count: 1 });
    const tasks = await periodicTasksOf(carol, body.id);
    expect(tasks.map((t) => t.scheduled_for)).toEqual([new Date(due).toISOString()]);
    await call(carol, "DELETE", `${BASE}/${body.id}/`);
  });
});

describe("the scheduler (its own ticks, every 100 ms)", () => {
  let dave: RegisteredUser;
  beforeAll(async () => {
    dave = await server.register();
    await ticker.start();
  });
  afterAll(() => ticker.stop());

  it("an every-second schedule creates is_periodic tasks that run to completion; pause stops it", async () => {
    const body = await createOk(dave, { name: "Every second", task_type: "simulated", cron_expression: "* * * * * *", context_data: { steps: 1, step_ms: 5 } });
    const completed = await waitFor("two completed periodic runs", async () => {
      const res = await call(dave, "GET", "/tasks/?is_periodic=true&status=completed&page_size=100");
      return res.body.count >= 2 ? (res.body.results as Body[]) : undefined;
    }, BUSY_DEADLINE_MS);
    for (const task of completed) {
      expect(task).toMatchObject({ is_periodic: true, periodic_task: body.id, task_type: "simulated", status: "completed", result_data: { steps_completed: 1 } });
      expect(task.scheduled_for).toMatch(/\.000Z$/); // an occurrence: a whole second
    }
    const notPeriodic = await call(dave, "GET", "/tasks/?is_periodic=false");
    expect(notPeriodic.body.count).toBe(0);

    const paused = await call(dave, "POST", `${BASE}/${body.id}/pause/`);
    expect(paused.body.enabled).toBe(false);
    // A run claimed just before the pause may still be being created: once the tick in progress
    // has finished (stop waits for it), nothing is in flight.
    await ticker.stop();
    const settled = await call(dave, "GET", `${BASE}/${body.id}/`);
    const countAtPause = (await periodicTasksOf(dave, body.id)).length;
    expect(countAtPause).toBe(settled.body.total_run_count);
    expect(settled.body.last_task_id).toEqual(expect.stringMatching(/^task_/));

    // Ticks at later instants (more than one occurrence on) fire nothing for a paused schedule.
    for (const aheadMs of [1_000, 2_500]) await ticker.tick(new Date(Date.now() + aheadMs));
    const later = await periodicTasksOf(dave, body.id);
    expect(later).toHaveLength(countAtPause);
    expect((await call(dave, "GET", `${BASE}/${body.id}/`)).body.total_run_count).toBe(countAtPause);
    const occurrences = later.map((t) => t.scheduled_for);
    expect(new Set(occurrences).size).toBe(occurrences.length);

    // Resumed: it fires again, from now on.
    await ticker.start();
    const resumedAt = Date.now();
    await call(dave, "POST", `${BASE}/${body.id}/resume/`);
    const fresh = await waitFor("a run after resuming", async () => {
      const tasks = await periodicTasksOf(dave, body.id);
      return tasks.length > countAtPause ? tasks : undefined;
    }, BUSY_DEADLINE_MS);
    expect(new Date(fresh[0].scheduled_for).getTime()).toBeGreaterThan(resumedAt - 1000);
    await call(dave, "POST", `${BASE}/${body.id}/pause/`);
  }, BUSY_TEST_TIMEOUT_MS);
});

// ---------------------------------------------------------------------------------------------

describe("two server processes on one database", () => {
  let erin: RegisteredUser;
  let other: ServerProcess;
  let otherUrl: string;

  beforeAll(async () => {
    erin = await server.register();
    await ticker.stop();
    // A real second server (npm start's entry point) on this suite's database, with its own ticker.
    other = startServerProcess({
      NODE_ENV: "test",
      PORT: "0",
      LOG_LEVEL: "info",
      JWT_SECRET: server.config.jwtSecret,
      MONGODB_URI: server.testDatabase.uri,
      AUTH_RATE_LIMIT: "100000",
      SCHEDULER_TICK_MS: "100",
      CRON_MIN_INTERVAL_SECONDS: "1",
      TASK_POLL_MS: "100",
      TASK_RETRY_BASE_MS: "100",
      TASK_HEARTBEAT_MS: "200",
      TASK_CANCEL_POLL_MS: "50",
    });
    children.push(other);
    otherUrl = `http://127.0.0.1:${await other.listening()}`;
  });

  const firedByOther = () => other.stdout().split("\n").filter((l) => l.includes('"msg":"periodic task fired"')).length;

  it("the second process's ticker fires schedules created through either process", async () => {
    const res = await fetch(`${otherUrl}${BASE}/`, {
      method: "POST",
      headers: { Authorization: `Bearer ${erin.access_token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "via the other process", task_type: "simulated", cron_expression: "* * * * * *", context_data: { steps: 0 } }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: number };
    // This process's ticker is stopped: only the other one can fire it.
    const tasks = await waitFor("a run fired by the other process", async () => {
      const rows = await periodicTasksOf(erin, id);
      return rows.some((t) => t.status === "completed") ? rows : undefined;
    });
    expect(tasks[0]).toMatchObject({ is_periodic: true, periodic_task: id });
    expect(firedByOther()).toBeGreaterThan(0);
    await call(erin, "POST", `${BASE}/${id}/pause/`);
  });

  it("with both tickers racing, each occurrence of every schedule fires exactly once", async () => {
    await ticker.start();
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) {
      ids.push((await createOk(erin, { name: `race ${i}`, task_type: "simulated", cron_expression: "* * * * * *", context_data: { steps: 0 } })).id);
    }
    await waitFor("three runs of every schedule", async () => {
      const rows = await periodicTasks.find({ brand: erin.user.personal_brand_id, id: { $in: ids } }).lean();
      return rows.every((r) => r.total_run_count >= 3) ? true : undefined;
    }, BUSY_DEADLINE_MS);
    for (const id of ids) await call(erin, "POST", `${BASE}/${id}/pause/`);
    // A run claimed (counted) just before the pause may still be being created, in either process:
    // wait until every schedule has as many tasks as it counts runs. A duplicate run would never settle.
    const runsOf = await waitFor("every claimed run to have its task", async () => {
      const all = await call(erin, "GET", "/tasks/?is_periodic=true&page_size=100");
      expect(all.body.count).toBeLessThanOrEqual(100);
      const counted = await periodicTasks.find({ brand: erin.user.personal_brand_id, id: { $in: ids } }).lean();
      const runs = new Map(ids.map((id) => [id, (all.body.results as Body[]).filter((t) => t.periodic_task === id)]));
      return counted.every((p) => runs.get(p.id)!.length === p.total_run_count) ? runs : undefined;
    }, BUSY_DEADLINE_MS);
    for (const id of ids) {
      const runs = runsOf.get(id)!;
      const occurrences = runs.map((t) => t.scheduled_for as string).sort();
      expect(new Set(occurrences).size, `duplicate runs of schedule ${id}: ${occurrences.join(", ")}`).toBe(runs.length);
      const detail = await call(erin, "GET", `${BASE}/${id}/`);
      expect(detail.body.total_run_count).toBe(runs.length);
      expect(runs.length).toBeGreaterThanOrEqual(3);
    }
  }, BUSY_TEST_TIMEOUT_MS);

  it("twenty schedules due at once, claimed by two tickers and two extra concurrent ticks: one task each", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push((await createOk(erin, { name: `yearly ${i}`, task_type: "simulated", cron_expression: "0 0 1 1 *", context_data: { steps: 0 } })).id);
    }
    const firedBefore = firedByOther();
    await setNextRun(erin, ids, new Date(Date.now() - 60_000));
    const [a, b] = await Promise.all([ticker.tick(), ticker.tick()]);
    expect(a.fired + b.fired).toBeLessThanOrEqual(20);
    await waitFor("every schedule to fire", async () => {
      const rows = await periodicTasks.find({ brand: erin.user.personal_brand_id, id: { $in: ids } }).lean();
      return rows.every((r) => r.total_run_count >= 1) ? true : undefined;
    }, BUSY_DEADLINE_MS);
    const yearlyTasks = async () => {
      const all = await call(erin, "GET", "/tasks/?is_periodic=true&page_size=100&search=yearly");
      return (all.body.results as Body[]).filter((t) => ids.includes(t.periodic_task));
    };
    // Claimed runs may still be being created; then more ticks (ours by hand, the other process's
    // on its own) must add nothing.
    await waitFor("a task for every claimed run", async () => ((await yearlyTasks()).length >= 20 ? true : undefined), BUSY_DEADLINE_MS);
    await Promise.all([ticker.tick(), ticker.tick()]);

    const nextYear = new Date(Date.UTC(new Date().getUTCFullYear() + 1, 0, 1)).toISOString();
    const tasks = await yearlyTasks();
    expect(tasks).toHaveLength(20);
    expect(new Set(tasks.map((t) => t.periodic_task)).size).toBe(20);
    for (const id of ids) {
      const detail = await call(erin, "GET", `${BASE}/${id}/`);
      expect(detail.body).toMatchObject({ total_run_count: 1, next_run_at: nextYear });
    }
    // Whoever won each claim, the total is twenty: ours (timer + the two extra ticks) and the other's.
    expect(firedByOther() - firedBefore).toBeLessThanOrEqual(20);
  }, BUSY_TEST_TIMEOUT_MS);

  it("the second process stops cleanly", async () => {
    await ticker.stop();
    other.child.kill("SIGTERM");
    expect(await other.exited).toBe(0);
    expect(other.stdout()).toContain('"msg":"stopped"');
  });
});
