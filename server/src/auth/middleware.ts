import type { RequestHandler } from "express";
import type { AuthService } from "./service.js";
import { bearerTokenOf, tokenError } from "./tokens.js";

/**
 * Authentication of user-scoped routes: 401 (with WWW-Authenticate) for a missing, malformed, expired,
 * badly signed or revoked token. With required=false a missing token passes, a bad one does not.
 */
export function authenticate(auth: AuthService, required: boolean): RequestHandler {
  return async (req, _res, next) => {
    const token = bearerTokenOf(req.headers.authorization);
    if (token === null) {
      if (required) throw tokenError.missing();
      next();
      return;
    }
    req.principal = await auth.authenticate(token);
    next();
  };
}
