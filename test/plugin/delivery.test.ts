/**
 * The extension's delivery contract (shared/plugin.ts) over HTTP: create, claim, heartbeat, result,
 * leases and their expiry, stale and duplicate results, views, isolation between sellers.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClaimedTaskSchema,
  PLUGIN_ACTIONS,
  PluginTaskViewSchema,
  RecentPluginTasksResponseSchema,
  type ClaimedTask,
  type PluginTaskView,
} from "../../shared/plugin.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { INVALID_PARAMS, VALID_PARAMS, expireLease, newSeller, pluginLeases, resultBody, resultDataFor, storedTask, type Body } from "./helpers.js";

let server: TestServer;
beforeAll(async () => {
  // No per-seller poll pacing here (its own suite checks it): these tests poll back to back.
  server = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0" });
});
afterAll(() => server?.close());

describe("create, claim, heartbeat, result — every action", () => {
  it.each(PLUGIN_ACTIONS)("%s: valid params are stored and delivered; invalid ones are a 400 naming the field", async (action) => {
    const seller = await newSeller(server);
    const bad = INVALID_PARAMS[action];
    const refused = await seller.request("POST", "/api/plugin/tasks", { body: { action, params: bad.params } });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error_code: "VALIDATION_ERROR", field_errors: { [bad.field]: expect.any(Array) } });

    const created = PluginTaskViewSchema.parse(await seller.create(action, VALID_PARAMS[action], { priority: 3, timeout: 120 }));
    expect(created).toMatchObject({ action, status: "pending", priority: 3, timeout: 120, params: VALID_PARAMS[action] });

    const claimed = ClaimedTaskSchema.parse(await seller.claim());
    expect(claimed).toMatchObject({ task_id: created.task_id, action, params: VALID_PARAMS[action], priority: 3, timeout: 120, attempt: 1 });
    const leaseMs = Date.parse(claimed.lease_expires_at) - Date.now();
    expect(leaseMs).toBeGreaterThan(110_000);
    expect(leaseMs).toBeLessThanOrEqual(120_000);

    const beat = await seller.heartbeat(claimed.task_id, { lease_token: claimed.lease_token, progress: { current: 1, total: 4, message: "step 1/4" } });
    expect(beat.status).toBe(200);
    expect((await seller.view(claimed.task_id)).status).toBe("executing");

    const done = await seller.result(claimed.task_id, resultBody(claimed.lease_token, true, resultDataFor(action)));
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toEqual({ status: "received", message: "Task result saved successfully" });
    const view = await seller.view(claimed.task_id);
    expect(view).toMatchObject({ status: "completed", attempt: 1, error: null });
    expect(view.completed_at).not.toBeNull();
  });

  it("a failed result fails the task with the extension's error and error code", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("delete_product");
    const claimed = await seller.claim();
    const res = await seller.result(task.task_id, resultBody(claimed.lease_token, false, undefined, { error: "Please log in to Vinted", error_code: "VINTED_LOGGED_OUT" }));
    expect(res.status).toBe(200);
    expect(await seller.view(task.task_id)).toMatchObject({ status: "failed", error: "Please log in to Vinted", error_code: "VINTED_LOGGED_OUT" });
  });

  it("answers the spec's shapes: No pending tasks, and priority/timeout defaults 1 and 60", async () => {
    const seller = await newSeller(server);
    expect(await seller.poll()).toEqual({ task_id: null, message: "No pending tasks" });
    const task = await seller.create("get_user_data");
    expect(task).toMatchObject({ priority: 1, timeout: 60 });
    const claimed = await seller.claim();
    expect(Object.keys(claimed).sort()).toEqual(["action", "attempt", "lease_expires_at", "lease_token", "params", "priority", "task_id", "timeout"]);
  });

  it("answers an empty poll as any JSON answer: type, length and ETag of its body, 304 to a matching If-None-Match, no body to HEAD", async () => {
    const seller = await newSeller(server);
    const body = JSON.stringify({ task_id: null, message: "No pending tasks" });
    const sha1 = createHash("sha1").update(body).digest("base64").slice(0, 27);
    const etag = `W/"${Buffer.byteLength(body).toString(16)}-${sha1}"`;
    for (let i = 0; i < 2; i++) {
      const res = await seller.request("GET", "/api/plugin/tasks");
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.body)).toBe(body);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(body)));
      expect(res.headers.get("etag")).toBe(etag);
    }
    // An explicit Cache-Control, or fetch adds "no-cache", which asks for the full answer.
    const unchanged = await seller.request("GET", "/api/plugin/tasks", { headers: { "If-None-Match": etag, "Cache-Control": "max-age=0" } });
    expect(unchanged.status).toBe(304);
    const head = await seller.request("HEAD", "/api/plugin/tasks");
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe(etag);
    expect(head.body).toBeNull();
  });

  it("hands out the highest priority first, then the oldest", async () => {
    const seller = await newSeller(server);
    const low = await seller.create("get_stats", { item_id: 1 }, { priority: 0 });
    const normalOld = await seller.create("get_stats", { item_id: 2 }, { priority: 2 });
    const normalNew = await seller.create("get_stats", { item_id: 3 }, { priority: 2 });
    const urgent = await seller.create("get_stats", { item_id: 4 }, { priority: 10 });
    const order: string[] = [];
    for (let i = 0; i < 4; i++) order.push((await seller.claim()).task_id);
    expect(order).toEqual([urgent.task_id, normalOld.task_id, normalNew.task_id, low.task_id]);
  });

  it("20 concurrent polls: exactly one gets the task", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("get_user_data");
    const answers = await Promise.all(Array.from({ length: 20 }, () => seller.poll()));
    const winners = answers.filter((a) => a.task_id !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0].task_id).toBe(task.task_id);
    expect(answers.filter((a) => a.task_id === null)).toHaveLength(19);
    expect((await storedTask(server, task.task_id)).attempt).toBe(1);
  });
});

describe("leases", () => {
  it("heartbeats extend the lease and show progress (page 12/80 → 15 %)", async () => {
    const seller = await newSeller(server);
    await seller.create("get_all_products", {}, { timeout: 30 });
    const claimed = await seller.claim();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const beat = await seller.heartbeat(claimed.task_id, { lease_token: claimed.lease_token, progress: { current: 12, total: 80, message: "page 12/80" } });
    expect(beat.status).toBe(200);
    expect(beat.body).toMatchObject({ status: "ok" });
    expect(Date.parse(beat.body.lease_expires_at as string)).toBeGreaterThan(Date.parse(claimed.lease_expires_at) + 900);

    const view = await seller.view(claimed.task_id);
    expect(view).toMatchObject({ status: "executing", progress: { current: 12, total: 80, message: "page 12/80" } });
    const stored = await storedTask(server, claimed.task_id);
    expect(stored).toMatchObject({ status: "running", progress_percentage: 15, progress_message: "page 12/80" });
    // The hub's view shows the same task.
    const hub = await seller.request("GET", `/tasks/${claimed.task_id}/`);
    expect(hub.body).toMatchObject({ status: "running", executor: "extension", task_type: "vinted.get_all_products", progress_percentage: 15 });
  });

  it("an expired lease puts the task back (attempt counted), and fails it after the last attempt", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("create_product");
    const patched = await seller.request("PATCH", `/tasks/${task.task_id}/`, { body: { max_retries: 1 } });
    expect(patched.status).toBe(200);

    const first = await seller.claim();
    expect(first.attempt).toBe(1);
    await expireLease(server, task.task_id);
    // The next poll finds it expired and hands it out again: a write re-delivered with attempt 2.
    const second = await seller.claim();
    expect(second).toMatchObject({ task_id: task.task_id, attempt: 2 });
    expect(second.lease_token).not.toBe(first.lease_token);
    expect((await storedTask(server, task.task_id)).retry_count).toBe(1);

    await expireLease(server, task.task_id);
    expect(await pluginLeases(server).expireLeases()).toBe(1); // the sweeper's pass
    expect(await seller.poll()).toEqual({ task_id: null, message: "No pending tasks" });
    const view = await seller.view(task.task_id);
    expect(view).toMatchObject({ status: "failed", attempt: 2, error_code: "LEASE_EXPIRED" });
    expect(view.error).toMatch(/Lease expired/);
  });

  it("the background sweeper re-queues expired leases by itself", async () => {
    const sweeping = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0", PLUGIN_LEASE_SWEEP_MS: "50" }, { taskExecution: false });
    try {
      const services = sweeping.description.services;
      await services.plugin.service.start();
      const seller = await newSeller(sweeping);
      const task = await seller.create("get_user_data");
      await seller.claim();
      await expireLease(sweeping, task.task_id);
      await expect.poll(async () => (await storedTask(sweeping, task.task_id)).status, { timeout: 3000 }).toBe("pending");
      expect((await storedTask(sweeping, task.task_id)).retry_count).toBe(1);
      await services.plugin.service.stop();
    } finally {
      await sweeping.close();
    }
  });

  it("a heartbeat or result with a stale token is a 409 and changes nothing", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("update_product");
    const stale = await seller.claim();
    await expireLease(server, task.task_id);
    const current = await seller.claim();

    const beat = await seller.heartbeat(task.task_id, { lease_token: stale.lease_token, progress: { current: 9, total: 9, message: "stale" } });
    expect(beat.status).toBe(409);
    expect(beat.body).toMatchObject({ error_code: "LEASE_EXPIRED", detail: expect.any(String) });
    const late = await seller.result(task.task_id, resultBody(stale.lease_token, true, resultDataFor("update_product")));
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ error_code: "LEASE_EXPIRED" });
    const stored = await storedTask(server, task.task_id);
    expect(stored).toMatchObject({ status: "running", run_token: current.lease_token, progress_message: null, result_data: null });
  });

  it("a result after the lease ran out (nobody re-claimed yet) is a 409, and the task goes back", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("get_stats");
    const claimed = await seller.claim();
    await expireLease(server, task.task_id);
    const late = await seller.result(task.task_id, resultBody(claimed.lease_token, true, resultDataFor("get_stats")));
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ error_code: "LEASE_EXPIRED" });
    expect(await storedTask(server, task.task_id)).toMatchObject({ status: "pending", result_data: null, retry_count: 1 });
  });

  it("a result for a lease this process handed out writes without reading the task first; a task cancelled meanwhile is judged on what is stored", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("get_stats");
    const claimed = await seller.claim();
    const heard: string[] = [];
    server.db.connection.set("debug", (collection: string, method: string) => {
      if (collection === "tasks") heard.push(method);
    });
    try {
      const done = await seller.result(task.task_id, resultBody(claimed.lease_token, true, resultDataFor("get_stats")));
      expect(done.status, JSON.stringify(done.body)).toBe(200);
    } finally {
      server.db.connection.set("debug", false);
    }
    expect(heard).toEqual(["findOneAndUpdate"]);
    expect(await storedTask(server, task.task_id)).toMatchObject({ status: "completed", run_token: claimed.lease_token });

    const cancelled = await seller.create("get_stats");
    const held = await seller.claim();
    expect((await seller.request("POST", `/tasks/${cancelled.task_id}/cancel/`)).status).toBe(200);
    const late = await seller.result(cancelled.task_id, resultBody(held.lease_token, true, resultDataFor("get_stats")));
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ error_code: "LEASE_EXPIRED", current_status: "cancelled" });
    expect(await storedTask(server, cancelled.task_id)).toMatchObject({ status: "cancelled", result_data: null });
  });

  it("a duplicate result: the identical resend is acknowledged again, a different one is a 409; neither overwrites", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("get_stats");
    const claimed = await seller.claim();
    const body = resultBody(claimed.lease_token, true, resultDataFor("get_stats"));
    expect((await seller.result(task.task_id, body)).status).toBe(200);
    const before = await storedTask(server, task.task_id);

    const resend = await seller.result(task.task_id, body);
    expect(resend.status).toBe(200);
    expect(resend.body).toEqual({ status: "received", message: "Task result already received" });

    const different = await seller.result(task.task_id, resultBody(claimed.lease_token, false, undefined, { error: "oops" }));
    expect(different.status).toBe(409);
    expect(different.body).toMatchObject({ error_code: "RESULT_ALREADY_RECEIVED", current_status: "completed" });
    const after = await storedTask(server, task.task_id);
    expect(after.result_data).toEqual(before.result_data);
    expect(after.status).toBe("completed");
    expect(after.updated_at.getTime()).toBe(before.updated_at.getTime());
  });

  it("a cancelled task refuses its lease holder's heartbeat (the extension stops) and result", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("get_all_products");
    const claimed = await seller.claim();
    expect((await seller.request("POST", `/tasks/${task.task_id}/cancel/`)).status).toBe(200);
    const beat = await seller.heartbeat(task.task_id, { lease_token: claimed.lease_token });
    expect(beat.status).toBe(409);
    expect(beat.body).toMatchObject({ error_code: "LEASE_EXPIRED", current_status: "cancelled" });
    expect((await seller.result(task.task_id, resultBody(claimed.lease_token, true, resultDataFor("get_all_products")))).status).toBe(409);
    expect((await seller.view(task.task_id)).status).toBe("cancelled");
  });

  it("a success whose data does not match the action's result still completes (the write happened), with a warning", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("create_product");
    const claimed = await seller.claim();
    const res = await seller.result(task.task_id, resultBody(claimed.lease_token, true, { item: { title: "no id" } }));
    expect(res.status).toBe(200);
    expect(res.body.message).toMatch(/not applied/);
    const stored = await storedTask(server, task.task_id);
    expect(stored.status).toBe("completed");
    expect(stored.error_details).toMatchObject({ warning: expect.stringContaining("item.id") });
  });
});

describe("views and isolation", () => {
  it("recent lists the seller's own tasks newest first, running shown as executing", async () => {
    const seller = await newSeller(server);
    const a = await seller.create("get_user_data");
    const b = await seller.create("get_stats");
    await seller.claim(); // a
    const res = await seller.request("GET", "/api/plugin/tasks/recent?limit=5");
    expect(res.status).toBe(200);
    const { results } = RecentPluginTasksResponseSchema.parse(res.body);
    expect(results.map((t) => [t.task_id, t.status])).toEqual([
      [b.task_id, "pending"],
      [a.task_id, "executing"],
    ]);
  });

  it("user_id: accepted when it is the caller's own, 403 otherwise", async () => {
    const seller = await newSeller(server);
    const other = await newSeller(server);
    expect((await seller.request("GET", `/api/plugin/tasks?user_id=${seller.id}`)).status).toBe(200);
    for (const path of [`/api/plugin/tasks?user_id=${other.id}`, `/api/plugin/tasks/recent?user_id=${other.id}`]) {
      const res = await seller.request("GET", path);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error_code: "PERMISSION_DENIED" });
    }
    const create = await seller.request("POST", `/api/plugin/tasks?user_id=${other.id}`, { body: { action: "get_user_data", params: {} } });
    expect(create.status).toBe(403);
    const sync = await seller.request("POST", "/api/sync/vinted", { body: { user_id: other.id } });
    expect(sync.status).toBe(403);
  });

  it("a seller never sees, claims, heartbeats or answers another seller's task", async () => {
    const alice = await newSeller(server);
    const bob = await newSeller(server);
    const task = await alice.create("get_user_data");
    expect(await bob.poll()).toEqual({ task_id: null, message: "No pending tasks" });
    expect((await bob.request("GET", `/api/plugin/tasks/${task.task_id}`)).status).toBe(404);
    const claimed = await alice.claim();
    expect((await bob.heartbeat(task.task_id, { lease_token: claimed.lease_token })).status).toBe(404);
    expect((await bob.result(task.task_id, resultBody(claimed.lease_token, true, resultDataFor("get_user_data")))).status).toBe(404);
    const bobsRecent = RecentPluginTasksResponseSchema.parse((await bob.request("GET", "/api/plugin/tasks/recent")).body);
    expect(bobsRecent.results).toEqual([]);
    expect((await bob.request("GET", `/tasks/${task.task_id}/`)).status).toBe(404);
  });

  it("tasks live in a brand (X-Brand-ID or the personal one) and show in that brand's /tasks/; only their seller claims them", async () => {
    const owner = await newSeller(server);
    const teammate = await newSeller(server);
    const brand = await owner.request<{ id: number }>("POST", "/api/v1/brands", { body: { name: "Shop" } });
    expect(brand.status).toBe(201);
    const added = await owner.request("POST", `/api/v1/brands/${brand.body.id}/members`, { body: { email: teammate.user.email } });
    expect(added.status).toBe(201);

    const inBrand = await owner.request<PluginTaskView>("POST", "/api/plugin/tasks", {
      body: { action: "get_stats", params: { item_id: 7 } },
      headers: { "X-Brand-ID": String(brand.body.id) },
    });
    expect(inBrand.status).toBe(201);
    const personal = await owner.create("get_user_data");
    expect((await storedTask(server, inBrand.body.task_id)).brand).toBe(brand.body.id);
    expect((await storedTask(server, personal.task_id)).brand).toBe(owner.user.user.personal_brand_id);

    const listed = await teammate.request<{ results: Array<{ task_id: string; executor: string }> }>("GET", "/tasks/?task_type__startswith=vinted.", {
      headers: { "X-Brand-ID": String(brand.body.id) },
    });
    expect(listed.body.results.map((t) => t.task_id)).toEqual([inBrand.body.task_id]);
    expect(await teammate.poll()).toEqual({ task_id: null, message: "No pending tasks" });
    // Its seller's extension claims both, whatever the brand.
    const claimedIds = [(await owner.claim()).task_id, (await owner.claim()).task_id].sort();
    expect(claimedIds).toEqual([inBrand.body.task_id, personal.task_id].sort());

    const outsider = await newSeller(server);
    const refused = await outsider.request("POST", "/api/plugin/tasks", {
      body: { action: "get_user_data", params: {} },
      headers: { "X-Brand-ID": String(brand.body.id) },
    });
    expect(refused.status).toBe(403);
  });

  it("POST /tasks/ creates vinted.* tasks for the caller's extension (context_data = params, validated)", async () => {
    const seller = await newSeller(server);
    const bad = await seller.request("POST", "/tasks/", { body: { task_type: "vinted.delete_product", context_data: { item_id: "x" } } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error_code: "VALIDATION_ERROR", field_errors: { "context_data.item_id": expect.any(Array) } });
    const unknown = await seller.request("POST", "/tasks/", { body: { task_type: "vinted.fly_to_the_moon" } });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain("vinted.get_all_products");

    const created = await seller.request<{ task_id: string; executor: string; status: string }>("POST", "/tasks/", {
      body: { task_type: "vinted.delete_product", priority: "high", context_data: { item_id: 55 }, timeout_minutes: 2 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ executor: "extension", status: "pending" });
    const claimed: ClaimedTask = await seller.claim();
    expect(claimed).toMatchObject({ task_id: created.body.task_id, action: "delete_product", params: { item_id: 55 }, priority: 5, timeout: 120 });
    const view = await seller.view(created.body.task_id);
    expect(view.status).toBe("executing");
  });

  it("the plugin's priority and timeout are the task's own: a change through /tasks/ shows in the view and the lease", async () => {
    const seller = await newSeller(server);
    const created = await seller.create("get_stats", { item_id: 7 }, { priority: 7, timeout: 30 });
    const hub = await seller.request<Body>("GET", `/tasks/${created.task_id}/`);
    expect(hub.body).toMatchObject({ priority: "high", timeout_minutes: 0.5 });

    // The same word keeps the finer level; the timeout follows timeout_minutes.
    expect((await seller.request("PATCH", `/tasks/${created.task_id}/`, { body: { priority: "high", timeout_minutes: 1.5 } })).status).toBe(200);
    expect(await seller.view(created.task_id)).toMatchObject({ priority: 7, timeout: 90 });
    expect((await seller.request("PATCH", `/tasks/${created.task_id}/`, { body: { priority: "critical" } })).status).toBe(200);
    expect(await seller.view(created.task_id)).toMatchObject({ priority: 9, timeout: 90 });

    const before = Date.now();
    const claimed = await seller.claim();
    const after = Date.now();
    expect(claimed).toMatchObject({ task_id: created.task_id, priority: 9, timeout: 90 });
    const leaseEnd = Date.parse(claimed.lease_expires_at);
    expect(leaseEnd).toBeGreaterThanOrEqual(before + 90_000 - 1);
    expect(leaseEnd).toBeLessThanOrEqual(after + 90_000 + 1);
  });

  it("GET /api/plugin/tasks/{id} maps the hub's statuses to the plugin's words", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("get_user_data");
    const seen: string[] = [(await seller.view(task.task_id)).status];
    const claimed = await seller.claim();
    seen.push((await seller.view(task.task_id)).status);
    seen.push(((await seller.request<Body>("GET", `/tasks/${task.task_id}/`)).body.status as string));
    await seller.result(task.task_id, resultBody(claimed.lease_token, true, resultDataFor("get_user_data")));
    seen.push((await seller.view(task.task_id)).status);
    expect(seen).toEqual(["pending", "executing", "running", "completed"]);
  });
});
