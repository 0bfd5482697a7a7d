/**
 * website_structure_analysis, page_performance_audit and sitemap_generation against a local shop
 * website (fixtures/shop-site): robots.txt obeyed, same host only, page limit, SSRF rules.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { startShopSite, type ShopSite } from "../fixtures/shop-site/server.js";
import { TaskApi, type Body } from "./fixtures/tasks.js";

let server: TestServer;
let site: ShopSite;
let api: TaskApi;
beforeAll(async () => {
  site = await startShopSite();
  // The shop runs on loopback here: allowed only because private networks are, as for webhooks.
  server = await startTestServer({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" });
  api = new TaskApi(server.request, (await server.register()).access_token);
});
afterAll(async () => {
  await server?.close();
  await site?.close();
});

async function run(taskType: string, context: Body) {
  const task = await api.create({ task_type: taskType, context_data: { url: site.url, delay_ms: 0, ...context } });
  const done = await api.waitForFinish(task.id);
  expect(done.status, String(done.error_message)).toBe("completed");
  return done.result_data as Body;
}

const u = (path: string) => new URL(path, site.url).href;

describe("the crawl", () => {
  it("website_structure_analysis: obeys robots.txt, stays on the host, and finds the site's gaps", async () => {
    const before = site.requests.length;
    const r = await run("website_structure_analysis", {});
    const requested = site.requests.slice(before);
    expect(requested.map((q) => q.path)).not.toContain("/private/secret");
    expect(requested[0].path).toBe("/robots.txt");
    expect(new Set(requested.map((q) => q.userAgent))).toEqual(new Set([expect.stringContaining("MarketHub-SiteAudit")]));
    expect(r).toMatchObject({ robots_txt: "found", stopped_by: "done", blocked_by_robots: [u("/private/secret")] });
    // /, /products/, /about, /old, /products/1, /products/2, /missing, /products/1-copy, /hidden
    expect(r.pages_crawled).toBe(9);
    const issues = r.issues as Record<string, unknown[]>;
    expect(issues.missing_title).toEqual([u("/about")]);
    expect(issues.missing_meta_description).toEqual([u("/about")]);
    expect(issues.h1_not_single).toEqual([{ url: u("/about"), h1_count: 2 }]);
    expect(issues.duplicate_titles).toEqual([{ title: "Veste en jean Levi's", urls: [u("/products/1"), u("/products/1-copy")] }]);
    expect(issues.broken).toEqual([{ url: u("/missing"), status: 404, error: null }]);
    expect(issues.redirects).toEqual([{ from: u("/old"), to: u("/about") }]);
    expect(issues.noindex).toEqual([u("/hidden")]);
    expect((issues.thin_content as string[]).sort()).toEqual([u("/about"), u("/products/2")].sort());
    expect(r.recommendations).toEqual(expect.arrayContaining(["Fix 1 broken page(s) or the links to them", "Give 1 page(s) a <title>"]));
    expect(r.insights_generated).toBe((r.recommendations as string[]).length);
  });

  it("stops at its page limit", async () => {
    const r = await run("website_structure_analysis", { max_pages: 3 });
    expect(r).toMatchObject({ pages_crawled: 3, stopped_by: "max_pages" });
  });

  it("page_performance_audit: timings and weight of each HTML page, images without alt", async () => {
    const r = await run("page_performance_audit", {});
    const pages = r.pages as Array<{ url: string; ttfb_ms: number; bytes: number; images_without_alt: number }>;
    expect(pages.map((p) => p.url)).toContain(u("/products/1"));
    expect(pages.find((p) => p.url === u("/products/1"))).toMatchObject({ images_without_alt: 1 });
    expect(pages.find((p) => p.url === u("/products/2"))).toMatchObject({ images_without_alt: 1 });
    for (const p of pages) expect(p.bytes).toBeGreaterThan(0);
    expect(r.recommendations).toEqual(expect.arrayContaining([expect.stringContaining("2 image(s) without alt")]));
  });

  it("sitemap_generation: only indexable pages, in a valid sitemap", async () => {
    const r = await run("sitemap_generation", {});
    expect(r.urls).toEqual([u("/"), u("/about"), u("/products/"), u("/products/1"), u("/products/2")].sort());
    const excluded = Object.fromEntries((r.excluded as Array<{ url: string; reason: string }>).map((e) => [e.url, e.reason]));
    expect(excluded).toEqual({ [u("/old")]: "redirect", [u("/missing")]: "status 404", [u("/hidden")]: "noindex", [u("/products/1-copy")]: "canonical elsewhere" });
    const xml = r.sitemap_xml as string;
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(xml.match(/<loc>/g)).toHaveLength(5);
  });

  it("a URL that is not http(s) is refused when the task is created", async () => {
    const res = await api.call<Body>("POST", "/tasks/", { task_type: "sitemap_generation", context_data: { url: "file:///etc/passwd" } });
    expect(res.status).toBe(400);
    expect(res.body.field_errors).toHaveProperty(["context_data.url"]);
  });
});

describe("the webhooks' address rules", () => {
  it("a private or loopback site fails the task for good when private networks are not allowed", async () => {
    const guarded = await startTestServer();
    try {
      const guardedApi = new TaskApi(guarded.request, (await guarded.register()).access_token);
      const before = site.requests.length;
      const task = await guardedApi.create({ task_type: "website_structure_analysis", context_data: { url: site.url } });
      const done = await guardedApi.waitForFinish(task.id);
      expect(done).toMatchObject({ status: "failed", retry_count: 0 });
      expect(done.error_message).toContain("cannot be crawled");
      expect(site.requests.length).toBe(before);
    } finally {
      await guarded.close();
    }
  });
});
