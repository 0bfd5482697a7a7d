import net from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { BSON, Long, MongoServerError, type Db, type Document } from "mongodb";
import { WAIT_DEADLINE_MS } from "../tasks/fixtures/tasks.js";
import { onRealMongo, type TestDatabase } from "../helpers/mongo.js";
import { MessageSplitter } from "../../server/src/embedded-mongo/wire.js";
import { closeDriverSuite, openDriverSuite, hostAndPort, type DriverContext, type AnyDoc } from "./driver-helpers.js";

let t: TestDatabase;
let ctx: DriverContext;
let db: Db;

beforeAll(async () => {
  ({ t, ctx, db } = await openDriverSuite("driver_proto"));
});

afterAll(() => closeDriverSuite({ t, ctx }));

// ---------------------------------------------------------------------------------------------
// Raw wire helpers

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

function crc32c(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) crc = CRC32C_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function header(length: number, requestId: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(0, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

function opMsg(requestId: number, command: Document, withChecksum: boolean): Buffer {
  const body = Buffer.from(BSON.serialize(command));
  const flags = Buffer.alloc(4);
  flags.writeUInt32LE(withChecksum ? 1 : 0, 0);
  const length = 16 + 4 + 1 + body.length + (withChecksum ? 4 : 0);
  const withoutCrc = Buffer.concat([header(length, requestId, 2013), flags, Buffer.from([0]), body]);
  if (!withChecksum) return withoutCrc;
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32c(withoutCrc), 0);
  return Buffer.concat([withoutCrc, crc]);
}

function opQuery(requestId: number, fullCollectionName: string, query: Document): Buffer {
  const flags = Buffer.alloc(4);
  const name = Buffer.from(fullCollectionName + "\0", "utf8");
  const skipReturn = Buffer.alloc(8);
  skipReturn.writeInt32LE(0, 0);
  skipReturn.writeInt32LE(-1, 4);
  const body = Buffer.from(BSON.serialize(query));
  const length = 16 + flags.length + name.length + skipReturn.length + body.length;
  return Buffer.concat([header(length, requestId, 2004), flags, name, skipReturn, body]);
}

/** Sends raw frames on one socket and collects `count` whole reply frames. */
async function exchange(frames: Buffer[], count: number): Promise<Buffer[]> {
  const { host, port } = hostAndPort(t.serverUri);
  const socket = net.connect({ host, port });
  try {
    return await new Promise<Buffer[]>((resolve, reject) => {
      let pending = Buffer.alloc(0);
      const replies: Buffer[] = [];
      const timer = setTimeout(() => reject(new Error(`timed out with ${replies.length}/${count} replies`)), WAIT_DEADLINE_MS);
      socket.on("error", reject);
      socket.on("close", () => reject(new Error(`connection closed after ${replies.length}/${count} replies`)));
      socket.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
          const len = pending.readInt32LE(0);
          replies.push(pending.subarray(0, len));
          pending = pending.subarray(len);
        }
        if (replies.length >= count) {
          clearTimeout(timer);
          resolve(replies);
        }
      });
      socket.on("connect", () => {
        for (const f of frames) socket.write(f);
      });
    });
  } finally {
    socket.destroy();
  }
}

function parseOpMsgReply(frame: Buffer): { responseTo: number; opCode: number; flags: number; body: Document } {
  const opCode = frame.readInt32LE(12);
  const flags = frame.readUInt32LE(16);
  expect(frame[20]).toBe(0); // section kind 0
  const size = frame.readInt32LE(21);
  const end = flags & 1 ? frame.length - 4 : frame.length;
  expect(21 + size).toBeLessThanOrEqual(end);
  return { responseTo: frame.readInt32LE(8), opCode, flags, body: BSON.deserialize(frame.subarray(21, 21 + size)) };
}

// ---------------------------------------------------------------------------------------------

