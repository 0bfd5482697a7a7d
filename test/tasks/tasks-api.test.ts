/**
 * spec/task-core-api.md over HTTP: every endpoint, every list filter, validation, update rules,
 * retry/cancel rules, statistics and brand isolation. Task execution runs at test speed; tasks that
 * must stay pending are scheduled far in the future, and states the API cannot produce on demand
 * (old creation dates, periodic flags, interrupted jobs) are written into the collection directly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrandSchema } from "../../shared/brands.js";
import { QueueStatsResponseSchema, RetryTaskResponseSchema, TaskSchema, TypeStatsResponseSchema, type TaskView } from "../../shared/tasks.js";
import { startTestServer, type RegisteredUser, type TestServer } from "../helpers/app.js";
import { FAR_FUTURE, TaskApi, patchTaskDocument, sortedIds, waitFor, type Body } from "./fixtures/tasks.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

async function newUser(): Promise<{ user: RegisteredUser; api: TaskApi }> {
  const user = await server.register();
  return { user, api: new TaskApi(server.request, user.access_token) };
}

/** Short simulated work that completes (no checkpoints unless asked). */
const quick = (extra: Body = {}): Body => ({ steps: 1, step_ms: 1, checkpoint_every: 0, ...extra });

describe("POST /tasks/", () => {
  it("creates a pending task with the spec's defaults and shape", async () => {
    const { user, api } = await newUser();
    const res = await api.call("POST", "/tasks/", { task_type: "simulated", scheduled_for: FAR_FUTURE });
    expect(res.status).toBe(201);
    const task = TaskSchema.parse(res.body);
    expect(task).toMatchObject({
      task_type: "simulated",
      executor: "server",
      status: "pending",
      priority: "normal",
      description: "",
      progress_percentage: 0,
      brand: { id: user.user.personal_brand_id },
      created_by: { id: user.user.id, username: user.user.username },
      context_data: {},
      result_data: null,
      error_message: null,
      retry_count: 0,
      max_retries: 3,
      timeout_minutes: 60,
      scheduled_for: FAR_FUTURE,
      started_at: null,
      completed_at: null,
      metrics: null,
      persistent_job: null,
      is_periodic: false,
    });
    expect(task.task_id).toMatch(/^task_[A-Za-z0-9]+$/);
    expect(task.id).toBeGreaterThan(0);
    expect(task.brand.name).not.toBe("");
    expect(task.created_at).toMatch(ISO);

    const full = await api.create({
      task_type: "simulated",
      priority: "critical",
      description: "Optimiser 10 pages pour nouveaux mots-clés",
      context_data: { page_ids: [1, 2, 3], nested: { level: "advanced" }, steps: 1 },
      scheduled_for: "2999-12-25T09:00:00+01:00",
      max_retries: 5,
      timeout_minutes: 0.5,
    });
    expect(full).toMatchObject({
      priority: "critical",
      description: "Optimiser 10 pages pour nouveaux mots-clés",
      context_data: { page_ids: [1, 2, 3], nested: { level: "advanced" }, steps: 1 },
      scheduled_for: "2999-12-25T08:00:00.000Z",
      max_retries: 5,
      timeout_minutes: 0.5,
    });
    expect(full.id).toBeGreaterThan(task.id);
  });

  it("answers field_errors as the spec shows them", async () => {
    const { api } = await newUser();
    const both = await api.call("POST", "/tasks/", { priority: "urgent" });
    expect(both.status).toBe(400);
    expect(both.body).toEqual({
      detail: "Validation failed",
      error_code: "VALIDATION_ERROR",
      field_errors: {
        task_type: ["Ce champ est requis"],
        priority: ["Valeur invalide. Choix: low, normal, high, critical"],
      },
    });

    const invalid: Array<[Body, string]> = [
      [{ task_type: "" }, "task_type"],
      [{ task_type: "has spaces" }, "task_type"],
      [{ task_type: "simulated", max_retries: -1 }, "max_retries"],
      [{ task_type: "simulated", max_retries: 1.5 }, "max_retries"],
      [{ task_type: "simulated", timeout_minutes: 0 }, "timeout_minutes"],
      [{ task_type: "simulated", scheduled_for: "tomorrow" }, "scheduled_for"],
      [{ task_type: "simulated", context_data: [1, 2] }, "context_data"],
      [{ task_type: "simulated", description: 42 }, "description"],
      [{ task_type: "simulated", status: "completed" }, "status"],
    ];
    for (const [body, field] of invalid) {
      const res = await api.call<Body>("POST", "/tasks/", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error_code).toBe("VALIDATION_ERROR");
      expect(Object.keys(res.body.field_errors as Body), JSON.stringify(body)).toEqual([field]);
    }

    const operatorKey = await api.call<Body>("POST", "/tasks/", { task_type: "simulated", context_data: { filter: { $where: "1" } } });
    expect(operatorKey.status).toBe(400);
    expect(operatorKey.body.field_errors).toHaveProperty(["context_data.filter.$where"]);

    const notJson = await api.request("POST", "/tasks/", { token: api.token, rawBody: "{nope", headers: { "Content-Type": "application/json" } });
    expect(notJson.status).toBe(400);
    expect((await api.list()).count).toBe(0);
  });

  it("refuses an unknown task type and lists the known ones", async () => {
    const { api } = await newUser();
    const res = await api.call<Body>("POST", "/tasks/", { task_type: "keyword_research" });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ detail: "Validation failed", error_code: "VALIDATION_ERROR" });
    const known = res.body.known_task_types as string[];
    expect(known).toEqual(expect.arrayContaining(["data_export", "report_generation", "simulated"]));
    const [message] = (res.body.field_errors as Record<string, string[]>).task_type;
    expect(message).toContain("keyword_research");
    for (const type of known) expect(message).toContain(type);
  });

  it("needs a token", async () => {
    const res = await server.request<Body>("POST", "/tasks/", { body: { task_type: "simulated" } });
    expect(res.status).toBe(401);
    expect(res.body.error_code).toBe("NOT_AUTHENTICATED");
  });
});

