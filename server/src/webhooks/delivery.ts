/**
 * Signed webhook deliveries. One attempt is one POST, classified: delivered (2xx), transient
 * (network, timeout, 408/425/429/5xx — worth retrying), or final (other answers, redirects, which
 * are not followed, and refused addresses). `deliver` retries transient failures with exponential
 * backoff (Retry-After honoured); a pipeline that keeps its own retry count can call `sendOnce`.
 */
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { randomUUID } from "node:crypto";
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER } from "../../../shared/webhooks.js";
import { BlockedAddressError, guardedLookup, hostOf, isPrivateAddress } from "./address-guard.js";
import { signatureHeader } from "./signing.js";

export interface WebhookEvent {
  /** Unique per event; the same on every retry of it (receivers deduplicate on it). */
  id: string;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
}

export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface DeliveryAttempt {
  outcome: "delivered" | "transient" | "final";
  status_code: number | null;
  /** The endpoint's answer, cut to RESPONSE_MAX_CHARS. */
  response: string;
  error: string | null;
  retry_after_ms: number | null;
}

export interface DeliveryReport extends DeliveryAttempt {
  delivered: boolean;
  attempts: number;
}

export interface WebhookSenderSettings {
  allowPrivateNetworks: boolean;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
}

export const RESPONSE_MAX_CHARS = 1000;
/** Bytes read of an answer at most; the rest is not even downloaded. */
const RESPONSE_READ_LIMIT = 16 * 1024;
const RETRY_MAX_MS = 5 * 60_000;

export function newEvent(type: string, data: Record<string, unknown>): WebhookEvent {
  return { id: `evt_${randomUUID().replace(/-/g, "")}`, type, created_at: new Date().toISOString(), data };
}

export class WebhookSender {
  constructor(private readonly settings: WebhookSenderSettings) {}

  /** Delivers with retries; `onAttempt` sees each attempt (to count webhook_retries, log…). */
  async deliver(target: WebhookTarget, event: WebhookEvent, onAttempt?: (attempt: DeliveryAttempt, n: number) => void | Promise<void>): Promise<DeliveryReport> {
    for (let n = 1; ; n++) {
      const attempt = await this.sendOnce(target, event);
      await onAttempt?.(attempt, n);
      if (attempt.outcome !== "transient" || n >= this.settings.maxAttempts) {
        return { ...attempt, delivered: attempt.outcome === "delivered", attempts: n };
      }
      await new Promise((resolve) => setTimeout(resolve, this.backoffMs(n, attempt.retry_after_ms)));
    }
  }

  /** Wait before attempt n+1: base · 2^(n-1) with ±20% jitter, or the endpoint's Retry-After; capped. */
  backoffMs(n: number, retryAfterMs: number | null): number {
    if (retryAfterMs !== null) return Math.min(retryAfterMs, RETRY_MAX_MS);
    const base = this.settings.retryBaseMs * 2 ** (n - 1);
    return Math.min(Math.round(base * (0.8 + Math.random() * 0.4)), RETRY_MAX_MS);
  }

  async sendOnce(target: WebhookTarget, event: WebhookEvent): Promise<DeliveryAttempt> {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      return refused(`Invalid URL: ${target.url}`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") return refused("Only http and https URLs can receive webhooks.");
    const host = hostOf(url);
    // Literal addresses are never looked up, so the lookup guard would not see them.
    if (!this.settings.allowPrivateNetworks && net.isIP(host) && isPrivateAddress(host)) {
      return refused(new BlockedAddressError(host, host).message);
    }
    const body = JSON.stringify(event);
    const headers = {
      "Content-Type": "application/json",
      "User-Agent": "MarketHub-Webhooks/1",
      [EVENT_HEADER]: event.type,
      [DELIVERY_HEADER]: event.id,
      [SIGNATURE_HEADER]: signatureHeader(target.secret, body, Math.floor(Date.now() / 1000)),
    };
    return this.post(url, headers, body);
  }

  private post(url: URL, headers: Record<string, string>, body: string): Promise<DeliveryAttempt> {
    const client = url.protocol === "https:" ? https : http;
    return new Promise((resolve) => {
      const req = client.request(
        url,
        {
          method: "POST",
          headers: { ...headers, "Content-Length": Buffer.byteLength(body) },
          timeout: this.settings.timeoutMs,
          ...(this.settings.allowPrivateNetworks ? {} : { lookup: guardedLookup as unknown as net.LookupFunction }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          let done = false;
          const finish = () => {
            if (done) return;
            done = true;
            const status = res.statusCode ?? 0;
            const response = Buffer.concat(chunks).toString("utf8").slice(0, RESPONSE_MAX_CHARS);
            resolve(classify(status, response, res.headers["retry-after"]));
          };
          res.on("data", (chunk: Buffer) => {
            if (size >= RESPONSE_READ_LIMIT) return;
            chunks.push(chunk);
            size += chunk.length;
            if (size >= RESPONSE_READ_LIMIT) {
              finish();
              res.destroy();
            }
          });
          res.on("end", finish);
          res.on("error", finish);
        },
      );
      req.on("timeout", () => req.destroy(Object.assign(new Error(`no answer within ${this.settings.timeoutMs} ms`), { code: "ETIMEDOUT" })));
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (err instanceof BlockedAddressError || err.code === "EBLOCKEDADDRESS") resolve(refused(err.message));
        else resolve({ outcome: "transient", status_code: null, response: "", error: `${err.code ?? "network error"}: ${err.message}`, retry_after_ms: null });
      });
      req.end(body);
    });
  }
}

function refused(message: string): DeliveryAttempt {
  return { outcome: "final", status_code: null, response: "", error: message, retry_after_ms: null };
}

function classify(status: number, response: string, retryAfter: string | string[] | undefined): DeliveryAttempt {
  if (status >= 200 && status < 300) return { outcome: "delivered", status_code: status, response, error: null, retry_after_ms: null };
  const transient = status === 408 || status === 425 || status === 429 || status >= 500;
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  const retryAfterMs = header && /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : null;
  const reason = status >= 300 && status < 400 ? `redirect ${status} not followed` : `the endpoint answered ${status}`;
  return { outcome: transient ? "transient" : "final", status_code: status, response, error: reason, retry_after_ms: transient ? retryAfterMs : null };
}
