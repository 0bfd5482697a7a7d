import type { Principal } from "../http/context.js";
/**
 * The plugin module: delivery of extension tasks (routes under /api/plugin and /api/sync), the
 * seller's Vinted data the results fill (/api/v1/vinted), and the lease sweeper. Built by the task
 * hub (server/src/tasks/hub.ts), whose background service starts and stops the sweeper.
 */
import express, { type RequestHandler } from "express";
import type { Connection } from "mongoose";
import type { Logger } from "pino";
import type { PluginConfig } from "../config.js";
import type { ApiRouter } from "../http/define-route.js";
import type { BackgroundService } from "../lifecycle/services.js";
import type { TaskLifecycle } from "../tasks/lifecycle/index.js";
import { registerVintedRoutes } from "../vinted/routes.js";
import { VintedService } from "../vinted/service.js";
import { registerPluginRoutes } from "./routes.js";
import { PluginService } from "./service.js";

export { PluginService } from "./service.js";

export const DEFAULT_PLUGIN_CONFIG: PluginConfig = {
  pollIntervalMs: 5_000,
  pollToleranceMs: 500,
  longPollRecheckMs: 1_000,
  leaseSweepMs: 1_000,
  bodyLimit: "25mb",
};

export interface PluginModule {
  plugin: PluginService;
  vinted: VintedService;
  init(): Promise<void>;
  registerRoutes(api: ApiRouter): void;
  /** The lease sweeper; stopping it also answers every held long-poll. */
  service: BackgroundService;
}

export interface PluginModuleOptions {
  config?: PluginConfig;
  /** Shutdown has begun: held long-polls are answered at once. */
  isDraining?: () => boolean;
  isSessionOpen?: (principal: Principal) => Promise<boolean>;
}

export function createPluginModule(connection: Connection, lifecycle: TaskLifecycle, logger: Logger, options: PluginModuleOptions = {}): PluginModule {
  const vinted = new VintedService(connection);
  const plugin = new PluginService({
    lifecycle,
    vinted,
    config: options.config ?? DEFAULT_PLUGIN_CONFIG,
    logger: logger.child({ module: "plugin" }),
    isDraining: options.isDraining ?? (() => false),
    isSessionOpen: options.isSessionOpen ?? (async () => true),
  });
  return {
    plugin,
    vinted,
    init: () => vinted.init(),
    registerRoutes(api) {
      registerPluginRoutes(api, plugin);
      registerVintedRoutes(api, vinted);
    },
    service: {
      name: "plugin-leases",
      start: async () => plugin.start(),
      stop: async () => plugin.stop(),
    },
  };
}

/**
 * JSON bodies of /api/plugin/* up to PLUGIN_BODY_LIMIT (a complete sync result carries every
 * listing); mounted before the app's own parser, which then leaves these requests alone.
 */
export function pluginBodyParser(limit: string): RequestHandler {
  return express.json({ limit });
}
