import type { PluginErrorCode } from "../../../shared/plugin";

/** A Vinted failure already classified into one of the contract's error codes. */
export class VintedError extends Error {
  constructor(
    readonly code: PluginErrorCode,
    message: string,
    readonly details: { status?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = "VintedError";
  }
}

export class ActionCancelledError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "ActionCancelledError";
  }
}

const CHALLENGE_MARKERS = ["captcha-delivery", "datadome", "__cf_chl"];

/** DataDome and Cloudflare challenges arrive as HTML pages, whatever the status code. */
export function isChallengePage(contentType: string | null, text: string): boolean {
  if (contentType?.includes("json")) return false;
  const lower = text.slice(0, 200_000).toLowerCase();
  return CHALLENGE_MARKERS.some((marker) => lower.includes(marker));
}

/** Rails/Vinted answer an invalid authenticity token with code 106 or a message naming the token. */
export function isCsrfRejection(status: number, json: unknown): boolean {
  if (status !== 401 && status !== 403 && status !== 422) return false;
  if (typeof json !== "object" || json === null) return false;
  const body = json as { code?: unknown; message?: unknown; error?: unknown };
  if (body.code === 106) return true;
  const text = `${String(body.message ?? "")} ${String(body.error ?? "")}`;
  return /csrf|authenticity token/i.test(text);
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function describeVintedError(error: unknown): { code: PluginErrorCode; message: string } {
  if (error instanceof VintedError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: "INTERNAL_ERROR", message: error.message };
  return { code: "INTERNAL_ERROR", message: String(error) };
}
