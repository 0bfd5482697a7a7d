/**
 * A polite, bounded crawler for the seller's own shop website: robots.txt obeyed (and its
 * Crawl-delay, capped), one request at a time with a pause between, the start URL's host only, a
 * page and a time limit, the webhooks' SSRF rules. Checkpointed every few pages, so a crawl cut
 * short resumes where it was.
 */
import { z } from "zod";
import { refusalOf } from "../../../webhooks/address-guard.js";
import { PermanentTaskError, type TaskContext } from "../../executor/registry.js";
import { fetchPage } from "./fetch-page.js";
import { isAllowed, parseRobots, type RobotsRules } from "./robots.js";

export const CrawlParamsSchema = z.object({
  /** The shop's website: where the crawl starts; only its host is visited. */
  url: z.url({ protocol: /^https?$/ }),
  max_pages: z.number().int().min(1).max(500).default(50),
  max_seconds: z.number().int().min(1).max(900).default(120),
  max_depth: z.number().int().min(0).max(20).default(5),
  /** Pause between two requests (robots.txt's Crawl-delay wins when longer, up to 10 s). */
  delay_ms: z.number().int().min(0).max(10_000).default(500),
});
export type CrawlParams = z.infer<typeof CrawlParamsSchema>;

const CRAWL_DELAY_CAP_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
const CHECKPOINT_EVERY = 10;

export interface PageReport {
  url: string;
  depth: number;
  status: number;
  /** Redirect target, same host only followed. */
  redirect_to: string | null;
  content_type: string;
  bytes: number;
  ttfb_ms: number;
  total_ms: number;
  title: string | null;
  meta_description: string | null;
  h1_count: number;
  canonical: string | null;
  noindex: boolean;
  lang: string | null;
  words: number;
  images: number;
  images_without_alt: number;
  internal_links: number;
  external_links: number;
  scripts: number;
  stylesheets: number;
  error: string | null;
}

export interface CrawlResult {
  start_url: string;
  pages: PageReport[];
  blocked_by_robots: string[];
  robots_txt: "found" | "absent" | "unreachable";
  stopped_by: "done" | "max_pages" | "max_seconds";
  links: Record<string, string[]>;
}

interface CrawlState extends CrawlResult {
  queue: Array<{ url: string; depth: number }>;
  seen: string[];
  elapsed_ms: number;
}

const decode = (s: string) => s.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").trim();

function attr(tag: string, name: string): string | null {
  const m = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, "i").exec(tag);
  return m ? decode(m[1] ?? m[2] ?? m[3] ?? "") : null;
}

