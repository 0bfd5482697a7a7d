import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Decimal128, Double, Long, MongoServerError, ObjectId, type Collection, type Db, type Document } from "mongodb";
import type { TestDatabase } from "../helpers/mongo.js";
import { closeDriverSuite, openDriverSuite, type AnyDoc, type DriverContext } from "./driver-helpers.js";

/*
 * MongoDB 7.0 semantics written from the manual's pages for each operator, stage and command
 * (let, collation, $merge, update and projection edge cases, and where 7.0 refuses).
 */

let t: TestDatabase;
let ctx: DriverContext;
let db: Db;

beforeAll(async () => {
  ({ t, ctx, db } = await openDriverSuite("driver_semantics"));
});

afterAll(() => closeDriverSuite({ t, ctx }));

async function fresh(name: string, docs: Document[] = []): Promise<Collection<AnyDoc>> {
  await db.collection(name).drop().catch(() => undefined);
  const coll = db.collection<AnyDoc>(name);
  if (docs.length) await coll.insertMany(docs);
  return coll;
}

async function serverError(promise: Promise<unknown>): Promise<MongoServerError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MongoServerError);
  return err as MongoServerError;
}

describe("let variables ($$var)", () => {
  it("find, aggregate, update, delete and findOneAndUpdate read $$vars in $expr", async () => {
    const coll = await fresh("let_vars", [
      { _id: 1, qty: 5, limit: 10 },
      { _id: 2, qty: 15, limit: 10 },
      { _id: 3, qty: 25, limit: 30 },
    ]);
    const over = await coll.find({ $expr: { $gt: ["$qty", "$$threshold"] } }, { let: { threshold: 10 } }).toArray();
    expect(over.map((d) => d._id)).toEqual([2, 3]);

    const agg = await coll
      .aggregate([{ $match: { $expr: { $lt: ["$qty", "$$max"] } } }, { $project: { _id: 1, doubled: { $multiply: ["$qty", "$$factor"] } } }], {
        let: { max: 20, factor: 2 },
      })
      .toArray();
    expect(agg).toEqual([
      { _id: 1, doubled: 10 },
      { _id: 2, doubled: 30 },
    ]);

    const upd = await coll.updateMany({ $expr: { $eq: ["$limit", "$$lim"] } }, [{ $set: { tag: "$$label" } }], { let: { lim: 10, label: "ten" } });
    expect(upd.modifiedCount).toBe(2);
    expect((await coll.find({ tag: "ten" }).toArray()).map((d) => d._id)).toEqual([1, 2]);

    const fam = await coll.findOneAndUpdate({ $expr: { $eq: ["$_id", "$$id"] } }, { $set: { seen: true } }, { let: { id: 3 }, returnDocument: "after" });
    expect(fam).toMatchObject({ _id: 3, seen: true });

    const del = await coll.deleteMany({ $expr: { $gte: ["$qty", "$$min"] } }, { let: { min: 15 } });
    expect(del.deletedCount).toBe(2);
    expect(await coll.countDocuments()).toBe(1);
  });

  it("refuses an undefined variable with code 17276", async () => {
    const coll = await fresh("let_undefined", [{ _id: 1, a: 1 }]);
    const err = await serverError(coll.find({ $expr: { $eq: ["$a", "$$nope"] } }).toArray());
    expect(err.code).toBe(17276);
    expect(err.message).toMatch(/Use of undefined variable: nope/);
  });
});

