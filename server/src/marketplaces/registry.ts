/** The marketplaces MarketHub publishes to. Ids are fixed here, so they are the same on every server. */
import type { Connection } from "mongoose";
import type { MarketplacesConfig } from "../config.js";
import type { MarketplaceConnector } from "./connector.js";
import { MercadoLibreConnector } from "./mercadolibre/connector.js";
import { VintedConnector } from "./vinted/connector.js";

export interface Connectors {
  all: MarketplaceConnector[];
  vinted: VintedConnector;
  mercadolibre: MercadoLibreConnector;
  byId(id: number): MarketplaceConnector | null;
}

export function createConnectors(connection: Connection, config: MarketplacesConfig): Connectors {
  const vinted = new VintedConnector(connection);
  const mercadolibre = new MercadoLibreConnector({ apiUrl: config.mercadolibreApiUrl, timeoutMs: config.mercadolibreTimeoutMs });
  const all = [vinted, mercadolibre] as MarketplaceConnector[];
  return { all, vinted, mercadolibre, byId: (id) => all.find((c) => c.id === id) ?? null };
}
