import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoBulkWriteError, MongoServerError, ObjectId, Timestamp, type Collection, type Db, type Document } from "mongodb";
import { onRealMongo, type TestDatabase } from "../helpers/mongo.js";
import { closeDriverSuite, openDriverSuite, type DriverContext, type AnyDoc } from "./driver-helpers.js";

let t: TestDatabase;
let ctx: DriverContext;
let db: Db;

beforeAll(async () => {
  ({ t, ctx, db } = await openDriverSuite("driver_crud"));
});

afterAll(() => closeDriverSuite({ t, ctx }));

async function fresh(name: string, docs: Document[] = []): Promise<Collection<AnyDoc>> {
  const coll = db.collection<AnyDoc>(name);
  await coll.deleteMany({});
  if (docs.length) await coll.insertMany(docs);
  return coll;
}

describe("insert and find", () => {
  it("inserts one and many, assigning ObjectIds the client generated", async () => {
    const coll = await fresh("ins");
    const one = await coll.insertOne({ name: "a" });
    expect(one.acknowledged).toBe(true);
    expect(one.insertedId).toBeInstanceOf(ObjectId);
    const many = await coll.insertMany([{ name: "b" }, { _id: "custom", name: "c" }]);
    expect(many.insertedCount).toBe(2);
    expect(many.insertedIds[1]).toBe("custom");
    const all = await coll.find({}, { sort: { name: 1 } }).toArray();
    expect(all.map((d) => d.name)).toEqual(["a", "b", "c"]);
    expect(all[0]._id.equals(one.insertedId)).toBe(true);
    expect(Object.keys(all[0])[0]).toBe("_id");
    const natural = await coll.find({}, { sort: { $natural: -1 } }).toArray();
    expect(natural.map((d) => d.name)).toEqual(["c", "b", "a"]);
    const forward = await coll.find({ name: { $ne: "b" } }).sort({ $natural: 1 }).toArray();
    expect(forward.map((d) => d.name)).toEqual(["a", "c"]);
  });

  it("applies filter, projection, sort, skip and limit", async () => {
    const coll = await fresh(
      "query",
      Array.from({ length: 30 }, (_, i) => ({ n: i, even: i % 2 === 0, tag: `t${i % 3}`, nested: { v: i * 10 } })),
    );
    const docs = await coll
      .find({ n: { $gte: 10 }, even: true }, { projection: { _id: 0, n: 1, "nested.v": 1 } })
      .sort({ n: -1 })
      .skip(2)
      .limit(3)
      .toArray();
    expect(docs).toEqual([
      { n: 24, nested: { v: 240 } },
      { n: 22, nested: { v: 220 } },
      { n: 20, nested: { v: 200 } },
    ]);
    // Sort on a field the projection leaves out.
    const byHidden = await coll.find({ tag: "t0" }, { projection: { tag: 1, _id: 0 }, sort: { n: -1 }, limit: 2 }).toArray();
    expect(byHidden).toEqual([{ tag: "t0" }, { tag: "t0" }]);
    const firstHidden = await coll.find({ tag: "t0" }, { projection: { n: 1, _id: 0 }, sort: { "nested.v": -1 }, limit: 1 }).toArray();
    expect(firstHidden).toEqual([{ n: 27 }]);
    // Exclusion projection and compound sort.
    const excl = await coll.find({ n: { $lt: 4 } }, { projection: { nested: 0, _id: 0 }, sort: { even: 1, n: -1 } }).toArray();
    expect(excl).toEqual([
      { n: 3, even: false, tag: "t0" },
      { n: 1, even: false, tag: "t1" },
      { n: 2, even: true, tag: "t2" },
      { n: 0, even: true, tag: "t0" },
    ]);
    expect(await coll.findOne({ n: 7 }, { projection: { _id: 0, tag: 1 } })).toEqual({ tag: "t1" });
    expect(await coll.findOne({ n: 999 })).toBeNull();
  });

  it("serves 1,000 documents through real cursors: one find and getMores of batchSize 100", async () => {
    const coll = await fresh("many", Array.from({ length: 1000 }, (_, i) => ({ i })));
    ctx.resetEvents();
    const docs = await coll.find({}, { batchSize: 100 }).sort({ i: 1 }).toArray();
    expect(docs).toHaveLength(1000);
    expect(docs.map((d) => d.i)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const [findReply] = ctx.repliesTo("find");
    expect(findReply.cursor.firstBatch).toHaveLength(100);
    const getMores = ctx.commandsNamed("getMore");
    // 900 documents left in batches of 100: 9 getMores (a server that cannot tell it is exhausted needs a 10th).
    expect(getMores.length).toBeGreaterThanOrEqual(9);
    expect(getMores.length).toBeLessThanOrEqual(10);
    for (const g of getMores) expect(g.command.batchSize).toBe(100);
    const batches = ctx.repliesTo("getMore").map((r) => r.cursor.nextBatch.length);
    expect(batches.slice(0, 9)).toEqual(Array(9).fill(100));
    const last = ctx.repliesTo("getMore").at(-1)!;
    expect(String(last.cursor.id)).toBe("0");
  });

  it("uses the default first batch of 101 and returns the rest in getMore", async () => {
    const coll = db.collection<AnyDoc>("many");
    ctx.resetEvents();
    const ids = [];
    for await (const doc of coll.find({ i: { $gte: 500 } })) ids.push(doc.i);
    expect(ids).toHaveLength(500);
    expect(ctx.repliesTo("find")[0].cursor.firstBatch).toHaveLength(101);
    const rest = ctx.repliesTo("getMore").reduce((n, r) => n + r.cursor.nextBatch.length, 0);
    expect(rest).toBe(399);
  });

  it("opens a cursor with an empty first batch for batchSize 0", async () => {
    const first = await db.command({ find: "many", filter: { i: { $lt: 30 } }, sort: { i: 1 }, batchSize: 0 });
    expect(first.cursor.firstBatch).toEqual([]);
    expect(String(first.cursor.id)).not.toBe("0");
    const more = await db.command({ getMore: first.cursor.id, collection: "many", batchSize: 20 });
    expect(more.cursor.nextBatch.map((d: Document) => d.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const rest = await db.command({ getMore: first.cursor.id, collection: "many" });
    expect(rest.cursor.nextBatch).toHaveLength(10);
    expect(String(rest.cursor.id)).toBe("0");
  });

  it("closes a cursor early with killCursors", async () => {
    const coll = db.collection<AnyDoc>("many");
    ctx.resetEvents();
    const cursor = coll.find({}, { batchSize: 10 });
    const first = await cursor.next();
    expect(first).not.toBeNull();
    const cursorId = String(ctx.repliesTo("find")[0].cursor.id);
    expect(cursorId).not.toBe("0");
    const openBefore = t.embedded?.engine.cursors.size;
    await cursor.close();
    const kills = ctx.commandsNamed("killCursors");
    expect(kills).toHaveLength(1);
    expect(kills[0].command.cursors.map(String)).toEqual([cursorId]);
    expect(ctx.repliesTo("killCursors")[0].cursorsKilled.map(String)).toEqual([cursorId]);
    if (!onRealMongo) expect(t.embedded!.engine.cursors.size).toBe(openBefore! - 1);
  });

  it("honours limit together with batchSize, and a negative limit as a single batch", async () => {
    const coll = db.collection<AnyDoc>("many");
    ctx.resetEvents();
    const docs = await coll.find({}).sort({ i: 1 }).limit(25).batchSize(10).toArray();
    expect(docs.map((d) => d.i)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(ctx.repliesTo("getMore").length).toBeGreaterThanOrEqual(2);
    ctx.resetEvents();
    const single = await coll.find({}).sort({ i: -1 }).limit(-5).toArray();
    expect(single.map((d) => d.i)).toEqual([999, 998, 997, 996, 995]);
    expect(ctx.commandsNamed("getMore")).toHaveLength(0);
    expect(String(ctx.repliesTo("find")[0].cursor.id)).toBe("0");
  });
});

describe("updates", () => {
  it("updateOne and updateMany report matched and modified counts", async () => {
    const coll = await fresh("upd", [{ k: 1, v: 0 }, { k: 1, v: 0 }, { k: 2, v: 0 }]);
    const one = await coll.updateOne({ k: 1 }, { $set: { v: 1 } });
    expect(one).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0, upsertedId: null });
    const same = await coll.updateOne({ k: 1, v: 1 }, { $set: { v: 1 } });
    expect(same).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    const many = await coll.updateMany({ k: 1 }, { $set: { v: 5 } });
    expect(many).toMatchObject({ matchedCount: 2, modifiedCount: 2 });
    const none = await coll.updateMany({ k: 99 }, { $set: { v: 5 } });
    expect(none).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
    expect(await coll.countDocuments({ v: 5 })).toBe(2);
    expect(await coll.countDocuments({ v: 0 })).toBe(1);
  });

  it("upserts with $setOnInsert only when inserting", async () => {
    const coll = await fresh("upsert");
    const first = await coll.updateOne(
      { sku: "A1", "meta.shop": "x" },
      { $set: { price: 10 }, $setOnInsert: { createdBy: "upsert" }, $inc: { seen: 1 } },
      { upsert: true },
    );
    expect(first.upsertedCount).toBe(1);
    expect(first.matchedCount).toBe(0);
    expect(first.upsertedId).toBeInstanceOf(ObjectId);
    const doc = await coll.findOne({ _id: first.upsertedId! });
    expect(doc).toEqual({ _id: first.upsertedId, sku: "A1", meta: { shop: "x" }, price: 10, createdBy: "upsert", seen: 1 });
    const second = await coll.updateOne(
      { sku: "A1", "meta.shop": "x" },
      { $set: { price: 12 }, $setOnInsert: { createdBy: "other" }, $inc: { seen: 1 } },
      { upsert: true },
    );
    expect(second).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0, upsertedId: null });
    expect(await coll.findOne({ sku: "A1" }, { projection: { _id: 0 } })).toEqual({
      sku: "A1",
      meta: { shop: "x" },
      price: 12,
      createdBy: "upsert",
      seen: 2,
    });
    // An upsert whose filter names the _id keeps it.
    const byId = await coll.updateOne({ _id: "fixed" }, { $set: { a: 1 } }, { upsert: true });
    expect(byId.upsertedId).toBe("fixed");
    // An $in filter contributes no field to the upserted document.
    await coll.updateOne({ code: { $in: ["x", "y"] }, kind: "in" }, { $set: { b: 2 } }, { upsert: true });
    expect(await coll.findOne({ kind: "in" }, { projection: { _id: 0 } })).toEqual({ kind: "in", b: 2 });
  });

  it("applies the field operators: $inc $unset $rename $currentDate $addToSet $pull $push", async () => {
    const coll = await fresh("ops", [{ _id: 1, n: 1, old: "x", gone: true, tags: ["a"], scores: [1, 5, 7, 2], list: [1, 2] }]);
    const before = Date.now();
    await coll.updateOne(
      { _id: 1 },
      {
        $inc: { n: 2, fresh: 3 },
        $unset: { gone: "" },
        $rename: { old: "renamed" },
        $currentDate: { touchedAt: true, stamp: { $type: "timestamp" } },
        $addToSet: { tags: { $each: ["a", "b", "b"] } },
        $pull: { scores: { $gte: 5 } },
        $push: { list: { $each: [3, 4, 5], $slice: -3 } },
      } as Document,
    );
    const doc = (await coll.findOne({ _id: 1 }))!;
    expect(doc.n).toBe(3);
    expect(doc.fresh).toBe(3);
    expect("gone" in doc).toBe(false);
    expect("old" in doc).toBe(false);
    expect(doc.renamed).toBe("x");
    expect(doc.touchedAt).toBeInstanceOf(Date);
    expect((doc.touchedAt as Date).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(doc.stamp).toBeInstanceOf(Timestamp);
    expect(doc.tags).toEqual(["a", "b"]);
    expect(doc.scores).toEqual([1, 2]);
    expect(doc.list).toEqual([3, 4, 5]);
    // $push with $each, $sort and $slice, and $pull by equality.
    await coll.updateOne(
      { _id: 1 },
      { $push: { scores: { $each: [9, 0], $sort: -1, $slice: 3 } }, $pull: { tags: "a" } } as Document,
    );
    const after = (await coll.findOne({ _id: 1 }))!;
    expect(after.scores).toEqual([9, 2, 1]);
    expect(after.tags).toEqual(["b"]);
  });

  it("updates array elements with arrayFilters and the positional $", async () => {
    const coll = await fresh("arr", [
      { name: "s1", grades: [{ score: 70 }, { score: 85 }, { score: 95 }], items: [{ sku: "a", qty: 1 }, { sku: "b", qty: 1 }] },
    ]);
    const res = await coll.updateOne(
      { name: "s1" },
      { $set: { "grades.$[g].passed": true } },
      { arrayFilters: [{ "g.score": { $gte: 80 } }] },
    );
    expect(res.modifiedCount).toBe(1);
    await coll.updateOne({ name: "s1", "items.sku": "b" }, { $inc: { "items.$.qty": 4 } });
    const doc = (await coll.findOne({ name: "s1" }, { projection: { _id: 0 } }))!;
    expect(doc.grades).toEqual([{ score: 70 }, { score: 85, passed: true }, { score: 95, passed: true }]);
    expect(doc.items).toEqual([{ sku: "a", qty: 1 }, { sku: "b", qty: 5 }]);
  });

  it("rejects an _id change and an unknown update operator without changing anything", async () => {
    const coll = await fresh("bad_upd", [{ _id: "k", v: 1 }]);
    const idErr = await coll.updateOne({ _id: "k" }, { $set: { _id: "other" } }).catch((e: unknown) => e);
    expect(idErr).toBeInstanceOf(MongoServerError);
    expect((idErr as MongoServerError).code).toBe(66);
    const opErr = await coll.updateOne({}, { $frobnicate: { v: 2 } } as Document).catch((e: unknown) => e);
    expect(opErr).toBeInstanceOf(MongoServerError);
    expect((opErr as MongoServerError).code).toBe(9);
    expect(await coll.findOne({}, { projection: { _id: 1, v: 1 } })).toEqual({ _id: "k", v: 1 });
  });

  it("replaceOne swaps the whole document, keeping _id; upserts when asked", async () => {
    const coll = await fresh("repl", [{ _id: 1, a: 1, b: 2 }]);
    const res = await coll.replaceOne({ a: 1 }, { c: 3 });
    expect(res).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, c: 3 });
    const up = await coll.replaceOne({ c: 99 }, { c: 100, d: 1 }, { upsert: true });
    expect(up.upsertedCount).toBe(1);
    expect(await coll.findOne({ _id: up.upsertedId! }, { projection: { _id: 0 } })).toEqual({ c: 100, d: 1 });
  });

  it("deleteOne and deleteMany report deletedCount", async () => {
    const coll = await fresh("del", Array.from({ length: 10 }, (_, i) => ({ i, odd: i % 2 === 1 })));
    expect((await coll.deleteOne({ odd: true })).deletedCount).toBe(1);
    expect((await coll.deleteMany({ odd: true })).deletedCount).toBe(4);
    expect((await coll.deleteMany({ odd: true })).deletedCount).toBe(0);
    expect(await coll.countDocuments()).toBe(5);
    expect((await coll.deleteMany({})).deletedCount).toBe(5);
    expect(await coll.estimatedDocumentCount()).toBe(0);
  });
});

