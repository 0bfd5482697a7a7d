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
  const connection = mongoose.createConnection(uri, { serverSelectionTimeoutMS: 10_000 });
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
