/**
 * Sane caps on what one brand may ask of the shared workers: `timeout_minutes` and the `simulated`
 * type's parameters are refused at creation (and on change) with a 400 naming the field, instead of
 * holding a worker slot for days or failing only when run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { TaskApi, type Body } from "./fixtures/tasks.js";

let server: TestServer;
let api: TaskApi;
beforeAll(async () => {
  server = await startTestServer({}, { taskExecution: false });
  api = new TaskApi(server.request, (await server.register()).access_token);
});
afterAll(() => server?.close());

describe("caps on server-side work", () => {
  it("timeout_minutes above 24 h and out-of-bounds simulated parameters are a 400 naming the field", async () => {
    const refused: Array<[Body, string]> = [
      [{ task_type: "simulated", timeout_minutes: 24 * 60 + 1 }, "timeout_minutes"],
      [{ task_type: "simulated", context_data: { steps: 10_000, step_ms: 600_000 } }, "context_data.step_ms"],
      [{ task_type: "simulated", context_data: { steps: 100_000 } }, "context_data.steps"],
      [{ task_type: "simulated", context_data: { step_ms: -1 } }, "context_data.step_ms"],
      [{ task_type: "simulated", context_data: { fail_times: 1_000_000 } }, "context_data.fail_times"],
      [{ task_type: "simulated", context_data: { cost_per_step: 1e9 } }, "context_data.cost_per_step"],
      [{ task_type: "simulated", context_data: { fail_message: "x".repeat(5_000) } }, "context_data.fail_message"],
      [{ task_type: "simulated", context_data: { steps: "many" } }, "context_data.steps"],
    ];
    for (const [body, field] of refused) {
      const res = await api.call<Body>("POST", "/tasks/", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error_code).toBe("VALIDATION_ERROR");
      expect(Object.keys(res.body.field_errors as Body), JSON.stringify(body)).toEqual([field]);
    }
    // Within the caps: accepted (6 h of simulated work at most, a 24 h timeout).
    const ok = await api.call<Body>("POST", "/tasks/", { task_type: "simulated", timeout_minutes: 24 * 60, context_data: { steps: 360, step_ms: 60_000 } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    // A change of context_data is held to the same caps.
    const patched = await api.call<Body>("PATCH", `/tasks/${ok.body.task_id as string}/`, { context_data: { steps: 10_000, step_ms: 600_000 } });
    expect(patched.status).toBe(400);
    expect(Object.keys(patched.body.field_errors as Body)).toEqual(["context_data.step_ms"]);
  });
});