describe("collation", () => {
  const names = [
    { _id: 1, name: "cafe" },
    { _id: 2, name: "Café" },
    { _id: 3, name: "CAFE" },
    { _id: 4, name: "bar" },
    { _id: 5, name: "Bar" },
  ];

  it("strength 1 ignores case and diacritics, strength 2 only case, in find, count and distinct", async () => {
    const coll = await fresh("coll_find", names);
    const s1 = { locale: "fr", strength: 1 };
    const s2 = { locale: "fr", strength: 2 };
    expect((await coll.find({ name: "cafe" }, { collation: s1 }).toArray()).map((d) => d._id)).toEqual([1, 2, 3]);
    expect((await coll.find({ name: "cafe" }, { collation: s2 }).toArray()).map((d) => d._id)).toEqual([1, 3]);
    expect((await coll.find({ name: "cafe" }).toArray()).map((d) => d._id)).toEqual([1]);
    expect(await coll.countDocuments({ name: { $in: ["BAR", "x"] } }, { collation: s2 })).toBe(2);
    expect(await coll.countDocuments({ name: { $ne: "bar" } }, { collation: s1 })).toBe(3);
    expect(await coll.countDocuments({ name: { $gt: "c" } }, { collation: s1 })).toBe(3);
    const distinct = await coll.distinct("name", {}, { collation: s1 });
    expect(distinct).toHaveLength(2);
    expect(distinct.map((s: string) => s.toLowerCase().normalize("NFD").replace(/\p{M}/gu, ""))).toEqual(["bar", "cafe"]);
  });

  it("sorts by the locale (and numericOrdering), not by code points", async () => {
    const coll = await fresh("coll_sort", [
      { _id: 1, s: "b" },
      { _id: 2, s: "B" },
      { _id: 3, s: "a" },
      { _id: 4, s: "é" },
      { _id: 5, s: "f" },
    ]);
    const binary = await coll.find().sort({ s: 1 }).toArray();
    expect(binary.map((d) => d.s)).toEqual(["B", "a", "b", "f", "é"]);
    const french = await coll.find({}, { collation: { locale: "fr" } }).sort({ s: 1, _id: 1 }).toArray();
    expect(french.map((d) => d.s)).toEqual(["a", "b", "B", "é", "f"]);
    const agg = await coll.aggregate([{ $sort: { s: -1, _id: 1 } }], { collation: { locale: "fr" } }).toArray();
    expect(agg.map((d) => d.s)).toEqual(["f", "é", "B", "b", "a"]);

    const nums = await fresh("coll_numeric", [{ v: "10" }, { v: "9" }, { v: "100" }]);
    const numeric = await nums.find({}, { collation: { locale: "en", numericOrdering: true }, projection: { _id: 0 } }).sort({ v: 1 }).toArray();
    expect(numeric.map((d) => d.v)).toEqual(["9", "10", "100"]);
  });

  it("applies to updates, deletes and findOneAndUpdate", async () => {
    const coll = await fresh("coll_write", names);
    const s2 = { locale: "en", strength: 2 };
    const upd = await coll.updateMany({ name: "BAR" }, { $set: { hit: true } }, { collation: s2 });
    expect(upd.matchedCount).toBe(2);
    const one = await coll.findOneAndUpdate({ name: "CAFÉ" }, { $set: { one: true } }, { collation: s2, returnDocument: "after" });
    expect(one).toMatchObject({ _id: 2, name: "Café", one: true });
    const del = await coll.deleteMany({ name: "cafe" }, { collation: { locale: "en", strength: 1 } });
    expect(del.deletedCount).toBe(3);
    expect((await coll.find().toArray()).map((d) => d._id)).toEqual([4, 5]);
  });

  it("a unique index with a case-insensitive collation refuses names differing only in case; queries with that collation use it", async () => {
    const coll = await fresh("coll_index");
    await coll.createIndex({ email: 1 }, { unique: true, collation: { locale: "en", strength: 2 } });
    await coll.insertOne({ email: "Ann@Example.com" });
    const dup = await serverError(coll.insertOne({ email: "ann@example.COM" }));
    expect(dup.code).toBe(11000);
    await coll.insertOne({ email: "bob@example.com" });
    const [spec] = (await coll.listIndexes().toArray()).filter((i) => i.name === "email_1");
    expect(spec.collation).toMatchObject({ locale: "en", strength: 2 });
    expect(await coll.findOne({ email: "ANN@EXAMPLE.COM" }, { collation: { locale: "en", strength: 2 } })).toMatchObject({ email: "Ann@Example.com" });
    const plan = await coll.find({ email: "ann@example.com" }).collation({ locale: "en", strength: 2 }).explain();
    expect(JSON.stringify(plan.queryPlanner.winningPlan)).toContain("IXSCAN");
    // Without the collation the index cannot answer: a binary comparison finds nothing.
    expect(await coll.findOne({ email: "ann@example.com" })).toBeNull();
  });

  it("a collection's default collation applies to its queries and indexes", async () => {
    await db.collection("coll_default").drop().catch(() => undefined);
    await db.createCollection("coll_default", { collation: { locale: "en", strength: 2 } });
    const coll = db.collection<AnyDoc>("coll_default");
    await coll.insertMany(names);
    expect(await coll.countDocuments({ name: "CAFE" })).toBe(2);
    expect(await coll.countDocuments({ name: "CAFE" }, { collation: { locale: "simple" } })).toBe(1);
    await coll.createIndex({ name: 1 });
    const [spec] = (await coll.listIndexes().toArray()).filter((i) => i.name === "name_1");
    expect(spec.collation).toMatchObject({ locale: "en", strength: 2 });
  });

  it("refuses an unknown locale with code 2", async () => {
    const coll = await fresh("coll_bad", [{ a: 1 }]);
    const err = await serverError(coll.find({}, { collation: { locale: "xx_nope" } }).toArray());
    expect(err.code).toBe(2);
    expect(err.message).toMatch(/Field 'locale' is invalid/);
  });
});

