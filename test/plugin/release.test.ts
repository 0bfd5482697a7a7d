/**
 * POST /api/plugin/tasks/{task_id}/release (shared/plugin.ts): the lease holder hands a task back
 * unfinished; it is queued again with no attempt counted, fenced like a result.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReleaseTaskResponseSchema } from "../../shared/plugin.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { expireLease, newSeller, resultBody, resultDataFor, storedTask } from "./helpers.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0" });
});
afterAll(() => server?.close());

const release = (token: string, extra: Record<string, unknown> = {}) => ({ lease_token: token, reason_code: "VINTED_LOGGED_OUT", reason: "Logged out of Vinted", ...extra });

describe("release: hand a lease back", () => {
  it("puts the task back to pending with retry_count and attempt unchanged; the next claim is the same attempt", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("get_all_products");
    const claimed = await seller.claim();
    expect(claimed.attempt).toBe(1);

    const res = await seller.request("POST", `/api/plugin/tasks/${task.task_id}/release`, { body: release(claimed.lease_token) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(ReleaseTaskResponseSchema.parse(res.body).status).toBe("released");
    const stored = await storedTask(server, task.task_id);
    expect(stored).toMatchObject({ status: "pending", retry_count: 0, attempt: 1, run_token: null, lease_expires_at: null, error_message: "Logged out of Vinted" });
    expect(stored.error_details).toEqual({ error_code: "VINTED_LOGGED_OUT" });
    expect((await seller.view(task.task_id)).status).toBe("pending");

    const again = await seller.claim();
    expect(again).toMatchObject({ task_id: task.task_id, attempt: 1 });
    expect(again.lease_token).not.toBe(claimed.lease_token);
    // Released twice and done: still one attempt, and the result is accepted from the new lease.
    expect((await seller.request("POST", `/api/plugin/tasks/${task.task_id}/release`, { body: release(again.lease_token, { reason_code: "CAPTCHA_REQUIRED" }) })).status).toBe(200);
    const third = await seller.claim();
    expect(third.attempt).toBe(1);
    expect((await seller.result(task.task_id, resultBody(third.lease_token, true, resultDataFor("get_all_products")))).status).toBe(200);
    expect(await storedTask(server, task.task_id)).toMatchObject({ status: "completed", attempt: 1, retry_count: 0 });
  });

  it("retry_after_ms delays the next claim", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("get_stats");
    const claimed = await seller.claim();
    const before = Date.now();
    const res = await seller.request("POST", `/api/plugin/tasks/${task.task_id}/release`, { body: release(claimed.lease_token, { reason_code: "RATE_LIMITED", retry_after_ms: 3_600_000 }) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const stored = await storedTask(server, task.task_id);
    expect(stored.status).toBe("pending");
    expect(stored.scheduled_for!.getTime()).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(await seller.poll()).toEqual({ task_id: null, message: "No pending tasks" });
  });

  it("a stale token, an ended lease, a finished or cancelled task: 409 LEASE_EXPIRED and nothing changes", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("update_product");
    const stale = await seller.claim();
    await expireLease(server, task.task_id);
    const current = await seller.claim();
    const staleRes = await seller.request("POST", `/api/plugin/tasks/${task.task_id}/release`, { body: release(stale.lease_token) });
    expect(staleRes.status).toBe(409);
    expect(staleRes.body).toMatchObject({ error_code: "LEASE_EXPIRED" });
    expect(await storedTask(server, task.task_id)).toMatchObject({ status: "running", run_token: current.lease_token, attempt: 2 });

    // The current lease ran out before the release arrived: refused; the task goes back as an expired lease.
    await expireLease(server, task.task_id);
    const late = await seller.request("POST", `/api/plugin/tasks/${task.task_id}/release`, { body: release(current.lease_token) });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ error_code: "LEASE_EXPIRED" });
    expect(await storedTask(server, task.task_id)).toMatchObject({ status: "pending", retry_count: 2 });

    const finisher = await newSeller(server);
    const done = await finisher.create("get_stats");
    const lease = await finisher.claim();
    expect((await finisher.result(done.task_id, resultBody(lease.lease_token, true, resultDataFor("get_stats")))).status).toBe(200);
    const afterResult = await finisher.request("POST", `/api/plugin/tasks/${done.task_id}/release`, { body: release(lease.lease_token) });
    expect(afterResult.status).toBe(409);
    expect((await storedTask(server, done.task_id)).status).toBe("completed");

    const cancelled = await finisher.create("get_user_data");
    const held = await finisher.claim();
    expect((await finisher.request("POST", `/tasks/${cancelled.task_id}/cancel/`)).status).toBe(200);
    const res = await finisher.request("POST", `/api/plugin/tasks/${cancelled.task_id}/release`, { body: release(held.lease_token) });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error_code: "LEASE_EXPIRED", current_status: "cancelled" });
  });

  it("another seller's task is a 404; a bad body is a 400 naming the field; no token is a 401", async () => {
    const seller = await newSeller(server);
    const other = await newSeller(server);
    const task = await seller.create("get_stats");
    const claimed = await seller.claim();
    const foreign = await other.request("POST", `/api/plugin/tasks/${task.task_id}/release`, { body: release(claimed.lease_token) });
    expect(foreign.status).toBe(404);
    const bad = await seller.request("POST", `/api/plugin/tasks/${task.task_id}/release`, { body: release(claimed.lease_token, { reason_code: "NOT_A_CODE" }) });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ field_errors: expect.objectContaining({ reason_code: expect.anything() }) });
    const anonymous = await server.request("POST", `/api/plugin/tasks/${task.task_id}/release`, { body: release(claimed.lease_token) });
    expect(anonymous.status).toBe(401);
    expect((await storedTask(server, task.task_id)).status).toBe("running");
  });
});