describe("GET /tasks/ filters, ordering and pages", () => {
  let api: TaskApi;
  const t: Record<string, TaskView> = {};

  beforeAll(async () => {
    ({ api } = await newUser());
    const db = server.db.connection;
    t.keyword = await api.pending({ priority: "low", description: "Analyse keyword research pour client" });
    t.periodic = await api.pending({ priority: "high", description: "Export des pages" });
    t.slow = await api.create({ task_type: "simulated", priority: "critical", description: "slow run", context_data: quick({ steps: 2, step_ms: 120, cost_per_step: 0.01 }) });
    t.export = await api.create({ task_type: "data_export", description: "nightly export", context_data: { format: "json" } });
    t.report = await api.create({ task_type: "report_generation", priority: "high" });
    t.failed = await api.create({ task_type: "simulated", priority: "low", context_data: { fail_permanently: true, fail_message: "quota exceeded" } });
    t.cancelled = await api.pending({ description: "to cancel" });
    t.running = await api.create({ task_type: "simulated", description: "long run", context_data: { steps: 400, step_ms: 100, checkpoint_every: 0 } });
    t.checkpointed = await api.create({ task_type: "simulated", description: "checkpointed run", context_data: { steps: 2, step_ms: 1, checkpoint_every: 1 } });
    expect((await api.call("POST", `/tasks/${t.cancelled.id}/cancel/`)).status).toBe(200);
    for (const key of ["slow", "export", "report", "failed", "checkpointed"]) await api.waitForFinish(t[key].id);
    t.running = await api.waitForStatus(t.running.id, "running");

    await patchTaskDocument(db, t.keyword.task_id, { created_at: new Date("2024-01-15T10:00:00Z") });
    await patchTaskDocument(db, t.periodic.task_id, { created_at: new Date("2024-06-30T12:00:00Z"), is_periodic: true });
    await patchTaskDocument(db, t.failed.task_id, {
      persistent_job: {
        state: "interrupted",
        can_resume: true,
        checkpoint_count: 1,
        last_checkpoint_at: new Date(),
        progress_percentage: 40,
        interrupted_at: new Date(),
        resumed_at: null,
        resume_count: 0,
      },
    });
    for (const key of Object.keys(t)) t[key] = await api.get(t[key].id);
  });

  afterAll(async () => {
    await api.call("POST", `/tasks/${t.running.id}/cancel/`);
  });

  const ids = (...keys: string[]) => sortedIds(keys.map((k) => t[k].id));
  const all = () => ids(...Object.keys(t));
  const query = async (q: string) => sortedIds(await api.ids(q));
  /** The tasks that ran to an end in the fixture, and the time their run recorded. */
  const FINISHED = ["slow", "export", "report", "failed", "checkpointed"];
  const msOf = (key: string) => t[key].metrics!.execution_time_ms;

  it("sees the fixture in the states it needs", () => {
    expect(t.slow.status).toBe("completed");
    expect(t.export.status).toBe("completed");
    expect(t.report.status).toBe("completed");
    expect(t.failed.status).toBe("failed");
    expect(t.cancelled.status).toBe("cancelled");
    expect(t.running.status).toBe("running");
    expect(t.keyword.status).toBe("pending");
    expect(t.checkpointed).toMatchObject({ status: "completed", persistent_job: { state: "completed", can_resume: false, checkpoint_count: 2 } });
  });

  it("no filter: every task of the brand, newest first", async () => {
    const page = await api.list("page_size=100");
    expect(page.count).toBe(9);
    expect(sortedIds(page.results.map((r) => r.id))).toEqual(all());
    const created = page.results.map((r) => Date.parse(r.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });

  it("status: one value, a comma list, and `active` for pending+running", async () => {
    expect(await query("status=pending")).toEqual(ids("keyword", "periodic"));
    expect(await query("status=completed")).toEqual(ids("slow", "export", "report", "checkpointed"));
    expect(await query("status=running,pending")).toEqual(ids("keyword", "periodic", "running"));
    expect(await query("status=active")).toEqual(ids("keyword", "periodic", "running"));
    expect(await query("status=failed,cancelled")).toEqual(ids("failed", "cancelled"));
    const bad = await api.call<Body>("GET", "/tasks/?status=pending,done");
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.field_errors as Body)).toEqual(["status"]);
    expect((bad.body.field_errors as Record<string, string[]>).status[0]).toContain("done");
  });

  it("priority and task_type: comma lists", async () => {
    expect(await query("priority=high,critical")).toEqual(ids("periodic", "slow", "report"));
    expect(await query("priority=low")).toEqual(ids("keyword", "failed"));
    expect(await query("status=running,pending&priority=high,critical")).toEqual(ids("periodic"));
    expect(await query("task_type=data_export,report_generation")).toEqual(ids("export", "report"));
    expect(await query("task_type=seo_keyword_analysis")).toEqual([]);
    expect((await api.call("GET", "/tasks/?priority=urgent")).status).toBe(400);
  });

  it("task_type__startswith", async () => {
    expect(await query("task_type__startswith=data")).toEqual(ids("export"));
    expect(await query("task_type__startswith=re")).toEqual(ids("report"));
    expect(await query("task_type__startswith=sim")).toEqual(ids("keyword", "periodic", "slow", "failed", "cancelled", "running", "checkpointed"));
    expect(await query("task_type__startswith=.*")).toEqual([]);
  });

  it("created_after / created_before, as datetimes and as dates", async () => {
    expect(await query("created_after=2024-06-01T00:00:00Z&created_before=2024-12-31T23:59:59Z")).toEqual(ids("periodic"));
    expect(await query("created_before=2024-12-31T23:59:59Z")).toEqual(ids("keyword", "periodic"));
    expect(await query("created_after=2025-01-01T00:00:00Z")).toEqual(ids("slow", "export", "report", "failed", "cancelled", "running", "checkpointed"));
    // A date is the whole day: after 2024-01-15 includes 10:00 that day, before 2024-01-15 too.
    expect(await query("created_after=2024-01-15&created_before=2024-01-15")).toEqual(ids("keyword"));
    expect(await query("created_before=2024-01-14")).toEqual([]);
    expect(await query("created_after=2024-01-16&created_before=2024-06-30")).toEqual(ids("periodic"));
    // Offsets count: 14:00+02:00 is the 12:00Z creation itself (bounds included), 13:59:59+02:00 is before it.
    expect(await query("created_after=2024-01-15T10:00:00.001Z&created_before=2024-06-30T14:00:00%2B02:00")).toEqual(ids("periodic"));
    expect(await query("created_after=2024-01-15T10:00:00.001Z&created_before=2024-06-30T13:59:59%2B02:00")).toEqual([]);
    expect(await query("created_after=2024-01-15T10:00:00Z&created_before=2024-01-15T10:00:00Z")).toEqual(ids("keyword"));
    for (const bad of ["created_after=yesterday", "created_before=2024-13-01", "created_after=2024-01-15T10:00:00"]) {
      const res = await api.call<Body>("GET", `/tasks/?${bad}`);
      expect(res.status, bad).toBe(400);
    }
  });

  it("search: task_type, description and task_id, case-insensitive, spaces matching '_'", async () => {
    expect(await query("search=keyword%20research")).toEqual(ids("keyword"));
    expect(await query("search=KEYWORD_research")).toEqual(ids("keyword"));
    expect(await query("search=report%20generation")).toEqual(ids("report"));
    expect(await query("search=data_export")).toEqual(ids("export"));
    expect(await query(`search=${t.slow.task_id}`)).toEqual(ids("slow"));
    expect(await query(`search=${t.slow.task_id.slice(5, 11).toUpperCase()}`)).toContain(t.slow.id);
    expect(await query("search=quota%20exceeded")).toEqual(ids("failed"));
    expect(await query("search=(.*")).toEqual([]);
    expect(await query("search=export&status=completed")).toEqual(ids("export"));
  });

  it("has_metrics and execution_time__gte (metrics of finished runs)", async () => {
    expect(await query("has_metrics=true")).toEqual(ids("slow", "export", "report", "failed", "checkpointed"));
    expect(await query("has_metrics=false")).toEqual(ids("keyword", "periodic", "cancelled", "running"));
    expect(msOf("slow")).toBeGreaterThanOrEqual(240); // two 120 ms steps, however idle the machine
    // Which run took longest depends on the machine's load: each threshold's answer comes from the recorded times.
    for (const threshold of new Set(FINISHED.map(msOf))) {
      expect(await query(`execution_time__gte=${threshold}`), `execution_time__gte=${threshold}`).toEqual(ids(...FINISHED.filter((k) => msOf(k) >= threshold)));
    }
    expect(await query(`execution_time__gte=${msOf("slow")}`)).toContain(t.slow.id);
    expect(await query(`has_metrics=true&execution_time__gte=${Math.max(...FINISHED.map(msOf)) + 1}`)).toEqual([]);
    expect(await query("execution_time__gte=0")).toEqual(ids("slow", "export", "report", "failed", "checkpointed"));
    expect((await api.call("GET", "/tasks/?has_metrics=yes")).status).toBe(400);
    expect((await api.call("GET", "/tasks/?execution_time__gte=-1")).status).toBe(400);
  });

  it("is_resumable (interrupted, with a checkpoint to resume from) and is_periodic", async () => {
    // A completed checkpointed job has nothing left to resume.
    expect(await query("is_resumable=true")).toEqual(ids("failed"));
    expect(await query("is_resumable=false")).toEqual(ids("keyword", "periodic", "slow", "export", "report", "cancelled", "running", "checkpointed"));
    expect(await query("is_periodic=true")).toEqual(ids("periodic"));
    expect(await query("is_periodic=true&status=active")).toEqual(ids("periodic"));
    expect(await query("is_periodic=true&status=completed")).toEqual([]);
    expect((await query("is_periodic=false")).length).toBe(8);
  });

  it("ordering on several fields, '-' for descending, ties broken by id", async () => {
    const order = async (o: string) => (await api.list(`ordering=${o}&page_size=100`)).results;
    const rank = { low: 0, normal: 1, high: 2, critical: 3 } as const;

    const byPriority = await order("priority");
    expect(byPriority.map((r) => rank[r.priority])).toEqual([0, 0, 1, 1, 1, 1, 2, 2, 3]);
    const byPriorityDesc = await order("-priority,created_at");
    expect(byPriorityDesc[0].id).toBe(t.slow.id);
    expect(byPriorityDesc.slice(1, 3).map((r) => r.id)).toEqual([t.periodic.id, t.report.id]); // created 2024 before now

    expect((await order("created_at")).map((r) => r.id).slice(0, 2)).toEqual([t.keyword.id, t.periodic.id]);
    expect((await order("-created_at")).map((r) => r.id).slice(-2)).toEqual([t.periodic.id, t.keyword.id]);
    expect((await order("id")).map((r) => r.id)).toEqual(sortedIds(all()));
    expect((await order("task_type,id")).map((r) => r.task_type)).toEqual(["data_export", "report_generation", ...Array(7).fill("simulated")]);
    const byStatus = (await order("status,-id")).map((r) => r.status);
    expect(byStatus).toEqual([...byStatus].sort());
    // Slowest recorded run first (ties: highest id first), then the tasks without metrics.
    const byTime = (await order("-execution_time")).map((r) => r.id);
    const finishedByTime = [...FINISHED].sort((a, b) => msOf(b) - msOf(a) || t[b].id - t[a].id).map((k) => t[k].id);
    expect(byTime.slice(0, FINISHED.length)).toEqual(finishedByTime);
    expect(sortedIds(byTime.slice(FINISHED.length))).toEqual(ids("keyword", "periodic", "cancelled", "running"));
    const byProgress = (await order("-progress_percentage")).map((r) => r.progress_percentage);
    expect(byProgress).toEqual([...byProgress].sort((a, b) => b - a));

    const bad = await api.call<Body>("GET", "/tasks/?ordering=-secret_field");
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.field_errors as Body)).toEqual(["ordering"]);
    expect((bad.body.field_errors as Record<string, string[]>).ordering[0]).toContain("Unknown ordering field (-secret_field)");
  });

  it("pages: {count, next, previous, results}, links that keep the filters, bounds", async () => {
    const first = await api.list("status=completed,failed,cancelled,pending&page_size=2&ordering=id");
    expect(first.count).toBe(8);
    expect(first.results).toHaveLength(2);
    expect(first.previous).toBeNull();
    // Relative to the list's URL, as the spec shows it ("?page=2").
    expect(first.next).toMatch(/^\?/);
    const nextParams = new URL(first.next!, "http://x").searchParams;
    expect(Object.fromEntries(nextParams)).toEqual({ status: "completed,failed,cancelled,pending", page_size: "2", ordering: "id", page: "2" });

    const seen: number[] = [];
    let link: string | null = first.next;
    seen.push(...first.results.map((r) => r.id));
    let pages = 1;
    while (link) {
      const res = await api.call("GET", `/tasks/${link}`);
      expect(res.status).toBe(200);
      const page = res.body as unknown as { next: string | null; previous: string | null; results: TaskView[] };
      expect(page.previous).not.toBeNull();
      seen.push(...page.results.map((r) => r.id));
      link = page.next;
      pages++;
    }
    expect(pages).toBe(4);
    expect(seen).toEqual(sortedIds(seen));
    expect(new Set(seen).size).toBe(8);

    const last = await api.list("page=4&page_size=2&ordering=id&status=completed,failed,cancelled,pending");
    expect(last.results).toHaveLength(2);
    expect(last.next).toBeNull();
    expect(new URL(last.previous!, "http://x").searchParams.get("page")).toBe("3");
    const beyond = await api.list("page=9&page_size=2&status=completed,failed,cancelled,pending");
    expect(beyond.results).toEqual([]);
    expect(beyond.count).toBe(8);
    expect(new URL(beyond.previous!, "http://x").searchParams.get("page")).toBe("4");

    expect((await api.list("page_size=100")).results).toHaveLength(9);
    for (const bad of ["page=0", "page=-1", "page=x", "page_size=0", "page_size=101", "page_size=2.5"]) {
      const res = await api.call<Body>("GET", `/tasks/?${bad}`);
      expect(res.status, bad).toBe(400);
      expect(Object.keys(res.body.field_errors as Body), bad).toEqual([bad.split("=")[0]]);
    }
  });
});

