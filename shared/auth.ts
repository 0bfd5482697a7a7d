/**
 * Accounts and sessions: /api/v1/auth/*. The login, refresh and token-pair shapes are declared
 * here once; the extension speaks them too.
 */
import { z } from "zod";
import { EmailSchema, IntegerIdSchema, TimestampSchema } from "./common.js";
import { BrandSchema } from "./brands.js";

/** The server defines its auth routes with these paths; the extension calls them. */
export const AUTH_ROUTES = {
  register: "/api/v1/auth/register",
  login: "/api/v1/auth/login",
  refresh: "/api/v1/auth/refresh",
  logout: "/api/v1/auth/logout",
  me: "/api/v1/auth/me",
} as const;

export const PASSWORD_MIN_LENGTH = 8;
/** scrypt hashes any length, but a bound keeps one request from costing more than the body limit says. */
export const PASSWORD_MAX_LENGTH = 256;

export const RegisterBodySchema = z
  .object({
    email: EmailSchema,
    password: z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH),
    /** Display name; defaults to the part of the email before "@". Not unique: login is by email. */
    username: z.string().trim().min(1).max(50).optional(),
  })
  .meta({ id: "RegisterRequest" });
export type RegisterBody = z.infer<typeof RegisterBodySchema>;

export const LoginBodySchema = z.object({ email: z.email(), password: z.string().min(1) }).meta({ id: "LoginRequest" });
export type LoginBody = z.infer<typeof LoginBodySchema>;

export const RefreshBodySchema = z.object({ refresh_token: z.string().min(1) }).meta({ id: "RefreshRequest" });
export type RefreshBody = z.infer<typeof RefreshBodySchema>;

/** Without a refresh token, logout ends the session of the access token that calls it. */
export const LogoutBodySchema = z
  .object({ refresh_token: z.string().min(1).optional() })
  .meta({ id: "LogoutRequest" });
export type LogoutBody = z.infer<typeof LogoutBodySchema>;

export const UserSchema = z
  .object({
    id: IntegerIdSchema,
    email: z.string(),
    username: z.string(),
    personal_brand_id: IntegerIdSchema,
    created_at: TimestampSchema,
  })
  .meta({ id: "User" });
export type User = z.infer<typeof UserSchema>;

/** The `created_by` shape of the specs: `{"id": 1, "username": "martin"}`. */
export const UserRefSchema = z.object({ id: IntegerIdSchema, username: z.string() }).meta({ id: "UserRef" });
export type UserRef = z.infer<typeof UserRefSchema>;

/** Who a token pair belongs to, as a client reads it (the server sends the whole User). */
export const AuthUserSchema = z.looseObject({ id: z.union([z.string(), z.number()]), email: z.string() });

/** Login answer as a client reads it; refresh answers the same shape. Refresh tokens rotate. */
export const TokenPairSchema = z.object({
  user: AuthUserSchema.optional(),
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  token_type: z.literal("Bearer"),
  /** Seconds until access_token expires. */
  expires_in: z.number().positive(),
});
export type TokenPair = z.infer<typeof TokenPairSchema>;

/** register, login and refresh all answer this: the TokenPair with the user always set. */
export const AuthTokensResponseSchema = TokenPairSchema.extend({ user: UserSchema }).meta({ id: "AuthTokens" });
export type AuthTokensResponse = z.infer<typeof AuthTokensResponseSchema>;

export const MeResponseSchema = z.object({ user: UserSchema, brands: z.array(BrandSchema) }).meta({ id: "Me" });
export type MeResponse = z.infer<typeof MeResponseSchema>;