describe("$merge and $out", () => {
  it("merges by _id: merges matched documents and inserts the others (the defaults)", async () => {
    const source = await fresh("merge_src", [
      { _id: 1, total: 10 },
      { _id: 2, total: 20 },
    ]);
    const target = await fresh("merge_dst", [{ _id: 1, name: "kept", total: 0 }]);
    const out = await source.aggregate([{ $merge: { into: "merge_dst" } }]).toArray();
    expect(out).toEqual([]);
    expect(await target.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, name: "kept", total: 10 },
      { _id: 2, total: 20 },
    ]);
  });

  it("replace, keepExisting, discard, a whenMatched pipeline with $$new, and another database", async () => {
    const source = await fresh("merge_src2", [
      { _id: 1, v: 1 },
      { _id: 2, v: 2 },
    ]);
    const target = await fresh("merge_dst2", [{ _id: 1, old: true, v: 0 }]);
    await source.aggregate([{ $merge: { into: "merge_dst2", whenMatched: "keepExisting", whenNotMatched: "discard" } }]).toArray();
    expect(await target.find().toArray()).toEqual([{ _id: 1, old: true, v: 0 }]);
    await source.aggregate([{ $merge: { into: "merge_dst2", whenMatched: "replace" } }]).toArray();
    expect(await target.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, v: 1 },
      { _id: 2, v: 2 },
    ]);
    await source.aggregate([{ $merge: { into: "merge_dst2", whenMatched: [{ $set: { v: { $add: ["$v", "$$new.v"] } } }] } }]).toArray();
    expect((await target.find().sort({ _id: 1 }).toArray()).map((d) => d.v)).toEqual([2, 4]);

    const otherDb = ctx.client.db(`${t.dbName}_other`);
    try {
      await source.aggregate([{ $merge: { into: { db: otherDb.databaseName, coll: "copied" } } }]).toArray();
      expect(await otherDb.collection("copied").countDocuments()).toBe(2);
      await source.aggregate([{ $match: { _id: 1 } }, { $out: { db: otherDb.databaseName, coll: "outed" } }]).toArray();
      expect(await otherDb.collection("outed").find().toArray()).toEqual([{ _id: 1, v: 1 }]);
    } finally {
      await otherDb.dropDatabase();
    }
  });

  it("on other fields needs a unique index on them (51183); fail options report as mongod does", async () => {
    const source = await fresh("merge_src3", [{ sku: "a", qty: 5 }]);
    const target = await fresh("merge_dst3", [{ sku: "a", qty: 1 }]);
    const noIndex = await serverError(source.aggregate([{ $merge: { into: "merge_dst3", on: "sku" } }]).toArray());
    expect(noIndex.code).toBe(51183);
    await target.createIndex({ sku: 1 }, { unique: true });
    await source.aggregate([{ $project: { _id: 0 } }, { $merge: { into: "merge_dst3", on: "sku", whenMatched: "merge" } }]).toArray();
    expect(await target.find({}, { projection: { _id: 0 } }).toArray()).toEqual([{ sku: "a", qty: 5 }]);
    const failMatched = await serverError(source.aggregate([{ $project: { _id: 0 } }, { $merge: { into: "merge_dst3", on: "sku", whenMatched: "fail" } }]).toArray());
    expect(failMatched.code).toBe(11000);
    await target.deleteMany({});
    const failMissing = await serverError(source.aggregate([{ $merge: { into: "merge_dst3", on: "sku", whenNotMatched: "fail" } }]).toArray());
    expect(failMissing.code).toBe(13113);
    const notLast = await serverError(source.aggregate([{ $merge: { into: "x" } }, { $match: {} }]).toArray());
    expect(notLast.code).toBe(40601);
  });
});

