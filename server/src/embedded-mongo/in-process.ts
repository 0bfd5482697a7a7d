/**
 * The mongodb driver reaching an engine that runs in this process without its socket: a driver
 * `Connection` whose `sendWire` hands the request to the engine and the reply back to the driver, so
 * everything above it (handshake, pools, monitoring, sessions, cursors, errors, mongoose) is the
 * driver's own code, unchanged. The request is still encoded and decoded exactly as on the wire
 * (see request.ts); what goes is the socket: the write, the read, framing and the stream machinery.
 */
import { createRequire } from "node:module";
import type { Document } from "bson";
import { replyBytes } from "./reply.js";
import { engineCommandOf, type DriverRequest } from "./request.js";
import type { EmbeddedMongo } from "./server.js";

const require = createRequire(import.meta.url);

/** The driver's reply type: a lazily parsed BSON document (or a subclass the caller asked for). */
interface ResponseType {
  make(bytes: Uint8Array): unknown;
}

interface DriverConnection {
  throwIfAborted(): void;
}

type ConnectionClass = new (stream: unknown, options: object) => DriverConnection;

interface DriverInternals {
  Connection: ConnectionClass;
  MongoDBResponse: ResponseType & { empty: unknown };
  MongoNetworkError: new (message: string) => Error;
}

/** The driver module as its users import it (`mongoose.mongo`, or `import * as mongodb from "mongodb"`). */
export interface DriverModule {
  MongoClient: unknown;
}

/**
 * MongoClient options that send every command of that client to `embedded` in this process. The
 * option is the driver's own `connectionType` (its pools and monitors build their connections with
 * it); it is not in the driver's public types, hence the plain object.
 */
export function inProcessClientOptions(driver: DriverModule, embedded: EmbeddedMongo): { connectionType: unknown } {
  return { connectionType: inProcessConnectionType(driverInternals(driver), embedded) };
}

const internalsByDriver = new WeakMap<DriverModule, DriverInternals>();

/**
 * Several copies of the driver can be loaded (mongoose bundles its own): the connection class must
 * come from the copy the client belongs to. That copy is found from its public module object, whose
 * file is where the driver's internal modules are resolved from (the package has no `exports` map,
 * and relative requires from its own main file would not be restricted by one anyway).
 */
function driverInternals(driver: DriverModule): DriverInternals {
  const known = internalsByDriver.get(driver);
  if (known) return known;
  // Matched by its MongoClient: an ES module namespace of the driver is not its CommonJS exports object.
  const main = Object.values(require.cache).find((entry) => (entry?.exports as Partial<DriverModule> | undefined)?.MongoClient === driver.MongoClient)?.filename;
  if (!main) throw new Error("the mongodb driver given was not loaded from node_modules");
  const driverRequire = createRequire(main);
  const internals: DriverInternals = {
    Connection: (driverRequire("./cmap/connection.js") as { Connection: ConnectionClass }).Connection,
    MongoDBResponse: (driverRequire("./cmap/wire_protocol/responses.js") as { MongoDBResponse: DriverInternals["MongoDBResponse"] }).MongoDBResponse,
    MongoNetworkError: (driverRequire("./error.js") as { MongoNetworkError: DriverInternals["MongoNetworkError"] }).MongoNetworkError,
  };
  internalsByDriver.set(driver, internals);
  return internals;
}

function inProcessConnectionType(internals: DriverInternals, embedded: EmbeddedMongo): ConnectionClass {
  const { Connection, MongoDBResponse, MongoNetworkError } = internals;
  // The driver still opens its socket to the engine (its connection object is built around one, and
  // closing the engine closes it, which the driver reports as it would over the wire); nothing is
  // written to it.
  return class InProcessConnection extends Connection {
    private readonly engineConnectionId = embedded.newConnectionId();

    async *sendWire(message: DriverRequest, _options: unknown, responseType?: ResponseType): AsyncGenerator<unknown> {
      this.throwIfAborted();
      // Over the socket every command waited for I/O; so does this one, or a loop of awaited
      // queries would hold the event loop (HTTP, timers) until it ends.
      await nextTurn();
      this.throwIfAborted();
      if (embedded.closing) throw new MongoNetworkError(`connection ${this.engineConnectionId} to the embedded engine closed`);
      const { command, noReply } = engineCommandOf(message);
      const reply: Document = embedded.engine.run(command, this.engineConnectionId);
      if (noReply) {
        yield MongoDBResponse.empty;
        return;
      }
      yield (responseType ?? MongoDBResponse).make(replyBytes(reply));
    }
  };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
