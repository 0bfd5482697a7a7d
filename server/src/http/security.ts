import cors from "cors";
import helmet from "helmet";
import { createHash } from "node:crypto";
import { ipKeyGenerator, rateLimit, type Store } from "express-rate-limit";
import type { RequestHandler } from "express";
import { BRAND_ID_HEADER } from "../../../shared/brands.js";
import { AppError } from "./errors.js";

/** The seller's extension calls from its own origin, whatever its id in the store or in development. */
const EXTENSION_ORIGIN = /^(chrome-extension|moz-extension|safari-web-extension):\/\/[A-Za-z0-9-]+$/;

export function isAllowedOrigin(origin: string, configured: readonly string[]): boolean {
  return EXTENSION_ORIGIN.test(origin) || configured.includes(origin);
}

/**
 * Bearer tokens, not cookies: no credentials mode, so a wrongly allowed origin cannot ride a session.
 * A request without Origin (the extension's polls, curl) gets no CORS header: cors is not asked.
 */
export function corsMiddleware(origins: readonly string[]): RequestHandler {
  const withOrigin = cors({
    origin: (origin, callback) => callback(null, origin === undefined ? false : isAllowedOrigin(origin, origins)),
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ["Authorization", "Content-Type", BRAND_ID_HEADER, "X-Request-ID"],
    exposedHeaders: ["X-Request-ID", "Retry-After", "WWW-Authenticate", "RateLimit", "RateLimit-Policy", "Allow"],
    maxAge: 600,
  });
  return (req, res, next) => (req.headers.origin === undefined ? next() : withOrigin(req, res, next));
}

/**
 * helmet's headers with its defaults are the same for every answer: they are worked out once, by
 * running helmet on a stand-in response, and then set from that list.
 */
export function securityHeaders(): RequestHandler {
  const { set, removed } = helmetHeaders();
  return (_req, res, next) => {
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
    next();
  };
}

function helmetHeaders(): { set: Array<[name: string, value: string]>; removed: string[] } {
  const set: Array<[string, string]> = [];
  const removed: string[] = [];
  const standIn = {
    setHeader: (name: string, value: unknown) => set.push([name, String(value)]),
    removeHeader: (name: string) => removed.push(name),
  };
  let completed = false;
  helmet()({} as never, standIn as never, (err?: unknown) => {
    if (err) throw err;
    completed = true;
  });
  // helmet's defaults are static and synchronous; anything else would not be the same for every answer.
  if (!completed) throw new Error("helmet did not set its headers synchronously");
  return { set, removed };
}

/** Per client address, shared by the auth endpoints; the store keeps the count for every process. */
export function authRateLimit(options: { limit: number; windowSeconds: number; store: Store }): RequestHandler {
  return rateLimit({
    windowMs: options.windowSeconds * 1000,
    limit: options.limit,
    store: options.store,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    // Retry-After is already set by the limiter when it calls this.
    handler: (_req, _res, next) => next(new AppError(429, "RATE_LIMITED", "Too many requests; retry later.")),
  });
}

/**
 * Polled endpoints (a dashboard's batch status every 5 s, its overview every 30 s): per caller (its
 * token, else its address) and URL, so one dashboard never starves another. Per process.
 */
export function pollRateLimit(options: { perMinute: number }): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: options.perMinute,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    keyGenerator: (req) => {
      const auth = req.headers.authorization;
      const caller = auth ? createHash("sha256").update(auth).digest("hex").slice(0, 32) : ipKeyGenerator(req.ip ?? "");
      return `${caller} ${req.originalUrl}`;
    },
    handler: (_req, _res, next) =>
      next(new AppError(429, "RATE_LIMITED", `Polled too often: at most ${options.perMinute} requests per minute for this URL; see Retry-After.`)),
  });
}
