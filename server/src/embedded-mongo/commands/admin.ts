import os from "node:os";
import { Long, type Document } from "bson";
import { MongoCommandError } from "../errors.js";
import type { CommandContext, CommandHandler } from "../engine.js";

export const SERVER_VERSION = "7.0.0";
/** Wire version 21 is MongoDB 7.0; the current Node driver accepts 8 (4.2) and up. */
const MAX_WIRE_VERSION = 21;

function hello(ctx: CommandContext): Document {
  return {
    helloOk: true,
    isWritablePrimary: true,
    ismaster: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
  };
}

function buildInfo(): Document {
  return {
    version: SERVER_VERSION,
    gitVersion: "markethub-embedded",
    versionArray: [7, 0, 0, 0],
    bits: 64,
    maxBsonObjectSize: 16 * 1024 * 1024,
    storageEngines: ["embedded"],
    modules: [],
    javascriptEngine: "none",
  };
}

function listDatabases(ctx: CommandContext): Document {
  const databases = ctx.engine.storage.databaseNames().map((name) => {
    const colls = ctx.engine.storage.collections(name);
    const docs = colls.reduce((n, c) => n + c.docs.size, 0);
    return { name, sizeOnDisk: docs * 256, empty: docs === 0 };
  });
  if (ctx.cmd.nameOnly) return { databases: databases.map(({ name }) => ({ name })) };
  return { databases, totalSize: databases.reduce((n, d) => n + d.sizeOnDisk, 0) };
}

function notSupported(what: string): CommandHandler {
  return () => {
    throw new MongoCommandError("CommandNotSupported", `${what} is not supported by the embedded engine`);
  };
}

function noReplicaSet(): Document {
  throw new MongoCommandError("NoReplicationEnabled", "not running with --replSet");
}

function noTransactions(): Document {
  throw new MongoCommandError("IllegalOperation", "Transaction numbers are only allowed on a replica set member or mongos");
}

export const adminCommands: Record<string, CommandHandler> = {
  hello,
  isMaster: hello,
  ping: () => ({}),
  buildInfo,
  getParameter: (ctx) => {
    const out: Document = {};
    if (ctx.cmd.featureCompatibilityVersion || ctx.target === "*") out.featureCompatibilityVersion = { version: "7.0" };
    if (ctx.cmd.authenticationMechanisms || ctx.target === "*") out.authenticationMechanisms = [];
    return out;
  },
  getCmdLineOpts: () => ({ argv: ["embedded-mongo"], parsed: {} }),
  hostInfo: () => ({ system: { hostname: os.hostname(), numCores: os.cpus().length }, os: { type: os.type() } }),
  serverStatus: (ctx) => ({
    host: os.hostname(),
    version: SERVER_VERSION,
    process: "embedded-mongo",
    pid: Long.fromNumber(process.pid),
    uptime: (Date.now() - ctx.engine.startedAt.getTime()) / 1000,
    localTime: new Date(),
    connections: { current: 0, available: 1000 },
    metrics: { cursor: { open: { total: ctx.engine.cursors.size } } },
  }),
  whatsmyuri: () => ({ you: "127.0.0.1" }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] } }),
  endSessions: () => ({}),
  refreshSessions: () => ({}),
  killAllSessions: () => ({}),
  startSession: () => ({ id: { id: crypto.randomUUID() }, timeoutMinutes: 30 }),
  listDatabases,
  dbStats: (ctx) => {
    const colls = ctx.engine.storage.collections(ctx.db);
    const objects = colls.reduce((n, c) => n + c.docs.size, 0);
    return { db: ctx.db, collections: colls.length, objects, indexes: colls.reduce((n, c) => n + c.indexSpecs.length + 1, 0) };
  },
  replSetGetStatus: noReplicaSet,
  abortTransaction: noTransactions,
  commitTransaction: noTransactions,
  saslStart: notSupported("authentication"),
  saslContinue: notSupported("authentication"),
  authenticate: notSupported("authentication"),
  logout: () => ({}),
  getLog: () => ({ totalLinesWritten: 0, log: [] }),
  getFreeMonitoringStatus: () => ({ state: "disabled" }),
  features: () => ({}),
  getLastError: () => ({ err: null, n: 0 }),
  fsync: (ctx) => {
    ctx.engine.storage.commit();
    return { numFiles: 1 };
  },
  compact: (ctx) => {
    ctx.engine.storage.compact();
    return {};
  },
};
