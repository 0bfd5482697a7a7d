/**
 * `npm start`: config → logger → database → background services → app → listen; on SIGTERM or
 * SIGINT: stop accepting, finish requests in flight, stop services, close the database (which
 * flushes the embedded engine's journal), exit 0.
 */
import type { Server } from "node:http";
import type { Logger } from "pino";
import { createApp } from "./app.js";
import { loadConfig, type Config } from "./config.js";
import { connectDatabase, type Database } from "./db/connect.js";
import { addressOf, closeGracefully, listen } from "./lifecycle/http-server.js";
import { ServiceGroup } from "./lifecycle/services.js";
import { createLogger } from "./logger.js";
import { ensureDashboardBuilt } from "./web/build.js";

function readConfigOrExit(): { config: Config; warnings: string[] } {
  const result = loadConfig(process.env);
  if (!result.ok) {
    process.stderr.write(`Invalid configuration:\n${result.problems.map((p) => `  - ${p}\n`).join("")}`);
    process.exit(1);
  }
  return result;
}

async function main(): Promise<void> {
  const { config, warnings } = readConfigOrExit();
  const logger = createLogger(config);
  for (const warning of warnings) logger.warn(warning);

  let draining = false;
  let database: Database | null = null;
  let services: ServiceGroup | null = null;
  let server: Server | null = null;

  const shutdown = async (signal: string): Promise<void> => {
    if (draining) return;
    draining = true;
    logger.info({ signal }, "shutting down");
    const clean = server ? await closeGracefully(server, config.shutdownTimeoutSeconds * 1000) : true;
    if (!clean) logger.warn("requests still running at the shutdown timeout were cut");
    await services?.stopAll();
    await database?.close();
    logger.info("stopped");
    process.exit(0);
  };
  process.once("SIGTERM", (signal) => void shutdown(signal));
  process.once("SIGINT", (signal) => void shutdown(signal));

  await buildDashboard(logger);
  try {
    database = await connectDatabase({ mongodbUri: config.mongodbUri, dataDir: config.dataDir, timeoutMs: config.mongodbTimeoutMs, transport: config.embeddedEngineTransport }, logger);
    const { app, background } = await createApp({ config, logger, connection: database.connection, isDraining: () => draining });
    services = new ServiceGroup(background, logger);
    await services.startAll();
    server = await listen(app, config.port, config.host);
    const { host, port } = addressOf(server);
    logger.info({ host, port }, `listening on http://${host.includes(":") ? `[${host}]` : host}:${port}`);
  } catch (err) {
    await failStartup(logger, err, services, database);
  }
}

/** The API works without the dashboard: a failed build is reported, not fatal. */
async function buildDashboard(logger: Logger): Promise<void> {
  try {
    const { built } = await ensureDashboardBuilt();
    if (built) logger.info("web dashboard built");
  } catch (err) {
    logger.warn({ err }, "web dashboard build failed; the API is served without it");
  }
}

async function failStartup(logger: Logger, err: unknown, services: ServiceGroup | null, database: Database | null): Promise<never> {
  logger.fatal({ err }, "startup failed");
  await services?.stopAll();
  await database?.close().catch(() => undefined);
  process.exit(1);
}

void main();
