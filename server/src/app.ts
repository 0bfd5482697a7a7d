/**
 * The Express application, built from its dependencies. Importing this module starts nothing:
 * main.ts (and the tests) decide when to connect, listen and stop.
 */
import express, { type Express } from "express";
import type { Connection } from "mongoose";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { authenticate } from "./auth/middleware.js";
import { createBatchesModule, type BatchesModule } from "./batches/index.js";
import { authModels } from "./auth/model.js";
import { registerAuthRoutes } from "./auth/routes.js";
import { AuthService } from "./auth/service.js";
import { resolveBrand } from "./brands/middleware.js";
import { registerBrandRoutes } from "./brands/routes.js";
import { BrandService } from "./brands/service.js";
import { ApiRouter, finishRouter, type RouteInfo } from "./http/define-route.js";
import { errorHandler, unknownRoute } from "./http/error-handler.js";
import { createOpenApiRegistry, docsMiddleware, generateOpenApiDocument, type OpenApiDocument } from "./http/openapi.js";
import { requestLogging } from "./http/request-logging.js";
import { authRateLimit, corsMiddleware, securityHeaders } from "./http/security.js";
import { pluginBodyParser } from "./plugin/index.js";
import { registerSystemRoutes } from "./system/routes.js";
import { createTaskHub, type TaskHub } from "./tasks/hub.js";

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
  | "pollRateLimit"
  | "trustProxy"
  | "tasks"
  | "plugin"
>;

export interface AppDeps {
  config: AppConfig;
  logger: Logger;
  /** The app's own mongoose connection (connectDatabase().connection): every model binds to it. */
  connection: Connection;
  /** Shutdown has begun: /readyz answers 503 so load balancers move on. */
  isDraining?: () => boolean;
}

export interface AppServices {
  auth: AuthService;
  brands: BrandService;
  /** Task hub; its execution is started by main.ts (or a test), never by createApp. */
  hub: TaskHub;
  /** Selling accounts, batches, dashboard. */
  batches: BatchesModule;
}

export interface AppDescription {
  /** Every API route as defined (method, Express path, auth mode…). */
  routes: RouteInfo[];
  services: AppServices;
  openApiDocument: () => OpenApiDocument;
}

const descriptions = new WeakMap<Express, AppDescription>();

/** What createApp built into an app: its route definitions, services and OpenAPI document. */
export function describeApp(app: Express): AppDescription {
  const description = descriptions.get(app);
  if (!description) throw new Error("not an app built by createApp");
  return description;
}

export async function createApp(deps: AppDeps): Promise<Express> {
  const { config, logger, connection } = deps;
  const isDraining = deps.isDraining ?? (() => false);

  const brands = new BrandService(connection, authModels(connection).User);
  const tokenSettings = {
    secret: config.jwtSecret,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
  };
  const auth = new AuthService(connection, tokenSettings, brands, logger);
  const hub = createTaskHub(connection, config.tasks, logger, {
    plugin: config.plugin,
    isDraining,
    isSessionOpen: (principal) => auth.isSessionOpen(principal),
  });
  const batches = createBatchesModule(connection, hub, logger, { pollRateLimit: config.pollRateLimit });
  // Unique indexes must exist before the first request can race on them.
  await Promise.all([auth.init(), brands.init(), hub.init(), batches.init()]);

  const registry = createOpenApiRegistry();
  const api = new ApiRouter({
    registry,
    validateResponses: !config.isProduction,
    guards: {
      authenticate: (required) => authenticate(auth, required),
      resolveBrand: (options) => resolveBrand(brands, options),
    },
  });
  let document: OpenApiDocument | null = null;
  const openApiDocument = () => (document ??= generateOpenApiDocument(registry));

  registerSystemRoutes(api, { connection, isDraining, openApiDocument });
  registerAuthRoutes(api, auth, authRateLimit({ limit: config.authRateLimit, windowSeconds: config.authRateWindowSeconds }));
  registerBrandRoutes(api, brands);
  hub.registerRoutes(api);
  batches.registerRoutes(api);

  const app = express();
  // Express 5's default, pinned: `?a[$ne]=x` stays the literal key "a[$ne]", never a nested object.
  app.set("query parser", "simple");
  app.set("trust proxy", config.trustProxy);
  app.use(requestLogging(logger));
  app.use(securityHeaders());
  app.use(corsMiddleware(config.corsOrigins));
  // Plugin results (a complete wardrobe sync) may exceed the general body limit.
  app.use("/api/plugin", pluginBodyParser(config.plugin.bodyLimit));
  app.use(express.json({ limit: config.bodyLimit }));
  app.use(docsMiddleware());
  app.use(finishRouter(api));
  app.use(unknownRoute);
  app.use(errorHandler);

  descriptions.set(app, { routes: api.routes, services: { auth, brands, hub, batches }, openApiDocument });
  return app;
}
