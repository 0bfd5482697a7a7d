import type { BridgeBody, BridgeRequest } from "./bridge-protocol";
import { VintedError, isChallengePage, isCsrfRejection, parseRetryAfterMs } from "./errors";
import type { Pacer, PacingSettings } from "./pacing";
import { TransportError, type RawResponse, type VintedTransport } from "./transport";

export interface CsrfSource {
  current(): string | null;
  /** Reads a fresh token from a freshly loaded page; null when the page carries none (logged out). */
  refresh(): Promise<string | null>;
}

export interface ClientDeps {
  transport: VintedTransport;
  pacer: Pacer;
  csrf: CsrfSource;
  anonId: () => string | null;
  pacing: () => PacingSettings;
  refreshSessionPath: string;
}

export interface RequestOptions {
  body?: BridgeBody;
  /** Writes carry x-csrf-token and x-anon-id. */
  write?: boolean;
  signal?: AbortSignal;
  /** Told when Vinted makes us wait (429), so the task can say why it is slow. */
  onWait?: (message: string, waitMs: number) => void;
}

export interface JsonResponse {
  status: number;
  json: unknown;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function vintedMessage(json: unknown, fallback: string): string {
  if (typeof json !== "object" || json === null) return fallback;
  const body = json as { message?: unknown; errors?: unknown; error?: unknown };
  const errors = Array.isArray(body.errors)
    ? body.errors.map((e) => (typeof e === "object" && e !== null ? String((e as { value?: unknown }).value ?? JSON.stringify(e)) : String(e))).join("; ")
    : "";
  return [body.message, body.error, errors].filter((part) => typeof part === "string" && part.length > 0).join(" — ") || fallback;
}

/**
 * Every Vinted request goes through here: pacing, the headers writes need, and the one place that
 * turns Vinted's answers into the contract's error codes, with the retries each one allows.
 */
export class VintedClient {
  constructor(private readonly deps: ClientDeps) {}

  async request(method: BridgeRequest["method"], path: string, options: RequestOptions = {}): Promise<JsonResponse> {
    let sessionRefreshed = false;
    let csrfRefreshed = false;
    let rateLimitHits = 0;
    for (;;) {
      const raw = await this.send(method, path, options);
      if (isChallengePage(raw.contentType, raw.text)) {
        throw new VintedError("CAPTCHA_REQUIRED", "Vinted shows an anti-bot challenge: open the Vinted tab and solve it", { status: raw.status });
      }
      const json = parseJson(raw.text);
      if (raw.status === 429) {
        rateLimitHits += 1;
        const waitMs = this.rateLimitWait(raw, rateLimitHits);
        options.onWait?.(`Vinted asks to slow down: waiting ${Math.ceil(waitMs / 1000)} s`, waitMs);
        this.deps.pacer.blockFor(waitMs);
        continue;
      }
      if (options.write && isCsrfRejection(raw.status, json)) {
        if (!csrfRefreshed && (await this.deps.csrf.refresh())) {
          csrfRefreshed = true;
          continue;
        }
        throw new VintedError("CSRF_EXPIRED", "Vinted refused the page's CSRF token: reload the Vinted tab", { status: raw.status });
      }
      if (raw.status === 401) {
        if (!sessionRefreshed && (await this.refreshSession(options.signal))) {
          sessionRefreshed = true;
          continue;
        }
        throw new VintedError("VINTED_LOGGED_OUT", "The Vinted session has ended: log in to Vinted again", { status: 401 });
      }
      this.throwForStatus(raw, json);
      return { status: raw.status, json };
    }
  }

  private send(method: BridgeRequest["method"], path: string, options: RequestOptions): Promise<RawResponse> {
    const body = options.body ?? { kind: "none" };
    return this.deps.pacer.schedule(async () => {
      const headers: Record<string, string> = { accept: "application/json, text/plain, */*" };
      if (body.kind === "json") headers["content-type"] = "application/json";
      // Read at send time: a CSRF refresh queued before this request must be reflected in it.
      if (options.write) Object.assign(headers, this.writeHeaders());
      try {
        return await this.deps.transport.send(method, path, headers, body);
      } catch (error) {
        if (error instanceof TransportError) throw new VintedError("NETWORK_ERROR", `Vinted unreachable: ${error.message}`);
        throw error;
      }
    }, options.signal);
  }

  private writeHeaders(): Record<string, string> {
    const headers: Record<string, string> = {};
    const csrf = this.deps.csrf.current();
    const anonId = this.deps.anonId();
    if (csrf) headers["x-csrf-token"] = csrf;
    if (anonId) headers["x-anon-id"] = anonId;
    return headers;
  }

  private rateLimitWait(raw: RawResponse, hits: number): number {
    const settings = this.deps.pacing();
    const retryAfterMs = parseRetryAfterMs(raw.retryAfter);
    // Without Retry-After, back off exponentially from the cautious default pause.
    const waitMs = retryAfterMs ?? settings.rateLimitPauseMs * 2 ** (hits - 1);
    if (hits > settings.maxRateLimitRetries || waitMs > settings.maxRateLimitWaitMs) {
      throw new VintedError("RATE_LIMITED", `Vinted rate limit: retry in ${Math.ceil(waitMs / 1000)} s`, { status: 429, retryAfterMs: waitMs });
    }
    return waitMs;
  }

  private async refreshSession(signal?: AbortSignal): Promise<boolean> {
    try {
      const raw = await this.deps.pacer.schedule(
        () => this.deps.transport.send("POST", this.deps.refreshSessionPath, { accept: "application/json", ...this.writeHeaders() }, { kind: "none" }),
        signal,
      );
      return raw.status >= 200 && raw.status < 300;
    } catch {
      return false;
    }
  }

  private throwForStatus(raw: RawResponse, json: unknown): void {
    const { status } = raw;
    if (status >= 200 && status < 300) return;
    if (status === 403) throw new VintedError("CAPTCHA_REQUIRED", "Vinted refused access (403), most likely its anti-bot protection", { status });
    if (status === 404) throw new VintedError("ITEM_NOT_FOUND", vintedMessage(json, "Vinted: not found (sold, reserved or deleted)"), { status });
    if (status === 400 || status === 422) throw new VintedError("VINTED_VALIDATION_ERROR", vintedMessage(json, `Vinted refused the data (${status})`), { status });
    throw new VintedError("VINTED_ERROR", vintedMessage(json, `Vinted answered ${status}`), { status });
  }
}
