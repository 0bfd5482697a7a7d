/**
 * A real server for one test suite: a fresh database (embedded engine, or MONGODB_URI), the app as
 * main.ts builds it, listening on a free loopback port. Everything is torn down by close().
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { Express } from "express";
import type { DestinationStream } from "pino";
import type { AuthTokensResponse } from "../../shared/auth.js";
import { createApp, type BuiltApp } from "../../server/src/app.js";
import { loadConfig, type Config } from "../../server/src/config.js";
import { connectDatabase, type Database } from "../../server/src/db/connect.js";
import { addressOf, listen } from "../../server/src/lifecycle/http-server.js";
import { createLogger } from "../../server/src/logger.js";
import { httpRequester } from "./http.js";
import { startTestDatabase, type TestDatabase } from "./mongo.js";

export interface TestResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when the answer is not JSON; null for an empty body. */
  body: T;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent as-is, e.g. malformed JSON. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface RegisteredUser extends AuthTokensResponse {
  email: string;
  password: string;
}

export interface TestServer {
  baseUrl: string;
  config: Config;
  db: Database;
  testDatabase: TestDatabase;
  app: Express;
  /** What createApp built: routes, services (services.lifecycle, services.execution…), OpenAPI document. */
  description: BuiltApp;
  request<T = Record<string, unknown>>(method: string, path: string, options?: RequestOptions): Promise<TestResponse<T>>;
  /** Registers a fresh user (unique email unless given) and returns its tokens and password. */
  register(email?: string): Promise<RegisteredUser>;
  authHeader(token: string): { Authorization: string };
  /** The server goes down: no new connection is accepted and open ones are cut (clients see a network error). */
  stopListening(): Promise<void>;
  /** Back up on the same port (baseUrl stays valid). */
  resumeListening(): Promise<void>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Where the app's logs go (silent unless LOG_LEVEL is overridden). */
  logStream?: DestinationStream;
  /** Start this process's task execution (default true). */
  taskExecution?: boolean;
  /** Listen on this port instead of a free one (a test that must know it before the app is built, e.g. for PUBLIC_URL). */
  port?: number;
  /** Another server's database (a second server process on the same data); left open by close(). */
  database?: TestDatabase;
}

let userCounter = 0;

/** Environment overrides use the real variable names, so they go through config validation too. */
export async function startTestServer(overrides: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const result = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    JWT_SECRET: randomBytes(32).toString("hex"),
    CREDENTIALS_KEY: randomBytes(32).toString("hex"),
    AUTH_RATE_LIMIT: "100000",
    // Test-only: scrypt at 2^12 instead of OWASP's 2^17 keeps suites that register many users fast.
    AUTH_SCRYPT_COST: "12",
    // Tests poll status endpoints far faster than a dashboard would.
    POLL_RATE_LIMIT: "100000",
    // Task execution at test speed: fast polls, short backoff, quick detection of dead workers.
    TASK_POLL_MS: "100",
    TASK_RETRY_BASE_MS: "100",
    TASK_HEARTBEAT_MS: "200",
    TASK_CANCEL_POLL_MS: "50",
    ...overrides,
  });
  if (!result.ok) throw new Error(`test config invalid: ${result.problems.join("; ")}`);
  const config = result.config;
  const logger = createLogger(config, options.logStream);

  const testDatabase = options.database ?? (await startTestDatabase("server"));
  const db = await connectDatabase({ mongodbUri: testDatabase.uri, dataDir: null, timeoutMs: config.mongodbTimeoutMs, transport: config.embeddedEngineTransport });
  const built = await createApp({ config, logger, connection: db.connection });
  const { app, services } = built;
  if (options.taskExecution !== false) await services.execution.start();
  const server: Server = await listen(app, options.port ?? 0, "127.0.0.1");
  const { port } = addressOf(server);
  const baseUrl = `http://127.0.0.1:${port}`;
  const stopListening = async (): Promise<void> => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };

  const request = httpRequester(baseUrl);

  const register = async (email?: string): Promise<RegisteredUser> => {
    const address = email ?? `user${++userCounter}-${randomBytes(3).toString("hex")}@example.com`;
    const password = `pw-${randomBytes(8).toString("hex")}`;
    const res = await request<AuthTokensResponse>("POST", "/api/v1/auth/register", { body: { email: address, password } });
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { ...res.body, email: address, password };
  };

  return {
    baseUrl,
    config,
    db,
    testDatabase,
    app,
    description: built,
    request,
    register,
    authHeader: (token) => ({ Authorization: `Bearer ${token}` }),
    stopListening,
    async resumeListening() {
      if (server.listening) return;
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => {
          server.off("error", reject);
          resolve();
        });
      });
    },
    async close() {
      await services.execution.stop();
      await stopListening();
      await db.close();
      if (!options.database) await testDatabase.close();
    },
  };
}
