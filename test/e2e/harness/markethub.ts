/**
 * The REAL MarketHub server for the browser tests: the app as main.ts builds it (startTestServer,
 * fresh embedded database), with every HTTP request it answers recorded from its own request log,
 * and a seller registered through the API whose client plays the MarketHub web app.
 */
import { createServer } from "node:net";
import { Writable } from "node:stream";
import {
  PluginTaskViewSchema,
  RecentPluginTasksResponseSchema,
  SyncVintedResponseSchema,
  type CreatePluginTaskBody,
  type PluginTaskStatus,
  type PluginTaskView,
} from "../../../shared/plugin.js";
import {
  VintedAccountViewSchema,
  VintedProductDetailSchema,
  VintedProductListResponseSchema,
  type VintedAccountView,
  type VintedProductDetail,
  type VintedProductView,
} from "../../../shared/vinted.js";
import { startTestServer, type RegisteredUser, type TestServer } from "../../helpers/app.js";

/** One request the server answered, from its access-log line (query strings are not logged). */
export interface ServedRequest {
  /** When the request arrived (epoch ms). */
  startedAt: number;
  /** When it was answered. */
  endedAt: number;
  method: string;
  path: string;
  status: number;
}

/** Collects the server's request log lines (LOG_LEVEL=info) as they are written. */
class RequestRecorder extends Writable {
  readonly requests: ServedRequest[] = [];
  private partial = "";

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    const lines = (this.partial + chunk.toString()).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) this.take(line);
    done();
  }

  private take(line: string): void {
    if (!line.trim()) return;
    try {
      const entry = JSON.parse(line) as { time?: number; responseTime?: number; req?: { method?: string; url?: string }; res?: { statusCode?: number } };
      if (!entry.req?.method || !entry.res || typeof entry.time !== "number") return;
      this.requests.push({
        startedAt: entry.time - (entry.responseTime ?? 0),
        endedAt: entry.time,
        method: entry.req.method,
        path: entry.req.url ?? "",
        status: entry.res.statusCode ?? 0,
      });
    } catch {
      // Not a JSON line: nothing to record.
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it gives something other than undefined/false, or fails at the deadline. */
export async function waitUntil<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}`);
    await sleep(everyMs);
  }
}

export interface MarketHub {
  server: TestServer;
  url: string;
  seller: SellerClient;
  /** Every request the server answered so far, in order of answer. */
  requests: ServedRequest[];
  /** Requests whose path (without its query, when a string) matches, optionally only those that arrived after `since`. */
  served(method: string, path: RegExp | string, since?: number): ServedRequest[];
  close(): Promise<void>;
}

/** A loopback port free right now (the server takes it a moment later). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no loopback port");
  return address.port;
}

export interface MarketHubOptions {
  /**
   * PUBLIC_URL is the server's own address, so the signed photo links it hands out (publication
   * to Vinted) open on it: the port is chosen before the app is built.
   */
  ownPublicUrl?: boolean;
}

/**
 * PLUGIN_POLL_INTERVAL_MS stays the production 5 s (the extension's own floor): the server really
 * refuses a poll that comes too early, which one test relies on.
 */
export async function startMarketHub(overrides: Record<string, string> = {}, options: MarketHubOptions = {}): Promise<MarketHub> {
  const recorder = new RequestRecorder();
  const port = options.ownPublicUrl ? await freePort() : undefined;
  const publicUrl: Record<string, string> = port === undefined ? {} : { PUBLIC_URL: `http://127.0.0.1:${port}` };
  const server = await startTestServer(
    { LOG_LEVEL: "info", PLUGIN_POLL_INTERVAL_MS: "5000", PLUGIN_LONG_POLL_RECHECK_MS: "250", PLUGIN_LEASE_SWEEP_MS: "250", ...publicUrl, ...overrides },
    { logStream: recorder, port },
  );
  // As main.ts runs it: besides task execution, the plugin module's service (lease sweeper, held long-polls).
  const pluginService = server.description.services.plugin.service;
  try {
    await pluginService.start();
    const seller = new SellerClient(server, await server.register());
    return {
      server,
      url: server.baseUrl,
      seller,
      requests: recorder.requests,
      served(method, path, since = 0) {
        // A string names a route: the query (the extension's poll says who it is there) does not count.
        return recorder.requests.filter((r) => r.method === method && (typeof path === "string" ? r.path.split("?")[0] === path : path.test(r.path)) && r.startedAt >= since);
      },
      async close() {
        await pluginService.stop();
        await server.close();
      },
    };
  } catch (error) {
    await pluginService.stop();
    await server.close();
    throw error;
  }
}

