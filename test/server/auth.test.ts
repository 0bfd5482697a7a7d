import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthTokensResponseSchema, MeResponseSchema, TokenPairSchema } from "../../shared/auth.js";
import { hashPassword, scryptParams } from "../../server/src/auth/passwords.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { waitFor } from "../tasks/fixtures/tasks.js";

/** A JWT's issue and expiry times (seconds), read without verifying it. */
function claimsOf(token: string): { iat: number; exp: number } {
  const payload: unknown = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
  const { iat, exp } = payload as { iat?: unknown; exp?: unknown };
  if (typeof iat !== "number" || typeof exp !== "number") throw new Error(`token without iat/exp: ${JSON.stringify(payload)}`);
  return { iat, exp };
}

let server: TestServer;
beforeAll(async () => {
  // The timing comparison below needs a hash that costs more than the noise of a busy machine.
  server = await startTestServer({ AUTH_SCRYPT_COST: "15" });
});
afterAll(() => server?.close());

type Body = Record<string, unknown>;

describe("register", () => {
  it("creates the user and a personal brand, and logs in", async () => {
    const res = await server.request("POST", "/api/v1/auth/register", {
      body: { email: "  Martin@Example.COM ", password: "correct horse", username: "martin" },
    });
    expect(res.status).toBe(201);
    const body = AuthTokensResponseSchema.parse(res.body);
    // The extension parses the same answer with its own contract.
    expect(TokenPairSchema.safeParse(res.body).success).toBe(true);
    expect(body.user).toMatchObject({ email: "martin@example.com", username: "martin" });
    expect(Number.isInteger(body.user.id)).toBe(true);
    expect(body.token_type).toBe("Bearer");
    expect(body.expires_in).toBe(server.config.accessTokenTtlSeconds);

    const me = await server.request("GET", "/api/v1/auth/me", { token: body.access_token });
    expect(me.status).toBe(200);
    const parsed = MeResponseSchema.parse(me.body);
    expect(parsed.brands).toEqual([
      expect.objectContaining({ id: body.user.personal_brand_id, name: "martin", personal: true, role: "owner" }),
    ]);
  });

  it("gives integer ids from a counter", async () => {
    const a = await server.register();
    const b = await server.register();
    expect(b.user.id).toBe(a.user.id + 1);
    expect(b.user.personal_brand_id).toBeGreaterThan(a.user.personal_brand_id);
  });

  it("defaults the username to the email's local part", async () => {
    const user = await server.register("ada.lovelace@example.org");
    expect(user.user.username).toBe("ada.lovelace");
  });

  it("refuses an email already registered, whatever its case (409 EMAIL_TAKEN)", async () => {
    await server.register("dup@example.com");
    const res = await server.request<Body>("POST", "/api/v1/auth/register", { body: { email: "DUP@example.com", password: "another password" } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error_code: "EMAIL_TAKEN", field_errors: { email: ["already registered"] } });
  });

  it("reports every invalid field", async () => {
    const res = await server.request<Body>("POST", "/api/v1/auth/register", { body: { email: "not-an-email", password: "short" } });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe("VALIDATION_ERROR");
    expect(res.body.detail).toBe("Validation failed");
    expect(Object.keys(res.body.field_errors as Body).sort()).toEqual(["email", "password"]);
  });
});

describe("login", () => {
  it("answers the same token shape as register", async () => {
    const user = await server.register();
    const res = await server.request("POST", "/api/v1/auth/login", { body: { email: user.email, password: user.password } });
    expect(res.status).toBe(200);
    const body = AuthTokensResponseSchema.parse(res.body);
    expect(body.user.id).toBe(user.user.id);
    expect(body.refresh_token).not.toBe(user.refresh_token);
  });

  it("answers a wrong password and an unknown email alike, in alike time", async () => {
    const user = await server.register();
    const timed = async (email: string, password: string) => {
      const started = performance.now();
      const res = await server.request<Body>("POST", "/api/v1/auth/login", { body: { email, password } });
      return { res, ms: performance.now() - started };
    };
    const wrong = [];
    const unknown = [];
    for (let i = 0; i < 5; i++) {
      wrong.push(await timed(user.email, "wrong password"));
      unknown.push(await timed(`nobody-${i}@example.com`, "wrong password"));
    }
    for (const { res } of [...wrong, ...unknown]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ detail: "Invalid email or password.", error_code: "INVALID_CREDENTIALS" });
    }
    const median = (xs: { ms: number }[]) => xs.map((x) => x.ms).sort((a, b) => a - b)[2];
    // Both pay for a full scrypt. Without the dummy hash an unknown email would answer ~30x faster;
    // the wide bounds only absorb the noise of other test files running on the same cores.
    const ratio = median(unknown) / median(wrong);
    expect(ratio).toBeGreaterThan(0.33);
    expect(ratio).toBeLessThan(3);
  });
});

