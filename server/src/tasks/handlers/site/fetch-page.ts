/**
 * One polite GET for the site crawler: no redirect followed (the crawler decides), a body cap, a
 * timeout, the webhooks' SSRF guard on the addresses the name resolves to (unless private networks
 * are allowed, as for webhooks), and a User-Agent that says who is asking.
 */
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import { guardedLookup } from "../../../webhooks/address-guard.js";

export const CRAWLER_USER_AGENT = "MarketHub-SiteAudit/1 (+shop website audit)";
const MAX_BODY_BYTES = 2 * 1024 * 1024;

export interface FetchedPage {
  status: number;
  contentType: string;
  location: string | null;
  body: string;
  bytes: number;
  /** Time to the first byte and to the end of the body. */
  ttfbMs: number;
  totalMs: number;
  truncated: boolean;
}

export function fetchPage(url: URL, options: { allowPrivate: boolean; timeoutMs: number; signal: AbortSignal }): Promise<FetchedPage> {
  const client = url.protocol === "https:" ? https : http;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: "GET",
        headers: { "User-Agent": CRAWLER_USER_AGENT, Accept: "text/html,application/xhtml+xml,text/plain;q=0.8,*/*;q=0.1" },
        timeout: options.timeoutMs,
        signal: options.signal,
        ...(options.allowPrivate ? {} : { lookup: guardedLookup as unknown as net.LookupFunction }),
      },
      (res) => {
        const ttfbMs = performance.now() - started;
        const chunks: Buffer[] = [];
        let bytes = 0;
        let truncated = false;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_BODY_BYTES) {
            truncated = true;
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        const finish = () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers["content-type"] ?? ""),
            location: typeof res.headers.location === "string" ? res.headers.location : null,
            body: Buffer.concat(chunks).toString("utf8"),
            bytes,
            ttfbMs: Math.round(ttfbMs),
            totalMs: Math.round(performance.now() - started),
            truncated,
          });
        res.on("end", finish);
        res.on("close", () => truncated && finish());
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