describe("GET /tasks/{id}/", () => {
  it("by id and by task_id, with metrics and persistent_job", async () => {
    const { api } = await newUser();
    const created = await api.create({ task_type: "simulated", context_data: { steps: 3, step_ms: 20, checkpoint_every: 1, cost_per_step: 0.25 } });
    const done = await api.waitForStatus(created.id, "completed");
    expect(await api.get(created.task_id)).toEqual(done);
    expect(done).toMatchObject({
      progress_percentage: 100,
      result_data: { steps_completed: 3, resumed_from_step: 0, steps_executed_this_run: 3, attempt: 1 },
      metrics: { cost_usd: 0.75 },
      persistent_job: { state: "completed", can_resume: false, checkpoint_count: 3, progress_percentage: 100, resume_count: 0 },
    });
    expect(done.metrics!.execution_time_ms).toBeGreaterThanOrEqual(60);
    expect(done.metrics!.memory_usage_mb).toBeGreaterThan(0);
    expect(done.metrics!.recorded_at).toMatch(ISO);
    expect(done.persistent_job!.last_checkpoint_at).toMatch(ISO);
    expect(Date.parse(done.started_at!)).toBeGreaterThanOrEqual(Date.parse(done.created_at));
    expect(Date.parse(done.completed_at!)).toBeGreaterThanOrEqual(Date.parse(done.started_at!));

    const missing = await api.call<Body>("GET", "/tasks/99999999/");
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ detail: "Task not found or access denied", error_code: "TASK_NOT_FOUND" });
    expect((await api.call("GET", "/tasks/task_doesnotexist/")).status).toBe(404);
    const malformed = await api.call<Body>("GET", "/tasks/not-an-id/");
    expect(malformed.status).toBe(400);
    expect(malformed.body.field_errors).toHaveProperty("id");
  });
});

