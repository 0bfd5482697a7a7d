import type { CommandStartedEvent, CommandSucceededEvent, Db, Document, MongoClientOptions } from "mongodb";
import * as mongodb from "mongodb";
import { MongoClient } from "mongodb";
import { inProcessClientOptions } from "../../server/src/embedded-mongo/index.js";
import { startTestDatabase, type TestDatabase } from "../helpers/mongo.js";

/** A connected client on the suite's database, recording every command it sends (command monitoring). */
export interface DriverContext {
  client: MongoClient;
  started: CommandStartedEvent[];
  succeeded: CommandSucceededEvent[];
  /** Forgets the commands recorded so far. */
  resetEvents(): void;
  commandsNamed(name: string): CommandStartedEvent[];
  repliesTo(name: string): Document[];
}

export async function connect(t: TestDatabase, options: MongoClientOptions = {}): Promise<DriverContext> {
  const client = new MongoClient(t.uri, { monitorCommands: true, serverSelectionTimeoutMS: 5000, ...transportOptions(t), ...options });
  const started: CommandStartedEvent[] = [];
  const succeeded: CommandSucceededEvent[] = [];
  client.on("commandStarted", (e) => started.push(e));
  client.on("commandSucceeded", (e) => succeeded.push(e));
  await client.connect();
  return {
    client,
    started,
    succeeded,
    resetEvents() {
      started.length = 0;
      succeeded.length = 0;
    },
    commandsNamed: (name) => started.filter((e) => e.commandName === name),
    repliesTo: (name) => succeeded.filter((e) => e.commandName === name).map((e) => e.reply as Document),
  };
}

/** Every `stage` named anywhere in an explain plan tree (shapes differ between servers and versions). */
export function planStages(plan: unknown, out: string[] = []): string[] {
  if (Array.isArray(plan)) {
    for (const p of plan) planStages(p, out);
  } else if (plan && typeof plan === "object") {
    for (const [key, value] of Object.entries(plan as Document)) {
      if (key === "stage" && typeof value === "string") out.push(value);
      else planStages(value, out);
    }
  }
  return out;
}

/** Host and port of a `mongodb://[user:pass@]host:port` URI, for raw-socket tests. */
export function hostAndPort(serverUri: string): { host: string; port: number } {
  const url = new URL(serverUri);
  return { host: url.hostname, port: Number(url.port || 27017) };
}

/**
 * These suites test the engine through the wire, as `npm run db` serves it; with
 * EMBEDDED_ENGINE_TRANSPORT=in-process the same suites drive it in-process, as the app does.
 */
function transportOptions(t: TestDatabase): MongoClientOptions {
  if (process.env.EMBEDDED_ENGINE_TRANSPORT !== "in-process" || !t.embedded) return {};
  return inProcessClientOptions(mongodb, t.embedded) as MongoClientOptions;
}

/** Documents of any shape, `_id` of any BSON type (the tests store strings and numbers as ids too). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDoc = any;

/** One suite's database, its monitored client, and the Db handle the tests use. */
export interface DriverSuite {
  t: TestDatabase;
  ctx: DriverContext;
  db: Db;
}

export async function openDriverSuite(prefix: string): Promise<DriverSuite> {
  const t = await startTestDatabase(prefix);
  const ctx = await connect(t);
  return { t, ctx, db: ctx.client.db(t.dbName) };
}

export async function closeDriverSuite(suite: Partial<DriverSuite>): Promise<void> {
  await suite.ctx?.client.close();
  await suite.t?.close();
}
