import { Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import express from "express";
import helmet from "helmet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorHandler } from "../../server/src/http/error-handler.js";
import { demoteInAccessLog, requestLogging } from "../../server/src/http/request-logging.js";
import { addressOf, listen } from "../../server/src/lifecycle/http-server.js";
import { createLogger } from "../../server/src/logger.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { waitFor } from "../tasks/fixtures/tasks.js";

let server: TestServer;
const logLines: string[] = [];
beforeAll(async () => {
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  server = await startTestServer({ LOG_LEVEL: "info", BODY_LIMIT: "10kb", CORS_ORIGINS: "https://app.example.com" }, { logStream });
});
afterAll(() => server?.close());

type Body = Record<string, unknown>;

describe("request errors", () => {
  it("malformed JSON → 400 MALFORMED_JSON", async () => {
    const res = await server.request<Body>("POST", "/api/v1/auth/login", { rawBody: '{"email": "a@b.c", ' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ detail: "Malformed JSON in request body.", error_code: "MALFORMED_JSON" });
  });

  it("a body over BODY_LIMIT → 413 PAYLOAD_TOO_LARGE", async () => {
    const res = await server.request<Body>("POST", "/api/v1/auth/register", { body: { email: "big@example.com", password: "x".repeat(20_000) } });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ detail: "Request body is too large.", error_code: "PAYLOAD_TOO_LARGE" });
  });

  it("a body that is not JSON → 415", async () => {
    const res = await server.request<Body>("POST", "/api/v1/auth/login", { rawBody: "email=a@b.c", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(415);
    expect(res.body.error_code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("a body that does not match its Content-Encoding → 400; an unknown encoding → 415; a real gzip body works", async () => {
    const user = await server.register();
    for (const encoding of ["gzip", "br", "deflate"]) {
      const res = await server.request<Body>("POST", "/api/v1/auth/login", { rawBody: '{"email":"a@b.c","password":"x"}', headers: { "Content-Encoding": encoding } });
      expect(res.status, encoding).toBe(400);
      expect(res.body).toEqual({ detail: `Request body is not valid ${encoding} data.`, error_code: "MALFORMED_BODY" });
    }
    const truncated = gzipSync(JSON.stringify({ email: user.email, password: user.password })).subarray(0, 20);
    const cut = await fetch(`${server.baseUrl}/api/v1/auth/login`, { method: "POST", headers: { "Content-Type": "application/json", "Content-Encoding": "gzip" }, body: truncated });
    expect(cut.status).toBe(400);
    const unknown = await server.request<Body>("POST", "/api/v1/auth/login", { rawBody: "{}", headers: { "Content-Encoding": "compress" } });
    expect(unknown.status).toBe(415);
    expect(unknown.body.error_code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const gzipped = gzipSync(JSON.stringify({ email: user.email, password: user.password }));
    const ok = await fetch(`${server.baseUrl}/api/v1/auth/login`, { method: "POST", headers: { "Content-Type": "application/json", "Content-Encoding": "gzip" }, body: gzipped });
    expect(ok.status).toBe(200);
    expect(logLines.join("")).not.toContain("unhandled error");
  });

  it("an unknown path → 404 NOT_FOUND, whatever the method", async () => {
    for (const method of ["GET", "POST", "DELETE"]) {
      const res = await server.request<Body>(method, "/api/v1/nothing-here");
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ detail: "Not found.", error_code: "NOT_FOUND" });
    }
  });

  it("a known path with another method → 405 with Allow", async () => {
    const res = await server.request<Body>("PUT", "/api/v1/brands");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(res.body).toEqual({ detail: 'Method "PUT" not allowed.', error_code: "METHOD_NOT_ALLOWED" });
    const member = await server.request("GET", "/api/v1/brands/1/members/2");
    expect(member.status).toBe(405);
    expect(member.headers.get("allow")).toBe("DELETE");
  });

  it("trailing slashes as the specs write them reach the same route", async () => {
    const res = await server.request<Body>("GET", "/healthz/");
    expect(res.status).toBe(200);
  });
});

describe("operator injection", () => {
  it("query strings never become objects: `?page[$gt]=` is an unknown key, repeated keys are refused", async () => {
    const user = await server.register();
    const odd = await server.request<Body>("GET", "/api/v1/brands?page[$gt]=0&page_size[$ne]=1", { token: user.access_token });
    expect(odd.status).toBe(200);
    expect(odd.body).toMatchObject({ count: 1 });
    const repeated = await server.request<Body>("GET", "/api/v1/brands?page=1&page=2", { token: user.access_token });
    expect(repeated.status).toBe(400);
    expect(repeated.body.field_errors).toHaveProperty("page");
  });

  it("an operator object where a string is expected is a validation error", async () => {
    const user = await server.register();
    const res = await server.request<Body>("POST", "/api/v1/auth/login", { body: { email: { $ne: "x" }, password: { $gt: "" } } });
    expect(res.status).toBe(400);
    // Refused before the schema even looks at it: "$"-keys are never accepted in a body.
    expect(Object.keys(res.body.field_errors as Body).sort()).toEqual(["email.$ne", "password.$gt"]);
    const ok = await server.request("POST", "/api/v1/auth/login", { body: { email: user.email, password: user.password } });
    expect(ok.status).toBe(200);
  });

  it("$-prefixed, dotted and __proto__ keys anywhere in a body are refused with their paths", async () => {
    const user = await server.register();
    const res = await server.request<Body>("POST", "/api/v1/brands", {
      token: user.access_token,
      rawBody: '{"name": "x", "extra": {"$where": "1", "a.b": 2, "list": [{"$set": 1}]}, "__proto__": {"admin": true}}',
    });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors as Body).sort()).toEqual(["__proto__", "extra.$where", "extra.a.b", "extra.list.0.$set"]);
  });

  it("a deeply nested body does not crash the server", async () => {
    const user = await server.register();
    const deep = `${'{"a":'.repeat(1500)}1${"}".repeat(1500)}`;
    const res = await server.request<Body>("POST", "/api/v1/brands", { token: user.access_token, rawBody: `{"name":"n","x":${deep}}` });
    expect(res.status).toBe(201);
  });
});

describe("request ids and logs", () => {
  it("keeps an incoming X-Request-ID and echoes it; makes one otherwise", async () => {
    const kept = await server.request("GET", "/healthz", { headers: { "X-Request-ID": "abc-123" } });
    expect(kept.headers.get("x-request-id")).toBe("abc-123");
    const made = await server.request("GET", "/healthz");
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await server.request("GET", "/healthz", { headers: { "X-Request-ID": "x".repeat(300) } });
    expect(unsafe.headers.get("x-request-id")).not.toBe("x".repeat(300));
  });

  it("logs requests with their id and never a password, token or authorization header", async () => {
    const user = await server.register();
    await server.request("GET", "/api/v1/auth/me", { token: user.access_token, headers: { "X-Request-ID": "log-probe-1" } });
    const logs = logLines.join("");
    expect(logs).toContain('"reqId":"log-probe-1"');
    expect(logs).not.toContain(user.access_token);
    expect(logs).not.toContain(user.password);
    expect(logs).not.toContain(server.config.jwtSecret);
    expect(logs).toContain("[redacted]");
  });
});

describe("the access log line", () => {
  it("has the path without its query, the status and time taken; 5xx lines say errored, a request left early aborted", async () => {
    const lines: Array<Record<string, unknown> & { req: { id: string; method: string; url: string; headers: Record<string, string> }; res: { statusCode: number | null } }> = [];
    const logger = createLogger({ logLevel: "info" }, new Writable({ write: (c: Buffer, _e, done) => (lines.push(JSON.parse(c.toString())), done()) }));
    const app = express();
    app.use(requestLogging(logger));
    app.get("/fine", (_req, res) => void res.json({ ok: true }));
    app.get("/down", (_req, res) => void res.status(503).json({}));
    app.get("/routine", (_req, res) => {
      demoteInAccessLog(res);
      res.json({});
    });
    let reached: () => void = () => undefined;
    const slowReached = new Promise<void>((resolve) => (reached = resolve));
    app.get("/slow", () => reached());
    const httpServer = await listen(app, 0, "127.0.0.1");
    const base = `http://127.0.0.1:${addressOf(httpServer).port}`;
    try {
      await fetch(`${base}/fine?token=abc`, { headers: { "X-Request-ID": "line-1", Authorization: "Bearer abc" } });
      await fetch(`${base}/down`, { headers: { "X-Request-ID": "line-2" } });
      await fetch(`${base}/routine`, { headers: { "X-Request-ID": "line-3" } });
      const left = new AbortController();
      const abandoned = fetch(`${base}/slow`, { headers: { "X-Request-ID": "line-4" }, signal: left.signal }).catch(() => null);
      await slowReached;
      left.abort();
      await abandoned;
      await waitFor(async () => lines.length, (n) => n >= 3, { what: "the abandoned request's line" });
      expect(lines.map((line) => [line.reqId, line.level, line.msg, line.res.statusCode])).toEqual([
        ["line-1", 30, "request completed", 200],
        ["line-2", 40, "request errored", 503],
        ["line-4", 30, "request aborted", null],
      ]);
      expect(lines[0].req).toMatchObject({ id: "line-1", method: "GET", url: "/fine", remoteAddress: "127.0.0.1" });
      expect(lines[0].req.headers.authorization).toBe("[redacted]");
      expect(lines[0].responseTime).toEqual(expect.any(Number));
    } finally {
      httpServer.closeAllConnections();
      httpServer.close();
    }
  });
});

describe("security headers and CORS", () => {
  it("sets helmet's headers", async () => {
    const res = await server.request("GET", "/healthz");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(res.headers.get("x-powered-by")).toBeNull();
  });

  it("sets exactly the headers helmet sets, with the same values", async () => {
    const bare = express();
    bare.use(helmet());
    bare.get("/healthz", (_req, res) => void res.json({}));
    const httpServer = await listen(bare, 0, "127.0.0.1");
    try {
      const byHelmet = await fetch(`http://127.0.0.1:${addressOf(httpServer).port}/healthz`);
      const ours = await server.request("GET", "/healthz");
      const own = new Set(["date", "connection", "keep-alive", "content-length", "content-type", "etag", "x-request-id"]);
      const helmetHeaders = [...byHelmet.headers].filter(([name]) => !own.has(name));
      expect(helmetHeaders.length).toBeGreaterThan(10);
      expect([...ours.headers].filter(([name]) => !own.has(name))).toEqual(helmetHeaders);
    } finally {
      httpServer.close();
    }
  });

  it("answers a simple request from an allowed origin with its CORS headers, and one without Origin with none", async () => {
    const withOrigin = await server.request("GET", "/healthz", { headers: { Origin: "https://app.example.com" } });
    expect(withOrigin.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(withOrigin.headers.get("access-control-expose-headers")).toContain("X-Request-ID");
    expect(withOrigin.headers.get("vary")).toBe("Origin");
    const other = await server.request("GET", "/healthz", { headers: { Origin: "https://evil.example.net" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const without = await server.request("GET", "/healthz");
    expect([...without.headers.keys()].filter((name) => name.startsWith("access-control-") || name === "vary")).toEqual([]);
  });

  it("allows the configured origins and the extension's, and no others", async () => {
    const preflight = (origin: string) =>
      fetch(`${server.baseUrl}/api/v1/auth/me`, {
        method: "OPTIONS",
        headers: { Origin: origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization,x-brand-id" },
      });
    for (const origin of ["https://app.example.com", "chrome-extension://abcdefghijklmnopabcdefghijklmnop", "moz-extension://4b7e2f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"]) {
      const res = await preflight(origin);
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("x-brand-id");
    }
    const evil = await preflight("https://evil.example.net");
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("rate limiting", () => {
  it("answers 429 RATE_LIMITED with Retry-After past AUTH_RATE_LIMIT", async () => {
    const limited = await startTestServer({ AUTH_RATE_LIMIT: "3", AUTH_RATE_WINDOW: "60s" });
    try {
      const statuses: number[] = [];
      let last: Awaited<ReturnType<typeof limited.request<Body>>> | null = null;
      for (let i = 0; i < 5; i++) {
        last = await limited.request<Body>("POST", "/api/v1/auth/login", { body: { email: "x@example.com", password: "whatever1" } });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      expect(last!.body).toEqual({ detail: "Too many requests; retry later.", error_code: "RATE_LIMITED" });
      expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
      // Other endpoints are not limited by it.
      expect((await limited.request("GET", "/healthz")).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe("the error middleware", () => {
  it("answers an unexpected error with 500 INTERNAL_ERROR, the request id and no stack", async () => {
    const lines: string[] = [];
    const logger = createLogger({ logLevel: "error" }, new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }));
    const app = express();
    app.use(requestLogging(logger));
    app.get("/boom", () => {
      throw new Error("secret internals at /srv/app.ts:42");
    });
    app.use(errorHandler);
    const httpServer = await listen(app, 0, "127.0.0.1");
    try {
      const res = await fetch(`http://127.0.0.1:${addressOf(httpServer).port}/boom`, { headers: { "X-Request-ID": "req-500" } });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ detail: "Internal server error.", error_code: "INTERNAL_ERROR", request_id: "req-500" });
      expect(text).not.toContain("internals");
      expect(lines.join("")).toContain("secret internals");
      expect(lines.join("")).toContain('"reqId":"req-500"');
    } finally {
      httpServer.close();
    }
  });
});
