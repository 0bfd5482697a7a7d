import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import { startEmbeddedMongo, type EmbeddedMongo } from "../../server/src/embedded-mongo/index.js";

export interface TestDatabase {
  /** Server URI without a database name: `mongodb://host:port`. */
  serverUri: string;
  /** A database name of this test's own. */
  dbName: string;
  /** `serverUri/dbName`, for mongoose and Agenda. */
  uri: string;
  /** The engine, when the suite runs on it (null against a real MongoDB). */
  embedded: EmbeddedMongo | null;
  close(): Promise<void>;
}

/**
 * A fresh database for one suite: an in-memory embedded engine, or — when MONGODB_URI is set — a
 * uniquely named database on that real MongoDB (dropped afterwards), so every suite runs on both.
 */
export async function startTestDatabase(prefix = "test"): Promise<TestDatabase> {
  const dbName = `${prefix}_${randomBytes(4).toString("hex")}`;
  const external = process.env.MONGODB_URI;
  if (external) {
    const url = new URL(external);
    const serverUri = `${url.protocol}//${url.username ? `${url.username}:${url.password}@` : ""}${url.host}`;
    return {
      serverUri,
      dbName,
      uri: `${serverUri}/${dbName}${url.search}`,
      embedded: null,
      async close() {
        const client = await MongoClient.connect(external);
        await client.db(dbName).dropDatabase();
        await client.close();
      },
    };
  }
  // EMBEDDED_ENGINE_TRANSPORT=socket runs the suites with the app on the engine's socket (the wire),
  // as with a separate `npm run db`; by default the app reaches the engine in-process.
  const embedded = await startEmbeddedMongo({ reachableInProcess: process.env.EMBEDDED_ENGINE_TRANSPORT !== "socket" });
  return { serverUri: embedded.uri, dbName, uri: `${embedded.uri}/${dbName}`, embedded, close: () => embedded.close() };
}

export const onRealMongo = Boolean(process.env.MONGODB_URI);
