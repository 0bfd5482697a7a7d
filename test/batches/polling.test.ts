/** Polled endpoints answer a clear 429 past POLL_RATE_LIMIT per caller and URL; other callers and URLs are unaffected. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchSchema } from "../../shared/batches.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { FAR_FUTURE, TaskApi } from "../tasks/fixtures/tasks.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ POLL_RATE_LIMIT: "3" });
});
afterAll(() => server?.close());

describe("abusive polling", () => {
  it("the 4th status read within a minute is a 429 with Retry-After; another URL or caller still answers", async () => {
    const api = new TaskApi(server.request, (await server.register()).access_token);
    await api.call("POST", "/api/v1/accounts/", { account_id: "acc-poll", name: "Poll" });
    const batch = async () =>
      BatchSchema.parse((await api.call("POST", "/api/v1/batches/", { account_id: "acc-poll", task_type: "simulated", product_ids: [1], scheduled_for: FAR_FUTURE })).body).batch_id;
    const [b1, b2] = [await batch(), await batch()];
    for (let i = 0; i < 3; i++) expect((await api.call("GET", `/api/v1/batches/${b1}/status`)).status).toBe(200);
    const limited = await api.call("GET", `/api/v1/batches/${b1}/status`);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ error_code: "RATE_LIMITED" });
    expect((limited.body as { detail: string }).detail).toMatch(/at most 3 requests per minute/);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await api.call("GET", `/api/v1/batches/${b2}/status`)).status).toBe(200);
    const other = new TaskApi(server.request, (await server.register()).access_token);
    expect((await other.call("GET", `/api/v1/batches/${b1}/status`)).status).toBe(404);
    for (let i = 0; i < 3; i++) expect((await api.call("GET", "/api/v1/dashboard/overview")).status).toBe(200);
    expect((await api.call("GET", "/api/v1/dashboard/overview")).status).toBe(429);
  });
});
