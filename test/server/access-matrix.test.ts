/**
 * Every route the app serves — found by walking the Express router, not from a list kept by hand —
 * against every way a caller can be refused: no token, a malformed one, an expired one, one signed
 * with another key, and a valid one aimed at another user's brand.
 */
import { afterAll, describe, expect, it } from "vitest";
import { signAccessToken } from "../../server/src/auth/tokens.js";
import { startTestServer, type RegisteredUser } from "../helpers/app.js";
import { servedRoutes, type ServedRoute } from "../helpers/routes.js";

const server = await startTestServer();
afterAll(() => server.close());

const routes = servedRoutes(server.app);
const alice = await server.register();
const bob = await server.register();

function infoOf(route: ServedRoute) {
  const info = server.description.routes.find((r) => r.method === route.method && r.path === route.path);
  if (!info) throw new Error(`${route.method} ${route.path} is served but was not defined with defineRoute`);
  return info;
}

function fill(path: string, owner: RegisteredUser): string {
  return path.replace(":userId", String(owner.user.id)).replace(":id", String(owner.user.personal_brand_id));
}

const sessionId = (token: string) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).sid as string;
const aliceSession = { userId: alice.user.id, sessionId: sessionId(alice.access_token) };
const badTokens = {
  malformed: { header: "Bearer not-a-jwt", code: "TOKEN_INVALID" },
  "wrong scheme": { header: `Basic ${Buffer.from("a:b").toString("base64")}`, code: "TOKEN_INVALID" },
  expired: { header: `Bearer ${signAccessToken({ secret: server.config.jwtSecret, accessTokenTtlSeconds: -60 }, aliceSession)}`, code: "TOKEN_EXPIRED" },
  "wrong signature": { header: `Bearer ${signAccessToken({ secret: "another-secret-of-at-least-32-chars!!", accessTokenTtlSeconds: 600 }, aliceSession)}`, code: "TOKEN_INVALID" },
} as const;

async function call(route: ServedRoute, path: string, headers: Record<string, string>) {
  return server.request<Record<string, unknown>>(route.method.toUpperCase(), path, {
    headers,
    body: route.method === "get" ? undefined : {},
  });
}

it("finds the routes by walking the router", () => {
  expect(routes.length).toBeGreaterThanOrEqual(13);
  expect(routes).toContainEqual({ method: "get", path: "/api/v1/auth/me" });
  expect(routes).toContainEqual({ method: "delete", path: "/api/v1/brands/:id/members/:userId" });
});

/** spec/product-tasks-endpoint.md answers a request without credentials with 403 (its contract), not 401. */
const ANSWERS_403_WITHOUT_CREDENTIALS = new Set(["/api/v1/marketplaces/listings/product-tasks/:product_id/"]);

describe.each(routes)("$method $path", (route) => {
  const info = infoOf(route);
  const needsToken = info.auth !== "none";

  it("without a token", async () => {
    const res = await call(route, fill(route.path, alice), {});
    if (!needsToken) {
      expect(res.status).not.toBe(401);
      return;
    }
    if (ANSWERS_403_WITHOUT_CREDENTIALS.has(route.path)) {
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ detail: "Authentication credentials were not provided.", error_code: "NOT_AUTHENTICATED" });
      return;
    }
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: "Authentication credentials were not provided.", error_code: "NOT_AUTHENTICATED" });
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it.each(Object.entries(badTokens))("with a %s token", async (_name, bad) => {
    const res = await call(route, fill(route.path, alice), { Authorization: bad.header });
    if (!needsToken) {
      // Public routes ignore credentials entirely.
      expect(res.status).not.toBe(401);
      return;
    }
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: expect.any(String), error_code: bad.code });
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("with a valid token aimed at another user's brand", async () => {
    if (info.auth === "optional" || info.auth === "none") return; // logout/public: no brand involved
    const res = await call(route, fill(route.path, bob), {
      Authorization: `Bearer ${alice.access_token}`,
      "X-Brand-ID": String(bob.user.personal_brand_id),
    });
    if (info.auth === "brand") {
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error_code: "PERMISSION_DENIED", detail: expect.any(String) });
      expect(Object.keys(res.body).sort()).toEqual(["detail", "error_code"]);
    } else {
      // User-scoped routes ignore X-Brand-ID: they only ever show the caller's own data.
      expect([401, 403]).not.toContain(res.status);
      expect(JSON.stringify(res.body)).not.toContain(bob.email);
    }
  });
});