/** What an HTML page says about itself, read with forgiving patterns (no DOM needed for these). */
export function analyseHtml(html: string, base: URL) {
  const head = html.slice(0, 200_000);
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(head)?.[1];
  const metas = head.match(/<meta\b[^>]*>/gi) ?? [];
  const metaNamed = (n: string) => metas.find((m) => attr(m, "name")?.toLowerCase() === n);
  const description = metaNamed("description");
  const robots = metaNamed("robots");
  const canonicalTag = (head.match(/<link\b[^>]*>/gi) ?? []).find((l) => attr(l, "rel")?.toLowerCase() === "canonical");
  const links = [...html.matchAll(/<a\b[^>]*>/gi)].map((m) => attr(m[0], "href")).filter((h): h is string => !!h);
  const images = html.match(/<img\b[^>]*>/gi) ?? [];
  const text = html.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, " ").replace(/<[^>]+>/g, " ");
  const urls: URL[] = [];
  for (const href of links) {
    if (/^(mailto|tel|javascript):/i.test(href)) continue;
    try {
      const u = new URL(href, base);
      u.hash = "";
      if (u.protocol === "http:" || u.protocol === "https:") urls.push(u);
    } catch {
      // An unreadable href is skipped like a browser would.
    }
  }
  return {
    title: title ? decode(title.replace(/\s+/g, " ")) : null,
    meta_description: description ? attr(description, "content") : null,
    h1_count: (html.match(/<h1\b/gi) ?? []).length,
    canonical: canonicalTag ? attr(canonicalTag, "href") : null,
    noindex: robots ? /noindex/i.test(attr(robots, "content") ?? "") : false,
    lang: attr(/<html\b[^>]*>/i.exec(head)?.[0] ?? "", "lang"),
    words: (text.match(/[\p{L}\p{N}]+/gu) ?? []).length,
    images: images.length,
    images_without_alt: images.filter((i) => attr(i, "alt") === null || attr(i, "alt") === "").length,
    scripts: (html.match(/<script\b[^>]*\bsrc=/gi) ?? []).length,
    stylesheets: (html.match(/<link\b[^>]*rel=["']?stylesheet/gi) ?? []).length,
    urls,
  };
}

async function readRobots(origin: URL, allowPrivate: boolean, signal: AbortSignal): Promise<{ rules: RobotsRules; state: CrawlResult["robots_txt"] }> {
  try {
    const res = await fetchPage(new URL("/robots.txt", origin), { allowPrivate, timeoutMs: REQUEST_TIMEOUT_MS, signal });
    if (res.status >= 200 && res.status < 300) return { rules: parseRobots(res.body), state: "found" };
    if (res.status >= 400 && res.status < 500) return { rules: parseRobots(""), state: "absent" };
  } catch {
    // Unreachable: treated like a server error below.
  }
  // A robots.txt the site cannot serve means "do not crawl" until it can (RFC 9309).
  return { rules: { allow: [], disallow: ["/"], crawlDelayMs: null, sitemaps: [] }, state: "unreachable" };
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (ms <= 0) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

export async function crawlSite(ctx: TaskContext, params: CrawlParams, allowPrivate: boolean): Promise<CrawlResult> {
  const start = new URL(params.url);
  start.hash = "";
  const refusal = refusalOf(start, allowPrivate);
  if (refusal) throw new PermanentTaskError(refusal.replace("receive webhooks", "be crawled"), { url: params.url });
  const host = start.host;
  const { rules, state: robotsState } = await readRobots(start, allowPrivate, ctx.signal);
  const delay = Math.max(params.delay_ms, Math.min(CRAWL_DELAY_CAP_MS, rules.crawlDelayMs ?? 0));
  const state: CrawlState = (ctx.resumeFrom as CrawlState | null) ?? {
    start_url: start.href,
    pages: [],
    blocked_by_robots: [],
    robots_txt: robotsState,
    stopped_by: "done",
    links: {},
    queue: [{ url: start.href, depth: 0 }],
    seen: [start.href],
    elapsed_ms: 0,
  };
  const seen = new Set(state.seen);
  const began = Date.now() - state.elapsed_ms;
  let requests = 0;
  while (state.queue.length > 0) {
    ctx.throwIfStopped();
    if (state.pages.length >= params.max_pages) {
      state.stopped_by = "max_pages";
      break;
    }
    if (Date.now() - began > params.max_seconds * 1000) {
      state.stopped_by = "max_seconds";
      break;
    }
    const { url, depth } = state.queue.shift()!;
    const target = new URL(url);
    if (!isAllowed(rules, `${target.pathname}${target.search}`)) {
      state.blocked_by_robots.push(url);
      continue;
    }
    if (requests++ > 0) await pause(delay, ctx.signal);
    const page = await visit(target, depth, allowPrivate, ctx.signal);
    state.pages.push(page.report);
    const outgoing: string[] = [];
    for (const next of page.next) {
      if (next.host !== host) continue;
      outgoing.push(next.href);
      if (!seen.has(next.href) && depth < params.max_depth) {
        seen.add(next.href);
        state.queue.push({ url: next.href, depth: depth + 1 });
      }
    }
    state.links[url] = [...new Set(outgoing)];
    state.seen = [...seen];
    state.elapsed_ms = Date.now() - began;
    const pct = Math.min(95, (state.pages.length / params.max_pages) * 95);
    if (state.pages.length % CHECKPOINT_EVERY === 0) await ctx.checkpoint({ ...state }, pct);
    else await ctx.progress(pct, `${state.pages.length} pages crawled`);
  }
  const { queue: _q, seen: _s, elapsed_ms: _e, ...result } = state;
  return result;
}

async function visit(url: URL, depth: number, allowPrivate: boolean, signal: AbortSignal): Promise<{ report: PageReport; next: URL[] }> {
  const empty = { title: null, meta_description: null, h1_count: 0, canonical: null, noindex: false, lang: null, words: 0, images: 0, images_without_alt: 0, internal_links: 0, external_links: 0, scripts: 0, stylesheets: 0 };
  try {
    const res = await fetchPage(url, { allowPrivate, timeoutMs: REQUEST_TIMEOUT_MS, signal });
    const base = { url: url.href, depth, status: res.status, content_type: res.contentType, bytes: res.bytes, ttfb_ms: res.ttfbMs, total_ms: res.totalMs, error: null };
    if (res.status >= 300 && res.status < 400 && res.location) {
      const to = new URL(res.location, url);
      to.hash = "";
      return { report: { ...base, ...empty, redirect_to: to.href }, next: [to] };
    }
    if (res.status !== 200 || !/html/i.test(res.contentType)) return { report: { ...base, ...empty, redirect_to: null }, next: [] };
    const { urls, ...seen } = analyseHtml(res.body, url);
    const internal = urls.filter((u) => u.host === url.host);
    return { report: { ...base, ...seen, redirect_to: null, internal_links: internal.length, external_links: urls.length - internal.length }, next: internal };
  } catch (err) {
    if (signal.aborted) throw err;
    const message = err instanceof Error ? err.message : String(err);
    return { report: { url: url.href, depth, status: 0, content_type: "", bytes: 0, ttfb_ms: 0, total_ms: 0, ...empty, redirect_to: null, error: message }, next: [] };
  }
}