describe("findOneAnd*", () => {
  it("findOneAndUpdate honours sort, returnDocument, projection and upsert", async () => {
    const coll = await fresh("fam", [
      { name: "a", rank: 1, n: 0 },
      { name: "b", rank: 3, n: 0 },
      { name: "c", rank: 2, n: 0 },
    ]);
    const before = await coll.findOneAndUpdate({}, { $inc: { n: 1 } }, { sort: { rank: -1 }, returnDocument: "before" });
    expect(before).toMatchObject({ name: "b", n: 0 });
    const after = await coll.findOneAndUpdate(
      { rank: { $lt: 3 } },
      { $inc: { n: 10 } },
      { sort: { rank: 1 }, returnDocument: "after", projection: { _id: 0, name: 1, n: 1 } },
    );
    expect(after).toEqual({ name: "a", n: 10 });
    const missing = await coll.findOneAndUpdate({ name: "zz" }, { $set: { n: 1 } });
    expect(missing).toBeNull();
    const upserted = await coll.findOneAndUpdate(
      { name: "d" },
      { $set: { rank: 4 }, $setOnInsert: { n: 0 } },
      { upsert: true, returnDocument: "after", projection: { _id: 0 } },
    );
    expect(upserted).toEqual({ name: "d", rank: 4, n: 0 });
    const upsertedBefore = await coll.findOneAndUpdate({ name: "e" }, { $set: { rank: 5 } }, { upsert: true, returnDocument: "before" });
    expect(upsertedBefore).toBeNull();
    expect(await coll.countDocuments()).toBe(5);
    const meta = await coll.findOneAndUpdate({ name: "a" }, { $inc: { n: 1 } }, { includeResultMetadata: true });
    expect(meta.ok).toBe(1);
    expect(meta.lastErrorObject).toMatchObject({ n: 1, updatedExisting: true });
  });

  it("findOneAndReplace and findOneAndDelete pick by sort", async () => {
    const coll = await fresh("far", [
      { name: "x", at: 3 },
      { name: "y", at: 1 },
      { name: "z", at: 2 },
    ]);
    const replaced = await coll.findOneAndReplace({}, { name: "y2", at: 10 }, { sort: { at: 1 }, returnDocument: "after" });
    expect(replaced).toMatchObject({ name: "y2", at: 10 });
    expect(await coll.countDocuments({ name: "y" })).toBe(0);
    const deleted = await coll.findOneAndDelete({ at: { $lt: 10 } }, { sort: { at: -1 }, projection: { _id: 0, name: 1 } });
    expect(deleted).toEqual({ name: "x" });
    expect((await coll.find({}, { projection: { _id: 0, name: 1 } }).sort({ at: 1 }).toArray()).map((d) => d.name)).toEqual(["z", "y2"]);
    expect(await coll.findOneAndDelete({ name: "nobody" })).toBeNull();
  });
});