describe("password hashes", () => {
  it("are made at OWASP's scrypt parameters by default (N=2^17, r=8, p=1)", async () => {
    const hash = await hashPassword("correct horse battery");
    expect(hash).toMatch(/^scrypt\$131072\$8\$1\$/);
  });

  it("made with older parameters are replaced at the next successful login, and still verify", async () => {
    const user = await server.register();
    const { User } = server.description.services.auth.models;
    const old = await hashPassword(user.password, scryptParams(10));
    await User.updateOne({ email: user.email }, { $set: { password_hash: old } });
    const wrong = await server.request("POST", "/api/v1/auth/login", { body: { email: user.email, password: "not it at all" } });
    expect(wrong.status).toBe(401);
    expect((await User.findOne({ email: user.email }).lean())!.password_hash).toBe(old);
    const login = await server.request("POST", "/api/v1/auth/login", { body: { email: user.email, password: user.password } });
    expect(login.status).toBe(200);
    const upgraded = (await User.findOne({ email: user.email }).lean())!.password_hash;
    expect(upgraded).toMatch(/^scrypt\$32768\$8\$1\$/);
    const again = await server.request("POST", "/api/v1/auth/login", { body: { email: user.email, password: user.password } });
    expect(again.status).toBe(200);
  });
});

describe("token answers", () => {
  it("carry Cache-Control: no-store (register, login, refresh)", async () => {
    const email = `nostore-${Date.now()}@example.com`;
    const register = await server.request("POST", "/api/v1/auth/register", { body: { email, password: "correct horse battery" } });
    const login = await server.request<Body>("POST", "/api/v1/auth/login", { body: { email, password: "correct horse battery" } });
    const refresh = await server.request("POST", "/api/v1/auth/refresh", { body: { refresh_token: login.body.refresh_token } });
    for (const res of [register, login, refresh]) {
      expect(res.status).toBeLessThan(300);
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });
});

describe("refresh", () => {
  it("rotates: a new pair each time, and the old refresh token is single-use", async () => {
    const user = await server.register();
    const first = await server.request("POST", "/api/v1/auth/refresh", { body: { refresh_token: user.refresh_token } });
    expect(first.status).toBe(200);
    const pair = AuthTokensResponseSchema.parse(first.body);
    expect(pair.refresh_token).not.toBe(user.refresh_token);
    const second = await server.request("POST", "/api/v1/auth/refresh", { body: { refresh_token: pair.refresh_token } });
    expect(second.status).toBe(200);
    expect((await server.request("GET", "/api/v1/auth/me", { token: pair.access_token })).status).toBe(200);
  });

  it("reusing a rotated token revokes the whole family", async () => {
    const user = await server.register();
    const rotated = AuthTokensResponseSchema.parse(
      (await server.request("POST", "/api/v1/auth/refresh", { body: { refresh_token: user.refresh_token } })).body,
    );

    const replay = await server.request<Body>("POST", "/api/v1/auth/refresh", { body: { refresh_token: user.refresh_token } });
    expect(replay.status).toBe(401);
    expect(replay.body.error_code).toBe("TOKEN_REVOKED");
    expect(replay.headers.get("www-authenticate")).toMatch(/^Bearer/);

    // Every token of the family now fails: the newest refresh token and the access tokens too.
    const latest = await server.request<Body>("POST", "/api/v1/auth/refresh", { body: { refresh_token: rotated.refresh_token } });
    expect(latest.status).toBe(401);
    expect(latest.body.error_code).toBe("TOKEN_REVOKED");
    for (const token of [user.access_token, rotated.access_token]) {
      const me = await server.request<Body>("GET", "/api/v1/auth/me", { token });
      expect(me.status).toBe(401);
      expect(me.body.error_code).toBe("TOKEN_REVOKED");
    }

    // Other sessions of the same user are untouched.
    const again = await server.request("POST", "/api/v1/auth/login", { body: { email: user.email, password: user.password } });
    expect(again.status).toBe(200);
  });

  it("refuses an unknown refresh token", async () => {
    const res = await server.request<Body>("POST", "/api/v1/auth/refresh", { body: { refresh_token: "mhr_nope" } });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error_code: "TOKEN_INVALID" });
  });
});

