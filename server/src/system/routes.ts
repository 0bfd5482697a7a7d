import type { Connection } from "mongoose";
import { HealthResponseSchema, OpenApiDocumentSchema, ReadinessResponseSchema } from "../../../shared/system.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import { AppError } from "../http/errors.js";
import { OPENAPI_PATH, type OpenApiDocument } from "../http/openapi.js";

const tags = ["system"];
const PING_TIMEOUT_MS = 2000;

export interface SystemRouteDeps {
  connection: Connection;
  /** True once shutdown began: a draining instance reports not ready so balancers move on. */
  isDraining: () => boolean;
  openApiDocument: () => OpenApiDocument;
}

export function registerSystemRoutes(api: ApiRouter, deps: SystemRouteDeps): void {
  defineRoute(api, {
    method: "get",
    path: "/healthz",
    summary: "Liveness: the process answers",
    tags,
    auth: "none",
    response: HealthResponseSchema,
    handler: async () => ({ status: "ok" as const }),
  });

  defineRoute(api, {
    method: "get",
    path: "/readyz",
    summary: "Readiness: the database answers a ping",
    tags,
    auth: "none",
    response: ReadinessResponseSchema,
    errors: { 503: "Database unreachable or shutting down (SERVICE_UNAVAILABLE)" },
    handler: async () => {
      if (deps.isDraining()) throw notReady("shutting down");
      if (!(await pingDatabase(deps.connection))) throw notReady("database unreachable");
      return { status: "ready" as const, database: "up" as const };
    },
  });

  defineRoute(api, {
    method: "get",
    path: OPENAPI_PATH,
    summary: "This API's OpenAPI 3.1 document",
    tags,
    auth: "none",
    response: OpenApiDocumentSchema,
    handler: async () => deps.openApiDocument(),
  });
}

function notReady(reason: string): AppError {
  return new AppError(503, "SERVICE_UNAVAILABLE", `Not ready: ${reason}.`, { extra: { database: reason === "database unreachable" ? "down" : "up" } });
}

async function pingDatabase(connection: Connection): Promise<boolean> {
  const db = connection.db;
  if (!db || connection.readyState !== 1) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
  });
  try {
    return await Promise.race([db.command({ ping: 1 }).then((r) => r.ok === 1), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
