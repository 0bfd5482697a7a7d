import cors from "cors";
import helmet from "helmet";
import { rateLimit, type Store } from "express-rate-limit";
import type { RequestHandler } from "express";
import { BRAND_ID_HEADER } from "../../../shared/brands.js";
import { AppError } from "./errors.js";

/** The seller's extension calls from its own origin, whatever its id in the store or in development. */
const EXTENSION_ORIGIN = /^(chrome-extension|moz-extension|safari-web-extension):\/\/[A-Za-z0-9-]+$/;

export function isAllowedOrigin(origin: string, configured: readonly string[]): boolean {
  return EXTENSION_ORIGIN.test(origin) || configured.includes(origin);
}

/** Bearer tokens, not cookies: no credentials mode, so a wrongly allowed origin cannot ride a session. */
export function corsMiddleware(origins: readonly string[]): RequestHandler {
  return cors({
    origin: (origin, callback) => callback(null, origin === undefined ? false : isAllowedOrigin(origin, origins)),
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ["Authorization", "Content-Type", BRAND_ID_HEADER, "X-Request-ID"],
    exposedHeaders: ["X-Request-ID", "Retry-After", "WWW-Authenticate", "RateLimit", "RateLimit-Policy", "Allow"],
    maxAge: 600,
  });
}

export function securityHeaders(): RequestHandler {
  return helmet();
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
