import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH_ROUTES } from "../../shared/auth.js";
import { PLUGIN_ROUTES } from "../../shared/plugin.js";
import { toOpenApiPath } from "../../server/src/http/define-route.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { servedRoutes } from "../helpers/routes.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

interface Operation {
  summary?: string;
  security?: unknown[];
  responses: Record<string, unknown>;
  parameters?: Array<{ name: string; in: string }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

async function fetchDocument(): Promise<Document> {
  const res = await server.request<Document>("GET", "/api/openapi.json");
  expect(res.status).toBe(200);
  return res.body;
}

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 with the shared schemas as components", async () => {
    const doc = await fetchDocument();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["Error", "User", "Brand", "AuthTokens", "RegisterRequest"]));
    expect(doc.components.securitySchemes).toHaveProperty("bearerAuth");
  });

  it("lists every route the app serves, found by walking the Express router, and nothing else", async () => {
    const doc = await fetchDocument();
    const served = servedRoutes(server.app).map((r) => `${r.method} ${toOpenApiPath(r.path)}`).sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .sort();
    expect(documented).toEqual(served);
  });

  it("serves every path of the shared route tables the extension calls (auth, plugin)", () => {
    const served = new Set(servedRoutes(server.app).map((r) => r.path));
    const shared = [...Object.values(AUTH_ROUTES), ...Object.values(PLUGIN_ROUTES)];
    expect(shared.filter((path) => !served.has(path))).toEqual([]);
  });

  it("documents auth, brand header and error answers per route", async () => {
    const doc = await fetchDocument();
    const me = doc.paths["/api/v1/auth/me"].get;
    expect(me.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(me.responses)).toEqual(expect.arrayContaining(["200", "401"]));
    const current = doc.paths["/api/v1/brands/current"].get;
    expect(current.parameters).toContainEqual(expect.objectContaining({ name: "X-Brand-ID", in: "header" }));
    expect(Object.keys(current.responses)).toEqual(expect.arrayContaining(["200", "401", "403"]));
    const remove = doc.paths["/api/v1/brands/{id}/members/{userId}"].delete;
    expect(remove.parameters?.map((p) => p.name).sort()).toEqual(["id", "userId"]);
    expect(remove.responses).toHaveProperty("204");
    const login = doc.paths["/api/v1/auth/login"].post;
    expect(login.security).toEqual([]);
    expect(login.responses).toHaveProperty("429");
  });
});

describe("interactive docs", () => {
  it("serves Swagger UI from the package, without any CDN", async () => {
    const page = await server.request<string>("GET", "/api/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.body).toContain("/api/docs/swagger-ui-bundle.js");
    expect(page.body).not.toMatch(/https?:\/\//);
    for (const asset of ["/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css", "/api/docs/init.js"]) {
      const res = await fetch(`${server.baseUrl}${asset}`);
      expect(res.status, asset).toBe(200);
      await res.arrayBuffer();
    }
    const init = await server.request<string>("GET", "/api/docs/init.js");
    expect(init.body).toContain('"/api/openapi.json"');
  });

  it("serves nothing else from the package directory", async () => {
    expect((await server.request("GET", "/api/docs/package.json")).status).toBe(404);
    expect((await server.request("GET", "/api/docs/../../package.json")).status).toBe(404);
  });
});
