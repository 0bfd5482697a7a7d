/** Turning a marketplace's HTTP answers into classified errors: shared by connectors. */
import { transientError, type PublicationError } from "./connector.js";

/** Retry-After as milliseconds: seconds, or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** Statuses worth retrying: the request may well succeed later as it is. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** The answer's body as an object for error_details.marketplace_response (text kept, cut). */
export async function answerBody(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text().catch(() => "");
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    return { body: parsed };
  } catch {
    return text ? { body: text.slice(0, 2000) } : {};
  }
}

/** A request that got no answer: timeout, refused connection, reset. */
export function networkError(marketplace: string, err: unknown): PublicationError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const reason = e.name === "TimeoutError" ? "timed out" : (e.cause?.code ?? e.cause?.message ?? e.message ?? "network error");
  return transientError(`${marketplace} could not be reached (${reason})`, {}, null);
}
