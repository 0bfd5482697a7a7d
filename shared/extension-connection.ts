/**
 * Whether a seller's extension is connected: what it says about itself (on each poll, and while
 * paused, when it does not poll) and what the dashboard reads back.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";
import { PluginPollQuerySchema } from "./plugin.js";

export const EXTENSION_CONNECTION_ROUTES = {
  /** GET: the caller's extension, as last heard from. */
  connection: "/api/plugin/connection",
  /** POST: the extension reports its state without polling (paused, resumed). */
  status: "/api/plugin/status",
} as const;

const ClientVersionSchema = z.string().trim().min(1).max(40);
const VintedLoginSchema = z.string().trim().min(1).max(100);

/** Optional fields an extension adds to its poll: the server keeps them as its heartbeat. */
export const ExtensionReportQuerySchema = z.object({
  client_version: ClientVersionSchema.optional(),
  vinted_user_id: z.coerce.number().int().positive().optional(),
  vinted_login: VintedLoginSchema.optional(),
});
export type ExtensionReportQuery = z.infer<typeof ExtensionReportQuerySchema>;

/** GET /api/plugin/tasks with the heartbeat's fields (an older extension sends none of them). */
export const PluginPollWithReportQuerySchema = PluginPollQuerySchema.extend(ExtensionReportQuerySchema.shape);

/** user: the seller paused; captcha: Vinted asked for a challenge; rate_limited: Vinted said slow down. */
export const EXTENSION_PAUSE_REASONS = ["user", "captcha", "rate_limited"] as const;
export type ExtensionPauseReason = (typeof EXTENSION_PAUSE_REASONS)[number];

export const VintedAccountSeenSchema = z.object({ user_id: z.number().int().positive().nullable(), login: VintedLoginSchema.nullable() });

export const ExtensionStatusBodySchema = z
  .object({
    client_version: ClientVersionSchema.optional(),
    vinted: VintedAccountSeenSchema.nullable().optional(),
    /** null: running (not paused). */
    paused: z
      .object({
        reason: z.enum(EXTENSION_PAUSE_REASONS),
        message: z.string().max(500).default(""),
        /** When a timed pause ends by itself; null until the seller resumes. */
        until: TimestampSchema.nullable().default(null),
      })
      .nullable(),
  })
  .strict()
  .meta({ id: "ExtensionStatusBody" });
export type ExtensionStatusBody = z.infer<typeof ExtensionStatusBodySchema>;

export const ExtensionStatusResponseSchema = z.object({ status: z.literal("received") });

/** never_seen: no poll yet; online: heard from lately; paused: heard from, but paused; offline: silent too long. */
export const EXTENSION_STATES = ["never_seen", "online", "paused", "offline"] as const;

export const ExtensionConnectionSchema = z
  .object({
    state: z.enum(EXTENSION_STATES),
    connected: z.boolean(),
    /** Its latest poll for tasks. */
    last_poll_at: TimestampSchema.nullable(),
    /** Its latest call of any kind (poll, heartbeat, result, status). */
    last_seen_at: TimestampSchema.nullable(),
    client_version: z.string().nullable(),
    vinted_account: VintedAccountSeenSchema.nullable(),
    paused: z.boolean(),
    pause_reason: z.enum(EXTENSION_PAUSE_REASONS).nullable(),
    pause_message: z.string().nullable(),
    paused_until: TimestampSchema.nullable(),
    /** Silent this long, an extension counts as disconnected. */
    offline_after_seconds: z.number(),
  })
  .meta({ id: "ExtensionConnection" });
export type ExtensionConnection = z.infer<typeof ExtensionConnectionSchema>;
