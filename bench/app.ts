/**
 * The app as benches run it: in this process with production settings, the engine in its own
 * process with its journal, one registered seller and a JSON client that throws on any error answer.
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { createApp, type BuiltApp } from "../server/src/app.js";
import { loadConfig } from "../server/src/config.js";
import { connectDatabase } from "../server/src/db/connect.js";
import { addressOf, listen } from "../server/src/lifecycle/http-server.js";
import { createLogger } from "../server/src/logger.js";
import { startEngineProcess, type EngineProcess } from "./lib.js";

export type Call = (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>>;

export interface BenchApp {
  baseUrl: string;
  services: BuiltApp["services"];
  engine: EngineProcess;
  /** The registered seller's calls. */
  call: Call;
  close(): Promise<void>;
}

const BASE_ENV = { NODE_ENV: "production", LOG_LEVEL: "silent", AUTH_RATE_LIMIT: "1000", POLL_RATE_LIMIT: "1000000" };

/** `name` names the database and the seller; `env` adds to the production settings. */
export async function startBenchApp(name: string, env: Record<string, string> = {}): Promise<BenchApp> {
  const engine = await startEngineProcess();
  const result = loadConfig({ ...BASE_ENV, JWT_SECRET: randomBytes(32).toString("hex"), CREDENTIALS_KEY: randomBytes(32).toString("hex"), ...env });
  if (!result.ok) {
    await engine.stop();
    throw new Error(result.problems.join("; "));
  }
  const config = result.config;
  const db = await connectDatabase({ mongodbUri: `${engine.uri}/bench_${name}`, dataDir: null });
  const { app, services } = await createApp({ config, logger: createLogger(config), connection: db.connection });
  const server: Server = await listen(app, 0, "127.0.0.1");
  const baseUrl = `http://127.0.0.1:${addressOf(server).port}`;
  const close = async (): Promise<void> => {
    await services.execution.stop().catch(() => undefined);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await db.close();
    await engine.stop();
  };
  try {
    const call = jsonClient(baseUrl, await register(baseUrl, `bench-${name}@example.com`));
    return { baseUrl, services, engine, call, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function register(baseUrl: string, email: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/v1/auth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: "bench password 123" }),
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`register: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

function jsonClient(baseUrl: string, token: string): Call {
  return async (method, path, body) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json).slice(0, 500)}`);
    return json;
  };
}
