/**
 * `website_structure_analysis`, `page_performance_audit`, `sitemap_generation` on the seller's own
 * shop website (context_data.url), each from one polite bounded crawl (crawler.ts).
 */
import type { TaskHandler } from "../../executor/registry.js";
import { CrawlParamsSchema, crawlSite, type CrawlResult, type PageReport } from "./crawler.js";

const html = (p: PageReport) => p.status === 200 && /html/i.test(p.content_type);
const avg = (xs: number[]) => (xs.length ? Math.round(xs.reduce((a, b) => a + b, 0) / xs.length) : null);

function crawlSummary(c: CrawlResult) {
  return { start_url: c.start_url, pages_crawled: c.pages.length, robots_txt: c.robots_txt, blocked_by_robots: c.blocked_by_robots, stopped_by: c.stopped_by };
}

export function structureAnalysis(c: CrawlResult) {
  const pages = c.pages.filter(html);
  const titles = new Map<string, string[]>();
  for (const p of pages) if (p.title) titles.set(p.title, [...(titles.get(p.title) ?? []), p.url]);
  const issues = {
    missing_title: pages.filter((p) => !p.title).map((p) => p.url),
    duplicate_titles: [...titles.entries()].filter(([, urls]) => urls.length > 1).map(([title, urls]) => ({ title, urls })),
    missing_meta_description: pages.filter((p) => !p.meta_description).map((p) => p.url),
    h1_not_single: pages.filter((p) => p.h1_count !== 1).map((p) => ({ url: p.url, h1_count: p.h1_count })),
    noindex: pages.filter((p) => p.noindex).map((p) => p.url),
    thin_content: pages.filter((p) => p.words < 150).map((p) => p.url),
    broken: c.pages.filter((p) => p.status >= 400 || p.error).map((p) => ({ url: p.url, status: p.status, error: p.error })),
    redirects: c.pages.filter((p) => p.redirect_to).map((p) => ({ from: p.url, to: p.redirect_to })),
  };
  const linkedFrom = new Map<string, number>();
  for (const targets of Object.values(c.links)) for (const t of targets) linkedFrom.set(t, (linkedFrom.get(t) ?? 0) + 1);
  const depth: Record<string, number> = {};
  for (const p of c.pages) depth[p.depth] = (depth[p.depth] ?? 0) + 1;
  const recommendations = [
    issues.broken.length && `Fix ${issues.broken.length} broken page(s) or the links to them`,
    issues.missing_title.length && `Give ${issues.missing_title.length} page(s) a <title>`,
    issues.duplicate_titles.length && `Make ${issues.duplicate_titles.length} duplicated title(s) unique`,
    issues.missing_meta_description.length && `Write a meta description for ${issues.missing_meta_description.length} page(s)`,
    issues.h1_not_single.length && `Use exactly one <h1> on ${issues.h1_not_single.length} page(s)`,
    issues.thin_content.length && `Add content to ${issues.thin_content.length} page(s) under 150 words`,
    issues.redirects.length && `Link directly to the targets of ${issues.redirects.length} redirect(s)`,
  ].filter((r): r is string => typeof r === "string");
  return {
    ...crawlSummary(c),
    html_pages: pages.length,
    depth_distribution: depth,
    most_linked: [...linkedFrom.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([url, n]) => ({ url, inbound_links: n })),
    issues,
    keywords_processed: new Set(pages.flatMap((p) => (p.title ?? "").toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 3))).size,
    insights_generated: recommendations.length,
    recommendations,
  };
}

const SLOW_TTFB_MS = 800;
const HEAVY_BYTES = 1_000_000;

export function performanceAudit(c: CrawlResult) {
  const pages = c.pages.filter(html);
  const perPage = pages.map((p) => ({ url: p.url, ttfb_ms: p.ttfb_ms, total_ms: p.total_ms, bytes: p.bytes, scripts: p.scripts, stylesheets: p.stylesheets, images: p.images, images_without_alt: p.images_without_alt }));
  const slow = perPage.filter((p) => p.ttfb_ms > SLOW_TTFB_MS);
  const heavy = perPage.filter((p) => p.bytes > HEAVY_BYTES);
  const noAlt = perPage.filter((p) => p.images_without_alt > 0);
  const manyScripts = perPage.filter((p) => p.scripts > 10);
  const recommendations = [
    slow.length && `Speed up the server answer of ${slow.length} page(s) (first byte after ${SLOW_TTFB_MS} ms)`,
    heavy.length && `Lighten ${heavy.length} page(s) over 1 MB of HTML`,
    noAlt.length && `Describe images (alt) on ${noAlt.length} page(s): ${noAlt.reduce((n, p) => n + p.images_without_alt, 0)} image(s) without alt`,
    manyScripts.length && `Bundle scripts on ${manyScripts.length} page(s) loading more than 10`,
  ].filter((r): r is string => typeof r === "string");
  return {
    ...crawlSummary(c),
    pages_measured: perPage.length,
    average_ttfb_ms: avg(perPage.map((p) => p.ttfb_ms)),
    average_total_ms: avg(perPage.map((p) => p.total_ms)),
    average_bytes: avg(perPage.map((p) => p.bytes)),
    slowest: [...perPage].sort((a, b) => b.ttfb_ms - a.ttfb_ms).slice(0, 10),
    pages: perPage,
    insights_generated: recommendations.length,
    recommendations,
  };
}

const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");

/** The indexable pages: answered 200 with HTML, not noindex, and canonical to themselves (or without canonical). */
export function sitemapOf(c: CrawlResult) {
  const urls: string[] = [];
  const excluded: Array<{ url: string; reason: string }> = [];
  for (const p of c.pages) {
    if (!html(p)) excluded.push({ url: p.url, reason: p.redirect_to ? "redirect" : p.error ? "error" : `status ${p.status}` });
    else if (p.noindex) excluded.push({ url: p.url, reason: "noindex" });
    else if (p.canonical && new URL(p.canonical, p.url).href !== p.url) excluded.push({ url: p.url, reason: "canonical elsewhere" });
    else urls.push(p.url);
  }
  urls.sort();
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${urls
    .map((u) => `  <url><loc>${xmlEscape(u)}</loc></url>`)
    .join("\n")}\n</urlset>\n`;
  const recommendations = [
    `Publish the sitemap at /sitemap.xml and name it in robots.txt (Sitemap: …)`,
    ...(c.stopped_by !== "done" ? [`The crawl stopped at its ${c.stopped_by === "max_pages" ? "page" : "time"} limit: raise it to list every page`] : []),
  ];
  return { ...crawlSummary(c), urls_listed: urls.length, urls, excluded, sitemap_xml: xml, insights_generated: excluded.length, recommendations };
}

export function siteHandler(kind: "website_structure_analysis" | "page_performance_audit" | "sitemap_generation", allowPrivate: boolean): TaskHandler {
  return async (ctx) => {
    const params = CrawlParamsSchema.parse(ctx.task.context_data ?? {});
    const crawl = await crawlSite(ctx, params, allowPrivate);
    if (kind === "website_structure_analysis") return structureAnalysis(crawl);
    if (kind === "page_performance_audit") return performanceAudit(crawl);
    return sitemapOf(crawl);
  };
}
