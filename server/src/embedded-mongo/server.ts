import fs from "node:fs";
import net from "node:net";
import { Engine } from "./engine.js";
import { ErrorCodes } from "./errors.js";
import { BSON } from "bson";
import { MAX_REPLY_BYTES, MessageSplitter, encodeOpMsgReply, encodeOpReply, parseMessage } from "./wire.js";

export interface EmbeddedMongoOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /**
   * Listen on this Unix socket instead of TCP. The engine has no authentication, so its socket must
   * sit in a directory only its owner can enter (the socket itself is made 0600 as well); a socket
   * left behind by a killed engine is replaced.
   */
  socketPath?: string;
  /** Where the journal lives; null or undefined keeps data in memory only. */
  dataDir?: string | null;
  /** fsync each acknowledged write, for durability across power loss too. */
  fsync?: boolean;
  /** How often TTL indexes are enforced (mongod: 60 s). */
  ttlIntervalMs?: number;
}

export interface EmbeddedMongo {
  /** The TCP host, or the socket's path. */
  readonly host: string;
  /** The TCP port; 0 on a Unix socket. */
  readonly port: number;
  /** `mongodb://host:port` or `mongodb://%2Fpath%2Fto.sock` — append a database name for mongoose. */
  readonly uri: string;
  readonly engine: Engine;
  close(): Promise<void>;
}

/** Starts the MongoDB-compatible engine on a loopback TCP port, or on a Unix socket. */
export async function startEmbeddedMongo(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const socketPath = options.socketPath;
  const host = socketPath ?? options.host ?? "127.0.0.1";
  // The engine (and with it the data directory's lock) comes first: only its holder may replace a
  // socket file left in that directory by a killed predecessor.
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
    if (socketPath) removeStaleSocket(socketPath);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      if (socketPath) server.listen(socketPath, () => resolve());
      else server.listen(options.port ?? 0, host, () => resolve());
    });
    // The private directory is what keeps others out; the socket's own mode says so as well.
    if (socketPath) fs.chmodSync(socketPath, 0o600);
  } catch (err) {
    // Port taken: give the data directory (journal, lock) back before reporting it.
    server.close();
    engine.close();
    throw err;
  }
  const port = socketPath ? 0 : (server.address() as net.AddressInfo).port;

  const ttlTimer = setInterval(() => engine.expireDocuments(), options.ttlIntervalMs ?? 1000);
  ttlTimer.unref();

  let closed: Promise<void> | null = null;
  return {
    host,
    port,
    uri: socketPath ? `mongodb://${encodeURIComponent(socketPath)}` : `mongodb://${host}:${port}`,
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

/** A socket file whose engine is gone (nothing accepts on it); anything else at that path is an error. */
function removeStaleSocket(socketPath: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new Error(`${socketPath} exists and is not a socket`);
  fs.rmSync(socketPath);
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
