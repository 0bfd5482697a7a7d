import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mongoose, { Schema } from "mongoose";
import type { Document } from "bson";
import type { EmbeddedEngineTransport } from "../../server/src/db/connect.js";
import { appOnEngine, type AppOnEngine } from "./app-on-engine.js";
import { loadConfig } from "../../server/src/config.js";
import { startTestServer } from "../helpers/app.js";
import { waitFor } from "../tasks/fixtures/tasks.js";

/**
 * The app's two ways to an engine running in its process: straight in (the default) and through the
 * engine's socket. The same scenarios run on both and must give the same answers; the in-process
 * client must not send a single command through the socket.
 */

// The driver's own BSON classes: the ones its replies are decoded into.
const { MongoServerError, MongoBulkWriteError, Binary, Decimal128, Long, ObjectId } = mongoose.mongo;

interface Item {
  sku: string;
  price: number;
  tags: string[];
  meta?: { note?: string };
}

const ItemSchema = new Schema<Item>({ sku: { type: String, required: true, unique: true }, price: Number, tags: [String], meta: { note: String } });

type Setup = AppOnEngine;

const setUp = (transport: EmbeddedEngineTransport): Promise<Setup> => appOnEngine(transport, "transport");

describe.each(["in-process", "socket"] as const)("the app on the embedded engine, %s", (transport) => {
  let s: Setup;
  let items: mongoose.Model<Item>;

  beforeAll(async () => {
    s = await setUp(transport);
    items = s.db.connection.model<Item>("Item", ItemSchema);
    await items.init();
  });

  afterAll(async () => {
    await s?.db.close();
    await s?.embedded.close();
  });

  it(transport === "in-process" ? "sends nothing through the socket" : "goes through the socket", async () => {
    await items.findOne({ sku: "none" });
    expect(s.db.transport).toBe(transport === "in-process" ? "in-process" : "wire");
    if (transport === "in-process") expect(s.embedded.wireCommands).toBe(0);
    else expect(s.embedded.wireCommands).toBeGreaterThanOrEqual(s.commands.length);
  });

  it("answers the handshake as the server does", async () => {
    const hello = await s.db.connection.db!.admin().command({ hello: 1 });
    expect(hello).toMatchObject({ ok: 1, isWritablePrimary: true, maxWireVersion: expect.any(Number) });
    expect(typeof hello.connectionId).toBe("number");
    expect(s.commands.filter((name) => name === "hello" || name.toLowerCase() === "ismaster").length).toBeGreaterThan(1);
  });

  it("creates, reads, updates and deletes through mongoose", async () => {
    await items.create({ sku: "crud", price: 10, tags: ["a"] });
    expect(await items.findOne({ sku: "crud" }).lean()).toMatchObject({ sku: "crud", price: 10, tags: ["a"] });
    const updated = await items.findOneAndUpdate({ sku: "crud" }, { $inc: { price: 5 }, $push: { tags: "b" } }, { returnDocument: "after" }).lean();
    expect(updated).toMatchObject({ price: 15, tags: ["a", "b"] });
    expect(await items.updateOne({ sku: "crud" }, { $set: { "meta.note": "n" } })).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await items.countDocuments({ "meta.note": "n" })).toBe(1);
    expect(await items.deleteOne({ sku: "crud" })).toMatchObject({ deletedCount: 1 });
    expect(await items.exists({ sku: "crud" })).toBeNull();
  });

  it("pages a cursor with getMore and closes it early with killCursors", async () => {
    await items.insertMany(Array.from({ length: 120 }, (_, i) => ({ sku: `cur-${i}`, price: i, tags: [] })));
    const all = await items.find({ sku: /^cur-/ }).sort({ price: 1 }).batchSize(25).lean();
    expect(all.map((doc) => doc.price)).toEqual(Array.from({ length: 120 }, (_, i) => i));
    expect(s.commands).toContain("getMore");

    const cursor = items.find({ sku: /^cur-/ }).batchSize(10).cursor();
    await cursor.next();
    await cursor.close();
    expect(s.commands).toContain("killCursors");
  });

  it("reports server errors with their codes: unknown command, duplicate key, bulk write errors", async () => {
    const unknown = await s.db.connection.db!.command({ noSuchCommand: 1 }).catch((err: unknown) => err);
    expect(unknown).toBeInstanceOf(MongoServerError);
    expect(unknown).toMatchObject({ code: 59, codeName: "CommandNotFound" });

    await items.create({ sku: "dup", price: 1, tags: [] });
    const duplicate = await items.create({ sku: "dup", price: 2, tags: [] }).catch((err: unknown) => err);
    expect(duplicate).toBeInstanceOf(MongoServerError);
    expect(duplicate).toMatchObject({ code: 11000, keyValue: { sku: "dup" } });

    const bulk = await items
      .insertMany([{ sku: "bulk-1", price: 1 }, { sku: "dup", price: 1 }, { sku: "bulk-2", price: 1 }], { ordered: false })
      .catch((err: unknown) => err);
    expect(bulk).toBeInstanceOf(MongoBulkWriteError);
    expect((bulk as InstanceType<typeof MongoBulkWriteError>).writeErrors).toMatchObject([{ index: 1, code: 11000 }]);
    expect(await items.countDocuments({ sku: /^bulk-/ })).toBe(2);
  });

  it("runs an unacknowledged write (w: 0) without waiting for an answer", async () => {
    const raw = s.db.connection.collection("unacknowledged");
    const result = await raw.insertOne({ n: 1 }, { writeConcern: { w: 0 } });
    expect(result.acknowledged).toBe(false);
    await waitFor(() => raw.countDocuments({ n: 1 }), (n) => n === 1, { what: "the unacknowledged insert" });
  });

  it("stores values as the wire does: BSON types, undefined as null, functions dropped, a document's toBSON", async () => {
    const raw = s.db.connection.collection("values");
    const id = new ObjectId();
    const when = new Date("2026-01-02T03:04:05.678Z");
    await raw.insertOne({
      _id: id,
      decimal: Decimal128.fromString("12.345"),
      long: Long.fromString("9007199254740993"),
      binary: new Binary(Buffer.from([1, 2, 3]), 0),
      bytes: Buffer.from([4, 5]),
      when,
      nested: { missing: undefined, list: [1, undefined] },
      fn: () => 1,
    } as Document);
    const stored = await raw.findOne({ _id: id }, { promoteLongs: false });
    expect(stored).not.toBeNull();
    expect(stored!.decimal).toBeInstanceOf(Decimal128);
    expect(stored!.decimal.toString()).toBe("12.345");
    expect(Long.isLong(stored!.long) && stored!.long.toString()).toBe("9007199254740993");
    expect(stored!.binary).toBeInstanceOf(Binary);
    expect([...(stored!.binary as InstanceType<typeof Binary>).buffer]).toEqual([1, 2, 3]);
    expect([...(stored!.bytes as InstanceType<typeof Binary>).buffer]).toEqual([4, 5]);
    expect(stored!.when).toEqual(when);
    expect(stored!.nested).toEqual({ missing: null, list: [1, null] });
    expect("fn" in stored!).toBe(false);

    // A mongoose document handed to the driver is encoded through its toBSON (schema fields only).
    const doc = new items({ sku: "tobson", price: 3, tags: ["x"] });
    await raw.insertOne(doc as unknown as Document);
    const fromDoc = await raw.findOne({ sku: "tobson" });
    expect(fromDoc).toMatchObject({ _id: doc._id, sku: "tobson", price: 3, tags: ["x"] });
    expect(Object.keys(fromDoc!).sort()).toEqual(["_id", "price", "sku", "tags"]);
  });

  it("keeps stored documents apart from the app's objects: written, read back, or lean", async () => {
    const raw = s.db.connection.collection<{ _id: string } & Document>("isolation");
    const written = { _id: "iso", tags: ["a"], meta: { note: "kept" }, when: new Date(0), bin: new Binary(Buffer.from([7])) };
    await raw.insertOne(written);
    written.tags.push("mutated");
    written.meta.note = "mutated";
    written.when.setTime(1);
    written.bin.buffer[0] = 9;

    const read = await raw.findOne({ _id: "iso" });
    expect(read).toMatchObject({ tags: ["a"], meta: { note: "kept" }, when: new Date(0) });
    expect([...(read!.bin as InstanceType<typeof Binary>).buffer]).toEqual([7]);
    (read!.tags as string[]).push("mutated");
    (read!.meta as Document).note = "mutated";

    await items.create({ sku: "lean", price: 1, tags: ["a"], meta: { note: "kept" } });
    const lean = await items.findOne({ sku: "lean" }).lean();
    lean!.tags.push("mutated");
    lean!.meta!.note = "mutated";
    const updatedLean = await items.findOneAndUpdate({ sku: "lean" }, { $set: { price: 2 } }, { returnDocument: "after" }).lean();
    updatedLean!.tags.push("mutated");

    expect(await raw.findOne({ _id: "iso" })).toMatchObject({ tags: ["a"], meta: { note: "kept" }, when: new Date(0) });
    expect(await items.findOne({ sku: "lean" }).lean()).toMatchObject({ price: 2, tags: ["a"], meta: { note: "kept" } });
  });
});