describe("logout", () => {
  it("with a refresh token: ends that session", async () => {
    const user = await server.register();
    const res = await server.request("POST", "/api/v1/auth/logout", { body: { refresh_token: user.refresh_token } });
    expect(res.status).toBe(204);
    expect((await server.request("POST", "/api/v1/auth/refresh", { body: { refresh_token: user.refresh_token } })).status).toBe(401);
    expect((await server.request("GET", "/api/v1/auth/me", { token: user.access_token })).status).toBe(401);
  });

  it("without a body: ends the caller's session only", async () => {
    const user = await server.register();
    const other = AuthTokensResponseSchema.parse(
      (await server.request("POST", "/api/v1/auth/login", { body: { email: user.email, password: user.password } })).body,
    );
    expect((await server.request("POST", "/api/v1/auth/logout", { token: user.access_token })).status).toBe(204);
    expect((await server.request("GET", "/api/v1/auth/me", { token: user.access_token })).status).toBe(401);
    expect((await server.request("GET", "/api/v1/auth/me", { token: other.access_token })).status).toBe(200);
  });

  it("is idempotent and reveals nothing about unknown tokens", async () => {
    expect((await server.request("POST", "/api/v1/auth/logout", { body: { refresh_token: "mhr_unknown" } })).status).toBe(204);
  });

  it("without a token nor a body: 401", async () => {
    const res = await server.request<Body>("POST", "/api/v1/auth/logout");
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: "Authentication credentials were not provided.", error_code: "NOT_AUTHENTICATED" });
  });
});

describe("expiry", () => {
  it("an access token stops working after ACCESS_TOKEN_TTL; refresh still works", async () => {
    // 3 s: a JWT's times are whole seconds, so a token issued late in a second is valid for at least 2 s.
    const short = await startTestServer({ ACCESS_TOKEN_TTL: "3s" });
    try {
      const user = await short.register();
      expect(user.expires_in).toBe(3);
      const claims = claimsOf(user.access_token);
      expect(claims.exp - claims.iat).toBe(3);
      expect((await short.request("GET", "/api/v1/auth/me", { token: user.access_token })).status).toBe(200);
      const expired = await waitFor(
        () => short.request<Body>("GET", "/api/v1/auth/me", { token: user.access_token }),
        (res) => res.status !== 200,
        { what: "the access token to expire", timeoutMs: 30_000, intervalMs: 100 },
      );
      // Refused no earlier than the token's own expiry time.
      expect(Date.now()).toBeGreaterThanOrEqual(claims.exp * 1000);
      expect(expired.status).toBe(401);
      expect(expired.body).toEqual({ detail: "Token has expired.", error_code: "TOKEN_EXPIRED" });
      expect(expired.headers.get("www-authenticate")).toMatch(/^Bearer/);
      const refreshed = await short.request("POST", "/api/v1/auth/refresh", { body: { refresh_token: user.refresh_token } });
      expect(refreshed.status).toBe(200);
    } finally {
      await short.close();
    }
  });

  it("a refresh token stops working after REFRESH_TOKEN_TTL", async () => {
    const short = await startTestServer({ REFRESH_TOKEN_TTL: "1" });
    try {
      const user = await short.register();
      // The server set the expiry during register, so it has passed once this process's clock is 1 s past the answer.
      const answeredAt = Date.now();
      while (Date.now() < answeredAt + 1_050) await new Promise((resolve) => setTimeout(resolve, 50));
      const res = await short.request<Body>("POST", "/api/v1/auth/refresh", { body: { refresh_token: user.refresh_token } });
      expect(res.status).toBe(401);
      // Expired, or already gone if the TTL sweep ran: either way it is refused.
      expect(["TOKEN_EXPIRED", "TOKEN_INVALID", "TOKEN_REVOKED"]).toContain(res.body.error_code);
    } finally {
      await short.close();
    }
  });
});