describe("queries", () => {
  it("$all matches a scalar field equal to its one value, and arrays holding every value", async () => {
    const coll = await fresh("all_scalar", [
      { _id: 1, tags: "red" },
      { _id: 2, tags: ["red", "blue"] },
      { _id: 3, tags: ["blue"] },
    ]);
    expect((await coll.find({ tags: { $all: ["red"] } }).toArray()).map((d) => d._id)).toEqual([1, 2]);
    expect((await coll.find({ tags: { $all: ["red", "blue"] } }).toArray()).map((d) => d._id)).toEqual([2]);
    expect(await coll.countDocuments({ tags: { $all: [] } })).toBe(0);
  });

  it("refuses $where (server-side JavaScript is off) with code 2", async () => {
    const coll = await fresh("where_refused", [{ a: 1 }]);
    const err = await serverError(coll.find({ $where: "this.a == 1" }).toArray());
    expect(err.code).toBe(2);
    expect(err.message).toMatch(/\$where/);
  });

  it("$text without a text index and $near without a geo index fail as on mongod; with one they are refused, never half-answered", async () => {
    const coll = await fresh("text_geo", [{ title: "blue shirt", loc: [1, 2] }]);
    const text = await serverError(coll.find({ $text: { $search: "blue" } }).toArray());
    expect(text.code).toBe(27);
    expect(text.message).toMatch(/text index required for \$text query/);
    const near = await serverError(coll.find({ loc: { $near: [1, 2] } }).toArray());
    expect(near.code).toBe(291);
    await coll.createIndex({ title: "text" });
    const withIndex = await serverError(coll.find({ $text: { $search: "blue" } }).toArray());
    expect(withIndex.code).toBe(115);
    const within = await serverError(coll.find({ loc: { $geoWithin: { $center: [[0, 0], 5] } } }).toArray());
    expect(within.code).toBe(115);
  });

  it("a filter shape seen before, with new values, answers for the new values (compiled once per shape)", async () => {
    const coll = await fresh("shapes", Array.from({ length: 20 }, (_, i) => ({ _id: i, n: i, at: new Date(1_700_000_000_000 + i * 1000), s: `s${i}` })));
    for (let k = 0; k < 5; k++) {
      const at = new Date(1_700_000_000_000 + k * 4000);
      const docs = await coll.find({ n: { $gte: k * 2 }, at: { $lte: at }, s: { $nin: ["s0", "s1"] }, $or: [{ n: { $lt: 100 } }, { missing: null }] }).toArray();
      const expected = Array.from({ length: 20 }, (_, i) => i).filter((i) => i >= k * 2 && i <= k * 4 && i > 1);
      expect(docs.map((d) => d._id)).toEqual(expected);
    }
  });
});

