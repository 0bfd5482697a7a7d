import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";

/**
 * Two server processes on one database (each its own app, connection and port): throttling is
 * counted in the database, so the limits hold for the pair as they would for one.
 */
let first: TestServer;
let second: TestServer;
beforeAll(async () => {
  const env = { AUTH_RATE_LIMIT: "100000", AUTH_LOCKOUT_ATTEMPTS: "3", AUTH_LOCKOUT_WINDOW: "10m", AUTH_LOCKOUT_DURATION: "5m" };
  first = await startTestServer(env, { taskExecution: false });
  second = await startTestServer(env, { taskExecution: false, database: first.testDatabase });
});
afterAll(async () => {
  await second?.close();
  await first?.close();
});

type Body = Record<string, unknown>;
const login = (server: TestServer, email: string, password: string) =>
  server.request<Body>("POST", "/api/v1/auth/login", { body: { email, password } });

describe("account lockout", () => {
  it("locks an account after AUTH_LOCKOUT_ATTEMPTS failures spread over two processes: 429 + Retry-After, even with the right password", async () => {
    const user = await first.register();
    expect((await login(first, user.email, "wrong one 1")).status).toBe(401);
    expect((await login(second, user.email, "wrong one 2")).status).toBe(401);
    expect((await login(first, user.email.toUpperCase(), "wrong one 3")).status).toBe(401);
    for (const server of [first, second]) {
      const locked = await login(server, user.email, user.password);
      expect(locked.status).toBe(429);
      expect(locked.body).toEqual({ detail: "Too many failed logins for this account; retry later.", error_code: "RATE_LIMITED" });
      const retryAfter = Number(locked.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(300);
    }
    // Another account is not affected, and neither are the locked user's tokens.
    const other = await second.register();
    expect((await login(first, other.email, other.password)).status).toBe(200);
    expect((await first.request("GET", "/api/v1/auth/me", { token: user.access_token })).status).toBe(200);
  });

  it("a successful login clears the failures counted so far", async () => {
    const user = await first.register();
    for (let round = 0; round < 3; round++) {
      expect((await login(first, user.email, "wrong")).status).toBe(401);
      expect((await login(second, user.email, "wrong again")).status).toBe(401);
      expect((await login(round % 2 ? first : second, user.email, user.password)).status).toBe(200);
    }
  });

  it("counts unknown emails like real ones, so a lockout reveals no account", async () => {
    const ghost = `nobody-${Date.now()}@example.com`;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await login(i % 2 ? first : second, ghost, "whatever")).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe("per-address rate limit", () => {
  it("AUTH_RATE_LIMIT counts the requests of one address across processes", async () => {
    const env = { AUTH_RATE_LIMIT: "4", AUTH_RATE_WINDOW: "60s" };
    const a = await startTestServer(env, { taskExecution: false });
    const b = await startTestServer(env, { taskExecution: false, database: a.testDatabase });
    try {
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await login(i % 2 ? b : a, `rate-${i}@example.com`, "whatever")).status);
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    } finally {
      await b.close();
      await a.close();
    }
  });
});
