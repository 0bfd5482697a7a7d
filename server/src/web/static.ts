/**
 * Serves the built dashboard at `/`: its files, and index.html for any other page a browser asks for
 * (deep links, reloads). API paths, the docs and health checks are never answered here, so an
 * unknown API path still gets the JSON 404.
 */
import express, { type RequestHandler } from "express";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../http/errors.js";

/** Paths owned by the API (spec/task-core-api.md keeps `/tasks/` at the root). */
const API_PREFIXES = ["/api/", "/api", "/tasks", "/healthz", "/readyz"];

function isApiPath(path: string): boolean {
  return API_PREFIXES.some((prefix) => path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`));
}

export function dashboardMiddleware(distDir: string): RequestHandler {
  // Hashed file names under assets/ never change content; index.html must be revalidated.
  const assetsDir = join(distDir, "assets");
  const files = express.static(distDir, {
    index: false,
    fallthrough: true,
    setHeaders: (res, path) => {
      res.setHeader("Cache-Control", path.startsWith(assetsDir) ? "public, max-age=31536000, immutable" : "no-cache");
    },
  });
  const indexFile = join(distDir, "index.html");
  const sendIndex: RequestHandler = (req, res, next) => {
    if (!req.accepts("html")) return next();
    if (!existsSync(indexFile)) {
      next(new AppError(503, "SERVICE_UNAVAILABLE", "The web dashboard is not built: run `npm run build:web` (npm start does it)."));
      return;
    }
    res.setHeader("Cache-Control", "no-cache");
    res.sendFile(indexFile);
  };
  return (req, res, next) => {
    if ((req.method !== "GET" && req.method !== "HEAD") || isApiPath(req.path)) return next();
    if (req.path === "/" || req.path === "/index.html") return sendIndex(req, res, next);
    // A missing file (a name with an extension) is a 404, not the app: only pages fall back to it.
    files(req, res, () => (/\.[a-z0-9]+$/i.test(req.path) ? next() : sendIndex(req, res, next)));
  };
}
