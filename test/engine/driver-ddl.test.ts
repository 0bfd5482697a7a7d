import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoClient, MongoServerError, type Collection, type Db, type Document } from "mongodb";
import { startEmbeddedMongo } from "../../server/src/embedded-mongo/index.js";
import { onRealMongo, type TestDatabase } from "../helpers/mongo.js";
import { closeDriverSuite, openDriverSuite, planStages, type DriverContext, type AnyDoc } from "./driver-helpers.js";

let t: TestDatabase;
let ctx: DriverContext;
let db: Db;

beforeAll(async () => {
  ({ t, ctx, db } = await openDriverSuite("driver_ddl"));
});

afterAll(() => closeDriverSuite({ t, ctx }));

async function fresh(name: string, docs: Document[] = []): Promise<Collection<AnyDoc>> {
  await db.collection<AnyDoc>(name).drop().catch(() => undefined);
  const coll = await db.createCollection(name);
  if (docs.length) await coll.insertMany(docs);
  return coll;
}

async function failure(promise: Promise<unknown>): Promise<MongoServerError> {
  const err = await promise.then(
    () => new Error("expected the operation to fail"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MongoServerError);
  return err as MongoServerError;
}

async function indexNames(coll: Collection<AnyDoc>): Promise<string[]> {
  return (await coll.listIndexes().toArray()).map((i) => i.name as string).sort();
}

describe("databases and collections", () => {
  it("creates a collection once; a second create fails with NamespaceExists (48)", async () => {
    await db.createCollection("made");
    const err = await failure(db.createCollection("made"));
    expect(err.code).toBe(48);
    expect(err.codeName).toBe("NamespaceExists");
    const [info] = await db.listCollections({ name: "made" }).toArray();
    expect(info).toMatchObject({ name: "made", type: "collection", options: {} });
    expect(Object.keys((info as Document).options as Document)).toEqual([]);
  });

  it("lists collections by name filter and nameOnly", async () => {
    await db.collection<AnyDoc>("lc_a").insertOne({ x: 1 });
    await db.collection<AnyDoc>("lc_b").insertOne({ x: 1 });
    const filtered = await db.listCollections({ name: "lc_b" }).toArray();
    expect(filtered.map((c) => c.name)).toEqual(["lc_b"]);
    const regex = await db.listCollections({ name: { $regex: /^lc_/ } }).toArray();
    expect(regex.map((c) => c.name).sort()).toEqual(["lc_a", "lc_b"]);
    const names = await db.listCollections({}, { nameOnly: true }).toArray();
    expect(names.map((c) => c.name)).toEqual(expect.arrayContaining(["lc_a", "lc_b", "made"]));
    for (const c of names) expect(c.type).toBe("collection");
    expect(await db.listCollections({ name: "nope" }).toArray()).toEqual([]);
  });

  it("drops a collection with its documents and indexes", async () => {
    const coll = db.collection<AnyDoc>("to_drop");
    await coll.insertOne({ a: 1 });
    await coll.createIndex({ a: 1 });
    expect(await coll.drop()).toBe(true);
    expect(await db.listCollections({ name: "to_drop" }).toArray()).toEqual([]);
    expect(await coll.countDocuments()).toBe(0);
    await coll.insertOne({ a: 1 });
    expect(await indexNames(coll)).toEqual(["_id_"]);
  });

  it("drops a whole database", async () => {
    const other = ctx.client.db(`${t.dbName}_other`);
    await other.collection<AnyDoc>("x").insertOne({ a: 1 });
    expect((await db.admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name)).toContain(other.databaseName);
    expect(await other.dropDatabase()).toBe(true);
    expect(await other.listCollections().toArray()).toEqual([]);
    expect((await db.admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name)).not.toContain(other.databaseName);
  });

  it("renames a collection, keeping documents and indexes; dropTarget replaces an existing one", async () => {
    const coll = await fresh("ren_src", [{ k: 1 }, { k: 2 }]);
    await coll.createIndex({ k: 1 }, { unique: true });
    await fresh("ren_existing", [{ other: true }]);
    const err = await failure(coll.rename("ren_existing"));
    expect(err.code).toBe(48);
    const renamed = await coll.rename("ren_dst");
    expect(await renamed.countDocuments()).toBe(2);
    expect(await indexNames(renamed)).toEqual(["_id_", "k_1"]);
    expect(await db.listCollections({ name: "ren_src" }).toArray()).toEqual([]);
    expect((await failure(renamed.insertOne({ k: 1 }))).code).toBe(11000);
    const over = await renamed.rename("ren_existing", { dropTarget: true });
    expect(await over.countDocuments({ other: true })).toBe(0);
    expect(await over.countDocuments()).toBe(2);
    const missing = await failure(db.collection<AnyDoc>("no_such_coll").rename("whatever"));
    expect(missing.code).toBe(26);
  });
});

describe("indexes", () => {
  it("creates, lists and drops indexes by name, by key and with *", async () => {
    const coll = await fresh("idx", [{ a: 1, b: 1, c: 1 }]);
    expect(await coll.createIndex({ a: 1 })).toBe("a_1");
    const names = await coll.createIndexes([{ key: { b: 1, c: -1 }, name: "bc" }, { key: { c: 1 } }]);
    expect(names).toEqual(["bc", "c_1"]);
    expect(await coll.createIndex({ a: 1 })).toBe("a_1"); // same spec again: no-op
    const listed = await coll.listIndexes().toArray();
    expect(listed.map((i) => [i.name, i.key])).toEqual([
      ["_id_", { _id: 1 }],
      ["a_1", { a: 1 }],
      ["bc", { b: 1, c: -1 }],
      ["c_1", { c: 1 }],
    ]);
    expect(await coll.indexExists("bc")).toBe(true);
    await coll.dropIndex("a_1");
    expect(await indexNames(coll)).toEqual(["_id_", "bc", "c_1"]);
    await db.command({ dropIndexes: "idx", index: { b: 1, c: -1 } });
    expect(await indexNames(coll)).toEqual(["_id_", "c_1"]);
    await coll.createIndex({ d: 1 });
    await coll.dropIndexes();
    expect(await indexNames(coll)).toEqual(["_id_"]);
    const notFound = await failure(coll.dropIndex("nope_1"));
    expect(notFound.code).toBe(27);
    expect(notFound.codeName).toBe("IndexNotFound");
    const idDrop = await failure(coll.dropIndex("_id_"));
    expect(idDrop.code).toBe(72);
    const missing = await failure(db.collection<AnyDoc>("never_there").listIndexes().toArray());
    expect(missing.code).toBe(26);
  });

  it("enforces a single-field unique index with MongoDB's duplicate-key error", async () => {
    const coll = await fresh("uniq", [{ email: "a@x", n: 1 }, { email: "b@x", n: 2 }]);
    await coll.createIndex({ email: 1 }, { unique: true });
    const err = await failure(coll.insertOne({ email: "a@x" }));
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual({ email: 1 });
    expect(err.keyValue).toEqual({ email: "a@x" });
    expect(err.errmsg).toBe(`E11000 duplicate key error collection: ${t.dbName}.uniq index: email_1 dup key: { email: "a@x" }`);
    // From an update, a findOneAndUpdate and an upsert.
    const upd = await failure(coll.updateOne({ email: "b@x" }, { $set: { email: "a@x" } }));
    expect(upd.code).toBe(11000);
    expect(upd.keyPattern).toEqual({ email: 1 });
    expect(upd.keyValue).toEqual({ email: "a@x" });
    const fam = await failure(coll.findOneAndUpdate({ email: "b@x" }, { $set: { email: "a@x" } }));
    expect(fam.code).toBe(11000);
    expect(fam.keyValue).toEqual({ email: "a@x" });
    const ups = await failure(coll.updateOne({ n: 99 }, { $set: { email: "b@x" } }, { upsert: true }));
    expect(ups.code).toBe(11000);
    expect(ups.keyPattern).toEqual({ email: 1 });
    expect(ups.keyValue).toEqual({ email: "b@x" });
    const famUpsert = await failure(coll.findOneAndUpdate({ n: 98 }, { $set: { email: "b@x" } }, { upsert: true }));
    expect(famUpsert.code).toBe(11000);
    expect(famUpsert.keyValue).toEqual({ email: "b@x" });
    const repl = await failure(coll.replaceOne({ email: "b@x" }, { email: "a@x" }));
    expect(repl.code).toBe(11000);
    expect((await coll.find({}, { projection: { _id: 0 } }).sort({ n: 1 }).toArray())).toEqual([
      { email: "a@x", n: 1 },
      { email: "b@x", n: 2 },
    ]);
    // A multi-update is not atomic: the first document changes, the second clashes (as in MongoDB).
    const many = await failure(coll.updateMany({}, { $set: { email: "same@x" } }));
    expect(many.code).toBe(11000);
    expect(many.keyValue).toEqual({ email: "same@x" });
    expect(await coll.countDocuments({ email: "same@x" })).toBe(1);
    // The index forgot the changed document's old key and still knows the untouched one.
    const changed = (await coll.findOne({ email: "same@x" }))!;
    const freed = changed.n === 1 ? "a@x" : "b@x";
    const kept = changed.n === 1 ? "b@x" : "a@x";
    await coll.insertOne({ email: freed, n: 3 });
    expect((await failure(coll.insertOne({ email: kept }))).code).toBe(11000);
  });

  it("enforces a compound unique index on the combination", async () => {
    const coll = await fresh("uniq2", [{ shop: "s", sku: "1" }, { shop: "s", sku: "2" }, { shop: "t", sku: "1" }]);
    await coll.createIndex({ shop: 1, sku: 1 }, { unique: true, name: "shop_sku" });
    const err = await failure(coll.insertOne({ shop: "s", sku: "2" }));
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual({ shop: 1, sku: 1 });
    expect(err.keyValue).toEqual({ shop: "s", sku: "2" });
    expect(err.errmsg).toMatch(/index: shop_sku dup key: \{ shop: "s", sku: "2" \}/);
    await coll.insertOne({ shop: "t", sku: "2" });
    expect(await coll.countDocuments()).toBe(4);
  });

  it("a unique index treats missing fields as null unless sparse", async () => {
    const plain = await fresh("uniq_plain", [{ a: 1 }]);
    await plain.createIndex({ code: 1 }, { unique: true });
    const err = await failure(plain.insertOne({ b: 1 }));
    expect(err.code).toBe(11000);
    expect(err.keyValue).toEqual({ code: null });
    const sparse = await fresh("uniq_sparse", [{ a: 1 }]);
    await sparse.createIndex({ code: 1 }, { unique: true, sparse: true });
    await sparse.insertOne({ a: 2 });
    await sparse.insertOne({ a: 3, code: "x" });
    const dup = await failure(sparse.insertOne({ a: 4, code: "x" }));
    expect(dup.code).toBe(11000);
    expect(await sparse.countDocuments()).toBe(3);
    const [spec] = (await sparse.listIndexes().toArray()).filter((i) => i.name === "code_1");
    expect(spec).toMatchObject({ key: { code: 1 }, unique: true, sparse: true });
  });

  it("a partial unique index constrains only matching documents", async () => {
    const coll = await fresh("uniq_partial", [{ email: "a@x", active: false }, { email: "a@x", active: false }]);
    await coll.createIndex({ email: 1 }, { unique: true, partialFilterExpression: { active: true } });
    await coll.insertOne({ email: "a@x", active: true });
    const err = await failure(coll.insertOne({ email: "a@x", active: true }));
    expect(err.code).toBe(11000);
    expect(err.keyValue).toEqual({ email: "a@x" });
    await coll.insertOne({ email: "a@x", active: false });
    const flip = await failure(coll.updateOne({ active: false }, { $set: { active: true } }));
    expect(flip.code).toBe(11000);
    expect(await coll.countDocuments({ active: true })).toBe(1);
    const [spec] = (await coll.listIndexes().toArray()).filter((i) => i.name === "email_1");
    expect(spec.partialFilterExpression).toEqual({ active: true });
  });

  it("refuses to build a unique index over existing duplicates and leaves no index behind", async () => {
    const coll = await fresh("uniq_build", [{ a: 1 }, { a: 2 }, { a: 1 }]);
    const err = await failure(coll.createIndex({ a: 1 }, { unique: true }));
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual({ a: 1 });
    expect(err.keyValue).toEqual({ a: 1 });
    expect(err.errmsg).toMatch(/E11000 duplicate key error collection: .*uniq_build index: a_1 dup key: \{ a: 1 \}/);
    expect(await indexNames(coll)).toEqual(["_id_"]);
    await coll.insertOne({ a: 1 });
    expect(await coll.countDocuments({ a: 1 })).toBe(3);
  });

  it("does not half-apply a createIndexes whose second index fails", async () => {
    const coll = await fresh("uniq_multi", [{ a: 1, b: 1 }, { a: 2, b: 1 }]);
    const err = await failure(
      coll.createIndexes([
        { key: { a: 1 }, unique: true },
        { key: { b: 1 }, unique: true },
      ]),
    );
    expect(err.code).toBe(11000);
    expect(await indexNames(coll)).toEqual(["_id_"]);
  });

  it("TTL index: expired documents are removed by the monitor", async () => {
    // The engine's own suite database runs the monitor every second; start one that runs it often.
    const own = onRealMongo ? null : await startEmbeddedMongo({ ttlIntervalMs: 200 });
    const client = own ? await MongoClient.connect(own.uri) : ctx.client;
    try {
      const coll = client.db(t.dbName).collection<AnyDoc>("ttl");
      const now = Date.now();
      await coll.insertMany([
        { name: "old", createdAt: new Date(now - 60_000) },
        { name: "older", createdAt: [new Date(now + 3600_000), new Date(now - 120_000)] },
        { name: "future", createdAt: new Date(now + 3600_000) },
        { name: "not a date", createdAt: "yesterday" },
        { name: "no field" },
      ]);
      await coll.createIndex({ createdAt: 1 }, { expireAfterSeconds: 1 });
      const [spec] = (await coll.listIndexes().toArray()).filter((i) => i.name === "createdAt_1");
      expect(spec.expireAfterSeconds).toBe(1);
      if (!own) return; // a real mongod's TTL monitor runs every 60 s
      const deadline = Date.now() + 5000;
      while ((await coll.countDocuments()) > 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const left = (await coll.find({}, { projection: { _id: 0, name: 1 } }).toArray()).map((d) => d.name).sort();
      expect(left).toEqual(["future", "no field", "not a date"]);
      // A document that expires a moment after insertion goes too.
      await coll.insertOne({ name: "soon", createdAt: new Date() });
      const deadline2 = Date.now() + 5000;
      while ((await coll.countDocuments({ name: "soon" })) > 0 && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 50));
      expect(await coll.countDocuments({ name: "soon" })).toBe(0);
      expect(await coll.countDocuments()).toBe(3);
    } finally {
      if (own) {
        await client.close();
        await own.close();
      }
    }
  });
});

describe("explain shows index use", () => {
  const base = Date.UTC(2024, 0, 1);
  let coll: Collection<AnyDoc>;

  beforeAll(async () => {
    coll = await fresh(
      "explained",
      Array.from({ length: 1000 }, (_, i) => ({
        _id: i,
        sku: `s${i}`,
        cat: i % 10,
        n: i,
        at: new Date(base + i * 60_000),
        tags: [`t${i % 7}`, `u${i % 3}`],
        plain: i % 50,
      })),
    );
    await coll.createIndex({ sku: 1 });
    await coll.createIndex({ cat: 1, n: 1 });
    await coll.createIndex({ at: 1 });
    await coll.createIndex({ tags: 1 });
  });

  async function explain(filter: Document): Promise<{ stages: string[]; examined: number; returned: number; count: number }> {
    const plan = await coll.find(filter).explain("executionStats");
    const stats = plan.executionStats as Document;
    const count = await coll.countDocuments(filter);
    return { stages: planStages(plan.queryPlanner), examined: stats.totalDocsExamined, returned: stats.nReturned, count };
  }

  function expectIndexed(r: { stages: string[]; examined: number; returned: number; count: number }, expected: number): void {
    expect(r.count).toBe(expected);
    expect(r.returned).toBe(expected);
    expect(r.examined).toBe(expected);
    if (!onRealMongo) {
      expect(r.stages).toContain("IXSCAN");
      expect(r.stages).not.toContain("COLLSCAN");
    }
  }

  it("equality on an indexed field", async () => {
    expectIndexed(await explain({ sku: "s42" }), 1);
  });

  it("equality on _id", async () => {
    const r = await explain({ _id: 42 });
    expect(r.examined).toBe(1);
    expect(r.returned).toBe(1);
    if (!onRealMongo) expect(r.stages).toContain("IDHACK");
  });

  it("a compound index prefix, and prefix plus range", async () => {
    expectIndexed(await explain({ cat: 3 }), 100);
    expectIndexed(await explain({ cat: 3, n: { $gte: 503, $lte: 593 } }), 10);
    expectIndexed(await explain({ cat: 3, n: { $gt: 503, $lt: 593 } }), 8);
  });

  it("$in on an indexed field, and on a multikey index", async () => {
    expectIndexed(await explain({ sku: { $in: ["s1", "s2", "s3", "nope"] } }), 3);
    expectIndexed(await explain({ tags: "t3" }), 143);
    expectIndexed(await explain({ cat: { $in: [1, 2] }, n: { $lt: 100 } }), 20);
  });

  it("a date range", async () => {
    expectIndexed(await explain({ at: { $gte: new Date(base + 100 * 60_000), $lt: new Date(base + 150 * 60_000) } }), 50);
    expectIndexed(await explain({ at: { $gt: new Date(base + 100 * 60_000), $lte: new Date(base + 150 * 60_000) } }), 50);
    expectIndexed(await explain({ at: { $gt: new Date(base + 990 * 60_000) } }), 9);
  });

  it("accepts a hint naming an index, by name or key, and refuses one naming none", async () => {
    expect(await coll.find({ sku: "s7" }).hint("sku_1").toArray()).toHaveLength(1);
    expect(await coll.find({ cat: 7, n: 17 }).hint({ cat: 1, n: 1 }).toArray()).toHaveLength(1);
    expect(await coll.find({ n: 5 }).hint({ $natural: 1 }).toArray()).toHaveLength(1);
    const err = await coll.find({ n: 5 }).hint("no_such_index").toArray().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect((err as MongoServerError).code).toBe(2);
    expect((err as MongoServerError).errmsg).toMatch(/hint provided does not correspond to an existing index/);
  });

  it("an $or whose every branch can use an index reads only those branches", async () => {
    const r = await explain({ $or: [{ sku: "s5" }, { cat: 4, n: { $lt: 100 } }, { at: { $gt: new Date(base + 995 * 60_000) } }] });
    expectIndexed(r, 1 + 10 + 4);
    if (!onRealMongo) expect(r.stages).toContain("OR");
    // One branch without an index makes the whole $or a scan.
    expect((await explain({ $or: [{ sku: "s5" }, { plain: 3 }] })).examined).toBe(1000);
  });

  it("a collection scan when no index applies", async () => {
    const r = await explain({ plain: 7 });
    expect(r.count).toBe(20);
    expect(r.returned).toBe(20);
    expect(r.examined).toBe(1000);
    if (!onRealMongo) {
      expect(r.stages).toContain("COLLSCAN");
      expect(r.stages).not.toContain("IXSCAN");
    }
  });
});

describe("the index that reads fewest documents wins", () => {
  let coll: Collection<AnyDoc>;

  // A queue: 2,000 entries of one owner waiting, three of them flagged.
  beforeAll(async () => {
    coll = await fresh(
      "selective",
      Array.from({ length: 2000 }, (_, i) => ({ _id: i, owner: 1, state: "queued", kind: "server", flagged: i % 700 === 0, rank: i % 5 })),
    );
    await coll.createIndex({ owner: 1, state: 1 });
    await coll.createIndex({ flagged: 1, owner: 1, rank: -1 });
    await coll.createIndex({ kind: 1, state: 1, at: 1 });
  });

  async function examined(filter: Document): Promise<{ examined: number; count: number }> {
    const plan = await coll.find(filter).explain("executionStats");
    return { examined: (plan.executionStats as Document).totalDocsExamined as number, count: await coll.countDocuments(filter) };
  }

  it("between indexes constraining as many fields, the one with the few matching keys", async () => {
    expect(await examined({ flagged: true, owner: 1, state: "queued", kind: "server" })).toEqual({ examined: 3, count: 3 });
  });

  it("an index constraining fewer fields, when the one constraining more holds every entry", async () => {
    expect(await examined({ flagged: true, state: "queued", kind: "server" })).toEqual({ examined: 3, count: 3 });
  });

  it("a sorted update of an $or over indexed branches takes the best due entry among many queued for later", async () => {
    const jobs = await fresh(
      "sorted_or",
      Array.from({ length: 1000 }, (_, i) => ({ _id: i, name: "run", priority: 1000 - i, nextRunAt: new Date(Date.UTC(2999, 0, 1) + i), lockedAt: null })),
    );
    await jobs.insertMany([
      { _id: "due-low", name: "run", priority: -5, nextRunAt: new Date(Date.UTC(2020, 0, 1)), lockedAt: null },
      { _id: "due-high", name: "run", priority: -1, nextRunAt: new Date(Date.UTC(2020, 0, 2)), lockedAt: null },
      { _id: "stale-lock", name: "run", priority: -3, nextRunAt: new Date(Date.UTC(2020, 0, 1)), lockedAt: new Date(Date.UTC(2020, 0, 1)) },
    ]);
    await jobs.createIndex({ name: 1, priority: -1, nextRunAt: 1 });
    await jobs.createIndex({ name: 1, lockedAt: 1, nextRunAt: 1 });
    const now = new Date(Date.UTC(2024, 0, 1));
    const lockNext = () =>
      jobs.findOneAndUpdate(
        { name: "run", disabled: { $ne: true }, $or: [{ lockedAt: { $eq: null }, nextRunAt: { $lte: now } }, { lockedAt: { $lte: new Date(Date.UTC(2023, 0, 1)) } }] },
        { $set: { lockedAt: now } },
        { sort: { priority: -1, nextRunAt: 1 }, returnDocument: "after" },
      );
    expect((await lockNext())?._id).toBe("due-high");
    expect((await lockNext())?._id).toBe("stale-lock");
    expect((await lockNext())?._id).toBe("due-low");
    expect(await lockNext()).toBeNull();
  });

  it("a filter shape's index choice follows indexes as they are added and dropped, and the data as it changes", async () => {
    const queue = await fresh("replanned", Array.from({ length: 400 }, (_, i) => ({ _id: i, owner: 1, state: "done" })));
    await queue.createIndex({ owner: 1 });
    const read = async (owner: number) => {
      const plan = await queue.find({ owner, state: "queued" }).explain("executionStats");
      return (plan.executionStats as Document).totalDocsExamined as number;
    };
    expect(await read(1)).toBe(400);
    await queue.createIndex({ state: 1 });
    expect(await read(1)).toBe(0);
    await queue.dropIndex("state_1");
    expect(await read(1)).toBe(400);
    if (onRealMongo) return;
    // Both indexes now hold hundreds of entries for the shape's values: the first declared is the
    // plan, which a choice kept from when the state index held none must give way to.
    await queue.createIndex({ state: 1 });
    expect(await read(1)).toBe(0);
    await queue.insertMany(Array.from({ length: 500 }, (_, i) => ({ _id: 1000 + i, owner: 3, state: "queued" })));
    let examined = await read(2);
    for (let use = 0; use < 250 && examined !== 0; use++) examined = await read(2);
    expect(examined).toBe(0);
    for (let use = 0; use < 250 && examined !== 400; use++) examined = await read(1);
    expect(examined).toBe(400);
  });
});
