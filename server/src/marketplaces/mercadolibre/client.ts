/**
 * Calls to MercadoLibre's API with the seller's bearer token. An answer 401 (expired or revoked
 * token) is followed by one token refresh through POST /oauth/token — or by the token another
 * process refreshed meanwhile — and the call is made once more; never more than once, so a token
 * MercadoLibre keeps refusing ends as a clear error instead of a loop. MercadoLibre's refresh
 * tokens are single use: the new pair is stored at once (conditionally, see ConnectionHandle).
 */
import { finalError, transientError, type ConnectionHandle, type PublicationError } from "../connector.js";
import { answerBody, isTransientStatus, networkError, retryAfterMs } from "../http-answers.js";
import type { MercadoLibreCredentials } from "./credentials.js";

export interface MercadoLibreClientSettings {
  apiUrl: string;
  timeoutMs: number;
}

export type ApiAnswer = { ok: true; status: number; body: Record<string, unknown> } | { ok: false; error: PublicationError };

const NAME = "MercadoLibre";

export class MercadoLibreClient {
  constructor(private readonly settings: MercadoLibreClientSettings) {}

  /** One API call with the connection's token, refreshed once on a 401. */
  async call(connection: ConnectionHandle<MercadoLibreCredentials>, method: "GET" | "POST", path: string, body?: unknown): Promise<ApiAnswer> {
    let credentials = connection.credentials();
    let res = await this.send(method, path, credentials.access_token, body);
    if (!(res instanceof Response)) return { ok: false, error: res };
    if (res.status === 401) {
      await res.body?.cancel();
      const renewed = await this.renewedCredentials(connection, credentials);
      if ("kind" in renewed) return { ok: false, error: renewed };
      credentials = renewed;
      res = await this.send(method, path, credentials.access_token, body);
      if (!(res instanceof Response)) return { ok: false, error: res };
    }
    if (res.ok) return { ok: true, status: res.status, body: await answerBody(res) };
    return { ok: false, error: await classify(res) };
  }

  /** A newer token stored by someone else, or a refresh of ours. */
  private async renewedCredentials(connection: ConnectionHandle<MercadoLibreCredentials>, used: MercadoLibreCredentials): Promise<MercadoLibreCredentials | PublicationError> {
    const latest = await connection.reload();
    if (latest.access_token !== used.access_token) return latest;
    const refreshed = await this.refresh(latest);
    if ("kind" in refreshed) {
      // A refresh token is single use: a refresher racing us spent it, and stored the new pair.
      const after = await connection.reload();
      return after.access_token !== latest.access_token ? after : refreshed;
    }
    if (await connection.replace(refreshed)) return refreshed;
    // Lost a race with another refresher after all: theirs is the valid pair now.
    return connection.reload();
  }

  async refresh(credentials: MercadoLibreCredentials): Promise<MercadoLibreCredentials | PublicationError> {
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      client_id: credentials.client_id,
      client_secret: credentials.client_secret,
      refresh_token: credentials.refresh_token,
    });
    let res: Response;
    try {
      res = await fetch(`${this.settings.apiUrl}/oauth/token`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body: form,
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (err) {
      return networkError(NAME, err);
    }
    const body = await answerBody(res);
    if (!res.ok) {
      if (isTransientStatus(res.status)) return transientError(`${NAME} token refresh failed (${res.status})`, body, res.status, retryAfterMs(res.headers.get("retry-after")));
      return finalError(`${NAME} refused to refresh the access token (${String(body.error ?? res.status)}): connect the marketplace again`, body, res.status);
    }
    if (typeof body.access_token !== "string" || typeof body.refresh_token !== "string") {
      return transientError(`${NAME} token refresh answered without tokens`, body, res.status);
    }
    return {
      ...credentials,
      access_token: body.access_token,
      refresh_token: body.refresh_token,
      user_id: typeof body.user_id === "number" ? body.user_id : credentials.user_id,
    };
  }

  private async send(method: string, path: string, token: string, body: unknown): Promise<Response | PublicationError> {
    try {
      return await fetch(`${this.settings.apiUrl}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, Accept: "application/json", ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (err) {
      return networkError(NAME, err);
    }
  }
}

/** MercadoLibre's error answer `{message, error, status, cause[]}` → a classified error. */
async function classify(res: Response): Promise<PublicationError> {
  const body = await answerBody(res);
  const message = describe(body, res.status);
  if (isTransientStatus(res.status)) return transientError(message, body, res.status, retryAfterMs(res.headers.get("retry-after")));
  return finalError(message, body, res.status);
}

function describe(body: Record<string, unknown>, status: number): string {
  const head = typeof body.message === "string" ? body.message : `${NAME} answered ${status}`;
  const causes = Array.isArray(body.cause) ? body.cause : [];
  const details = causes
    .filter((c): c is Record<string, unknown> => typeof c === "object" && c !== null && (c as Record<string, unknown>).type !== "warning")
    .map((c) => (typeof c.message === "string" ? `${c.message}${typeof c.code === "string" ? ` (${c.code})` : ""}` : null))
    .filter((m): m is string => m !== null);
  return details.length > 0 ? `${head}: ${details.join("; ")}` : head;
}
