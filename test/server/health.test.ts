import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

describe("health", () => {
  it("/healthz answers while the process lives", async () => {
    const res = await server.request("GET", "/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("/readyz pings the database", async () => {
    const res = await server.request("GET", "/readyz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ready", database: "up" });
  });

  it("/readyz answers 503 once the database is gone, /healthz still 200", async () => {
    await server.db.connection.close();
    const res = await server.request("GET", "/readyz");
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error_code: "SERVICE_UNAVAILABLE", database: "down" });
    expect((await server.request("GET", "/healthz")).status).toBe(200);
  });
});
