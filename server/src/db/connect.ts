import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import mongoose from "mongoose";
import type { Logger } from "pino";
import { embeddedMongoAt, inProcessClientOptions, startEmbeddedMongo, type EmbeddedMongo } from "../embedded-mongo/index.js";

export type EmbeddedEngineTransport = "in-process" | "socket";

export interface DatabaseOptions {
  /** A real MongoDB; when absent the embedded engine is started. */
  mongodbUri?: string;
  /** Where the embedded engine keeps its journal; null for memory only (tests). */
  dataDir: string | null;
  /** Database name used on the embedded engine. */
  dbName?: string;
  /** How long an operation waits for an unreachable database (server selection, mongoose buffering). */
  timeoutMs?: number;
  /**
   * How to reach an engine running in this process (started here, or the one `mongodbUri` points
   * at): "in-process" (default) hands commands to it directly, "socket" goes through its socket as
   * any other client does. A database in another process is always reached over the wire.
   */
  transport?: EmbeddedEngineTransport;
}

export interface Database {
  connection: mongoose.Connection;
  /** The URI mongoose connected to (also handed to Agenda). */
  uri: string;
  kind: "mongodb" | "embedded";
  /** "in-process" when commands go straight to an engine running in this process. */
  transport: "in-process" | "wire";
  embedded: EmbeddedMongo | null;
  close(): Promise<void>;
}

const engineInProcess = new WeakMap<mongoose.Connection, EmbeddedMongo>();

/** The engine `connection` hands its commands to in this process; null when it speaks the wire. */
export function inProcessEngineOf(connection: mongoose.Connection): EmbeddedMongo | null {
  return engineInProcess.get(connection) ?? null;
}

/** Connects mongoose to MONGODB_URI when set, otherwise to an embedded engine started here. */
export async function connectDatabase(options: DatabaseOptions, logger?: Logger): Promise<Database> {
  let embedded: EmbeddedMongo | null = null;
  let uri = options.mongodbUri;
  let socketDir: PrivateSocketDir | null = null;
  if (!uri) {
    const dataDir = options.dataDir === null ? null : path.join(options.dataDir, "db");
    // The engine has no authentication: it listens on a Unix socket in a directory only this user
    // can enter (the data directory itself), never on a port any local process could connect to.
    socketDir = privateSocketDir(dataDir, logger);
    try {
      embedded = await startEmbeddedMongo({ dataDir, socketPath: socketDir.socketPath });
    } catch (err) {
      socketDir.remove();
      throw err;
    }
    uri = `${embedded.uri}/${options.dbName ?? "markethub"}`;
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  // While disconnected mongoose queues operations; they fail (then answer 503) after
  // bufferTimeoutMS, a connection option mongoose reads but does not declare in its types.
  const connectOptions: mongoose.ConnectOptions & { bufferTimeoutMS: number } = { serverSelectionTimeoutMS: timeoutMs, bufferTimeoutMS: timeoutMs };
  const local = (options.transport ?? "in-process") === "in-process" ? (embedded ?? embeddedMongoAt(uri)) : null;
  if (local) Object.assign(connectOptions, inProcessClientOptions(mongoose.mongo, local));
  const connection = mongoose.createConnection(uri, connectOptions);
  if (local) engineInProcess.set(connection, local);
  try {
    await connection.asPromise();
  } catch (err) {
    await embedded?.close();
    socketDir?.remove();
    throw err;
  }
  const kind = embedded ? "embedded" : "mongodb";
  const transport = local ? "in-process" : "wire";
  logger?.info({ database: kind, host: embedded ? embedded.host : hostsOf(uri), transport }, `database: ${kind === "embedded" ? "embedded engine" : "MongoDB"}`);
  return {
    connection,
    uri,
    kind,
    transport,
    embedded,
    async close() {
      await connection.close();
      await embedded?.close();
      socketDir?.remove();
    },
  };
}

/** "user:pass@host1,host2/db?x" → "host1,host2": never the credentials. */
function hostsOf(uri: string): string {
  const authority = uri.replace(/^mongodb(\+srv)?:\/\//, "").split(/[/?]/)[0];
  return authority.slice(authority.lastIndexOf("@") + 1);
}

/** Unix socket paths are limited to 107 bytes (sun_path); a deeper DATA_DIR uses a private temp dir. */
const MAX_SOCKET_PATH = 100;
const SOCKET_FILE = "engine.sock";

interface PrivateSocketDir {
  socketPath: string;
  remove(): void;
}

function privateSocketDir(dataDir: string | null, logger?: Logger): PrivateSocketDir {
  if (dataDir !== null) {
    const socketPath = path.resolve(dataDir, SOCKET_FILE);
    // The engine creates dataDir owner-only (0700) before it listens.
    if (Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH) return { socketPath, remove: () => undefined };
    logger?.warn({ dataDir }, "DATA_DIR is too deep for a Unix socket path: the engine's socket goes to a private temporary directory");
  }
  // mkdtemp creates the directory 0700.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "markethub-db-"));
  return { socketPath: path.join(dir, SOCKET_FILE), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
