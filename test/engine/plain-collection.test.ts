import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mongoose, { Schema } from "mongoose";
import type { EmbeddedEngineTransport } from "../../server/src/db/connect.js";
import { plainCollection, type PlainCollection } from "../../server/src/db/plain-collection.js";
import { appOnEngine, type AppOnEngine } from "./app-on-engine.js";

/**
 * The task path's plain commands (no mongoose): handed straight to an engine in this process, or
 * through the driver over the engine's socket. Both must store and answer exactly what the driver
 * does — the same values, copies that the caller can change freely, the same errors.
 */

// The driver's own BSON classes: what the app holds, and what replies must be made of.
const { Binary, Decimal128, Long, MongoNetworkError, MongoServerError, ObjectId } = mongoose.mongo;

type Doc = Record<string, unknown>;

interface Setup extends AppOnEngine {
  model: mongoose.Model<Doc>;
  plain: PlainCollection;
}

async function setUp(transport: EmbeddedEngineTransport): Promise<Setup> {
  const app = await appOnEngine(transport, "plain");
  const model = app.db.connection.model<Doc>("Thing", new Schema<Doc>({ sku: { type: String, unique: true } }, { strict: false }));
  await model.init();
  return { ...app, model, plain: plainCollection(model.collection) };
}

/** A document with every kind of value the plain copy takes itself. */
function plainValues(sku: string): Doc {
  return {
    _id: new ObjectId(),
    sku,
    when: new Date("2026-01-02T03:04:05.678Z"),
    counts: [1, -0, 1.5, 2 ** 40, Number.NaN],
    nested: { owner: new ObjectId(), flags: [true, false, null], deep: { word: "é" } },
    none: null,
  };
}

/** Values only BSON gives their stored form: wrapper types, bytes, undefined (null), functions (dropped). */
function wireOnlyValues(sku: string): Doc {
  return {
    _id: new ObjectId(),
    sku,
    decimal: Decimal128.fromString("12.345"),
    long: Long.fromString("9007199254740993"),
    smallLong: Long.fromNumber(5),
    binary: new Binary(Buffer.from([1, 2, 3]), 0),
    bytes: Buffer.from([4, 5]),
    nested: { missing: undefined, list: [1, undefined] },
    fn: () => 1,
  };
}

