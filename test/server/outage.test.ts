import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../server/src/app.js";
import { loadConfig } from "../../server/src/config.js";
import { connectDatabase, type Database } from "../../server/src/db/connect.js";
import { startEmbeddedMongo, type EmbeddedMongo } from "../../server/src/embedded-mongo/index.js";
import { addressOf, listen } from "../../server/src/lifecycle/http-server.js";
import { createLogger } from "../../server/src/logger.js";

/**
 * The database goes away under a running server. This suite owns its engine (whatever MONGODB_URI
 * says) because it has to stop it.
 */
let engine: EmbeddedMongo;
let db: Database;
let httpServer: Server;
let baseUrl: string;
const logLines: string[] = [];

beforeAll(async () => {
  const result = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "info",
    JWT_SECRET: randomBytes(32).toString("hex"),
    MONGODB_TIMEOUT_MS: "300",
  });
  if (!result.ok) throw new Error(result.problems.join("; "));
  const config = result.config;
  const logger = createLogger(config, new Writable({ write: (c: Buffer, _e, done) => (logLines.push(c.toString()), done()) }));
  engine = await startEmbeddedMongo();
  db = await connectDatabase({ mongodbUri: `${engine.uri}/outage`, dataDir: null, timeoutMs: config.mongodbTimeoutMs });
  const { app } = await createApp({ config, logger, connection: db.connection });
  httpServer = await listen(app, 0, "127.0.0.1");
  baseUrl = `http://127.0.0.1:${addressOf(httpServer).port}`;
});

afterAll(async () => {
  httpServer?.close();
  await db?.close();
  await engine?.close();
});

describe("a database outage", () => {
  it("answers 503 SERVICE_UNAVAILABLE with Retry-After, and logs one warning per call without a stack", async () => {
    const register = await fetch(`${baseUrl}/api/v1/auth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "outage@example.com", password: "correct horse battery" }),
    });
    expect(register.status).toBe(201);
    const { access_token: token } = (await register.json()) as { access_token: string };

    await engine.close();
    const before = logLines.length;
    for (const [method, path, body] of [
      ["GET", "/api/v1/auth/me", undefined],
      ["POST", "/api/v1/auth/login", { email: "outage@example.com", password: "correct horse battery" }],
      ["GET", "/tasks/", undefined],
    ] as const) {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: body && JSON.stringify(body),
      });
      expect(res.status, path).toBe(503);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await res.json()).toEqual({ detail: "The database is unreachable; retry later.", error_code: "SERVICE_UNAVAILABLE" });
    }
    const logged = logLines.slice(before).join("");
    expect(logged).not.toContain("unhandled error");
    expect(logged).not.toContain('"stack"');
    expect(logged.match(/"msg":"database unavailable"/g)).toHaveLength(3);
  });
});
