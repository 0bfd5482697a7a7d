import { createRequire } from "node:module";
import path from "node:path";
import express, { type RequestHandler } from "express";
import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";

export const OPENAPI_PATH = "/api/openapi.json";
export const DOCS_PATH = "/api/docs";

export function createOpenApiRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  return registry;
}

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31["generateDocument"]>;

export function generateOpenApiDocument(registry: OpenAPIRegistry): OpenApiDocument {
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "MarketHub API",
      version: "1",
      description:
        "Errors are `{detail, error_code, field_errors?}`. Authenticate with `Authorization: Bearer <access_token>`; " +
        "brand-scoped routes act for `X-Brand-ID` (default: your personal brand).",
    },
  });
}

const swaggerUiDir = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>MarketHub API</title>
  <link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
  <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
  <script src="${DOCS_PATH}/init.js"></script>
</body>
</html>`;

// A file, not an inline script, so helmet's default Content-Security-Policy can stay as it is.
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: ${JSON.stringify(OPENAPI_PATH)}, dom_id: "#swagger-ui", deepLinking: true, persistAuthorization: true });`;

const SERVED_ASSETS = new Set(["/swagger-ui.css", "/swagger-ui-bundle.js", "/favicon-32x32.png"]);

/**
 * Swagger UI from the swagger-ui-dist package (no CDN: works offline). A plain middleware rather
 * than routes: the docs page is not part of the API and so is not in the OpenAPI document.
 */
export function docsMiddleware(): RequestHandler {
  const assets = express.static(swaggerUiDir, { index: false, fallthrough: false, maxAge: "1d" });
  return (req, res, next) => {
    if (req.method !== "GET" && req.method !== "HEAD") return next();
    // Every GET walks through here: anything outside the docs goes on after one prefix test.
    const requestPath = req.path;
    if (!requestPath.startsWith(DOCS_PATH)) return next();
    if (requestPath === DOCS_PATH || requestPath === `${DOCS_PATH}/`) {
      res.type("html").send(DOCS_HTML);
      return;
    }
    if (requestPath === `${DOCS_PATH}/init.js`) {
      res.type("application/javascript").send(DOCS_INIT);
      return;
    }
    const asset = requestPath.startsWith(`${DOCS_PATH}/`) ? requestPath.slice(DOCS_PATH.length) : null;
    if (asset === null || !SERVED_ASSETS.has(asset)) return next();
    req.url = asset;
    assets(req, res, next);
  };
}
