import net from "node:net";
import { Engine } from "./engine.js";
import { ErrorCodes } from "./errors.js";
import { BSON } from "bson";
import { MAX_REPLY_BYTES, MessageSplitter, encodeOpMsgReply, encodeOpReply, parseMessage } from "./wire.js";

export interface EmbeddedMongoOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Where the journal lives; null or undefined keeps data in memory only. */
  dataDir?: string | null;
  /** fsync each acknowledged write, for durability across power loss too. */
  fsync?: boolean;
  /** How often TTL indexes are enforced (mongod: 60 s). */
  ttlIntervalMs?: number;
}

export interface EmbeddedMongo {
  readonly host: string;
  readonly port: number;
  /** `mongodb://host:port` — append a database name for mongoose. */
  readonly uri: string;
  readonly engine: Engine;
  close(): Promise<void>;
}

/** Starts the MongoDB-compatible engine on a loopback TCP port. */
export async function startEmbeddedMongo(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const host = options.host ?? "127.0.0.1";
  const engine = new Engine({ dataDir: options.dataDir ?? null, fsync: options.fsync });
  const sockets = new Set<net.Socket>();
  let nextConnectionId = 1;

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    serveConnection(engine, socket, nextConnectionId++);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
  } catch (err) {
    // Port taken: give the data directory (journal, lock) back before reporting it.
    engine.close();
    throw err;
  }
  const port = (server.address() as net.AddressInfo).port;

  const ttlTimer = setInterval(() => engine.expireDocuments(), options.ttlIntervalMs ?? 1000);
  ttlTimer.unref();

  let closed: Promise<void> | null = null;
  return {
    host,
    port,
    uri: `mongodb://${host}:${port}`,
    engine,
    close() {
      closed ??= new Promise<void>((resolve) => {
        clearInterval(ttlTimer);
        server.close(() => {
          engine.close();
          resolve();
        });
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}

function serveConnection(engine: Engine, socket: net.Socket, connectionId: number): void {
  const splitter = new MessageSplitter();
  socket.on("data", (chunk: Buffer) => {
    for (const message of splitter.push(chunk)) {
      let reply: Buffer | null;
      try {
        reply = answer(engine, message, connectionId);
      } catch {
        // Only an unreadable frame gets here; there is nothing sensible to answer.
        socket.destroy();
        return;
      }
      if (reply) socket.write(reply);
    }
  });
}

function answer(engine: Engine, message: Buffer, connectionId: number): Buffer | null {
  let request;
  try {
    request = parseMessage(message);
  } catch (err) {
    const responseTo = message.readInt32LE(4);
    const errmsg = err instanceof Error ? err.message : String(err);
    return encodeOpMsgReply(responseTo, { ok: 0, errmsg, code: ErrorCodes.FailedToParse, codeName: "FailedToParse" });
  }
  const reply = engine.run(request.command, connectionId);
  if (request.noReply) return null;
  const encode = request.legacy ? encodeOpReply : encodeOpMsgReply;
  try {
    return encode(request.header.requestId, reply);
  } catch {
    // A reply over BSON's size limit (say, an aggregation result of 20 MB) is the command's error,
    // as on mongod, not a reason to drop the connection.
    const size = BSON.calculateObjectSize(reply);
    const errmsg = `BSONObj size: ${size} (0x${size.toString(16).toUpperCase()}) is invalid. Size must be between 0 and ${MAX_REPLY_BYTES}(16MB)`;
    return encode(request.header.requestId, { ok: 0, errmsg, code: ErrorCodes.BSONObjectTooLarge, codeName: "BSONObjectTooLarge" });
  }
}