describe("the in-process client when the engine goes away", () => {
  it("fails its operations as a network error rather than hanging", async () => {
    const s = await setUp("in-process");
    try {
      const raw = s.db.connection.collection("gone");
      await raw.insertOne({ n: 1 });
      await s.embedded.close();
      await expect(raw.findOne({ n: 1 })).rejects.toThrow();
      expect(s.embedded.wireCommands).toBe(0);
    } finally {
      await s.db.close();
      await s.embedded.close();
    }
  });
});

describe("EMBEDDED_ENGINE_TRANSPORT", () => {
  it("is validated: in-process by default, socket on request, anything else refused", () => {
    const base = { NODE_ENV: "test", JWT_SECRET: "x".repeat(32) };
    const defaults = loadConfig(base);
    expect(defaults.ok && defaults.config.embeddedEngineTransport).toBe("in-process");
    const socket = loadConfig({ ...base, EMBEDDED_ENGINE_TRANSPORT: "socket" });
    expect(socket.ok && socket.config.embeddedEngineTransport).toBe("socket");
    const wrong = loadConfig({ ...base, EMBEDDED_ENGINE_TRANSPORT: "tcp" });
    expect(wrong.ok).toBe(false);
    expect(wrong.ok ? [] : wrong.problems.join(" ")).toContain("EMBEDDED_ENGINE_TRANSPORT");
  });

  it.each(["in-process", "socket"] as const)("sets how the app's requests reach the engine: %s", async (transport) => {
    const server = await startTestServer({ EMBEDDED_ENGINE_TRANSPORT: transport }, { taskExecution: false });
    try {
      const embedded = server.testDatabase.embedded;
      if (!embedded) return expect(server.db.transport).toBe("wire"); // a real MongoDB (MONGODB_URI)
      const before = embedded.wireCommands;
      await server.register();
      // The suites' own switch (EMBEDDED_ENGINE_TRANSPORT=socket in the environment) keeps every app on the wire.
      const inProcess = transport === "in-process" && process.env.EMBEDDED_ENGINE_TRANSPORT !== "socket";
      expect(server.db.transport).toBe(inProcess ? "in-process" : "wire");
      if (inProcess) expect(embedded.wireCommands).toBe(before);
      else expect(embedded.wireCommands).toBeGreaterThan(before);
    } finally {
      await server.close();
    }
  });
});