describe("PUT/PATCH /tasks/{id}/", () => {
  it("changes the modifiable fields", async () => {
    const { api } = await newUser();
    const task = await api.pending();
    const patched = await api.call("PATCH", `/tasks/${task.id}/`, {
      priority: "high",
      description: "Description mise à jour",
      context_data: { additional_params: "new_value" },
    });
    expect(patched.status).toBe(200);
    expect(TaskSchema.parse(patched.body)).toMatchObject({
      priority: "high",
      description: "Description mise à jour",
      context_data: { additional_params: "new_value" },
      status: "pending",
    });
    const put = await api.call("PUT", `/tasks/${task.task_id}/`, {
      priority: "low",
      description: "put",
      context_data: {},
      scheduled_for: "2998-01-01T00:00:00Z",
      max_retries: 7,
      timeout_minutes: 2.5,
    });
    expect(put.status).toBe(200);
    expect(await api.get(task.id)).toMatchObject({ priority: "low", description: "put", scheduled_for: "2998-01-01T00:00:00.000Z", max_retries: 7, timeout_minutes: 2.5 });
    // The new priority is what ordering sees.
    const other = await api.pending({ priority: "normal" });
    expect((await api.list("ordering=priority")).results.map((r) => r.id)).toEqual([task.id, other.id]);
  });

  it("refuses a field that cannot be modified, naming it", async () => {
    const { api } = await newUser();
    const task = await api.pending();
    for (const [field, value] of Object.entries({ status: "completed", task_type: "data_export", retry_count: 0, progress_percentage: 50, brand: 2, result_data: {} })) {
      const full = { priority: "normal", description: "ok", context_data: {}, scheduled_for: null, max_retries: 3, timeout_minutes: 60 };
      for (const method of ["PATCH", "PUT"]) {
        const res = await api.call<Body>(method, `/tasks/${task.id}/`, { ...(method === "PUT" ? full : { description: "ok" }), [field]: value });
        expect(res.status, `${method} ${field}`).toBe(400);
        expect(res.body.error_code).toBe("VALIDATION_ERROR");
        expect(Object.keys(res.body.field_errors as Body), `${method} ${field}`).toEqual([field]);
      }
    }
    const badPriority = await api.call<Body>("PATCH", `/tasks/${task.id}/`, { priority: "urgent" });
    expect(badPriority.body.field_errors).toEqual({ priority: ["Valeur invalide. Choix: low, normal, high, critical"] });
    expect(await api.get(task.id)).toMatchObject({ status: "pending", description: "", task_type: "simulated" });
  });

  it("context_data of a running task cannot change (INVALID_OPERATION); its priority and description can", async () => {
    const { api } = await newUser();
    const task = await api.create({ task_type: "simulated", context_data: { steps: 200, step_ms: 50, checkpoint_every: 0 } });
    await api.waitForStatus(task.id, "running");
    const res = await api.call<Body>("PATCH", `/tasks/${task.id}/`, { context_data: { steps: 1 } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error_code: "INVALID_OPERATION", current_status: "running", allowed_statuses: ["pending"] });
    const ok = await api.call<Body>("PATCH", `/tasks/${task.id}/`, { description: "still running", priority: "high" });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ description: "still running", priority: "high", status: "running", context_data: { steps: 200 } });
    await api.call("POST", `/tasks/${task.id}/cancel/`);
  });
});