describe("bulk filters and updates", () => {
  const oid = new ObjectId();
  const when = new Date(1_700_000_000_000);
  const values: unknown[] = [1, new Long(2), new Double(3), Decimal128.fromString("4"), "5", when, oid, [7, 8], null, "A", 9.5, Long.fromString("9007199254740993")];

  it("$in over many values (looked up by key) matches as a short $in does: numbers across BSON types, strings, dates, ids, array elements", async () => {
    const coll = await fresh("many_in", [...values.map((v, i) => ({ _id: i, v })), { _id: 99 }]);
    const wanted: unknown[] = [1, 2, 3.0, 4, "5", new Date(when.getTime()), new ObjectId(oid.toHexString()), 8, "a", 9.5, Long.fromString("9007199254740993")];
    const padding = Array.from({ length: 20 }, (_, i) => `pad-${i}`);
    const one = async (v: unknown) => (await coll.find({ v: { $in: [v] } }).toArray()).map((d) => d._id as number);
    const expected = [...new Set((await Promise.all(wanted.map(one))).flat())].sort((a, b) => a - b);
    expect(expected).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 10, 11]);
    const many = await coll.find({ v: { $in: [...padding, ...wanted] } }).sort({ _id: 1 }).toArray();
    expect(many.map((d) => d._id)).toEqual(expected);
    const none = await coll.find({ v: { $nin: [...padding, ...wanted] } }).sort({ _id: 1 }).toArray();
    expect(none.map((d) => d._id)).toEqual([8, 9, 99]);
    const folded = await coll.find({ v: { $in: [...padding, "a"] } }, { collation: { locale: "en", strength: 2 } }).toArray();
    expect(folded.map((d) => d._id)).toEqual([9]);
  });

  it("an updateMany over many ids by $in changes each once, keeps every index exact, and a unique index still refuses a duplicate", async () => {
    const coll = await fresh("bulk_status", Array.from({ length: 1500 }, (_, i) => ({ _id: new ObjectId(), n: i, group: i % 3, status: "pending", meta: { k: `k${i}` }, tags: [`t${i % 5}`] })));
    await coll.createIndex({ group: 1, status: 1 });
    await coll.createIndex({ "meta.k": 1 });
    await coll.createIndex({ tags: 1 });
    await coll.createIndex({ n: 1 }, { unique: true });
    const ids = (await coll.find({ group: 0 }, { projection: { _id: 1 } }).toArray()).map((d) => d._id);
    const at = new Date();
    const first = await coll.updateMany({ group: 0, status: "pending", _id: { $in: ids } }, { $set: { status: "cancelled", cancelled_at: at } });
    expect(first).toMatchObject({ matchedCount: 500, modifiedCount: 500 });
    const again = await coll.updateMany({ _id: { $in: ids } }, { $set: { status: "cancelled", cancelled_at: new Date(at.getTime()) } });
    expect(again).toMatchObject({ matchedCount: 500, modifiedCount: 0 });
    expect(await coll.countDocuments({ group: 0, status: "cancelled" })).toBe(500);
    expect(await coll.countDocuments({ group: 0, status: "pending" })).toBe(0);
    expect(await coll.countDocuments({ status: "pending" })).toBe(1000);
    expect((await coll.findOne({ "meta.k": "k3" }))?.status).toBe("cancelled");
    expect(await coll.countDocuments({ tags: "t0", status: "cancelled" })).toBe(100);
    await coll.updateOne({ n: 4 }, { $set: { tags: ["x", "y"] } });
    expect((await coll.find({ tags: "y" }).toArray()).map((d) => d.n)).toEqual([4]);
    const dup = await serverError(coll.updateOne({ n: 5 }, { $set: { n: 6 } }));
    expect(dup.code).toBe(11000);
    expect(await coll.countDocuments({ n: 5 })).toBe(1);
  });
});

describe("projection", () => {
  const doc = { _id: 1, name: "n", grades: [{ g: 80, m: 1 }, { g: 90, m: 2 }, { g: 95, m: 3 }], nums: [1, 2, 3, 4, 5], other: "x" };

  it("$elemMatch with operators returns the first matching element only", async () => {
    const coll = await fresh("proj_elem", [doc]);
    const got = await coll.findOne({}, { projection: { name: 1, grades: { $elemMatch: { g: { $gte: 85 }, m: { $gt: 2 } } } } });
    expect(got).toEqual({ _id: 1, name: "n", grades: [{ g: 95, m: 3 }] });
    const none = await coll.findOne({}, { projection: { grades: { $elemMatch: { g: { $gt: 100 } } } } });
    expect(none).toEqual({ _id: 1 });
  });

  it("$slice alongside an inclusion returns only the included fields and the slice", async () => {
    const coll = await fresh("proj_slice", [doc]);
    expect(await coll.findOne({}, { projection: { name: 1, nums: { $slice: 2 } } })).toEqual({ _id: 1, name: "n", nums: [1, 2] });
    expect(await coll.findOne({}, { projection: { nums: { $slice: [1, 2] }, _id: 0, other: 1 } })).toEqual({ nums: [2, 3], other: "x" });
    // $slice alone is an exclusion-style projection: every other field stays.
    expect(await coll.findOne({}, { projection: { nums: { $slice: -1 }, grades: 0 } })).toEqual({ _id: 1, name: "n", nums: [5], other: "x" });
  });

  it("the positional $ returns the element the query matched", async () => {
    const coll = await fresh("proj_positional", [doc]);
    expect(await coll.findOne({ nums: { $gte: 3 } }, { projection: { "nums.$": 1 } })).toEqual({ _id: 1, nums: [3] });
    expect(await coll.findOne({ "grades.g": 90 }, { projection: { "grades.$": 1, name: 1 } })).toEqual({ _id: 1, name: "n", grades: [{ g: 90, m: 2 }] });
    const fam = await coll.findOneAndUpdate({ "grades.m": 3 }, { $set: { touched: true } }, { projection: { "grades.$": 1 } });
    expect(fam).toEqual({ _id: 1, grades: [{ g: 95, m: 3 }] });
  });
});

