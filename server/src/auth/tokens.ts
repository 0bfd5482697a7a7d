import { createHash, createSecretKey, randomBytes, randomUUID, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { AppError } from "../http/errors.js";
import type { Principal } from "../http/context.js";

const ISSUER = "markethub";
const AUDIENCE = "markethub-api";
const ALGORITHM = "HS256";

export interface TokenSettings {
  secret: string;
  accessTokenTtlSeconds: number;
}

// jsonwebtoken turns a string secret into a key object on every call (~0.5 ms, the main cost of
// an authenticated request); the key is made once per secret instead.
const secretKeys = new Map<string, KeyObject>();
function keyOf(secret: string): KeyObject {
  let key = secretKeys.get(secret);
  if (!key) secretKeys.set(secret, (key = createSecretKey(Buffer.from(secret, "utf8"))));
  return key;
}

interface AccessClaims {
  sub: string;
  sid: string;
}

export function signAccessToken(settings: TokenSettings, principal: Principal): string {
  return jwt.sign({ sid: principal.sessionId }, keyOf(settings.secret), {
    algorithm: ALGORITHM,
    subject: String(principal.userId),
    expiresIn: settings.accessTokenTtlSeconds,
    issuer: ISSUER,
    audience: AUDIENCE,
  });
}

export const tokenError = {
  missing: () => new AppError(401, "NOT_AUTHENTICATED", "Authentication credentials were not provided."),
  invalid: (detail = "Token is invalid.") =>
    new AppError(401, "TOKEN_INVALID", detail, { headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' } }),
  expired: (detail = "Token has expired.") =>
    new AppError(401, "TOKEN_EXPIRED", detail, { headers: { "WWW-Authenticate": 'Bearer error="invalid_token", error_description="expired"' } }),
  revoked: (detail = "The session of this token has ended.") =>
    new AppError(401, "TOKEN_REVOKED", detail, { headers: { "WWW-Authenticate": 'Bearer error="invalid_token", error_description="revoked"' } }),
};

/** Checks signature, algorithm, issuer, audience and expiry; the session check is the caller's. */
export function verifyAccessToken(settings: TokenSettings, token: string): Principal {
  let claims: unknown;
  try {
    claims = jwt.verify(token, keyOf(settings.secret), { algorithms: [ALGORITHM], issuer: ISSUER, audience: AUDIENCE });
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) throw tokenError.expired();
    throw tokenError.invalid();
  }
  if (!isAccessClaims(claims)) throw tokenError.invalid();
  return { userId: Number(claims.sub), sessionId: claims.sid };
}

/**
 * Tokens this process has verified, until they expire: an extension presents the same token on
 * every poll, and checking its signature and claims each time costs more than the rest of an
 * empty poll. A token is only ever remembered with the secret that verified it; the session
 * behind it is still checked on every request.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(
    private readonly settings: TokenSettings,
    private readonly maxEntries = 100_000,
  ) {}

  verify(token: string, now = Date.now()): Principal {
    const known = this.entries.get(token);
    if (known && known.expiresAt > now) return known.principal;
    if (known) this.entries.delete(token);
    const principal = verifyAccessToken(this.settings, token);
    const expiresAt = expiryOf(token);
    if (expiresAt !== null) {
      this.entries.set(token, { principal, expiresAt });
      if (this.entries.size > this.maxEntries) {
        const oldest = this.entries.keys().next();
        if (!oldest.done) this.entries.delete(oldest.value);
      }
    }
    return principal;
  }
}

/** The `exp` of a token just verified, in ms; null when it has none. */
function expiryOf(token: string): number | null {
  const payload = jwt.decode(token, { json: true });
  return payload && typeof payload.exp === "number" ? payload.exp * 1000 : null;
}

function isAccessClaims(claims: unknown): claims is AccessClaims {
  if (typeof claims !== "object" || claims === null) return false;
  const { sub, sid } = claims as Partial<Record<string, unknown>>;
  return typeof sub === "string" && /^[1-9]\d*$/.test(sub) && typeof sid === "string" && sid.length > 0;
}

/** "Bearer <token>" → token; anything else present is a malformed credential. */
export function bearerTokenOf(authorization: string | undefined): string | null {
  if (authorization === undefined || authorization.trim() === "") return null;
  const match = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(authorization);
  if (!match) throw tokenError.invalid("Authorization header must be \"Bearer <token>\".");
  return match[1];
}

/** Opaque, 256 random bits; the prefix lets secret scanners recognise a leaked one. */
export function newRefreshToken(): string {
  return `mhr_${randomBytes(32).toString("base64url")}`;
}

export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function newSessionId(): string {
  return randomUUID();
}