describe("DELETE /tasks/{id}/", () => {
  it("204; the task is gone", async () => {
    const { api } = await newUser();
    const task = await api.pending();
    const res = await api.call("DELETE", `/tasks/${task.id}/`);
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect((await api.call("GET", `/tasks/${task.id}/`)).status).toBe(404);
    expect((await api.call("DELETE", `/tasks/${task.task_id}/`)).status).toBe(404);
    expect((await api.list()).count).toBe(0);
  });

  it("a running task deleted: its run stops and writes nothing more", async () => {
    const { api } = await newUser();
    const runner = server.description.services.execution.runner;
    const task = await api.create({ task_type: "simulated", context_data: { steps: 200, step_ms: 30, checkpoint_every: 1 } });
    await api.waitFor(task.id, (t) => t.status === "running" && (t.persistent_job?.checkpoint_count ?? 0) >= 2, "two checkpoints");
    expect(runner.runningTaskIds()).toContain(task.task_id);
    expect((await api.call("DELETE", `/tasks/${task.id}/`)).status).toBe(204);
    // The runner forgets a run only once its last write has settled: from then on nothing can write.
    await waitFor(async () => runner.runningTaskIds(), (running) => !running.includes(task.task_id), { what: "the run to stop" });
    const checkpoints = () => api.call<{ count: number }>("GET", `/tasks/persistent-jobs/checkpoints/?task_id=${task.task_id}`);
    expect((await checkpoints()).body.count).toBe(0);
    expect((await api.call("GET", `/tasks/${task.id}/`)).status).toBe(404);
  });
});

