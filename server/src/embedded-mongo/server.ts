import fs from "node:fs";
import net from "node:net";
import { Engine } from "./engine.js";
import { ErrorCodes } from "./errors.js";
import { replyTooLarge } from "./reply.js";
import { MessageSplitter, encodeOpMsgReply, encodeOpReply, parseMessage } from "./wire.js";

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
  /**
   * false leaves the engine out of embeddedMongoAt(), so clients in this process reach it through its
   * socket like any other client (the test suites' switch to run on the wire).
   */
  reachableInProcess?: boolean;
}

export interface EmbeddedMongo {
  /** The TCP host, or the socket's path. */
  readonly host: string;
  /** The TCP port; 0 on a Unix socket. */
  readonly port: number;
  /** `mongodb://host:port` or `mongodb://%2Fpath%2Fto.sock` — append a database name for mongoose. */
  readonly uri: string;
  readonly engine: Engine;
  /** True once close() began: the engine answers nothing more, in this process or over the socket. */
  readonly closing: boolean;
  /** Commands answered through the socket so far (what shows that a client did not use it). */
  readonly wireCommands: number;
  /** An id for a connection that reaches the engine from this process instead of through the socket. */
  newConnectionId(): number;
  close(): Promise<void>;
}

/** Engines started in this process, by the authority of their URI (`host:port` or the encoded socket path). */
const running = new Map<string, EmbeddedMongo>();

/** The engine running in this very process that `uri` (with or without a database name) points at, if any. */
export function embeddedMongoAt(uri: string): EmbeddedMongo | null {
  return running.get(authorityOf(uri)) ?? null;
}

function authorityOf(uri: string): string {
  return uri.replace(/^mongodb:\/\//, "").split(/[/?]/)[0];
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
  const counters = { wireCommands: 0 };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    serveConnection(engine, socket, nextConnectionId++, counters);
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
  const uri = socketPath ? `mongodb://${encodeURIComponent(socketPath)}` : `mongodb://${host}:${port}`;
  const embedded: EmbeddedMongo = {
    host,
    port,
    uri,
    engine,
    get closing() {
      return closed !== null;
    },
    get wireCommands() {
      return counters.wireCommands;
    },
    newConnectionId: () => nextConnectionId++,
    close() {
      closed ??= new Promise<void>((resolve) => {
        running.delete(authorityOf(uri));
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
  if (options.reachableInProcess !== false) running.set(authorityOf(uri), embedded);
  return embedded;
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

function serveConnection(engine: Engine, socket: net.Socket, connectionId: number, counters: { wireCommands: number }): void {
  const splitter = new MessageSplitter();
  socket.on("data", (chunk: Buffer) => {
    for (const message of splitter.push(chunk)) {
      counters.wireCommands++;
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
    return encode(request.header.requestId, replyTooLarge(reply));
  }
}