describe("handshake and admin commands", () => {
  it("answers hello with a writable primary and the driver's limits", async () => {
    const reply = await db.admin().command({ hello: 1 });
    expect(reply.ok).toBe(1);
    expect(reply.isWritablePrimary).toBe(true);
    expect(reply.maxBsonObjectSize).toBe(16 * 1024 * 1024);
    expect(reply.maxMessageSizeBytes).toBe(48_000_000);
    expect(reply.maxWriteBatchSize).toBe(100_000);
    expect(reply.maxWireVersion).toBeGreaterThanOrEqual(8);
    expect(reply.localTime).toBeInstanceOf(Date);
    expect(typeof reply.connectionId).toBe("number");
    expect(reply.setName).toBeUndefined(); // standalone
  });

  it("answers the legacy isMaster spelling", async () => {
    const reply = await db.admin().command({ isMaster: 1 });
    expect(reply.ok).toBe(1);
    expect(reply.ismaster).toBe(true);
    expect(reply.maxWireVersion).toBeGreaterThanOrEqual(8);
    const lower = await db.admin().command({ ismaster: 1 });
    expect(lower.ismaster).toBe(true);
  });

  it("pings, reports buildInfo and getParameter", async () => {
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
    const info = await db.admin().command({ buildInfo: 1 });
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.versionArray).toHaveLength(4);
    expect(info.versionArray[0]).toBe(Number(String(info.version).split(".")[0]));
    const fcv = await db.admin().command({ getParameter: 1, featureCompatibilityVersion: 1 });
    expect(fcv.ok).toBe(1);
    expect(fcv.featureCompatibilityVersion.version).toMatch(/^\d+\.\d+$/);
  });

  it("accepts endSessions for a session the client used", async () => {
    const session = ctx.client.startSession();
    await db.collection<AnyDoc>("sessions").insertOne({ a: 1 }, { session });
    const id = session.id!;
    await session.endSession();
    const reply = await db.admin().command({ endSessions: [id] });
    expect(reply.ok).toBe(1);
  });

  it("lists databases, with and without nameOnly", async () => {
    await db.collection<AnyDoc>("listed").insertOne({ x: 1 });
    const full = await db.admin().listDatabases();
    const mine = full.databases.find((d) => d.name === t.dbName);
    expect(mine).toBeDefined();
    expect(mine!.empty).toBe(false);
    expect(typeof mine!.sizeOnDisk).toBe("number");
    expect(typeof full.totalSize).toBe("number");
    const names = await db.admin().listDatabases({ nameOnly: true });
    expect(names.databases.map((d) => d.name)).toContain(t.dbName);
    expect(names.databases.find((d) => d.name === t.dbName)).toEqual({ name: t.dbName });
  });

  it("kills a cursor with killCursors; a getMore on it then fails with CursorNotFound", async () => {
    const coll = db.collection<AnyDoc>("killme");
    await coll.insertMany(Array.from({ length: 10 }, (_, i) => ({ i })));
    const first = await db.command({ find: "killme", filter: {}, batchSize: 2 });
    const id = first.cursor.id as Long;
    expect(first.cursor.firstBatch).toHaveLength(2);
    expect(Long.fromValue(id).isZero()).toBe(false);
    const killed = await db.command({ killCursors: "killme", cursors: [id] });
    expect(killed.cursorsKilled.map(String)).toEqual([String(id)]);
    expect(killed.cursorsNotFound).toEqual([]);
    const again = await db.command({ killCursors: "killme", cursors: [id] });
    expect(again.cursorsNotFound.map(String)).toEqual([String(id)]);
    const err = await db.command({ getMore: id, collection: "killme" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect((err as MongoServerError).code).toBe(43);
    expect((err as MongoServerError).codeName).toBe("CursorNotFound");
  });
});

describe("raw wire protocol", () => {
  it("answers an OP_MSG carrying the checksum flag and a CRC32C, then a plain one on the same socket", async () => {
    const [withCrc, plain] = await exchange(
      [opMsg(7001, { hello: 1, $db: "admin" }, true), opMsg(7002, { ping: 1, $db: "admin" }, false)],
      2,
    );
    const a = parseOpMsgReply(withCrc);
    expect(a.opCode).toBe(2013);
    expect(a.responseTo).toBe(7001);
    expect(a.body.ok).toBe(1);
    expect(a.body.isWritablePrimary).toBe(true);
    expect(a.flags & ~1).toBe(0); // no moreToCome / exhaust
    if (a.flags & 1) expect(withCrc.readUInt32LE(withCrc.length - 4)).toBe(crc32c(withCrc.subarray(0, withCrc.length - 4)));
    const b = parseOpMsgReply(plain);
    expect(b.responseTo).toBe(7002);
    expect(b.body.ok).toBe(1);
  });

  it("reassembles a 32 MB OP_MSG that arrives in 64 KB pieces", async () => {
    if (new URL(t.serverUri).username) return; // a raw insert would need authentication
    const { host, port } = hostAndPort(t.serverUri);
    const blob = "z".repeat(1024 * 1024);
    const docs = Array.from({ length: 32 }, (_, i) => Buffer.from(BSON.serialize({ _id: i, blob })));
    const body = Buffer.from(BSON.serialize({ insert: "raw_big", ordered: true, $db: t.dbName }));
    const id = Buffer.from("documents\0", "utf8");
    const seqSize = Buffer.alloc(4);
    seqSize.writeInt32LE(4 + id.length + docs.reduce((n, d) => n + d.length, 0), 0);
    const sections = Buffer.concat([Buffer.from([0]), body, Buffer.from([1]), seqSize, id, ...docs]);
    const frame = Buffer.concat([header(16 + 4 + sections.length, 7201, 2013), Buffer.alloc(4), sections]);
    const socket = net.connect({ host, port });
    try {
      await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      const reply = new Promise<Buffer>((resolve, reject) => {
        let got = Buffer.alloc(0);
        socket.on("data", (chunk: Buffer) => {
          got = Buffer.concat([got, chunk]);
          if (got.length >= 4 && got.length >= got.readInt32LE(0)) resolve(got);
        });
        socket.once("close", () => reject(new Error("connection closed")));
      });
      for (let off = 0; off < frame.length; off += 64 * 1024) {
        // Let the server read each piece before the next one: the socket delivers small chunks.
        if (!socket.write(frame.subarray(off, off + 64 * 1024))) await new Promise((r) => socket.once("drain", r));
        await new Promise((r) => setImmediate(r));
      }
      const { body: answer, responseTo } = parseOpMsgReply(await reply);
      expect(responseTo).toBe(7201);
      expect(answer).toMatchObject({ ok: 1, n: 32 });
    } finally {
      socket.destroy();
    }
    // Every document arrived, the first and the last whole (the message's head and tail).
    const stored = db.collection<AnyDoc>("raw_big");
    expect(await stored.find({}, { projection: { _id: 1 } }).sort({ _id: 1 }).toArray()).toEqual(Array.from({ length: 32 }, (_, i) => ({ _id: i })));
    for (const _id of [0, 31]) expect((await stored.findOne({ _id }))?.blob === blob).toBe(true);
  }, 60_000);

  it("joins the pieces of a message once it is whole, not on every piece (no quadratic copying)", () => {
    const payload = Buffer.alloc(8 * 1024 * 1024, 7);
    const message = Buffer.concat([header(16 + payload.length, 7301, 2013), payload]);
    const splitter = new MessageSplitter();
    let copied = 0;
    const originalConcat = Buffer.concat.bind(Buffer);
    const concat = vi.spyOn(Buffer, "concat").mockImplementation((list: readonly Uint8Array[], totalLength?: number) => {
      const joined = originalConcat(list, totalLength);
      copied += joined.length;
      return joined;
    });
    try {
      const out: Buffer[] = [];
      for (let off = 0; off < message.length; off += 64 * 1024) out.push(...splitter.push(message.subarray(off, off + 64 * 1024)));
      expect(out).toHaveLength(1);
      expect(out[0].equals(message)).toBe(true);
    } finally {
      concat.mockRestore();
    }
    // 129 pieces: joined once (≈ the message), where joining on every piece would copy ≈ 65 times that.
    expect(copied).toBeLessThanOrEqual(message.length + 1024);
  });

  it("answers a legacy OP_QUERY isMaster on admin.$cmd with an OP_REPLY", async () => {
    const [reply] = await exchange([opQuery(7101, "admin.$cmd", { isMaster: 1 })], 1);
    expect(reply.readInt32LE(0)).toBe(reply.length);
    expect(reply.readInt32LE(8)).toBe(7101); // responseTo
    expect(reply.readInt32LE(12)).toBe(1); // OP_REPLY
    const responseFlags = reply.readInt32LE(16);
    expect(responseFlags & 2).toBe(0); // not QueryFailure
    expect(reply.readBigInt64LE(20)).toBe(0n); // cursorID
    expect(reply.readInt32LE(28)).toBe(0); // startingFrom
    expect(reply.readInt32LE(32)).toBe(1); // numberReturned
    const doc = BSON.deserialize(reply.subarray(36));
    expect(doc.ok).toBe(1);
    expect(doc.ismaster).toBe(true);
    expect(doc.maxWireVersion).toBeGreaterThanOrEqual(8);
  });
});

describe("errors", () => {
  it("answers an unknown command with CommandNotFound (59)", async () => {
    const err = await db.command({ noSuchCmd: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    const e = err as MongoServerError;
    expect(e.code).toBe(59);
    expect(e.codeName).toBe("CommandNotFound");
    expect(e.errmsg).toMatch(/no such command: 'noSuchCmd'/);
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
  });

  it("rejects an unknown aggregation stage with 40324 and keeps the connection usable", async () => {
    const coll = db.collection<AnyDoc>("agg_err");
    await coll.insertMany([{ a: 1 }, { a: 2 }]);
    const err = await coll.aggregate([{ $match: {} }, { $noSuchStage: {} }]).toArray().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    const e = err as MongoServerError;
    expect(e.code).toBe(40324);
    expect(e.codeName).toBe("Location40324");
    expect(e.errmsg).toMatch(/Unrecognized pipeline stage name: '\$noSuchStage'/);
    expect(await coll.countDocuments()).toBe(2);
  });

  it("rejects a stage with two fields with 40323/40324-style errors rather than hanging", async () => {
    const coll = db.collection<AnyDoc>("agg_err");
    const err = await coll.aggregate([{ $match: {}, $limit: 1 } as Document]).toArray().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect(typeof (err as MongoServerError).code).toBe("number");
    expect((err as MongoServerError).errmsg).toMatch(/exactly one field/);
    expect(await coll.find().toArray()).toHaveLength(2);
  });

  it("answers a stage the engine lacks with a proper error, not a hang or a dropped connection", async () => {
    if (onRealMongo) return; // these stages work on a real server
    const coll = db.collection<AnyDoc>("agg_err");
    for (const stage of [{ $planCacheStats: {} }, { $collStats: { count: {} } }, { $indexStats: {} }]) {
      const err = await coll.aggregate([stage]).toArray().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MongoServerError);
      const e = err as MongoServerError;
      expect(e.code).toBe(115);
      expect(e.codeName).toBe("CommandNotSupported");
      expect(e.errmsg).toMatch(/not supported/);
    }
    expect(await coll.countDocuments()).toBe(2);
  });

  it("rejects an unknown query operator or $type alias with BadValue (2)", async () => {
    const coll = db.collection<AnyDoc>("agg_err");
    const op = await coll.find({ a: { $frob: 1 } }).toArray().catch((e: unknown) => e);
    expect(op).toBeInstanceOf(MongoServerError);
    expect((op as MongoServerError).code).toBe(2);
    expect((op as MongoServerError).errmsg).toMatch(/\$frob/);
    const alias = await coll.find({ a: { $type: "nosuchtype" } }).toArray().catch((e: unknown) => e);
    expect(alias).toBeInstanceOf(MongoServerError);
    expect((alias as MongoServerError).code).toBe(2);
    expect((alias as MongoServerError).errmsg).toMatch(/Unknown type name alias: nosuchtype/);
    expect(await coll.countDocuments({ a: { $type: "int" } })).toBe(2);
  });

  it("reports a bad expression inside a known stage as an error", async () => {
    const coll = db.collection<AnyDoc>("agg_err");
    const err = await coll.aggregate([{ $project: { x: { $noSuchOperator: 1 } } }]).toArray().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect((err as MongoServerError).code).not.toBe(1); // a user error, not InternalError
    expect((err as MongoServerError).errmsg).toMatch(/noSuchOperator/);
    expect(await coll.countDocuments()).toBe(2);
  });

  it("fails collection.watch() with the standalone change-stream error (40573)", async () => {
    const coll = db.collection<AnyDoc>("watched");
    await coll.insertOne({ a: 1 });
    const stream = coll.watch();
    try {
      const err = await stream.tryNext().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MongoServerError);
      expect((err as MongoServerError).code).toBe(40573);
      expect((err as MongoServerError).errmsg).toMatch(/replica set/);
    } finally {
      await stream.close();
    }
    expect(await coll.countDocuments()).toBe(1);
  });

  it("fails withTransaction with IllegalOperation (20) like a standalone mongod, writing nothing", async () => {
    const coll = db.collection<AnyDoc>("txn");
    await coll.insertOne({ seed: true });
    const session = ctx.client.startSession();
    try {
      const err = await session
        .withTransaction(async () => {
          await coll.insertOne({ inTxn: true }, { session });
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MongoServerError);
      // The driver rewraps this server error as "does not support retryable writes", keeping the original.
      const e = err as MongoServerError & { originalError?: MongoServerError };
      const server = e.code === 20 ? e : e.originalError;
      expect(server).toBeInstanceOf(MongoServerError);
      expect(server!.code).toBe(20);
      expect(server!.codeName).toBe("IllegalOperation");
      expect(server!.errmsg).toMatch(/Transaction numbers are only allowed on a replica set member or mongos/);
    } finally {
      await session.endSession();
    }
    expect(await coll.countDocuments({ inTxn: true })).toBe(0);
    expect(await coll.countDocuments()).toBe(1);
  });
});