describe("POST /tasks/{id}/retry/", () => {
  it("only from failed or cancelled", async () => {
    const { api } = await newUser();
    const pending = await api.pending();
    const running = await api.create({ task_type: "simulated", context_data: { steps: 200, step_ms: 50, checkpoint_every: 0 } });
    const completed = await api.create({ task_type: "simulated", context_data: quick() });
    await api.waitForStatus(running.id, "running");
    await api.waitForStatus(completed.id, "completed");
    for (const [task, status] of [[pending, "pending"], [running, "running"], [completed, "completed"]] as const) {
      const res = await api.call<Body>("POST", `/tasks/${task.id}/retry/`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        detail: `Cannot retry a ${status} task`,
        error_code: "INVALID_OPERATION",
        current_status: status,
        allowed_statuses: ["failed", "cancelled"],
      });
    }
    await api.call("POST", `/tasks/${running.id}/cancel/`);
    expect((await api.call("POST", "/tasks/99999999/retry/")).status).toBe(404);
    const badBody = await api.call<Body>("POST", `/tasks/${pending.id}/retry/`, { new_priority: "urgent", other: 1 });
    expect(badBody.status).toBe(400);
  });

  it("queues a failed task again: new_priority, answer shape, max_retries respected", async () => {
    const { api } = await newUser();
    const task = await api.create({ task_type: "simulated", priority: "low", max_retries: 2, context_data: { fail_permanently: true, fail_message: "bad input" } });
    let failed = await api.waitForStatus(task.id, "failed");
    expect(failed).toMatchObject({ retry_count: 0, error_message: "bad input" });

    for (let n = 1; n <= 2; n++) {
      const before = Date.now();
      const res = await api.call("POST", `/tasks/${task.id}/retry/`, { new_priority: "high" });
      expect(res.status).toBe(200);
      const body = RetryTaskResponseSchema.parse(res.body);
      expect(body).toMatchObject({ message: "Task queued for retry", task_id: task.task_id, new_status: "pending", retry_count: n, max_retries: 2 });
      expect(Date.parse(body.estimated_start)).toBeGreaterThanOrEqual(before - 1_000);
      failed = await api.waitFor(task.id, (t) => t.status === "failed" && t.retry_count === n, `failed again (${n})`);
      expect(failed.priority).toBe("high");
    }
    const refused = await api.call<Body>("POST", `/tasks/${task.id}/retry/`);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error_code: "INVALID_OPERATION", current_status: "failed", retry_count: 2, max_retries: 2 });
    expect(refused.body.detail).toMatch(/retries/i);
  });

  it("reset_progress and clear_errors (default true) reset the previous run's traces; false keeps them", async () => {
    const { api } = await newUser();
    const db = server.db.connection;
    const failedState = { status: "failed", progress_percentage: 40, progress_message: "step 2/5", error_message: "boom", error_details: { type: "Error" }, completed_at: new Date() };
    // Retried, they run at once: one step that reports its progress only after ten minutes, so what
    // is read below is what the retry left, however late the read comes.
    const oneLongStep = { steps: 1, step_ms: 600_000, checkpoint_every: 0 };

    const keep = await api.pending({ context_data: oneLongStep });
    await patchTaskDocument(db, keep.task_id, failedState);
    expect((await api.call("POST", `/tasks/${keep.id}/retry/`, { reset_progress: false, clear_errors: false })).status).toBe(200);
    const kept = await api.get(keep.id);
    expect(kept).toMatchObject({ progress_percentage: 40, error_message: "boom", completed_at: null, scheduled_for: null });
    expect(["pending", "running"]).toContain(kept.status);

    const reset = await api.pending({ context_data: oneLongStep });
    await patchTaskDocument(db, reset.task_id, failedState);
    expect((await api.call("POST", `/tasks/${reset.id}/retry/`)).status).toBe(200);
    const cleared = await api.get(reset.id);
    expect(cleared).toMatchObject({ progress_percentage: 0, progress_message: null, error_message: null, error_details: null, retry_count: 1 });

    // Queued for real: both run now (the kept progress stays until the run reports its own).
    expect(await api.waitForStatus(keep.id, "running")).toMatchObject({ progress_percentage: 40 });
    expect(await api.waitForStatus(reset.id, "running")).toMatchObject({ progress_percentage: 0 });
    for (const id of [keep.id, reset.id]) await api.call("POST", `/tasks/${id}/cancel/`);
  });

  it("a cancelled task can be retried and runs to completion", async () => {
    const { api } = await newUser();
    const task = await api.pending({ context_data: quick() });
    expect((await api.call("POST", `/tasks/${task.id}/cancel/`)).status).toBe(200);
    const res = await api.call<Body>("POST", `/tasks/${task.id}/retry/`);
    expect(res.status).toBe(200);
    const done = await api.waitForStatus(task.id, "completed");
    expect(done).toMatchObject({ retry_count: 1, cancelled_at: null, scheduled_for: null, result_data: { steps_completed: 1 } });
  });
});