describe("counting, distinct and aggregation", () => {
  it("counts documents with a filter, skip and limit, and estimates the collection size", async () => {
    const coll = await fresh("cnt", Array.from({ length: 50 }, (_, i) => ({ i, g: i % 5 })));
    expect(await coll.countDocuments()).toBe(50);
    expect(await coll.countDocuments({ g: 2 })).toBe(10);
    expect(await coll.countDocuments({ g: 2 }, { skip: 3, limit: 5 })).toBe(5);
    expect(await coll.countDocuments({ g: 2 }, { skip: 8 })).toBe(2);
    expect(await coll.estimatedDocumentCount()).toBe(50);
    expect(await db.collection<AnyDoc>("never_created").countDocuments()).toBe(0);
    expect(await db.collection<AnyDoc>("never_created").estimatedDocumentCount()).toBe(0);
  });

  it("returns distinct values, unwinding arrays and honouring the filter", async () => {
    const coll = await fresh("dst", [
      { cat: "a", tags: ["x", "y"], n: 1 },
      { cat: "b", tags: ["y", "z"], n: 2 },
      { cat: "a", tags: [], n: 3 },
      { cat: "c", n: 4 },
    ]);
    expect((await coll.distinct("cat")).sort()).toEqual(["a", "b", "c"]);
    expect((await coll.distinct("tags")).sort()).toEqual(["x", "y", "z"]);
    expect((await coll.distinct("cat", { n: { $gte: 2 } })).sort()).toEqual(["a", "b", "c"]);
    expect(await coll.distinct("cat", { n: { $gt: 3 } })).toEqual(["c"]);
    expect(await coll.distinct("missing")).toEqual([]);
  });

  it("runs a pipeline with $match $group $sort $project $addFields $skip $limit", async () => {
    const coll = await fresh(
      "orders",
      Array.from({ length: 40 }, (_, i) => ({ shop: `s${i % 4}`, amount: i, status: i % 10 === 0 ? "void" : "paid" })),
    );
    const rows = await coll
      .aggregate([
        { $match: { status: "paid" } },
        { $group: { _id: "$shop", total: { $sum: "$amount" }, count: { $sum: 1 } } },
        { $sort: { total: -1, _id: 1 } },
        { $addFields: { avg: { $divide: ["$total", "$count"] } } },
        { $project: { _id: 0, shop: "$_id", total: 1, count: 1, avg: 1 } },
        { $skip: 1 },
        { $limit: 2 },
      ])
      .toArray();
    // paid per shop: s3 = 3+7+…+39 = 210, s1 = 190, s0 = 180 - (0+20) = 160, s2 = 200 - (10+30) = 160 (tie: by _id)
    expect(rows).toEqual([
      { total: 190, count: 10, avg: 19, shop: "s1" },
      { total: 160, count: 8, avg: 20, shop: "s0" },
    ]);
  });

  it("runs $facet, $count, $unwind and $lookup", async () => {
    const products = await fresh("products", [
      { _id: "p1", title: "Lamp" },
      { _id: "p2", title: "Desk" },
    ]);
    const sales = await fresh("sales", [
      { product: "p1", sizes: ["S", "M"] },
      { product: "p1", sizes: ["L"] },
      { product: "p2", sizes: [] },
    ]);
    const [facets] = await sales
      .aggregate([
        {
          $facet: {
            total: [{ $count: "n" }],
            sizes: [{ $unwind: "$sizes" }, { $group: { _id: null, all: { $push: "$sizes" } } }, { $project: { _id: 0 } }],
          },
        },
      ])
      .toArray();
    expect(facets.total).toEqual([{ n: 3 }]);
    expect((facets.sizes[0].all as string[]).sort()).toEqual(["L", "M", "S"]);
    const joined = await products
      .aggregate([
        { $lookup: { from: "sales", localField: "_id", foreignField: "product", as: "sold" } },
        { $project: { _id: 1, title: 1, sold: { $size: "$sold" } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(joined).toEqual([
      { _id: "p1", title: "Lamp", sold: 2 },
      { _id: "p2", title: "Desk", sold: 1 },
    ]);
    const [counted] = await sales.aggregate([{ $unwind: "$sizes" }, { $count: "sizes" }]).toArray();
    expect(counted).toEqual({ sizes: 3 });
  });

  it("writes a pipeline's output with $out, replacing the target collection", async () => {
    const src = await fresh("out_src", Array.from({ length: 10 }, (_, i) => ({ i, even: i % 2 === 0 })));
    await fresh("out_dst", [{ stale: true }]);
    const result = await src.aggregate([{ $match: { even: true } }, { $project: { _id: 0, i: 1 } }, { $out: "out_dst" }]).toArray();
    expect(result).toEqual([]);
    const out = await db.collection<AnyDoc>("out_dst").find({}, { projection: { _id: 0 } }).sort({ i: 1 }).toArray();
    expect(out).toEqual([{ i: 0 }, { i: 2 }, { i: 4 }, { i: 6 }, { i: 8 }]);
    const withIds = await db.collection<AnyDoc>("out_dst").find().toArray();
    expect(withIds.every((d) => d._id instanceof ObjectId)).toBe(true);
  });

  it("serves a large aggregation result through getMore", async () => {
    const coll = await fresh("agg_big", Array.from({ length: 450 }, (_, i) => ({ i })));
    ctx.resetEvents();
    const rows = await coll.aggregate([{ $sort: { i: -1 } }, { $project: { _id: 0, i: 1 } }], { batchSize: 200 }).toArray();
    expect(rows).toHaveLength(450);
    expect(rows[0]).toEqual({ i: 449 });
    expect(ctx.commandsNamed("getMore").length).toBeGreaterThanOrEqual(2);
  });
});

describe("bulkWrite", () => {
  it("mixes operations and reports every count", async () => {
    const coll = await fresh("bulk", [{ _id: 1, v: 0 }, { _id: 2, v: 0 }]);
    const res = await coll.bulkWrite([
      { insertOne: { document: { _id: 3, v: 0 } } },
      { updateOne: { filter: { _id: 1 }, update: { $set: { v: 1 } } } },
      { updateMany: { filter: { v: 0 }, update: { $inc: { v: 5 } } } },
      { replaceOne: { filter: { _id: 2 }, replacement: { v: 42 } } },
      { updateOne: { filter: { _id: 4 }, update: { $set: { v: 4 } }, upsert: true } },
      { deleteOne: { filter: { _id: 3 } } },
    ]);
    expect(res.insertedCount).toBe(1);
    expect(res.matchedCount).toBe(4);
    expect(res.modifiedCount).toBe(4);
    expect(res.upsertedCount).toBe(1);
    expect(res.upsertedIds).toEqual({ 4: 4 });
    expect(res.deletedCount).toBe(1);
    expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, v: 1 },
      { _id: 2, v: 42 },
      { _id: 4, v: 4 },
    ]);
  });

  it("stops an ordered bulk at the first error, with MongoDB's writeErrors shape", async () => {
    const coll = await fresh("bulk_ord");
    ctx.resetEvents();
    const err = await coll
      .bulkWrite(
        [
          { insertOne: { document: { _id: 1 } } },
          { insertOne: { document: { _id: 1 } } },
          { insertOne: { document: { _id: 2 } } },
        ],
        { ordered: true },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoBulkWriteError);
    const e = err as MongoBulkWriteError;
    expect(e.code).toBe(11000);
    expect(e.insertedCount).toBe(1);
    const writeErrors = Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
    expect(writeErrors).toHaveLength(1);
    expect(writeErrors[0].index).toBe(1);
    expect(writeErrors[0].code).toBe(11000);
    expect(writeErrors[0].errmsg).toMatch(/E11000 duplicate key error collection: .*bulk_ord index: _id_ dup key: \{ _id: 1 \}/);
    const raw = ctx.repliesTo("insert")[0];
    expect(raw.n).toBe(1);
    expect(raw.writeErrors).toHaveLength(1);
    expect(raw.writeErrors[0]).toMatchObject({ index: 1, code: 11000, keyPattern: { _id: 1 }, keyValue: { _id: 1 } });
    expect(typeof raw.writeErrors[0].errmsg).toBe("string");
    expect(await coll.countDocuments()).toBe(1);
  });

  it("keeps going in an unordered bulk and reports each failure by index", async () => {
    const coll = await fresh("bulk_unord", [{ _id: 5 }]);
    const err = await coll
      .insertMany(
        [
          { _id: 1 },
          { _id: 5 },
          { _id: 2 },
          { _id: 1 },
          { _id: 3 },
        ],
        { ordered: false },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoBulkWriteError);
    const e = err as MongoBulkWriteError;
    expect(e.insertedCount).toBe(3);
    const writeErrors = Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
    expect(writeErrors.map((w) => w.index)).toEqual([1, 3]);
    expect(writeErrors.every((w) => w.code === 11000)).toBe(true);
    expect((await coll.find().sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual([1, 2, 3, 5]);
  });
});

describe("document and reply size limits", () => {
  it("refuses a document over 16 MB, from an insert or from an update", async () => {
    const coll = await fresh("too_big", [{ _id: 1, small: true }]);
    const insertErr = await coll.insertOne({ _id: 2, blob: "b".repeat(16 * 1024 * 1024 + 100) }).catch((e: unknown) => e);
    expect(insertErr).toBeInstanceOf(MongoServerError);
    expect((insertErr as MongoServerError).errmsg).toMatch(/object to insert too large/);
    const updateErr = await coll.updateOne({ _id: 1 }, { $set: { blob: "u".repeat(16 * 1024 * 1024) } }).catch((e: unknown) => e);
    expect(updateErr).toBeInstanceOf(MongoServerError);
    expect([10334, 17419]).toContain((updateErr as MongoServerError).code);
    expect((updateErr as MongoServerError).errmsg).toMatch(/Resulting document after update is larger than 16777216/);
    expect(await coll.find().toArray()).toEqual([{ _id: 1, small: true }]);
  });

  it("answers an aggregation whose result is over 16 MB with an error, keeping the connection", async () => {
    const coll = await fresh("agg_huge", Array.from({ length: 20 }, (_, i) => ({ i, blob: "h".repeat(1024 * 1024) })));
    ctx.resetEvents();
    const err = await coll.aggregate([{ $group: { _id: null, all: { $push: "$blob" } } }]).toArray().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError); // not a MongoNetworkError: the connection stays up
    if (!onRealMongo) expect((err as MongoServerError).codeName).toBe("BSONObjectTooLarge");
    expect(ctx.commandsNamed("aggregate")).toHaveLength(1); // no retry after a dropped connection
    expect(await coll.countDocuments()).toBe(20);
    await coll.drop();
  });
});

describe("large batches", () => {
  it("inserts 100,000 small documents with insertMany", async () => {
    const coll = await fresh("hundred_k");
    ctx.resetEvents();
    const docs = Array.from({ length: 100_000 }, (_, i) => ({ i, s: "x" }));
    const res = await coll.insertMany(docs);
    expect(res.insertedCount).toBe(100_000);
    const inserts = ctx.commandsNamed("insert");
    expect(inserts.length).toBeGreaterThanOrEqual(1);
    expect(ctx.repliesTo("insert").reduce((n, r) => n + r.n, 0)).toBe(100_000);
    expect(await coll.estimatedDocumentCount()).toBe(100_000);
    expect(await coll.countDocuments({ i: { $gte: 99_990 } })).toBe(10);
    await coll.drop();
  }, 60_000);

  it("splits an insertMany larger than one 48 MB message into several insert commands", async () => {
    const coll = await fresh("big_docs");
    ctx.resetEvents();
    const blob = "y".repeat(1024 * 1024);
    const docs = Array.from({ length: 60 }, (_, i) => ({ i, blob }));
    const res = await coll.insertMany(docs);
    expect(res.insertedCount).toBe(60);
    expect(ctx.commandsNamed("insert").length).toBeGreaterThanOrEqual(2);
    expect(await coll.countDocuments()).toBe(60);
    const back = await coll.find({ i: 59 }).toArray();
    expect(back[0].blob).toHaveLength(1024 * 1024);
    await coll.drop();
  }, 60_000);
});
