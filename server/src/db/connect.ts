import path from "node:path";
import mongoose from "mongoose";
import type { Logger } from "pino";
import { startEmbeddedMongo, type EmbeddedMongo } from "../embedded-mongo/index.js";

export interface DatabaseOptions {
  /** A real MongoDB; when absent the embedded engine is started. */
  mongodbUri?: string;
  /** Where the embedded engine keeps its journal; null for memory only (tests). */
  dataDir: string | null;
  /** Database name used on the embedded engine. */
  dbName?: string;
  /** How long an operation waits for an unreachable database (server selection, mongoose buffering). */
  timeoutMs?: number;
}

export interface Database {
  connection: mongoose.Connection;
  /** The URI mongoose connected to (also handed to Agenda). */
  uri: string;
  kind: "mongodb" | "embedded";
  embedded: EmbeddedMongo | null;
  close(): Promise<void>;
}

/** Connects mongoose to MONGODB_URI when set, otherwise to an embedded engine started here. */
export async function connectDatabase(options: DatabaseOptions, logger?: Logger): Promise<Database> {
  let embedded: EmbeddedMongo | null = null;
  let uri = options.mongodbUri;
  if (!uri) {
    const dataDir = options.dataDir === null ? null : path.join(options.dataDir, "db");
    embedded = await startEmbeddedMongo({ dataDir });
    uri = `${embedded.uri}/${options.dbName ?? "markethub"}`;
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  // While disconnected mongoose queues operations; they fail (then answer 503) after
  // bufferTimeoutMS, a connection option mongoose reads but does not declare in its types.
  const connectOptions: mongoose.ConnectOptions & { bufferTimeoutMS: number } = { serverSelectionTimeoutMS: timeoutMs, bufferTimeoutMS: timeoutMs };
  const connection = mongoose.createConnection(uri, connectOptions);
  try {
    await connection.asPromise();
  } catch (err) {
    await embedded?.close();
    throw err;
  }
  const kind = embedded ? "embedded" : "mongodb";
  logger?.info({ database: kind, host: new URL(uri.replace(/^mongodb(\+srv)?:/, "http:")).host }, `database: ${kind === "embedded" ? "embedded engine" : "MongoDB"}`);
  return {
    connection,
    uri,
    kind,
    embedded,
    async close() {
      await connection.close();
      await embedded?.close();
    },
  };
}