describe("POST /tasks/{id}/cancel/", () => {
  it("pending → cancelled; finished tasks cannot be cancelled", async () => {
    const { api } = await newUser();
    const task = await api.pending();
    const before = Date.now();
    const res = await api.call<Body>("POST", `/tasks/${task.task_id}/cancel/`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: "Task cancelled successfully", task_id: task.task_id, previous_status: "pending" });
    expect(Date.parse(res.body.cancelled_at as string)).toBeGreaterThanOrEqual(before - 1_000);
    const cancelled = await api.get(task.id);
    expect(cancelled).toMatchObject({ status: "cancelled", cancelled_at: res.body.cancelled_at, started_at: null });

    const again = await api.call<Body>("POST", `/tasks/${task.id}/cancel/`);
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error_code: "INVALID_OPERATION", current_status: "cancelled", allowed_statuses: ["pending", "running", "suspended"] });

    const completed = await api.create({ task_type: "simulated", context_data: quick() });
    await api.waitForStatus(completed.id, "completed");
    const refused = await api.call<Body>("POST", `/tasks/${completed.id}/cancel/`);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      detail: "Cannot cancel a completed task",
      error_code: "INVALID_OPERATION",
      current_status: "completed",
      allowed_statuses: ["pending", "running", "suspended"],
    });
    expect((await api.get(completed.id)).status).toBe("completed");
  });
});

describe("statistics", () => {
  it("queue-stats: pending/running/total_today per priority, status distribution, average processing time", async () => {
    const { api } = await newUser();
    const db = server.db.connection;
    const empty = QueueStatsResponseSchema.parse((await api.call("GET", "/tasks/queue-stats/")).body);
    expect(empty).toEqual({
      total_tasks: 0,
      queues: Object.fromEntries(["critical", "high", "normal", "low"].map((p) => [p, { pending: 0, running: 0, total_today: 0 }])),
      status_distribution: { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0, suspended: 0 },
      avg_processing_time_minutes: { critical: 0, high: 0, normal: 0, low: 0 },
    });

    const p1 = await api.pending({ priority: "critical" });
    await api.pending({ priority: "critical" });
    const old = await api.pending({ priority: "low" });
    const running = await api.create({ task_type: "simulated", priority: "high", context_data: { steps: 200, step_ms: 50, checkpoint_every: 0 } });
    const c1 = await api.create({ task_type: "simulated", priority: "critical", context_data: quick() });
    const c2 = await api.create({ task_type: "simulated", priority: "critical", context_data: quick() });
    const f1 = await api.create({ task_type: "simulated", priority: "normal", context_data: { fail_permanently: true } });
    await api.waitForStatus(running.id, "running");
    for (const t of [c1, c2, f1]) await api.waitForFinish(t.id);
    await api.call("POST", `/tasks/${p1.id}/cancel/`);
    await patchTaskDocument(db, old.task_id, { created_at: new Date(Date.now() - 3 * 86_400_000) });
    await patchTaskDocument(db, c1.task_id, { "metrics.execution_time_ms": 120_000 });
    await patchTaskDocument(db, c2.task_id, { "metrics.execution_time_ms": 180_000 });

    const res = await api.call("GET", "/tasks/queue-stats/");
    expect(res.status).toBe(200);
    expect(QueueStatsResponseSchema.parse(res.body)).toEqual({
      total_tasks: 7,
      queues: {
        critical: { pending: 1, running: 0, total_today: 4 },
        high: { pending: 0, running: 1, total_today: 1 },
        normal: { pending: 0, running: 0, total_today: 1 },
        low: { pending: 1, running: 0, total_today: 0 },
      },
      status_distribution: { pending: 2, running: 1, completed: 2, failed: 1, cancelled: 1, suspended: 0 },
      avg_processing_time_minutes: { critical: 2.5, high: 0, normal: 0, low: 0 },
    });
    await api.call("POST", `/tasks/${running.id}/cancel/`);
  });

  it("type-stats: totals, completed, failed, average duration and success rate per type", async () => {
    const { api } = await newUser();
    const db = server.db.connection;
    const ok = await Promise.all([1, 2, 3].map(() => api.create({ task_type: "simulated", context_data: quick() })));
    const bad = await api.create({ task_type: "simulated", context_data: { fail_permanently: true } });
    const exp = await api.create({ task_type: "data_export" });
    await api.pending();
    for (const t of [...ok, bad, exp]) await api.waitForFinish(t.id);
    await Promise.all(ok.map((t, i) => patchTaskDocument(db, t.task_id, { "metrics.execution_time_ms": (i + 1) * 60_000 })));
    await patchTaskDocument(db, exp.task_id, { "metrics.execution_time_ms": 30_000 });

    const res = await api.call("GET", "/tasks/type-stats/");
    expect(res.status).toBe(200);
    expect(TypeStatsResponseSchema.parse(res.body)).toEqual({
      task_types: {
        data_export: { total: 1, completed: 1, failed: 0, avg_duration_minutes: 0.5, success_rate: 100 },
        simulated: { total: 5, completed: 3, failed: 1, avg_duration_minutes: 2, success_rate: 75 },
      },
    });
  });
});

