/**
 * How one environment value is read: durations, bounded integers, prices, origins, proxy trust,
 * byte sizes, URLs and flags, each a zod schema with its default and a message that says what was
 * expected.
 */
import { z } from "zod";

const DURATION_UNITS_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** "900", "90s", "15m", "12h", "30d" → seconds. */
export function parseDurationSeconds(text: string): number | null {
  const match = /^(\d+)\s*([smhd]?)$/i.exec(text.trim());
  if (!match) return null;
  const unit = (match[2] || "s").toLowerCase() as keyof typeof DURATION_UNITS_SECONDS;
  return Number(match[1]) * DURATION_UNITS_SECONDS[unit];
}

export const durationSeconds = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const seconds = parseDurationSeconds(text);
      if (seconds === null || seconds < 1) {
        ctx.addIssue({ code: "custom", message: `expected a duration such as 900, 90s, 15m, 12h or 30d (got "${text}")` });
        return z.NEVER;
      }
      return seconds;
    });

const integerText = (min: number, max: number) =>
  z.string().refine((text) => /^\d+$/.test(text.trim()) && Number(text) >= min && Number(text) <= max, {
    message: `expected an integer from ${min} to ${max}`,
  });

export const integerInRange = (fallback: number, min: number, max: number) => integerText(min, max).default(String(fallback)).transform(Number);

/** An integer whose default comes from another variable: undefined when unset. */
export const optionalIntegerInRange = (min: number, max: number) => integerText(min, max).transform(Number).optional();

/** A price in USD ("0.00015"): a non-negative decimal. */
export const usdPrice = z
  .string()
  .default("0")
  .refine((text) => /^\d+(\.\d+)?$/.test(text.trim()) && Number(text) <= 1_000, { message: "expected a price in USD such as 0.00015 (from 0 to 1000)" })
  .transform(Number);

export const originList = z
  .string()
  .default("")
  .transform((text, ctx) => {
    const origins = text.split(",").map((o) => o.trim()).filter(Boolean);
    for (const origin of origins) {
      if (!isOrigin(origin)) ctx.addIssue({ code: "custom", message: `"${origin}" is not an origin such as https://app.example.com` });
    }
    return origins;
  });

function isOrigin(text: string): boolean {
  try {
    return new URL(text).origin === text;
  } catch {
    return false;
  }
}

/** Express's "trust proxy": unset/false, true, a hop count, or addresses/subnets ("loopback, 10.0.0.0/8"). */
export const trustProxy = z
  .string()
  .default("false")
  .transform((text): boolean | number | string => {
    const t = text.trim();
    if (t === "false" || t === "") return false;
    if (t === "true") return true;
    return /^\d+$/.test(t) ? Number(t) : t;
  });

const BYTE_UNITS = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 } as const;

/** "100kb", "10mb", "1048576" → bytes. */
export function parseByteSize(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(text.trim());
  if (!match) return null;
  return Math.floor(Number(match[1]) * BYTE_UNITS[(match[2] ?? "b").toLowerCase() as keyof typeof BYTE_UNITS]);
}

export const byteSize = (fallback: string, maxBytes: number) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const bytes = parseByteSize(text);
      if (bytes === null || bytes < 1 || bytes > maxBytes) {
        ctx.addIssue({ code: "custom", message: `expected a size such as 500kb or 10mb, at most ${Math.floor(maxBytes / 1024 ** 2)}mb (got "${text}")` });
        return z.NEVER;
      }
      return bytes;
    });

/** An http(s) URL, without its trailing slashes. */
export const httpUrl = () =>
  z
    .string()
    .trim()
    .refine((text) => /^https?:$/.test(safeUrl(text)?.protocol ?? ""), { message: "expected an http(s) URL" })
    .transform((text) => text.replace(/\/+$/, ""));

function safeUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

export const booleanFlag = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0"], { error: () => "expected true or false" })
    .default(fallback ? "true" : "false")
    .transform((v) => v === "true" || v === "1");