describe("update edge cases", () => {
  it("$push or $addToSet on a non-array field fails with code 2 and changes nothing", async () => {
    const coll = await fresh("push_scalar", [{ _id: 1, tags: "solo", n: 1 }]);
    const push = await serverError(coll.updateOne({ _id: 1 }, { $push: { tags: "more" }, $inc: { n: 1 } } as AnyDoc));
    expect(push.code).toBe(2);
    expect(push.message).toMatch(/The field 'tags' must be an array but is of type string in document \{_id: 1\}/);
    const add = await serverError(coll.updateOne({ _id: 1 }, { $addToSet: { n: 2 } } as AnyDoc));
    expect(add.code).toBe(2);
    const pull = await serverError(coll.updateOne({ _id: 1 }, { $pull: { tags: "solo" } } as AnyDoc));
    expect(pull.code).toBe(2);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, tags: "solo", n: 1 });
    // A missing field is created as an array.
    await coll.updateOne({ _id: 1 }, { $push: { fresh: 1 } } as AnyDoc);
    expect((await coll.findOne({ _id: 1 }))?.fresh).toEqual([1]);
  });

  it("$pull with $or (and $and) conditions removes the matching elements", async () => {
    const coll = await fresh("pull_or", [{ _id: 1, items: [{ k: "a", n: 1 }, { k: "b", n: 2 }, { k: "c", n: 3 }, { k: "d", n: 4 }] }]);
    const res = await coll.updateOne({ _id: 1 }, { $pull: { items: { $or: [{ k: "a" }, { n: { $gte: 4 } }] } } } as AnyDoc);
    expect(res.modifiedCount).toBe(1);
    expect((await coll.findOne({ _id: 1 }))?.items.map((i: AnyDoc) => i.k)).toEqual(["b", "c"]);
    await coll.updateOne({ _id: 1 }, { $pull: { items: { $and: [{ k: "c" }, { n: 3 }] } } } as AnyDoc);
    expect((await coll.findOne({ _id: 1 }))?.items.map((i: AnyDoc) => i.k)).toEqual(["b"]);
  });

  it("x.$.a together with x.$[].b is legal; overlapping x.$ and x.$[] is a conflict (40)", async () => {
    const coll = await fresh("positional_mix", [{ _id: 1, x: [{ a: 1, b: 0 }, { a: 2, b: 0 }] }]);
    await coll.updateOne({ _id: 1, "x.a": 2 }, { $set: { "x.$.a": 20, "x.$[].b": 5 } });
    expect((await coll.findOne({ _id: 1 }))?.x).toEqual([
      { a: 1, b: 5 },
      { a: 20, b: 5 },
    ]);
    const conflict = await serverError(coll.updateOne({ _id: 1, "x.a": 1 }, { $set: { "x.$": 0, "x.$[]": 1 } }));
    expect(conflict.code).toBe(40);
  });

  it("two operators on one path (or one inside the other) are a conflict (40) and change nothing", async () => {
    const coll = await fresh("operator_conflict", [{ _id: 1, a: 1, n: { m: 2 }, s: "q" }]);
    for (const update of [{ $set: { a: 2 }, $inc: { a: 1 } }, { $set: { "n.m": 3 }, $unset: { n: "" } }, { $rename: { s: "a" }, $set: { a: 3 } }]) {
      const conflict = await serverError(coll.updateOne({ _id: 1 }, update as AnyDoc));
      expect(conflict.code).toBe(40);
      expect(conflict.message).toMatch(/^Updating the path '(a|n)' would create a conflict at '(a|n)'$/);
    }
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, a: 1, n: { m: 2 }, s: "q" });
    // Different paths under different operators apply together.
    await coll.updateOne({ _id: 1 }, { $set: { a: 2 }, $inc: { "n.m": 1 }, $rename: { s: "t" } } as AnyDoc);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, a: 2, n: { m: 3 }, t: "q" });
  });

  it("two fields of the matched element (x.$.a, x.$.b) are set together, even when one is the field the filter matched on", async () => {
    const coll = await fresh("positional_pair", [{ _id: 1, x: [{ k: 1, a: 0, b: 0 }, { k: 2, a: 0, b: 0 }] }]);
    await coll.updateOne({ _id: 1, "x.k": 2 }, { $set: { "x.$.a": 7, "x.$.b": 8 } });
    await coll.updateOne({ _id: 1, x: { $elemMatch: { k: 1 } } }, { $set: { "x.$.k": 10 }, $inc: { "x.$.a": 1 } });
    expect((await coll.findOne({ _id: 1 }))?.x).toEqual([
      { k: 10, a: 1, b: 0 },
      { k: 2, a: 7, b: 8 },
    ]);
    expect((await serverError(coll.updateOne({ _id: 1, "x.k": 2 }, { $set: { "x.$": {}, "x.$.a": 1 } }))).code).toBe(40);
  });

  it("a field cannot be created inside a number, a string, null or (by name) an array: PathNotViable (28), nothing changed", async () => {
    const start = { _id: 1, n: 5, s: "q", z: null, arr: [1, 2], o: { p: 1 } };
    const coll = await fresh("path_not_viable", [start]);
    for (const update of [{ $set: { "n.b": 1 } }, { $inc: { "s.c": 1 } }, { $set: { "z.d": 1 } }, { $set: { "arr.name": 1 } }, { $push: { "o.p.q": 1 } }]) {
      const refused = await serverError(coll.updateOne({ _id: 1 }, update as AnyDoc));
      expect(refused.code, JSON.stringify(update)).toBe(28);
      expect(refused.message).toMatch(/^Cannot create field '\w+' in element \{[\w.]+: .*\}$/);
    }
    expect(await coll.findOne({ _id: 1 })).toEqual(start);
    // Creating inside an object, a missing field, or an array by index is fine; $unset of such a path is a no-op.
    await coll.updateOne({ _id: 1 }, { $set: { "o.q": 2, "m.k": 3, "arr.1": 9 }, $unset: { "n.b": "" } });
    expect(await coll.findOne({ _id: 1 })).toEqual({ ...start, o: { p: 1, q: 2 }, m: { k: 3 }, arr: [1, 9] });
  });
});

