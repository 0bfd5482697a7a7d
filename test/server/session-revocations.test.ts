/**
 * Sessions ended by another server process: learned by one query per half AUTH_SESSION_CACHE_MS
 * (the revocation feed), not by re-reading each session in use when its cached state ages out.
 * Two servers share one database; the first runs the feed as main.ts runs it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { sleep, waitFor } from "../tasks/fixtures/tasks.js";

const CACHE_MS = 4_000;

let a: TestServer;
let b: TestServer;
/** Reads of one session by its id (not the feed's query), counted in the engine. */
let sessionReads = 0;

beforeAll(async () => {
  a = await startTestServer({ AUTH_SESSION_CACHE_MS: String(CACHE_MS) }, { taskExecution: false });
  b = await startTestServer({ AUTH_SESSION_CACHE_MS: String(CACHE_MS), JWT_SECRET: a.config.jwtSecret }, { taskExecution: false, database: a.testDatabase });
  const engine = a.testDatabase.embedded?.engine;
  if (engine) {
    const run = engine.run.bind(engine);
    engine.run = (cmd, connectionId) => {
      const filter = cmd.filter as Record<string, unknown> | undefined;
      if (cmd.find === "auth_sessions" && filter && "_id" in filter) sessionReads++;
      return run(cmd, connectionId);
    };
  }
  await a.description.services.auth.revocations.start();
});

afterAll(async () => {
  await a?.description.services.auth.revocations.stop();
  await b?.close();
  await a?.close();
});

describe("sessions ended by another process", () => {
  it("an open session is not read again while the feed runs; a logout through another process is refused within AUTH_SESSION_CACHE_MS", async () => {
    const user = await a.register();
    const me = () => a.request("GET", "/api/v1/auth/me", { token: user.access_token });
    expect((await me()).status).toBe(200);
    const readsAfterFirst = sessionReads;

    // Longer than the cache's lifetime: without the feed the session would be read again.
    const until = Date.now() + CACHE_MS * 1.5;
    while (Date.now() < until) {
      expect((await me()).status).toBe(200);
      await sleep(100);
    }
    if (a.testDatabase.embedded) expect(sessionReads).toBe(readsAfterFirst);

    expect((await b.request("POST", "/api/v1/auth/logout", { token: user.access_token })).status).toBe(204);
    await waitFor(me, (res) => res.status === 401, { what: "the logout made through the other server to be seen", timeoutMs: CACHE_MS * 3 });
    // Still refused afterwards, and refreshing is refused too.
    expect((await me()).status).toBe(401);
    expect((await a.request("POST", "/api/v1/auth/refresh", { body: { refresh_token: user.refresh_token } })).status).toBe(401);
  });
});