describe("brand isolation", () => {
  it("another user's task does not exist for you (404 TASK_NOT_FOUND), nor in your lists and stats", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const task = await alice.api.pending();
    for (const [method, path] of [
      ["GET", `/tasks/${task.id}/`],
      ["GET", `/tasks/${task.task_id}/`],
      ["PATCH", `/tasks/${task.id}/`],
      ["PUT", `/tasks/${task.id}/`],
      ["DELETE", `/tasks/${task.id}/`],
      ["POST", `/tasks/${task.id}/retry/`],
      ["POST", `/tasks/${task.id}/cancel/`],
    ]) {
      const fullPut = { priority: "normal", description: "", context_data: {}, scheduled_for: null, max_retries: 3, timeout_minutes: 60 };
      const res = await bob.api.call<Body>(method, path, method === "GET" || method === "DELETE" ? undefined : method === "PUT" ? fullPut : {});
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body).toEqual({ detail: "Task not found or access denied", error_code: "TASK_NOT_FOUND" });
    }
    expect((await bob.api.list()).count).toBe(0);
    expect((await bob.api.list(`search=${task.task_id}`)).count).toBe(0);
    expect(QueueStatsResponseSchema.parse((await bob.api.call("GET", "/tasks/queue-stats/")).body).total_tasks).toBe(0);
    expect(TypeStatsResponseSchema.parse((await bob.api.call("GET", "/tasks/type-stats/")).body).task_types).toEqual({});
    expect(await alice.api.get(task.id)).toMatchObject({ status: "pending", description: "" });
  });

  it("X-Brand-ID selects a brand you are a member of; a brand you are not in is refused", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const created = await server.request("POST", "/api/v1/brands", { token: alice.user.access_token, body: { name: "Shop" } });
    const shop = BrandSchema.parse(created.body);
    expect((await server.request("POST", `/api/v1/brands/${shop.id}/members`, { token: alice.user.access_token, body: { user_id: bob.user.user.id } })).status).toBe(201);

    const aliceShop = new TaskApi(server.request, alice.user.access_token, { "X-Brand-ID": String(shop.id) });
    const bobShop = new TaskApi(server.request, bob.user.access_token, { "X-Brand-ID": String(shop.id) });
    const shared = await aliceShop.pending({ description: "shop task" });
    expect(shared.brand).toEqual({ id: shop.id, name: "Shop" });
    const personal = await alice.api.pending({ description: "personal task" });

    expect((await bobShop.list()).results.map((r) => r.id)).toEqual([shared.id]);
    expect(await bobShop.get(shared.task_id)).toMatchObject({ description: "shop task", created_by: { id: alice.user.user.id } });
    expect((await bobShop.call("GET", `/tasks/${personal.id}/`)).status).toBe(404);
    // Bob may know the shop's task exists: addressed under his own brand, it is the spec's permission error.
    const elsewhere = await bob.api.call<Body>("GET", `/tasks/${shared.id}/`);
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body).toMatchObject({ detail: "You do not have permission to access this task", error_code: "PERMISSION_DENIED", brand_id: shop.id });
    expect((await alice.api.list()).results.map((r) => r.id)).toEqual([personal.id]);
    expect((await aliceShop.list()).results.map((r) => r.id)).toEqual([shared.id]);

    const own = await bobShop.pending();
    expect(own.brand.id).toBe(shop.id);
    expect(own.created_by.id).toBe(bob.user.user.id);
    expect((await aliceShop.list()).count).toBe(2);

    const outsider = await newUser();
    const refused = await outsider.api.request<Body>("GET", "/tasks/", { token: outsider.user.access_token, headers: { "X-Brand-ID": String(shop.id) } });
    expect(refused.status).toBe(403);
    expect(refused.body.error_code).toBe("PERMISSION_DENIED");
  });
});
