/**
 * Accounts and sessions: /api/v1/auth/*. The login, refresh and token-pair shapes are the ones the
 * extension already speaks (shared/plugin.ts); they are reused here, not redeclared.
 */
import { z } from "zod";
import { EmailSchema, IntegerIdSchema, TimestampSchema } from "./common.js";
import { BrandSchema } from "./brands.js";
import { LoginBodySchema as PluginLoginBodySchema, RefreshBodySchema as PluginRefreshBodySchema, TokenPairSchema } from "./plugin.js";

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

export const LoginBodySchema = PluginLoginBodySchema.meta({ id: "LoginRequest" });
export type LoginBody = z.infer<typeof LoginBodySchema>;

export const RefreshBodySchema = PluginRefreshBodySchema.meta({ id: "RefreshRequest" });
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

/** register, login and refresh all answer this: the extension's TokenPair with the user always set. */
export const AuthTokensResponseSchema = TokenPairSchema.extend({ user: UserSchema }).meta({ id: "AuthTokens" });
export type AuthTokensResponse = z.infer<typeof AuthTokensResponseSchema>;

export const MeResponseSchema = z.object({ user: UserSchema, brands: z.array(BrandSchema) }).meta({ id: "Me" });
export type MeResponse = z.infer<typeof MeResponseSchema>;
