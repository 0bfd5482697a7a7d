/**
 * The Express application, built from its dependencies. Importing this module starts nothing:
 * main.ts (and the tests) decide when to connect, listen and stop.
 */
import express, { type Express } from "express";
import type { Connection } from "mongoose";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { authenticate } from "./auth/middleware.js";
import { registerAuthRoutes } from "./auth/routes.js";
import { resolveBrand } from "./brands/middleware.js";
import { registerBrandRoutes } from "./brands/routes.js";
import { compose, type Services } from "./compose.js";
import { ApiRouter, finishRouter, type RouteInfo } from "./http/define-route.js";
import { errorHandler, unknownRoute } from "./http/error-handler.js";
import { createOpenApiRegistry, docsMiddleware, generateOpenApiDocument, type OpenApiDocument } from "./http/openapi.js";
import { requestLogging } from "./http/request-logging.js";
import { authRateLimit, corsMiddleware, securityHeaders } from "./http/security.js";
import { DatabaseRateLimitStore, throttleModel } from "./auth/throttle.js";
import { registerSystemRoutes } from "./system/routes.js";
import type { BackgroundService } from "./lifecycle/services.js";
import { WEB_DIST } from "./web/paths.js";
import { dashboardMiddleware } from "./web/static.js";

export type AppConfig = Pick<
  Config,
  | "isProduction"
  | "corsOrigins"
  | "jwtSecret"
  | "accessTokenTtlSeconds"
  | "refreshTokenTtlSeconds"
  | "bodyLimit"
  | "authRateLimit"
  | "authRateWindowSeconds"
  | "authLockout"
  | "authScryptCost"
  | "authSessionCacheMs"
  | "brandMembershipCacheMs"
  | "pollRateLimit"
  | "retention"
  | "batchCountsQuietMs"
  | "trustProxy"
  | "tasks"
  | "plugin"
  | "dataDir"
  | "credentialsKey"
  | "catalog"
  | "marketplaces"
  | "enhancer"
  | "webhooks"
>;

export interface AppDeps {
  config: AppConfig;
  logger: Logger;
  /** The app's own mongoose connection (connectDatabase().connection): every model binds to it. */
  connection: Connection;
  /** Shutdown has begun: /readyz answers 503 so load balancers move on. */
  isDraining?: () => boolean;
}

/** What createApp built: the Express app, its route definitions, the services behind them and the OpenAPI document. */
export interface BuiltApp {
  app: Express;
  /** Every API route as defined (method, Express path, auth mode…). */
  routes: RouteInfo[];
  /** Every feature's service; `services.lifecycle.events` is where status changes are announced. */
  services: Services;
  /** What main.ts runs beside the HTTP server (task execution, scheduler, alert evaluator, plugin leases), in start order. */
  background: BackgroundService[];
  openApiDocument: () => OpenApiDocument;
}

export async function createApp(deps: AppDeps): Promise<BuiltApp> {
  const { config, logger, connection } = deps;
  const isDraining = deps.isDraining ?? (() => false);

  const composition = compose({ config, logger, connection, isDraining });
  const { auth, brands } = composition.services;
  // Unique indexes must exist before the first request can race on them.
  await composition.init();

  const registry = createOpenApiRegistry();
  const api = new ApiRouter({
    registry,
    validateResponses: !config.isProduction,
    bodyLimit: config.bodyLimit,
    guards: {
      authenticate: (required) => authenticate(auth, required),
      resolveBrand: (options) => resolveBrand(brands, options),
    },
  });
  let document: OpenApiDocument | null = null;
  const openApiDocument = () => (document ??= generateOpenApiDocument(registry));

  registerSystemRoutes(api, { connection, isDraining, openApiDocument });
  const rateLimitStore = new DatabaseRateLimitStore(throttleModel(connection));
  registerAuthRoutes(api, auth, authRateLimit({ limit: config.authRateLimit, windowSeconds: config.authRateWindowSeconds, store: rateLimitStore }));
  registerBrandRoutes(api, brands);
  composition.registerRoutes(api);

  const app = express();
  // Express 5's default, pinned: `?a[$ne]=x` stays the literal key "a[$ne]", never a nested object.
  app.set("query parser", "simple");
  app.set("trust proxy", config.trustProxy);
  app.use(requestLogging(logger));
  app.use(securityHeaders());
  app.use(corsMiddleware(config.corsOrigins));
  // No app-wide body parser: each route reads its body after authentication, within its own limit
  // (define-route.ts); only plugin results and heartbeats accept PLUGIN_BODY_LIMIT.
  app.use(docsMiddleware());
  app.use(finishRouter(api));
  app.use(dashboardMiddleware(WEB_DIST));
  app.use(unknownRoute);
  app.use(errorHandler);

  return { app, routes: api.routes, services: composition.services, background: composition.background, openApiDocument };
}
