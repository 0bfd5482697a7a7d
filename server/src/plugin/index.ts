/**
 * The plugin module: extension tasks (creation, views, sync), their delivery to the seller's
 * browser (poll, long-poll), leases and the lease sweeper, and the results the extension sends.
 * Routes under /api/plugin and /api/sync. Built by the composition root (server/src/compose.ts).
 */
import type { Logger } from "pino";
import type { PluginConfig } from "../config.js";
import type { Principal } from "../http/context.js";
import type { ApiRouter } from "../http/define-route.js";
import type { BackgroundService } from "../lifecycle/services.js";
import type { TaskLifecycle } from "../tasks/lifecycle/index.js";
import type { VintedResultApplier } from "../vinted/apply-results.js";
import { ExtensionDelivery } from "./delivery.js";
import { ExtensionLeases } from "./leases.js";
import { ExtensionResults } from "./results.js";
import { registerPluginRoutes } from "./routes.js";
import { PluginService } from "./service.js";
import { SellerUploadGate } from "./upload-gate.js";

export const DEFAULT_PLUGIN_CONFIG: PluginConfig = {
  pollIntervalMs: 5_000,
  pollToleranceMs: 500,
  longPollRecheckMs: 1_000,
  leaseSweepMs: 1_000,
  bodyLimit: "25mb",
  uploadsPerSeller: 2,
};

export interface PluginModule {
  /** Creation (also of vinted.* tasks posted to /tasks/), the seller's views, sync requests. */
  tasks: PluginService;
  delivery: ExtensionDelivery;
  leases: ExtensionLeases;
  results: ExtensionResults;
  /** Large uploads (results, heartbeats) being read, per seller. */
  uploads: SellerUploadGate;
  registerRoutes(api: ApiRouter): void;
  /** The lease sweeper and the long-poll waiters; stopping it also answers every held long-poll. */
  service: BackgroundService;
}

export interface PluginModuleOptions {
  config?: PluginConfig;
  /** Shutdown has begun: held long-polls are answered at once. */
  isDraining?: () => boolean;
  isSessionOpen?: (principal: Principal) => Promise<boolean>;
  /** The brands a seller is a member of now: a removed member is handed none of that brand's tasks and posts nothing into it. */
  memberBrandIds?: (userId: number) => Promise<number[]>;
}

export function createPluginModule(lifecycle: TaskLifecycle, applier: VintedResultApplier, logger: Logger, options: PluginModuleOptions = {}): PluginModule {
  const config = options.config ?? DEFAULT_PLUGIN_CONFIG;
  const log = logger.child({ module: "plugin" });
  const memberBrandIds = options.memberBrandIds ?? null;
  const leases = new ExtensionLeases(lifecycle, { sweepMs: config.leaseSweepMs }, log, memberBrandIds);
  const delivery = new ExtensionDelivery({
    tasks: lifecycle.tasks,
    leases,
    config,
    logger: log,
    isDraining: options.isDraining ?? (() => false),
    isSessionOpen: options.isSessionOpen ?? (async () => true),
  });
  const results = new ExtensionResults({ lifecycle, leases, applier, memberBrandIds });
  const tasks = new PluginService(lifecycle);
  const uploads = new SellerUploadGate(config.uploadsPerSeller);
  return {
    tasks,
    delivery,
    leases,
    results,
    uploads,
    registerRoutes: (api) => registerPluginRoutes(api, { tasks, delivery, results, largeBodyLimit: config.bodyLimit, uploads }),
    service: {
      name: "plugin-leases",
      start: async () => {
        await delivery.open();
        leases.start();
      },
      stop: async () => {
        leases.stop();
        delivery.close();
      },
    },
  };
}
