/**
 * Brand membership is checked when an extension claims a task and when it posts a heartbeat or a
 * result: a member removed from a brand is handed none of that brand's tasks any more (not even the
 * ones they created) and writes nothing into it. Memberships are cached per process: a removal is
 * seen at once by the process that made it, and by another process within BRAND_MEMBERSHIP_CACHE_MS.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PluginTaskView } from "../../shared/plugin.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { waitFor } from "../tasks/fixtures/tasks.js";
import { newSeller, resultBody, resultDataFor, Seller, storedTask } from "./helpers.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0" });
});
afterAll(() => server?.close());

describe("brand membership at claim and result time", () => {
  it("a member removed from a brand is not handed its tasks, and cannot post heartbeats or results into it", async () => {
    const owner = await newSeller(server);
    const member = await newSeller(server);
    const brand = await owner.request<{ id: number }>("POST", "/api/v1/brands", { body: { name: "Shop" } });
    expect(brand.status).toBe(201);
    expect((await owner.request("POST", `/api/v1/brands/${brand.body.id}/members`, { body: { email: member.user.email } })).status).toBe(201);
    const inBrand = (extra: Record<string, unknown>) =>
      member.request<PluginTaskView>("POST", "/api/plugin/tasks", { body: { action: "get_stats", params: { item_id: 7 }, ...extra }, headers: { "X-Brand-ID": String(brand.body.id) } });

    // A running lease and a queued task of the brand, both the member's own.
    const running = await inBrand({ priority: 9 });
    expect(running.status).toBe(201);
    const lease = await member.claim();
    expect(lease.task_id).toBe(running.body.task_id);
    const queued = await inBrand({});
    expect(queued.status).toBe(201);
    const personal = await member.create("get_user_data");

    expect((await owner.request("DELETE", `/api/v1/brands/${brand.body.id}/members/${member.id}`)).status).toBe(204);

    const beat = await member.heartbeat(running.body.task_id, { lease_token: lease.lease_token });
    expect(beat.status).toBe(403);
    const result = await member.result(running.body.task_id, resultBody(lease.lease_token, true, resultDataFor("get_stats")));
    expect(result.status).toBe(403);
    expect(result.body).toMatchObject({ error_code: "PERMISSION_DENIED", detail: expect.stringMatching(/no longer a member/) });
    expect(await storedTask(server, running.body.task_id)).toMatchObject({ status: "running", result_data: null });

    // Only the personal task is handed out; the brand's queued one stays where it is.
    expect((await member.claim()).task_id).toBe(personal.task_id);
    expect(await member.poll()).toEqual({ task_id: null, message: "No pending tasks" });
    expect((await storedTask(server, queued.body.task_id)).status).toBe("pending");

    // Back in the brand: its tasks are the member's to run again.
    expect((await owner.request("POST", `/api/v1/brands/${brand.body.id}/members`, { body: { email: member.user.email } })).status).toBe(201);
    expect((await member.claim()).task_id).toBe(queued.body.task_id);
  });
});

describe("memberships cached per process", () => {
  it("a removal made by another process reaches this one within BRAND_MEMBERSHIP_CACHE_MS", async () => {
    const other = await startTestServer(
      { PLUGIN_POLL_INTERVAL_MS: "0", JWT_SECRET: server.config.jwtSecret, BRAND_MEMBERSHIP_CACHE_MS: "300" },
      { database: server.testDatabase, taskExecution: false },
    );
    try {
      const owner = await newSeller(server);
      const member = await newSeller(server);
      const memberOnOther = new Seller(other, member.user);
      const brand = await owner.request<{ id: number }>("POST", "/api/v1/brands", { body: { name: "Shop" } });
      expect((await owner.request("POST", `/api/v1/brands/${brand.body.id}/members`, { body: { email: member.user.email } })).status).toBe(201);
      const createInBrand = () =>
        memberOnOther.request("POST", "/api/plugin/tasks", { body: { action: "get_user_data", params: {} }, headers: { "X-Brand-ID": String(brand.body.id) } });
      // The other process reads (and keeps) the membership.
      expect((await createInBrand()).status).toBe(201);

      expect((await owner.request("DELETE", `/api/v1/brands/${brand.body.id}/members/${member.id}`)).status).toBe(204);
      await waitFor(createInBrand, (res) => res.status === 403, { what: "the other process to see the removal" });
      // Nor is the brand's queued task handed to the member there.
      expect(await memberOnOther.poll()).toEqual({ task_id: null, message: "No pending tasks" });
    } finally {
      await other.close();
    }
  });
});
