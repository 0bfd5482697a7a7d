/**
 * An in-process stand-in for the MarketHub plugin API, written from shared/plugin.ts alone. Every
 * body the extension sends is checked against the shared schemas (violations are recorded), so the
 * extension is proven against the contract before the real server exists.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { z } from "zod";
import {
  CreatePluginTaskBodySchema,
  HeartbeatBodySchema,
  LoginBodySchema,
  MAX_LONG_POLL_WAIT_SECONDS,
  RefreshBodySchema,
  TaskResultBodySchema,
  type HeartbeatBody,
  type PluginAction,
  type PluginTaskStatus,
  type TaskResultBody,
} from "../../../shared/plugin.js";

export interface StubTask {
  task_id: string;
  action: PluginAction;
  params: unknown;
  priority: number;
  timeout: number;
  status: PluginTaskStatus;
  attempt: number;
  lease_token: string | null;
  lease_expires_at: number | null;
  heartbeats: HeartbeatBody[];
  result: TaskResultBody | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
}

export interface StubControls {
  /** Every request answers 503 (server down). */
  down: boolean;
  /** The next N result posts answer 503. */
  failResults: number;
  /** The next poll answers 429 with this Retry-After (seconds). */
  pollRetryAfterSeconds: number | null;
}

export interface FakeMarketHub {
  url: string;
  email: string;
  password: string;
  tasks: StubTask[];
  polls: number[];
  resultPosts: Array<{ at: number; taskId: string; status: number }>;
  contractViolations: string[];
  controls: StubControls;
  createTask(action: PluginAction, params: unknown, timeout?: number): StubTask;
  /** Lets a lease lapse at once, putting the task back in the queue (attempt + 1 on next claim). */
  expireLease(taskId: string): void;
  waitForTask(taskId: string, statuses: PluginTaskStatus[], timeoutMs?: number): Promise<StubTask>;
  close(): Promise<void>;
}

const ACCESS_TOKEN_SECONDS = 3600;

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

