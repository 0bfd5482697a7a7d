/**
 * Walks an Express app's router and lists every route it serves (method + path), whatever defined
 * it — so a route added without defineRoute is found too. Method-less `all()` routes (the 405
 * handlers) are skipped.
 */
import type { Express } from "express";

export interface ServedRoute {
  method: string;
  path: string;
}

interface LayerLike {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: unknown };
  rawPath?: unknown;
  slash?: boolean;
}

export function servedRoutes(app: Express): ServedRoute[] {
  const found: ServedRoute[] = [];
  walk((app.router as unknown as { stack: LayerLike[] }).stack, "", found);
  return found;
}

function walk(stack: LayerLike[], prefix: string, found: ServedRoute[]): void {
  for (const layer of stack) {
    if (layer.route) {
      if (typeof layer.route.path !== "string") throw new Error("route with a non-string path cannot be checked");
      for (const [method, on] of Object.entries(layer.route.methods)) {
        if (on && method !== "_all") found.push({ method, path: prefix + layer.route.path });
      }
    } else if (Array.isArray(layer.handle?.stack)) {
      const mount = layer.slash || layer.rawPath === "/" ? "" : layer.rawPath;
      if (typeof mount !== "string") throw new Error("router mounted on a non-string path cannot be checked");
      walk(layer.handle.stack as LayerLike[], prefix + mount, found);
    }
  }
}
