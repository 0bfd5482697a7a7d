/**
 * Marketplaces: the connectors (one folder each), the brands' connections with their sealed
 * credentials, and the routes. The publication pipeline uses `service.connector(id)` and
 * `service.handle(brand, id)`.
 */
import type { Connection } from "mongoose";
import type { MarketplacesConfig } from "../config.js";
import type { ApiRouter } from "../http/define-route.js";
import type { SecretBox } from "../secrets/index.js";
import { createConnectors } from "./registry.js";
import { registerMarketplaceRoutes } from "./routes.js";
import { MarketplaceService } from "./service.js";

export * from "./connector.js";
export { MarketplaceService } from "./service.js";
export type { VintedTaskGateway } from "./vinted/connector.js";

export interface MarketplacesModule {
  service: MarketplaceService;
  init(): Promise<void>;
  registerRoutes(api: ApiRouter): void;
}

export function createMarketplacesModule(connection: Connection, config: MarketplacesConfig, secrets: SecretBox): MarketplacesModule {
  const service = new MarketplaceService(connection, createConnectors(connection, config), secrets);
  return {
    service,
    init: () => service.init(),
    registerRoutes: (api) => registerMarketplaceRoutes(api, service),
  };
}