describe("where 7.0 is strict", () => {
  it("refuses sort on updateOne and replaceOne (a MongoDB 8.0 option) with 40415", async () => {
    const coll = await fresh("update_sort", [{ _id: 1, n: 1 }]);
    const upd = await serverError(coll.updateOne({}, { $set: { n: 2 } }, { sort: { n: -1 } }));
    expect(upd.code).toBe(40415);
    expect(upd.message).toMatch(/'update\.updates\.sort' is an unknown field/);
    const rep = await serverError(coll.replaceOne({}, { n: 3 }, { sort: { n: 1 } }));
    expect(rep.code).toBe(40415);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, n: 1 });
  });

  it("refuses $-prefixed field names inside _id (52), on insert and on upsert", async () => {
    const coll = await fresh("dollar_id");
    const ins = await serverError(coll.insertOne({ _id: { $gt: 1 } }));
    expect(ins.code).toBe(52);
    const nested = await serverError(coll.insertOne({ _id: { a: { $b: 1 } } }));
    expect(nested.code).toBe(52);
    const ups = await serverError(coll.replaceOne({ x: 1 }, { _id: { $x: 1 }, v: 1 }, { upsert: true }));
    expect(ups.code).toBe(52);
    expect(await coll.countDocuments()).toBe(0);
  });
});

