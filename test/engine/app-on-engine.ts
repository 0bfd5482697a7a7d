import { connectDatabase, type Database, type EmbeddedEngineTransport } from "../../server/src/db/connect.js";
import { startEmbeddedMongo, type EmbeddedMongo } from "../../server/src/embedded-mongo/index.js";

/** An engine of the test's own, the app's connection to it, and the names of the commands it ran. */
export interface AppOnEngine {
  embedded: EmbeddedMongo;
  db: Database;
  /** Command names the engine ran, in order. */
  commands: string[];
}

/** Starts an engine and connects the app to database `dbName` on it by `transport`. */
export async function appOnEngine(transport: EmbeddedEngineTransport, dbName: string): Promise<AppOnEngine> {
  const embedded = await startEmbeddedMongo();
  const commands: string[] = [];
  const run = embedded.engine.run.bind(embedded.engine);
  embedded.engine.run = (cmd, connectionId) => {
    commands.push(Object.keys(cmd)[0]);
    return run(cmd, connectionId);
  };
  const db = await connectDatabase({ mongodbUri: `${embedded.uri}/${dbName}`, dataDir: null, transport, timeoutMs: 2_000 });
  return { embedded, db, commands };
}