/** The seller's own MarketHub session (as the web app would have it): creates tasks, reads data. */
export class SellerClient {
  constructor(
    readonly server: TestServer,
    readonly user: RegisteredUser,
  ) {}

  get email(): string {
    return this.user.email;
  }

  get password(): string {
    return this.user.password;
  }

  private async call<T>(method: string, path: string, body?: unknown, expected = [200, 201]): Promise<T> {
    const res = await this.server.request<T>(method, path, { token: this.user.access_token, body });
    if (!expected.includes(res.status)) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async createTask(body: CreatePluginTaskBody): Promise<PluginTaskView> {
    return PluginTaskViewSchema.parse(await this.call("POST", "/api/plugin/tasks", body, [201]));
  }

  async syncVinted(): Promise<{ message: string; task_id: string }> {
    return SyncVintedResponseSchema.parse(await this.call("POST", "/api/sync/vinted", {}));
  }

  async task(taskId: string): Promise<PluginTaskView> {
    return PluginTaskViewSchema.parse(await this.call("GET", `/api/plugin/tasks/${encodeURIComponent(taskId)}`));
  }

  async recent(limit = 10): Promise<PluginTaskView[]> {
    return RecentPluginTasksResponseSchema.parse(await this.call("GET", `/api/plugin/tasks/recent?limit=${limit}`)).results;
  }

  /** Waits until the task reaches one of `statuses` (default: a final one). */
  async waitForTask(taskId: string, timeoutMs = 60_000, statuses: PluginTaskStatus[] = ["completed", "failed", "cancelled"]): Promise<PluginTaskView> {
    let last: PluginTaskView | undefined;
    try {
      return await waitUntil(`task ${taskId} to be ${statuses.join("/")}`, async () => {
        last = await this.task(taskId);
        return statuses.includes(last.status) ? last : undefined;
      }, timeoutMs, 150);
    } catch (error) {
      throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`);
    }
  }

  async account(): Promise<VintedAccountView> {
    return VintedAccountViewSchema.parse(await this.call("GET", "/api/v1/vinted/account"));
  }

  async product(vintedId: number): Promise<VintedProductDetail> {
    return VintedProductDetailSchema.parse(await this.call("GET", `/api/v1/vinted/products/${vintedId}`));
  }

  async productCount(status: "active" | "gone" | "all" = "active"): Promise<number> {
    return VintedProductListResponseSchema.parse(await this.call("GET", `/api/v1/vinted/products?status=${status}&page_size=1`)).count;
  }

  /** Every stored listing (all pages). */
  async products(query = "status=active"): Promise<VintedProductView[]> {
    const all: VintedProductView[] = [];
    for (let page = 1; ; page++) {
      const answer = VintedProductListResponseSchema.parse(await this.call("GET", `/api/v1/vinted/products?${query}&page_size=100&page=${page}&ordering=vinted_id`));
      all.push(...answer.results);
      if (!answer.next) return all;
    }
  }

  /** A plain poll as the seller (GET /api/plugin/tasks): what a second extension of the seller would send. */
  async poll(): Promise<{ status: number; retryAfter: string | null; body: unknown }> {
    const res = await this.server.request("GET", "/api/plugin/tasks", { token: this.user.access_token });
    return { status: res.status, retryAfter: res.headers.get("retry-after"), body: res.body };
  }
}
