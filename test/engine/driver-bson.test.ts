import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Binary,
  Decimal128,
  Double,
  Int32,
  Long,
  ObjectId,
  Timestamp,
  UUID,
  type Collection,
  type Db,
  type Document,
} from "mongodb";
import type { TestDatabase } from "../helpers/mongo.js";
import { closeDriverSuite, openDriverSuite, type DriverContext, type AnyDoc } from "./driver-helpers.js";

let t: TestDatabase;
let ctx: DriverContext;
let db: Db;

beforeAll(async () => {
  ({ t, ctx, db } = await openDriverSuite("driver_bson"));
});

afterAll(() => closeDriverSuite({ t, ctx }));

async function fresh(name: string, docs: Document[] = []): Promise<Collection<AnyDoc>> {
  const coll = db.collection<AnyDoc>(name);
  await coll.deleteMany({});
  await coll.dropIndexes().catch(() => undefined);
  if (docs.length) await coll.insertMany(docs);
  return coll;
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  let seed = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe("round-trips", () => {
  const oid = new ObjectId();
  const when = new Date("2024-02-29T12:34:56.789Z");
  const dec = Decimal128.fromString("1234567890.123456789012345678901234");
  const big = Long.fromString("9007199254740993"); // 2^53 + 1: not representable as a double
  const bin = new Binary(Buffer.from([0, 1, 2, 250, 255]), 0x80);
  const uuid = new UUID("0f8fad5b-d9cb-469f-a165-70867728950e");

  beforeAll(async () => {
    await fresh("types", [
      {
        _id: "all",
        oid,
        when,
        dec,
        big,
        negLong: Long.fromString("-1234567890123"),
        bin,
        uuid,
        i32: new Int32(7),
        dbl: new Double(7.25),
        ts: new Timestamp({ t: 1700000000, i: 3 }),
        nul: null,
        nested: { a: { b: [1, { c: "deep" }, [2, 3]], empty: {} }, list: [] },
        re: /ab+c/i,
        bool: false,
        str: "héllo ✓",
      },
    ]);
  });

  it("keeps every BSON type and its value", async () => {
    const doc = (await db.collection<AnyDoc>("types").findOne({ _id: "all" }, { promoteLongs: false }))!;
    expect(doc.oid).toBeInstanceOf(ObjectId);
    expect(doc.oid.equals(oid)).toBe(true);
    expect(doc.when).toBeInstanceOf(Date);
    expect(doc.when.getTime()).toBe(when.getTime());
    expect(doc.dec).toBeInstanceOf(Decimal128);
    expect(doc.dec.toString()).toBe(dec.toString());
    expect(doc.big).toBeInstanceOf(Long);
    expect(doc.big.toString()).toBe("9007199254740993");
    expect(doc.negLong.toString()).toBe("-1234567890123");
    expect(doc.bin).toBeInstanceOf(Binary);
    expect(doc.bin.sub_type).toBe(0x80);
    expect(Buffer.from(doc.bin.buffer)).toEqual(Buffer.from([0, 1, 2, 250, 255]));
    expect(doc.uuid.sub_type).toBe(4);
    expect(doc.uuid.toUUID().toHexString()).toBe(uuid.toHexString());
    expect(doc.ts).toBeInstanceOf(Timestamp);
    expect(doc.ts.t).toBe(1700000000);
    expect(doc.ts.i).toBe(3);
    expect(doc.nul).toBeNull();
    expect(doc.nested).toEqual({ a: { b: [1, { c: "deep" }, [2, 3]], empty: {} }, list: [] });
    expect(doc.re).toBeInstanceOf(RegExp);
    expect((doc.re as RegExp).source).toBe("ab+c");
    expect((doc.re as RegExp).flags).toBe("i");
    expect(doc.bool).toBe(false);
    expect(doc.str).toBe("héllo ✓");
    expect(Object.keys(doc)).toEqual([
      "_id", "oid", "when", "dec", "big", "negLong", "bin", "uuid", "i32", "dbl", "ts", "nul", "nested", "re", "bool", "str",
    ]);
  });

  it("reads a Long as bigint with useBigInt64", async () => {
    const doc = (await db.collection<AnyDoc>("types").findOne({ _id: "all" }, { useBigInt64: true }))!;
    expect(doc.big).toBe(9007199254740993n);
    expect(doc.negLong).toBe(-1234567890123n);
  });

  it("keeps Int32 and Double apart where the client can see it", async () => {
    const doc = (await db.collection<AnyDoc>("types").findOne({ _id: "all" }, { promoteValues: false }))!;
    expect(doc.i32).toBeInstanceOf(Int32);
    expect(doc.i32.value).toBe(7);
    expect(doc.dbl).toBeInstanceOf(Double);
    expect(doc.dbl.value).toBe(7.25);
    const coll = await fresh("numtypes", [{ _id: 1, v: new Int32(5) }, { _id: 2, v: new Double(5.5) }, { _id: 3, v: Long.fromNumber(5) }]);
    expect((await coll.find({ v: { $type: "int" } }).toArray()).map((d) => d._id)).toEqual([1]);
    expect((await coll.find({ v: { $type: "double" } }).toArray()).map((d) => d._id)).toEqual([2]);
    expect((await coll.find({ v: { $type: "long" } }).toArray()).map((d) => d._id)).toEqual([3]);
    expect((await coll.find({ v: { $type: "number" } }).toArray()).map((d) => d._id)).toEqual([1, 2, 3]);
    // $inc on an Int32 stays an Int32; by a fraction it becomes a Double.
    await coll.updateOne({ _id: 1 }, { $inc: { v: 1 } });
    const inc = (await coll.findOne({ _id: 1 }, { promoteValues: false }))!;
    expect(inc.v).toBeInstanceOf(Int32);
    expect(inc.v.value).toBe(6);
    await coll.updateOne({ _id: 1 }, { $inc: { v: 0.5 } });
    const frac = (await coll.findOne({ _id: 1 }, { promoteValues: false }))!;
    expect(frac.v).toBeInstanceOf(Double);
    expect(frac.v.value).toBe(6.5);
  });

  it("matches a document by Decimal128, Long, Binary and Date equality", async () => {
    const coll = db.collection<AnyDoc>("types");
    expect(await coll.countDocuments({ dec })).toBe(1);
    expect(await coll.countDocuments({ big })).toBe(1);
    expect(await coll.countDocuments({ bin })).toBe(1);
    expect(await coll.countDocuments({ when: new Date(when.getTime()) })).toBe(1);
    expect(await coll.countDocuments({ oid: new ObjectId(oid.toHexString()) })).toBe(1);
    expect(await coll.countDocuments({ when: new Date(when.getTime() + 1) })).toBe(0);
    expect(await coll.countDocuments({ "nested.a.b.c": "deep" })).toBe(1);
    expect(await coll.countDocuments({ "nested.a.b": [2, 3] })).toBe(1);
  });
});

describe("null and missing", () => {
  it("{a: null} matches null and missing; $exists tells them apart", async () => {
    const coll = await fresh("nulls", [
      { _id: 1, a: null },
      { _id: 2 },
      { _id: 3, a: 1 },
      { _id: 4, a: [1, null] },
    ]);
    const ids = async (filter: Document) => (await coll.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ a: null })).toEqual([1, 2, 4]);
    expect(await ids({ a: { $exists: false } })).toEqual([2]);
    expect(await ids({ a: { $exists: true } })).toEqual([1, 3, 4]);
    expect(await ids({ a: { $type: "null" } })).toEqual([1, 4]);
    expect(await ids({ a: { $ne: null } })).toEqual([3]);
    expect(await ids({ a: { $in: [null, 1] } })).toEqual([1, 2, 3, 4]);
    // The same answers through an index.
    await coll.createIndex({ a: 1 });
    expect(await ids({ a: null })).toEqual([1, 2, 4]);
    expect(await ids({ a: { $in: [null] } })).toEqual([1, 2, 4]);
    await coll.dropIndexes();
    await coll.createIndex({ a: 1 }, { sparse: true });
    expect(await ids({ a: null })).toEqual([1, 2, 4]);
    expect(await ids({ a: { $exists: false } })).toEqual([2]);
  });
});