describe.each(["in-process", "socket"] as const)("plain commands on the embedded engine, %s", (transport) => {
  let s: Setup;

  beforeAll(async () => {
    s = await setUp(transport);
  });

  afterAll(async () => {
    await s?.db.close();
    await s?.embedded.close();
  });

  it(transport === "in-process" ? "reach the engine without its socket" : "go through the socket", async () => {
    const before = s.embedded.wireCommands;
    await s.plain.insertOne({ sku: "route" });
    await s.plain.findOne({ sku: "route" });
    await s.plain.findOneAndUpdate({ sku: "route" }, { $set: { seen: true } });
    await s.plain.updateOne({ sku: "route" }, { $set: { seen: false } });
    expect(s.commands.slice(-4)).toEqual(["insert", "find", "findAndModify", "update"]);
    if (transport === "in-process") expect(s.embedded.wireCommands).toBe(before);
    else expect(s.embedded.wireCommands).toBeGreaterThanOrEqual(before + 4);
  });

  it("store and answer plain values as the driver does, in the driver's classes", async () => {
    const doc = plainValues("plain");
    await s.plain.insertOne(doc);
    const viaPlain = await s.plain.findOne<Doc>({ sku: "plain" });
    const viaDriver = await s.model.collection.findOne({ sku: "plain" });
    expect(viaPlain).toEqual(viaDriver);
    expect(viaPlain).toEqual(doc);
    expect(Object.is((viaPlain!.counts as number[])[1], -0)).toBe(true);
    expect(viaPlain!._id).toBeInstanceOf(ObjectId);
    expect((viaPlain!.nested as Doc).owner).toBeInstanceOf(ObjectId);
    expect(viaPlain!.when).toBeInstanceOf(Date);
  });

  it("store any other value exactly as the driver's own insert does", async () => {
    const mine = wireOnlyValues("wire-plain");
    const theirs = { ...wireOnlyValues("wire-driver"), _id: new ObjectId() };
    await s.plain.insertOne(mine);
    await s.model.collection.insertOne(theirs);
    const strip = (doc: Doc | null): Doc => {
      const { _id: _ignored, sku: _sku, ...rest } = doc ?? {};
      return rest;
    };
    const stored = strip(await s.model.collection.findOne({ sku: "wire-plain" }));
    expect(stored).toEqual(strip(await s.model.collection.findOne({ sku: "wire-driver" })));
    expect(stored).toMatchObject({ nested: { missing: null, list: [1, null] } });
    expect(stored.fn).toBeUndefined();
    expect(stored.decimal).toBeInstanceOf(Decimal128);
    expect(strip(await s.plain.findOne<Doc>({ sku: "wire-plain" }))).toEqual(stored);
    // A Long stays a 64-bit integer in the engine, as over the wire (not a double).
    expect(await s.model.collection.countDocuments({ sku: { $in: ["wire-plain", "wire-driver"] }, smallLong: { $type: "long" } })).toBe(2);
  });

  it("store a BSON value in an otherwise plain document as the driver does", async () => {
    await s.plain.insertOne({ sku: "mixed-plain", n: Long.fromNumber(7), price: Decimal128.fromString("9.99"), at: new Date(0) });
    await s.model.collection.insertOne({ sku: "mixed-driver", n: Long.fromNumber(7), price: Decimal128.fromString("9.99"), at: new Date(0) });
    const [mine, theirs] = await Promise.all(["mixed-plain", "mixed-driver"].map((sku) => s.model.collection.findOne({ sku }, { projection: { _id: 0, sku: 0 }, promoteLongs: false })));
    expect(mine).toEqual(theirs);
    expect(mine!.n).toBeInstanceOf(Long);
    expect(await s.plain.findOne<Doc>({ sku: "mixed-plain" }, { _id: 0, sku: 0 })).toEqual(await s.model.collection.findOne({ sku: "mixed-driver" }, { projection: { _id: 0, sku: 0 } }));
  });

  it("keep what they stored apart from what the caller holds, both ways", async () => {
    const doc = { sku: "copies", tags: ["a"], meta: { n: 1 } };
    await s.plain.insertOne(doc);
    doc.tags.push("changed after the insert");
    doc.meta.n = 2;
    const read = await s.plain.findOne<typeof doc>({ sku: "copies" });
    expect(read).toMatchObject({ tags: ["a"], meta: { n: 1 } });
    read!.tags.push("changed after the read");
    const updated = await s.plain.findOneAndUpdate<typeof doc>({ sku: "copies" }, { $inc: { "meta.n": 10 } });
    expect(updated).toMatchObject({ tags: ["a"], meta: { n: 11 } });
  });

  it("update the best match (sort), by operators or a pipeline, and answer the document after", async () => {
    await s.plain.insertOne({ sku: "rank-1", group: "rank", rank: 1, hits: 0 });
    await s.plain.insertOne({ sku: "rank-2", group: "rank", rank: 2, hits: 0 });
    const best = await s.plain.findOneAndUpdate<Doc>({ group: "rank" }, { $inc: { hits: 1 } }, { sort: { rank: -1 } });
    expect(best).toMatchObject({ sku: "rank-2", hits: 1 });
    const piped = await s.plain.findOneAndUpdate<Doc>({ sku: "rank-1" }, [{ $set: { hits: { $add: ["$hits", "$rank", 5] } } }]);
    expect(piped).toMatchObject({ sku: "rank-1", hits: 6 });
    expect(await s.plain.findOneAndUpdate({ group: "none" }, { $set: { hits: 1 } })).toBeNull();
    expect(await s.plain.findOne({ group: "none" })).toBeNull();
  });

  it("update one document, or insert it (upsert), and refuse an upsert that collides with a stored _id", async () => {
    await s.plain.updateOne({ _id: "count-1" }, { $inc: { pending: 2 } }, { upsert: true });
    await s.plain.updateOne({ _id: "count-1" }, { $inc: { pending: 1 }, $set: { verified: false } });
    expect(await s.plain.findOne({ _id: "count-1" })).toEqual({ _id: "count-1", pending: 3, verified: false });
    // Past the limit the filter does not match; the upsert's insert then collides on _id.
    const refused = await s.plain.updateOne({ _id: "count-1", pending: { $lte: 2 } }, { $inc: { pending: 1 } }, { upsert: true }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(MongoServerError);
    expect(refused).toMatchObject({ code: 11000 });
    expect(await s.plain.findOne({ _id: "count-1" })).toMatchObject({ pending: 3 });
    await s.plain.updateOne({ _id: "count-none" }, { $inc: { pending: 1 } });
    expect(await s.plain.findOne({ _id: "count-none" })).toBeNull();
  });

  it("project what a read asks for", async () => {
    await s.plain.insertOne({ sku: "projected", a: 1, b: 2 });
    expect(await s.plain.findOne<Doc>({ sku: "projected" }, { _id: 0, a: 1 })).toEqual({ a: 1 });
  });

  it("report a refused write and a failed command with the driver's error and code", async () => {
    await s.plain.insertOne({ sku: "dup" });
    const duplicate = await s.plain.insertOne({ sku: "dup" }).catch((err: unknown) => err);
    expect(duplicate).toBeInstanceOf(MongoServerError);
    expect(duplicate).toMatchObject({ code: 11000 });
    const bad = await s.plain.findOneAndUpdate({ sku: "dup" }, { $nope: { a: 1 } }).catch((err: unknown) => err);
    expect(bad).toBeInstanceOf(MongoServerError);
    expect((bad as { code: unknown }).code).toEqual(expect.any(Number));
  });

  it("are heard by mongoose's debug function, as its own commands are", async () => {
    const heard: string[] = [];
    s.db.connection.set("debug", (collection: string, method: string) => heard.push(`${collection}.${method}`));
    try {
      await s.plain.insertOne({ sku: "heard" });
      await s.plain.findOne({ sku: "heard" });
      await s.plain.findOneAndUpdate({ sku: "heard" }, { $set: { n: 1 } });
      await s.plain.updateOne({ sku: "heard" }, { $set: { n: 2 } });
    } finally {
      s.db.connection.set("debug", false);
    }
    expect(heard).toEqual(["things.insertOne", "things.findOne", "things.findOneAndUpdate", "things.updateOne"]);
  });
});

describe("plain commands on an engine in this process that closed", () => {
  it("fail as a closed connection does", async () => {
    const s = await setUp("in-process");
    try {
      await s.plain.insertOne({ sku: "before" });
      await s.embedded.close();
      const err = await s.plain.findOne({ sku: "before" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MongoNetworkError);
    } finally {
      await s.db.close().catch(() => undefined);
      await s.embedded.close();
    }
  });
});