export async function startFakeMarketHub(): Promise<FakeMarketHub> {
  const email = "seller@example.com";
  const password = "correct horse battery";
  const accessTokens = new Set<string>();
  const refreshTokens = new Set<string>();
  const stub: Omit<FakeMarketHub, "url" | "close"> = {
    email,
    password,
    tasks: [],
    polls: [],
    resultPosts: [],
    contractViolations: [],
    controls: { down: false, failResults: 0, pollRetryAfterSeconds: null },
    createTask(action, params, timeout = 60) {
      const task: StubTask = {
        task_id: randomUUID(), action, params, priority: 1, timeout, status: "pending", attempt: 0, lease_token: null, lease_expires_at: null,
        heartbeats: [], result: null, created_at: new Date().toISOString(), started_at: null, completed_at: null,
      };
      stub.tasks.push(task);
      return task;
    },
    expireLease(taskId) {
      const task = stub.tasks.find((t) => t.task_id === taskId);
      if (task) task.lease_expires_at = 0;
    },
    async waitForTask(taskId, statuses, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const task = stub.tasks.find((t) => t.task_id === taskId);
        if (task && statuses.includes(task.status)) return task;
        if (Date.now() > deadline) throw new Error(`task ${taskId} still ${task?.status} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };

  function check<T>(schema: z.ZodType<T>, body: unknown, where: string): T | null {
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    stub.contractViolations.push(`${where}: ${parsed.error.message}`);
    return null;
  }

  function issueTokens(res: ServerResponse): void {
    const access = randomUUID();
    const refresh = randomUUID();
    accessTokens.add(access);
    refreshTokens.add(refresh);
    reply(res, 200, { user: { id: 1, email }, access_token: access, refresh_token: refresh, token_type: "Bearer", expires_in: ACCESS_TOKEN_SECONDS });
  }

  /** Expired leases go back to the queue, as the server's reaper would. */
  function requeueExpired(): void {
    for (const task of stub.tasks) {
      if (task.status === "executing" && task.lease_expires_at !== null && task.lease_expires_at < Date.now()) {
        task.status = "pending";
        task.lease_token = null;
      }
    }
  }

  function claim(): StubTask | undefined {
    requeueExpired();
    const task = stub.tasks.find((t) => t.status === "pending");
    if (!task) return undefined;
    Object.assign(task, { status: "executing", attempt: task.attempt + 1, lease_token: randomUUID(), lease_expires_at: Date.now() + task.timeout * 1000, started_at: new Date().toISOString() });
    return task;
  }

  async function poll(url: URL, res: ServerResponse): Promise<void> {
    stub.polls.push(Date.now());
    if (stub.controls.pollRetryAfterSeconds !== null) {
      const seconds = stub.controls.pollRetryAfterSeconds;
      stub.controls.pollRetryAfterSeconds = null;
      return reply(res, 429, { detail: "Polling too fast", error_code: "RATE_LIMITED" }, { "retry-after": String(seconds) });
    }
    const wait = Math.min(MAX_LONG_POLL_WAIT_SECONDS, Number(url.searchParams.get("wait") ?? 0));
    const deadline = Date.now() + wait * 1000;
    let task = claim();
    while (!task && Date.now() < deadline && !res.destroyed) {
      await new Promise((r) => setTimeout(r, 100));
      task = claim();
    }
    if (!task) return reply(res, 200, { task_id: null, message: "No pending tasks" });
    reply(res, 200, {
      task_id: task.task_id, action: task.action, params: task.params, priority: task.priority, timeout: task.timeout,
      lease_token: task.lease_token, lease_expires_at: new Date(task.lease_expires_at ?? 0).toISOString(), attempt: task.attempt,
    });
  }

  function leaseHolder(taskId: string, token: string | undefined): StubTask | undefined {
    requeueExpired();
    const task = stub.tasks.find((t) => t.task_id === taskId);
    return task && task.status === "executing" && task.lease_token === token ? task : undefined;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://stub");
    const body = await readJson(req);
    if (stub.controls.down) return reply(res, 503, { detail: "down", error_code: "SERVICE_UNAVAILABLE" });
    const path = url.pathname;
    if (req.method === "POST" && path === "/api/v1/auth/login") {
      const login = check(LoginBodySchema, body, "login");
      if (!login || login.email !== email || login.password !== password) return reply(res, 401, { detail: "Invalid credentials", error_code: "INVALID_CREDENTIALS" });
      return issueTokens(res);
    }
    if (req.method === "POST" && path === "/api/v1/auth/refresh") {
      const refresh = check(RefreshBodySchema, body, "refresh");
      if (!refresh || !refreshTokens.delete(refresh.refresh_token)) return reply(res, 401, { detail: "Invalid refresh token", error_code: "TOKEN_INVALID" });
      return issueTokens(res);
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token || !accessTokens.has(token)) return reply(res, 401, { detail: "Not authenticated", error_code: "NOT_AUTHENTICATED" });

    let m: RegExpExecArray | null;
    if (req.method === "GET" && path === "/api/plugin/tasks") return poll(url, res);
    if (req.method === "GET" && path === "/api/plugin/tasks/recent") {
      const limit = Number(url.searchParams.get("limit") ?? 10);
      const results = [...stub.tasks].reverse().slice(0, limit).map((t) => ({
        task_id: t.task_id, action: t.action, status: t.status, progress: t.heartbeats.at(-1)?.progress ?? null,
        error: t.result?.error ?? null, created_at: t.created_at, started_at: t.started_at, completed_at: t.completed_at,
      }));
      return reply(res, 200, { results });
    }
    if (req.method === "POST" && path === "/api/plugin/tasks") {
      const create = check(CreatePluginTaskBodySchema, body, "create");
      if (!create) return reply(res, 422, { detail: "invalid", error_code: "VALIDATION_ERROR" });
      const task = stub.createTask(create.action, create.params, create.timeout);
      return reply(res, 201, { task_id: task.task_id, action: task.action, status: task.status, created_at: task.created_at });
    }
    if (req.method === "POST" && path === "/api/sync/vinted") {
      const task = stub.createTask("get_all_products", {});
      return reply(res, 200, { message: "Sync started", task_id: task.task_id });
    }
    if (req.method === "POST" && (m = /^\/api\/plugin\/tasks\/([^/]+)\/heartbeat$/.exec(path))) {
      const beat = check(HeartbeatBodySchema, body, "heartbeat");
      const task = beat && leaseHolder(decodeURIComponent(m[1] as string), beat.lease_token);
      if (!beat || !task) return reply(res, 409, { detail: "Lease lost", error_code: "INVALID_OPERATION" });
      task.heartbeats.push(beat);
      task.lease_expires_at = Date.now() + task.timeout * 1000;
      return reply(res, 200, { status: "ok", lease_expires_at: new Date(task.lease_expires_at).toISOString() });
    }
    if (req.method === "POST" && (m = /^\/api\/plugin\/tasks\/([^/]+)\/result$/.exec(path))) {
      const taskId = decodeURIComponent(m[1] as string);
      if (stub.controls.failResults > 0) {
        stub.controls.failResults -= 1;
        stub.resultPosts.push({ at: Date.now(), taskId, status: 503 });
        return reply(res, 503, { detail: "temporarily down", error_code: "SERVICE_UNAVAILABLE" });
      }
      const result = check(TaskResultBodySchema, body, "result");
      const task = result && leaseHolder(taskId, result.lease_token);
      stub.resultPosts.push({ at: Date.now(), taskId, status: task ? 200 : 409 });
      if (!result || !task) return reply(res, 409, { detail: "Stale lease or duplicate result", error_code: "INVALID_OPERATION" });
      Object.assign(task, { result, status: result.success ? "completed" : "failed", completed_at: new Date().toISOString(), lease_token: null });
      return reply(res, 200, { status: "received", message: "Task result saved successfully" });
    }
    reply(res, 404, { detail: `No route ${req.method} ${path}`, error_code: "NOT_FOUND" });
  }

  const server = createServer((req, res) => void route(req, res).catch((e: unknown) => reply(res, 500, { detail: String(e), error_code: "INTERNAL_ERROR" })));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    ...stub,
    get tasks() {
      return stub.tasks;
    },
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
