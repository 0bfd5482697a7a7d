/**
 * The web dashboard is served by the API server itself: its page at `/` and for any other page a
 * browser asks for, its hashed assets cached for good, while API paths, the docs and unknown API
 * routes keep their own answers.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtHash, dashboardSourceHash } from "../../server/src/web/build.js";
import { WEB_DIST } from "../../server/src/web/paths.js";
import { startTestServer, type TestServer } from "../helpers/app.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, { taskExecution: false });
});
afterAll(() => server?.close());

const html = { Accept: "text/html,application/xhtml+xml" };

describe("dashboard static serving", () => {
  it("the build in place is the one of the current sources (the global setup built it)", () => {
    expect(builtHash()).toBe(dashboardSourceHash());
  });

  it("serves index.html at / and for deep page paths, revalidated each time", async () => {
    const index = readFileSync(join(WEB_DIST, "index.html"), "utf8");
    for (const path of ["/", "/index.html", "/overview", "/some/deep/page"]) {
      const res = await server.request("GET", path, { headers: html });
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/text\/html/);
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.body).toBe(index);
    }
    expect(index).toMatch(/<div id="app">/);
  });

  it("serves the hashed assets the page names, cached as immutable", async () => {
    const index = readFileSync(join(WEB_DIST, "index.html"), "utf8");
    const assets = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const res = await fetch(`${server.baseUrl}${asset}`);
      expect(res.status, asset).toBe(200);
      expect(res.headers.get("cache-control")).toContain("immutable");
      await res.arrayBuffer();
    }
  });

  it("leaves the API alone: JSON 404 for unknown API paths, /tasks/ stays the task list, /api/docs the docs", async () => {
    const unknown = await server.request("GET", "/api/v1/nope", { headers: html });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error_code: "NOT_FOUND" });
    const tasks = await server.request("GET", "/tasks/", { headers: html });
    expect(tasks.status).toBe(401);
    expect(tasks.body).toMatchObject({ error_code: "NOT_AUTHENTICATED" });
    const tasksChild = await server.request("GET", "/tasks/unknown/thing", { headers: html });
    expect(tasksChild.headers.get("content-type")).toMatch(/json/);
    const docs = await server.request("GET", "/api/docs", { headers: html });
    expect(docs.status).toBe(200);
    expect(String(docs.body)).toMatch(/swagger/i);
  });

  it("answers a missing asset or a non-HTML request with the JSON 404, and never takes writes", async () => {
    const missing = await server.request("GET", "/assets/nope.js", { headers: { Accept: "application/javascript" } });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error_code: "NOT_FOUND" });
    const post = await server.request("POST", "/", { body: {} });
    expect(post.status).toBe(404);
  });
});