describe("ObjectId and Date order", () => {
  const ids = Array.from({ length: 60 }, () => new ObjectId());

  it("sorts ObjectIds in creation order and compares them by value", async () => {
    const coll = await fresh("oids", shuffled(ids.map((id, i) => ({ _id: id, i, ref: id }))));
    const sorted = await coll.find().sort({ _id: 1 }).toArray();
    expect(sorted.map((d) => d.i)).toEqual(ids.map((_, i) => i));
    const desc = await coll.find({}, { sort: { ref: -1 }, limit: 3 }).toArray();
    expect(desc.map((d) => d.i)).toEqual([59, 58, 57]);
    expect(await coll.countDocuments({ _id: { $gt: ids[10] } })).toBe(49);
    expect(await coll.countDocuments({ ref: { $gte: ids[10], $lt: ids[20] } })).toBe(10);
    expect((await coll.find({ _id: { $in: [ids[3], ids[7], new ObjectId()] } }).sort({ i: 1 }).toArray()).map((d) => d.i)).toEqual([3, 7]);
    expect((await coll.find({ ref: { $in: [ids[5]] } }).toArray()).map((d) => d.i)).toEqual([5]);
    expect((await coll.findOne({ ref: new ObjectId(ids[9].toHexString()) }))!.i).toBe(9);
    // Through an index as well.
    await coll.createIndex({ ref: 1 });
    expect(await coll.countDocuments({ ref: { $gte: ids[10], $lt: ids[20] } })).toBe(10);
    expect((await coll.find({ ref: { $lt: ids[3] } }).sort({ ref: -1 }).toArray()).map((d) => d.i)).toEqual([2, 1, 0]);
  });

  it("ranges and sorts on Dates, with and without an index", async () => {
    const base = Date.UTC(2023, 11, 31, 23, 0, 0);
    const docs = Array.from({ length: 48 }, (_, h) => ({ h, at: new Date(base + h * 3600_000) }));
    const coll = await fresh("dates", shuffled(docs));
    for (const indexed of [false, true]) {
      if (indexed) await coll.createIndex({ at: 1 });
      const jan1 = await coll
        .find({ at: { $gte: new Date(Date.UTC(2024, 0, 1)), $lt: new Date(Date.UTC(2024, 0, 2)) } })
        .sort({ at: 1 })
        .toArray();
      expect(jan1.map((d) => d.h)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
      const latest = await coll.find({}, { sort: { at: -1 }, limit: 2 }).toArray();
      expect(latest.map((d) => d.h)).toEqual([47, 46]);
      expect(await coll.countDocuments({ at: { $lt: new Date(base) } })).toBe(0);
      expect(await coll.countDocuments({ at: { $lte: new Date(base) } })).toBe(1);
      // A date range never matches values of another type.
      await coll.insertOne({ h: -1, at: "2024-01-01" });
      expect(await coll.countDocuments({ at: { $gte: new Date(0) } })).toBe(48);
      await coll.deleteOne({ h: -1 });
    }
  });
});

describe("numbers across BSON types", () => {
  it("compares and sorts Int32, Double, Long and Decimal128 by value", async () => {
    const coll = await fresh("nums", [
      { _id: "i", v: new Int32(9) },
      { _id: "d", v: new Double(10.5) },
      { _id: "l", v: Long.fromNumber(100) },
      { _id: "l2", v: Long.fromNumber(-3) },
      { _id: "m", v: Decimal128.fromString("20.25") },
      { _id: "s", v: "not a number" },
    ]);
    const ids = async (filter: Document) => (await coll.find(filter).sort({ v: 1 }).toArray()).map((d) => d._id);
    expect(await ids({})).toEqual(["l2", "i", "d", "m", "l", "s"]);
    expect(await ids({ v: { $gt: 10 } })).toEqual(["d", "m", "l"]);
    expect(await ids({ v: { $lt: Long.fromNumber(10) } })).toEqual(["l2", "i"]);
    expect(await ids({ v: 100 })).toEqual(["l"]);
    expect(await ids({ v: { $in: [9, 20.25] } })).toEqual(["i", "m"]);
    await coll.createIndex({ v: 1 });
    expect(await ids({ v: { $gt: 10 } })).toEqual(["d", "m", "l"]);
    expect(await ids({ v: 100 })).toEqual(["l"]);
  });
});

describe("multikey ranges", () => {
  it("matches array fields whose elements satisfy a range together or separately, indexed or not", async () => {
    const coll = await fresh("multikey", [
      { _id: 1, a: [0, 5] }, // 0 < 3 and 5 > 1, by different elements: matches {$gt: 1, $lt: 3}
      { _id: 2, a: [2] },
      { _id: 3, a: [7, 8] },
      { _id: 4, a: 2.5 },
    ]);
    const ids = async (filter: Document) => (await coll.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ a: { $gt: 1, $lt: 3 } })).toEqual([1, 2, 4]);
    expect(await ids({ a: { $elemMatch: { $gt: 1, $lt: 3 } } })).toEqual([2]);
    await coll.createIndex({ a: 1 });
    expect(await ids({ a: { $gt: 1, $lt: 3 } })).toEqual([1, 2, 4]);
    expect(await ids({ a: { $elemMatch: { $gt: 1, $lt: 3 } } })).toEqual([2]);
    expect(await ids({ a: 5 })).toEqual([1]);
  });
});
