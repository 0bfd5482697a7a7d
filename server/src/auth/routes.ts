import type { RequestHandler, Response } from "express";
import {
  AUTH_ROUTES,
  AuthTokensResponseSchema,
  LoginBodySchema,
  LogoutBodySchema,
  MeResponseSchema,
  RefreshBodySchema,
  RegisterBodySchema,
} from "../../../shared/auth.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import type { AuthService } from "./service.js";

const tags = ["auth"];

/** Token answers must never be kept by a browser or proxy cache (RFC 6749 §5.1). */
function noStore<T>(res: Response, answer: Promise<T>): Promise<T> {
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("Pragma", "no-cache");
  return answer;
}

export function registerAuthRoutes(api: ApiRouter, auth: AuthService, rateLimit: RequestHandler): void {
  defineRoute(api, {
    method: "post",
    path: AUTH_ROUTES.register,
    summary: "Create an account (and its personal brand) and log in",
    tags,
    auth: "none",
    rateLimit,
    request: { body: RegisterBodySchema },
    status: 201,
    response: AuthTokensResponseSchema,
    errors: { 409: "Email already registered (EMAIL_TAKEN)" },
    handler: ({ body, res }) => noStore(res, auth.register(body)),
  });

  defineRoute(api, {
    method: "post",
    path: AUTH_ROUTES.login,
    summary: "Log in with email and password",
    tags,
    auth: "none",
    rateLimit,
    request: { body: LoginBodySchema },
    response: AuthTokensResponseSchema,
    errors: { 401: "Invalid email or password (INVALID_CREDENTIALS)" },
    handler: ({ body, res }) => noStore(res, auth.login(body)),
  });

  defineRoute(api, {
    method: "post",
    path: AUTH_ROUTES.refresh,
    summary: "Exchange a refresh token for a new pair (single use; reuse revokes the session)",
    tags,
    auth: "none",
    rateLimit,
    request: { body: RefreshBodySchema },
    response: AuthTokensResponseSchema,
    errors: { 401: "Refresh token invalid, expired, reused or revoked" },
    handler: ({ body, res }) => noStore(res, auth.refresh(body.refresh_token)),
  });

  defineRoute(api, {
    method: "post",
    path: AUTH_ROUTES.logout,
    summary: "End a session: the refresh token's, or else the caller's",
    tags,
    auth: "optional",
    request: { body: LogoutBodySchema },
    response: null,
    handler: ({ body, principal }) => auth.logout(body.refresh_token, principal),
  });

  defineRoute(api, {
    method: "get",
    path: AUTH_ROUTES.me,
    summary: "The caller and their brands",
    tags,
    auth: "user",
    response: MeResponseSchema,
    handler: ({ principal }) => auth.me(principal),
  });
}
