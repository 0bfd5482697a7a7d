import { z } from "zod";
import { ErrorBodySchema, type ErrorBody } from "../../../shared/errors";
import { parseRetryAfterMs } from "../vinted/errors";

/** A MarketHub answer outside 2xx, or no answer at all (status 0). */
export class ServerError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: ErrorBody | null = null,
    readonly retryAfterMs: number | undefined = undefined,
  ) {
    super(message);
    this.name = "ServerError";
  }

  get isNetwork(): boolean {
    return this.status === 0;
  }

  get isTransient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

const REQUEST_TIMEOUT_MS = 40_000;

export function joinUrl(serverUrl: string, path: string): string {
  return new URL(path, serverUrl.endsWith("/") ? serverUrl : `${serverUrl}/`).toString();
}

export async function requestServerJson<T>(
  url: string,
  init: { method: string; body?: unknown; token?: string; timeoutMs?: number },
  schema: z.ZodType<T>,
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(init.timeoutMs ?? REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ServerError(0, `MarketHub server unreachable: ${error instanceof Error ? error.message : String(error)}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const parsed = ErrorBodySchema.safeParse(json);
    const body = parsed.success ? parsed.data : null;
    throw new ServerError(response.status, body?.detail ?? `MarketHub answered ${response.status}`, body, parseRetryAfterMs(response.headers.get("retry-after")));
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ServerError(response.status, `Unexpected MarketHub answer from ${new URL(url).pathname}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