describe("collection validators", () => {
  const schema = {
    $jsonSchema: {
      bsonType: "object",
      required: ["name", "price"],
      properties: {
        name: { bsonType: "string", minLength: 1 },
        price: { bsonType: ["int", "double"], minimum: 0 },
        status: { enum: ["draft", "active"] },
        tags: { bsonType: "array", items: { bsonType: "string" }, maxItems: 3 },
      },
    },
  };

  it("a $jsonSchema validator refuses invalid inserts and updates with code 121 and lets valid ones through", async () => {
    await db.collection("validated").drop().catch(() => undefined);
    await db.createCollection("validated", { validator: schema });
    const coll = db.collection<AnyDoc>("validated");
    await coll.insertOne({ _id: 1, name: "shirt", price: 10, status: "draft", tags: ["a"] });
    for (const bad of [{ name: "x" }, { name: "", price: 1 }, { name: "x", price: -1 }, { name: "x", price: 1, status: "gone" }, { name: "x", price: "1" }, { name: "x", price: 1, tags: [1] }]) {
      const err = await serverError(coll.insertOne(bad));
      expect(err.code).toBe(121);
      expect(err.message).toMatch(/Document failed validation/);
    }
    const upd = await serverError(coll.updateOne({ _id: 1 }, { $set: { price: -5 } }));
    expect(upd.code).toBe(121);
    const fam = await serverError(coll.findOneAndUpdate({ _id: 1 }, { $unset: { name: "" } }));
    expect(fam.code).toBe(121);
    const ups = await serverError(coll.updateOne({ _id: 9 }, { $set: { name: "only a name" } }, { upsert: true }));
    expect(ups.code).toBe(121);
    await coll.updateOne({ _id: 1 }, { $set: { status: "active" } });
    await coll.insertOne({ name: "bypassed" }, { bypassDocumentValidation: true });
    expect(await coll.countDocuments()).toBe(2);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, name: "shirt", price: 10, status: "active", tags: ["a"] });
    // The same schema works as a query.
    expect(await coll.countDocuments(schema)).toBe(1);
  });

  it("a query validator, and validationAction warn / validationLevel moderate", async () => {
    await db.collection("validated_query").drop().catch(() => undefined);
    await db.createCollection("validated_query", { validator: { qty: { $gte: 0 } } });
    const coll = db.collection<AnyDoc>("validated_query");
    expect((await serverError(coll.insertOne({ qty: -1 }))).code).toBe(121);
    await coll.insertOne({ qty: 1 });

    await db.collection("validated_warn").drop().catch(() => undefined);
    await db.createCollection("validated_warn", { validator: { qty: { $gte: 0 } }, validationAction: "warn" });
    await db.collection<AnyDoc>("validated_warn").insertOne({ qty: -1 });

    await db.collection("validated_moderate").drop().catch(() => undefined);
    await db.createCollection("validated_moderate", { validator: { qty: { $gte: 0 } }, validationLevel: "moderate" });
    const mod = db.collection<AnyDoc>("validated_moderate");
    await mod.insertOne({ _id: 1, qty: -1 }, { bypassDocumentValidation: true });
    await mod.insertOne({ _id: 2, qty: 1 });
    // An already invalid document may be updated; a valid one may not become invalid.
    await mod.updateOne({ _id: 1 }, { $set: { note: "still invalid" } });
    expect((await serverError(mod.updateOne({ _id: 2 }, { $set: { qty: -2 } }))).code).toBe(121);
  });
});

describe("oversized documents", () => {
  it("an insert over 16 MB is refused with code 2 and mongod's message; the connection goes on", async () => {
    const coll = await fresh("oversized", [{ _id: 1 }]);
    const err = await serverError(coll.insertOne({ _id: 2, blob: "x".repeat(16 * 1024 * 1024 + 10) }));
    expect(err.code).toBe(2);
    expect(err.errmsg).toMatch(/object to insert too large. size in bytes: \d+, max size: 16777216/);
    await coll.insertOne({ _id: 3 });
    expect((await coll.find().toArray()).map((d) => d._id)).toEqual([1, 3]);
  });
});
