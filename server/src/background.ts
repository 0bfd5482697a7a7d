/**
 * The background services main.ts runs beside the HTTP server. Empty for now; the Agenda scheduler
 * is the first to come: `return [agendaService({ uri: database.uri, logger, config })]`.
 */
import type { Logger } from "pino";
import type { Database } from "./db/connect.js";
import type { Config } from "./config.js";
import type { BackgroundService } from "./lifecycle/services.js";

export interface BackgroundDeps {
  config: Config;
  logger: Logger;
  database: Database;
}

export function backgroundServices(_deps: BackgroundDeps): BackgroundService[] {
  return [];
}
