import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mongoose, { Schema, Types, type Connection, type Model } from "mongoose";
import { startTestDatabase, type TestDatabase } from "../helpers/mongo.js";

/**
 * mongoose 9 driving the engine through the wire protocol: the same suite must pass against a real
 * MongoDB (MONGODB_URI), so every expectation here is what mongoose reports on a real server.
 */

const { MongoServerError, MongoBulkWriteError } = mongoose.mongo;

interface User {
  email: string;
  name: string;
  role: "buyer" | "seller" | "admin";
  age?: number;
  handle?: string;
  createdAt?: Date;
  updatedAt?: Date;
}

interface Seller {
  name: string;
  rating: number;
}

interface Variant {
  sku: string;
  price: number;
  stock: number;
}

interface Listing {
  seller: Types.ObjectId;
  sku: string;
  title: string;
  price: number;
  tags: string[];
  variants: Variant[];
  address?: { street?: string; city?: string };
  createdAt?: Date;
  updatedAt?: Date;
}

interface Order {
  buyer: Types.ObjectId;
  items: Types.ObjectId[];
  total: number;
}

interface Counter {
  _id: string;
  seq: number;
}

let db: TestDatabase;
let conn: Connection;
let Users: Model<User>;
let Sellers: Model<Seller>;
let Listings: Model<Listing>;
let Orders: Model<Order>;
let Counters: Model<Counter>;

/** Awaits a promise that must reject, and returns what it rejected with. */
async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the operation to fail, but it succeeded");
}

beforeAll(async () => {
  db = await startTestDatabase("mongoose");
  conn = await mongoose.createConnection(db.uri, { serverSelectionTimeoutMS: 5000 }).asPromise();

  const userSchema = new Schema<User>(
    {
      email: { type: String, required: true, unique: true, lowercase: true, trim: true },
      name: { type: String, required: true },
      role: { type: String, enum: ["buyer", "seller", "admin"], default: "buyer" },
      age: { type: Number, min: 13, max: 120 },
      handle: {
        type: String,
        validate: { validator: (v: string) => /^@[a-z0-9_]{2,15}$/.test(v), message: "bad handle {VALUE}" },
      },
    },
    { timestamps: true },
  );
  Users = conn.model<User>("User", userSchema);

  Sellers = conn.model<Seller>("Seller", new Schema<Seller>({ name: { type: String, required: true }, rating: { type: Number, default: 0 } }));

  const listingSchema = new Schema<Listing>(
    {
      seller: { type: Schema.Types.ObjectId, ref: "Seller", required: true },
      sku: { type: String, required: true },
      title: { type: String, required: true },
      price: { type: Number, required: true, min: 0 },
      tags: [String],
      variants: [new Schema<Variant>({ sku: String, price: Number, stock: { type: Number, default: 0 } }, { _id: false })],
      address: { street: String, city: String },
    },
    { timestamps: true },
  );
  listingSchema.index({ seller: 1, sku: 1 }, { unique: true });
  listingSchema.index({ price: -1 });
  Listings = conn.model<Listing>("Listing", listingSchema);

  Orders = conn.model<Order>(
    "Order",
    new Schema<Order>({
      buyer: { type: Schema.Types.ObjectId, ref: "User", required: true },
      items: [{ type: Schema.Types.ObjectId, ref: "Listing" }],
      total: Number,
    }),
  );
  Counters = conn.model<Counter>("Counter", new Schema<Counter>({ _id: String, seq: { type: Number, default: 0 } }));

  await Promise.all([Users.init(), Sellers.init(), Listings.init(), Orders.init(), Counters.init()]);
});

afterAll(async () => {
  await conn?.close();
  await db?.close();
});

describe("indexes", () => {
  it("Model.init() builds the unique and compound indexes declared in the schema", async () => {
    const userIndexes = await Users.collection.indexes();
    const email = userIndexes.find((i) => i.name === "email_1");
    expect(email).toMatchObject({ key: { email: 1 }, unique: true });
    expect(userIndexes.map((i) => i.name).sort()).toEqual(["_id_", "email_1"]);

    const listingIndexes = await Listings.collection.indexes();
    expect(listingIndexes.find((i) => i.name === "seller_1_sku_1")).toMatchObject({ key: { seller: 1, sku: 1 }, unique: true });
    expect(listingIndexes.find((i) => i.name === "price_-1")).toMatchObject({ key: { price: -1 } });
    expect(listingIndexes.find((i) => i.name === "price_-1")?.unique).toBeFalsy();
  });

  it("syncIndexes() drops indexes the schema no longer declares and keeps the declared ones", async () => {
    await Users.collection.createIndex({ name: 1 });
    expect((await Users.collection.indexes()).map((i) => i.name)).toContain("name_1");
    const dropped = await Users.syncIndexes();
    expect(dropped).toEqual(["name_1"]);
    const names = (await Users.collection.indexes()).map((i) => i.name).sort();
    expect(names).toEqual(["_id_", "email_1"]);
    // Nothing to do the second time.
    expect(await Users.syncIndexes()).toEqual([]);
    const diff = await Users.diffIndexes();
    expect(diff.toDrop).toEqual([]);
    expect(diff.toCreate).toEqual([]);
  });

  it("syncIndexes() rebuilds an index whose options changed (plain → unique)", async () => {
    await conn.db!.collection("codes").createIndex({ code: 1 }, { name: "code_1" });
    const Codes = conn.model("Code", new Schema({ code: { type: String, unique: true } }, { autoIndex: false }));
    const before = (await Codes.collection.indexes()).find((i) => i.name === "code_1");
    expect(before?.unique).toBeFalsy();
    expect(await Codes.syncIndexes()).toEqual(["code_1"]);
    expect((await Codes.collection.indexes()).find((i) => i.name === "code_1")).toMatchObject({ key: { code: 1 }, unique: true });
    await Codes.create({ code: "same" });
    expect((await rejection(Codes.create({ code: "same" }))).code).toBe(11000);
  });

  it("creating a unique index over existing duplicates fails with 11000 and leaves no index", async () => {
    const Loose = conn.model("LooseThing", new Schema({ code: String }, { autoIndex: false }));
    await Loose.create([{ code: "x" }, { code: "x" }]);
    const err = await rejection(Loose.collection.createIndex({ code: 1 }, { unique: true }));
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err.code).toBe(11000);
    expect((await Loose.collection.indexes()).map((i) => i.name)).toEqual(["_id_"]);
  });
});

describe("validation", () => {
  it("rejects required, enum, min/max and custom-validator violations without writing", async () => {
    const err = await rejection(Users.create({ email: "v@x.io", role: "king" as never, age: 7, handle: "no spaces" }));
    expect(err).toBeInstanceOf(mongoose.Error.ValidationError);
    expect(Object.keys(err.errors).sort()).toEqual(["age", "handle", "name", "role"]);
    expect(err.errors.age.kind).toBe("min");
    expect(err.errors.role.kind).toBe("enum");
    expect(err.errors.handle.message).toBe("bad handle no spaces");
    const tooOld = await rejection(Users.create({ email: "old@x.io", name: "Old", age: 121 }));
    expect(tooOld.errors.age.kind).toBe("max");
    expect(await Users.countDocuments({ email: { $in: ["v@x.io", "old@x.io"] } })).toBe(0);
  });

  it("runs validators on updates when asked", async () => {
    await Users.create({ email: "upd@x.io", name: "Upd" });
    const err = await rejection(Users.updateOne({ email: "upd@x.io" }, { $set: { role: "nobody" } }, { runValidators: true }));
    expect(err).toBeInstanceOf(mongoose.Error.ValidationError);
    expect((await Users.findOne({ email: "upd@x.io" }).lean())?.role).toBe("buyer");
  });
});

describe("CRUD", () => {
  it("create, find, findOne, updateOne, findOneAndUpdate (new, upsert)", async () => {
    const alice = await Users.create({ email: "  Alice@Example.com ", name: "Alice", age: 30, handle: "@alice" });
    expect(alice.email).toBe("alice@example.com");
    expect(alice._id).toBeInstanceOf(Types.ObjectId);

    const found = await Users.findOne({ email: "alice@example.com" });
    expect(found?._id.equals(alice._id)).toBe(true);
    expect(found?.role).toBe("buyer");

    await Users.create([
      { email: "bob@example.com", name: "Bob", age: 40 },
      { email: "carol@example.com", name: "Carol", age: 50, role: "seller" },
    ]);
    const adults = await Users.find({ age: { $gte: 35 } }).sort({ age: -1 });
    expect(adults.map((u) => u.name)).toEqual(["Carol", "Bob"]);
    const page = await Users.find({ age: { $exists: true } }, { name: 1, _id: 0 }).sort({ age: 1 }).skip(1).limit(1).lean();
    expect(page).toEqual([{ name: "Bob" }]);

    const res = await Users.updateOne({ email: "bob@example.com" }, { $set: { role: "admin" }, $inc: { age: 1 } });
    expect(res).toMatchObject({ acknowledged: true, matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    const noop = await Users.updateOne({ email: "nobody@example.com" }, { $set: { name: "x" } });
    expect(noop).toMatchObject({ matchedCount: 0, modifiedCount: 0 });

    const updated = await Users.findOneAndUpdate({ email: "bob@example.com" }, { $set: { name: "Robert" } }, { returnDocument: "after" });
    expect(updated?.name).toBe("Robert");
    expect(updated?.age).toBe(41);
    const before = await Users.findOneAndUpdate({ email: "bob@example.com" }, { $set: { name: "Bobby" } });
    expect(before?.name).toBe("Robert");

    const upserted = await Users.findOneAndUpdate(
      { email: "dave@example.com" },
      { $set: { name: "Dave" }, $setOnInsert: { role: "seller" } },
      { returnDocument: "after", upsert: true },
    );
    expect(upserted).toMatchObject({ email: "dave@example.com", name: "Dave", role: "seller" });
    expect(upserted?.createdAt).toBeInstanceOf(Date);
    const raw = await Users.collection.findOne({ email: "dave@example.com" });
    expect(raw?._id).toEqual(upserted?._id);
    expect(await Users.findOneAndUpdate({ email: "nobody@example.com" }, { $set: { name: "x" } }, { returnDocument: "after" })).toBeNull();

    // An upsert whose filter also has operators ($gte, $in) inserts the equalities plus the update.
    const ranged = await Users.findOneAndUpdate(
      { email: "erin@example.com", age: { $gte: 18 }, role: { $in: ["buyer", "seller"] } },
      { $set: { name: "Erin", age: 33 } },
      { returnDocument: "after", upsert: true },
    ).lean();
    expect(ranged).toMatchObject({ email: "erin@example.com", name: "Erin", age: 33 });
    expect(ranged!.createdAt).toBeInstanceOf(Date);
  });

  it("lean() returns plain objects with BSON values intact", async () => {
    const carol = await Users.findOne({ email: "carol@example.com" }).lean();
    expect(carol).not.toBeNull();
    expect(carol).not.toBeInstanceOf(mongoose.Document);
    expect(carol!._id).toBeInstanceOf(Types.ObjectId);
    expect(carol!.createdAt).toBeInstanceOf(Date);
    expect(Object.keys(carol!)[0]).toBe("_id");
    expect((carol as unknown as { save?: unknown }).save).toBeUndefined();
  });

  it("timestamps: createdAt is kept, updatedAt moves on each update", async () => {
    const u = await Users.create({ email: "ts@example.com", name: "Ts" });
    const created = u.createdAt!;
    expect(u.updatedAt!.getTime()).toBe(created.getTime());
    await new Promise((r) => setTimeout(r, 15));
    await Users.updateOne({ _id: u._id }, { $set: { name: "Ts2" } });
    const after = await Users.findById(u._id).lean();
    expect(after!.createdAt!.getTime()).toBe(created.getTime());
    expect(after!.updatedAt!.getTime()).toBeGreaterThan(created.getTime());

    await new Promise((r) => setTimeout(r, 15));
    u.name = "Ts3";
    await u.save();
    const saved = await Users.findById(u._id).lean();
    expect(saved!.name).toBe("Ts3");
    expect(saved!.updatedAt!.getTime()).toBeGreaterThan(after!.updatedAt!.getTime());

    await Users.updateOne({ email: "ts-upsert@example.com" }, { $set: { name: "Up" } }, { upsert: true });
    const up = await Users.findOne({ email: "ts-upsert@example.com" }).lean();
    expect(up!.createdAt).toBeInstanceOf(Date);
    expect(up!.updatedAt).toBeInstanceOf(Date);
  });

  it("countDocuments, estimatedDocumentCount, distinct, exists and deleteMany", async () => {
    const Temp = conn.model("TempItem", new Schema({ kind: String, n: Number }));
    await Temp.insertMany(Array.from({ length: 30 }, (_, i) => ({ kind: i % 3 === 0 ? "a" : "b", n: i })));
    expect(await Temp.countDocuments()).toBe(30);
    expect(await Temp.countDocuments({ kind: "a" })).toBe(10);
    expect(await Temp.countDocuments({ n: { $gte: 25 } })).toBe(5);
    expect(await Temp.estimatedDocumentCount()).toBe(30);
    expect((await Temp.distinct("kind")).sort()).toEqual(["a", "b"]);
    expect(await Temp.exists({ n: 29 })).toMatchObject({ _id: expect.any(Types.ObjectId) });
    expect(await Temp.exists({ n: 99 })).toBeNull();
    const del = await Temp.deleteMany({ kind: "b" });
    expect(del).toMatchObject({ acknowledged: true, deletedCount: 20 });
    expect(await Temp.countDocuments()).toBe(10);
    expect((await Temp.deleteOne({ n: 0 })).deletedCount).toBe(1);
    expect((await Temp.deleteMany({})).deletedCount).toBe(9);
    expect(await Temp.countDocuments()).toBe(0);
  });
});

describe("sorted queries over compound indexes", () => {
  interface Checkpoint {
    brand: string;
    task: string;
    seq: number;
    at: Date;
    note?: string | null;
  }

  it("returns the same order as a full sort, whatever index direction serves it", async () => {
    const schema = new Schema<Checkpoint>({ brand: String, task: String, seq: Number, at: Date, note: String });
    schema.index({ task: 1, seq: -1 }, { unique: true });
    schema.index({ brand: 1, at: -1 });
    const Checkpoints = conn.model<Checkpoint>("Checkpoint", schema);
    await Checkpoints.init();
    const base = Date.UTC(2024, 0, 1);
    const rows: Checkpoint[] = [];
    // Inserted in a scrambled order so natural order is no help.
    for (let k = 0; k < 60; k++) {
      const i = (k * 37) % 60;
      rows.push({
        brand: ["acme", "globex"][i % 2],
        task: `t${i % 4}`,
        seq: Math.floor(i / 4),
        at: new Date(base + ((i * 7919) % 60) * 60_000),
        ...(i % 5 === 0 ? {} : { note: i % 3 === 0 ? null : `n${i % 7}` }),
      });
    }
    await Checkpoints.insertMany(rows);
    const key = (r: Checkpoint) => `${r.task}:${r.seq}`;
    const pick = (docs: Checkpoint[]) => docs.map(key);
    const byNum = (f: (r: Checkpoint) => number, dir: 1 | -1) => (a: Checkpoint, b: Checkpoint) => dir * (f(a) - f(b));

    const latest = await Checkpoints.findOne({ task: "t2" }).sort({ seq: -1 }).lean();
    expect(latest!.seq).toBe(Math.max(...rows.filter((r) => r.task === "t2").map((r) => r.seq)));
    const first = await Checkpoints.findOne({ task: "t2" }).sort({ seq: 1 }).lean();
    expect(first!.seq).toBe(0);

    const t1Desc = await Checkpoints.find({ task: "t1", seq: { $gte: 3, $lt: 12 } }).sort({ seq: -1 }).lean();
    expect(pick(t1Desc)).toEqual(pick(rows.filter((r) => r.task === "t1" && r.seq >= 3 && r.seq < 12).sort(byNum((r) => r.seq, -1))));

    const acme = rows.filter((r) => r.brand === "acme");
    const page = await Checkpoints.find({ brand: "acme" }).sort({ at: -1 }).skip(3).limit(5).lean();
    expect(pick(page)).toEqual(pick([...acme].sort(byNum((r) => r.at.getTime(), -1)).slice(3, 8)));
    const since = new Date(base + 20 * 60_000);
    const asc = await Checkpoints.find({ brand: "globex", at: { $gte: since } }).sort({ at: 1 }).lean();
    expect(pick(asc)).toEqual(pick(rows.filter((r) => r.brand === "globex" && r.at >= since).sort(byNum((r) => r.at.getTime(), 1))));

    // Whole-collection sorts on an indexed compound key, both directions.
    const all = await Checkpoints.find().sort({ task: 1, seq: -1 }).lean();
    const expected = [...rows].sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : b.seq - a.seq));
    expect(pick(all)).toEqual(pick(expected));
    const allReversed = await Checkpoints.find().sort({ task: -1, seq: 1 }).lean();
    expect(pick(allReversed)).toEqual(pick([...expected].reverse()));

    // Missing and null sort before strings ascending; ties keep a stable, complete result.
    const notes = await Checkpoints.find({ brand: "acme" }, { note: 1, task: 1, seq: 1 }).sort({ note: 1, task: 1, seq: 1 }).lean();
    expect(notes).toHaveLength(acme.length);
    const firstString = notes.findIndex((n) => typeof n.note === "string");
    expect(notes.slice(0, firstString).every((n) => n.note === null || n.note === undefined)).toBe(true);
    expect(notes.slice(firstString).every((n) => typeof n.note === "string")).toBe(true);
  });
});

describe("subdocuments and arrays", () => {
  let seller: mongoose.HydratedDocument<Seller>;

  beforeAll(async () => {
    seller = await Sellers.create({ name: "Acme", rating: 4.5 });
  });

  it("stores nested objects and arrays of subdocuments, and updates them in place", async () => {
    const listing = await Listings.create({
      seller: seller._id,
      sku: "TSHIRT",
      title: "T-shirt",
      price: 20,
      tags: ["cotton"],
      variants: [
        { sku: "TSHIRT-S", price: 20, stock: 5 },
        { sku: "TSHIRT-M", price: 21, stock: 3 },
      ],
      address: { street: "1 Main St", city: "Paris" },
    });

    // Document API: mongoose turns these into $push/$set with array paths.
    listing.tags.push("summer", "sale");
    listing.variants.push({ sku: "TSHIRT-L", price: 22, stock: 0 });
    listing.variants[0].stock = 4;
    listing.address!.city = "Lyon";
    await listing.save();
    let stored = await Listings.findById(listing._id).lean();
    expect(stored!.tags).toEqual(["cotton", "summer", "sale"]);
    expect(stored!.variants.map((v) => [v.sku, v.stock])).toEqual([["TSHIRT-S", 4], ["TSHIRT-M", 3], ["TSHIRT-L", 0]]);
    expect(stored!.address).toEqual({ street: "1 Main St", city: "Lyon" });

    // Positional operator, arrayFilters, $addToSet, $pull.
    await Listings.updateOne({ _id: listing._id, "variants.sku": "TSHIRT-M" }, { $inc: { "variants.$.stock": -1 } });
    await Listings.updateOne({ _id: listing._id }, { $mul: { "variants.$[v].price": 2 } }, { arrayFilters: [{ "v.price": { $gte: 21 } }] });
    await Listings.updateOne({ _id: listing._id }, { $addToSet: { tags: { $each: ["sale", "new"] } } });
    await Listings.updateOne({ _id: listing._id }, { $pull: { tags: "cotton", variants: { stock: 0 } } });
    stored = await Listings.findById(listing._id).lean();
    expect(stored!.tags).toEqual(["summer", "sale", "new"]);
    expect(stored!.variants).toEqual([
      { sku: "TSHIRT-S", price: 20, stock: 4 },
      { sku: "TSHIRT-M", price: 42, stock: 2 },
    ]);

    // Removing a subdocument through the document API, with optimistic versioning.
    const doc = await Listings.findById(listing._id);
    doc!.variants.splice(0, 1);
    await doc!.save();
    stored = await Listings.findById(listing._id).lean();
    expect(stored!.variants.map((v) => v.sku)).toEqual(["TSHIRT-M"]);
    expect((stored as unknown as { __v: number }).__v).toBeGreaterThan(0);

    // Queries on array elements and nested fields.
    expect(await Listings.countDocuments({ tags: "new" })).toBe(1);
    expect(await Listings.countDocuments({ "variants.sku": "TSHIRT-M", "address.city": "Lyon" })).toBe(1);
    expect(await Listings.countDocuments({ variants: { $elemMatch: { price: { $gt: 40 }, stock: { $gte: 2 } } } })).toBe(1);
    expect(await Listings.countDocuments({ tags: { $all: ["sale", "new"] }, "tags.0": "summer" })).toBe(1);
  });
});

describe("populate", () => {
  it("populates a single ref and an array of refs", async () => {
    const acme = await Sellers.create({ name: "Populate Co", rating: 3 });
    const other = await Sellers.create({ name: "Other Co", rating: 5 });
    const items = await Listings.create([
      { seller: acme._id, sku: "P-1", title: "Mug", price: 8 },
      { seller: other._id, sku: "P-2", title: "Plate", price: 12 },
      { seller: acme._id, sku: "P-3", title: "Bowl", price: 10 },
    ]);
    const buyer = await Users.create({ email: "buyer@populate.io", name: "Buyer" });
    const order = await Orders.create({ buyer: buyer._id, items: [items[2]._id, items[0]._id, items[1]._id], total: 30 });

    const full = await Orders.findById(order._id)
      .populate<{ buyer: User }>("buyer")
      .populate<{ items: (Listing & { seller: Seller })[] }>({ path: "items", populate: { path: "seller" } });
    expect(full!.buyer.name).toBe("Buyer");
    // An array of refs comes back in the order of the array, not of the collection.
    expect(full!.items.map((i) => i.title)).toEqual(["Bowl", "Mug", "Plate"]);
    expect(full!.items.map((i) => i.seller.name)).toEqual(["Populate Co", "Populate Co", "Other Co"]);

    const lean = await Listings.find({ sku: { $in: ["P-1", "P-2"] } }).sort({ sku: 1 }).populate<{ seller: Seller }>("seller", "name -_id").lean();
    expect(lean.map((l) => l.seller)).toEqual([{ name: "Populate Co" }, { name: "Other Co" }]);

    // A dangling ref populates to null.
    await Sellers.deleteOne({ _id: other._id });
    const dangling = await Listings.findOne({ sku: "P-2" }).populate("seller");
    expect(dangling!.seller).toBeNull();
  });
});

describe("atomic counters", () => {
  it("50 concurrent findOneAndUpdate({$inc}) calls end at exactly 50, each seeing a distinct value", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () => Counters.findOneAndUpdate({ _id: "orders" }, { $inc: { seq: 1 } }, { returnDocument: "after", upsert: true }).lean()),
    );
    const seen = results.map((r) => r!.seq).sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect((await Counters.findById("orders").lean())!.seq).toBe(50);
  });

  it("50 concurrent updateOne({$inc}) from separate documents' saves do not lose updates", async () => {
    await Counters.create({ _id: "views", seq: 0 });
    await Promise.all(Array.from({ length: 50 }, () => Counters.updateOne({ _id: "views" }, { $inc: { seq: 2 } })));
    expect((await Counters.findById("views").lean())!.seq).toBe(100);
  });
});

describe("aggregate and bulkWrite", () => {
  it("aggregates with $match, $group, $sort, $lookup and $project", async () => {
    const s1 = await Sellers.create({ name: "Agg One", rating: 1 });
    const s2 = await Sellers.create({ name: "Agg Two", rating: 2 });
    await Listings.create([
      { seller: s1._id, sku: "A-1", title: "a1", price: 10, tags: ["agg"] },
      { seller: s1._id, sku: "A-2", title: "a2", price: 30, tags: ["agg"] },
      { seller: s2._id, sku: "A-1", title: "b1", price: 5, tags: ["agg"] },
    ]);
    const rows = await Listings.aggregate<{ _id: Types.ObjectId; total: number; n: number; seller: string }>([
      { $match: { tags: "agg" } },
      { $group: { _id: "$seller", total: { $sum: "$price" }, n: { $sum: 1 } } },
      { $sort: { total: -1 } },
      { $lookup: { from: Sellers.collection.collectionName, localField: "_id", foreignField: "_id", as: "s" } },
      { $project: { total: 1, n: 1, seller: { $arrayElemAt: ["$s.name", 0] } } },
    ]);
    expect(rows.map((r) => [r.seller, r.total, r.n])).toEqual([["Agg One", 40, 2], ["Agg Two", 5, 1]]);
    expect(rows[0]._id).toBeInstanceOf(Types.ObjectId);
    expect(rows[0]._id.equals(s1._id)).toBe(true);

    const [count] = await Listings.aggregate([{ $match: { price: { $lt: 20 }, tags: "agg" } }, { $count: "n" }]);
    expect(count).toEqual({ n: 2 });
  });

  it("projections and pipelines read the documents without changing them", async () => {
    const s = await Sellers.create({ name: "Reader" });
    const listing = await Listings.create({
      seller: s._id,
      sku: "RO-1",
      title: "Read only",
      price: 5,
      tags: ["a", "b"],
      variants: [{ sku: "RO-1-S", price: 5, stock: 1 }],
      address: { street: "2 Side St", city: "Nice" },
    });
    const pristine = await Listings.findById(listing._id).lean();

    const slim = await Listings.findById(listing._id).select("-address.street -variants.stock").lean();
    expect(slim!.address).toEqual({ city: "Nice" });
    expect(slim!.variants).toEqual([{ sku: "RO-1-S", price: 5 }]);
    expect(Object.keys(slim!)[0]).toBe("_id");
    const picked = await Listings.findById(listing._id, { "address.city": 1, title: 1 }).lean();
    expect(Object.keys(picked!)).toEqual(["_id", "title", "address"]);
    await Listings.findOneAndUpdate({ _id: listing._id }, { $set: { price: 5 } }, { projection: { "address.street": 0 }, timestamps: false });

    const reshaped = await Listings.aggregate([
      { $match: { _id: listing._id } },
      { $set: { "address.city": "Elsewhere", "variants.stock": 99 } },
      { $unset: "tags" },
      { $lookup: { from: Sellers.collection.collectionName, localField: "seller", foreignField: "_id", as: "s" } },
      { $unwind: "$s" },
      { $set: { "s.name": "Renamed" } },
    ]);
    expect(reshaped[0].address.city).toBe("Elsewhere");
    expect(reshaped[0].s.name).toBe("Renamed");

    expect(await Listings.findById(listing._id).lean()).toEqual(pristine);
    expect((await Sellers.findById(s._id).lean())!.name).toBe("Reader");
    expect(await Listings.countDocuments({ "address.street": "2 Side St", "variants.stock": 1, tags: "a" })).toBe(1);
  });

  it("bulkWrite reports every kind of operation", async () => {
    const Stock = conn.model("Stock", new Schema({ sku: { type: String, unique: true }, qty: Number }));
    await Stock.init();
    await Stock.insertMany([{ sku: "s1", qty: 1 }, { sku: "s2", qty: 2 }, { sku: "s3", qty: 3 }]);
    const res = await Stock.bulkWrite([
      { insertOne: { document: { sku: "s4", qty: 4 } } },
      { updateOne: { filter: { sku: "s1" }, update: { $inc: { qty: 10 } } } },
      { updateMany: { filter: { qty: { $gte: 2 } }, update: { $set: { seen: true } } } },
      { updateOne: { filter: { sku: "s9" }, update: { $set: { qty: 9 } }, upsert: true } },
      { replaceOne: { filter: { sku: "s2" }, replacement: { sku: "s2", qty: 20 } } },
      { deleteOne: { filter: { sku: "s3" } } },
      { deleteMany: { filter: { qty: { $gt: 100 } } } },
    ], { strict: false } as never);
    expect(res.insertedCount).toBe(1);
    expect(res.matchedCount).toBe(1 + 4 + 1);
    expect(res.modifiedCount).toBe(1 + 4 + 1);
    expect(res.upsertedCount).toBe(1);
    expect(res.deletedCount).toBe(1);
    expect(Object.keys(res.upsertedIds)).toEqual(["3"]);
    const all = await Stock.find({}, { _id: 0, sku: 1, qty: 1 }).sort({ sku: 1 }).lean();
    expect(all).toEqual([
      { sku: "s1", qty: 11 },
      { sku: "s2", qty: 20 },
      { sku: "s4", qty: 4 },
      { sku: "s9", qty: 9 },
    ]);
  });
});

describe("duplicate keys", () => {
  it("create() on a taken unique value fails exactly as on MongoDB", async () => {
    await Users.create({ email: "dup@example.com", name: "First" });
    const err = await rejection(Users.create({ email: "DUP@example.com", name: "Second" }));
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err.name).toBe("MongoServerError");
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual({ email: 1 });
    expect(err.keyValue).toEqual({ email: "dup@example.com" });
    expect(err.message).toBe(
      `E11000 duplicate key error collection: ${db.dbName}.users index: email_1 dup key: { email: "dup@example.com" }`,
    );
    expect(err.errorResponse).toMatchObject({ code: 11000, keyPattern: { email: 1 }, keyValue: { email: "dup@example.com" }, errmsg: err.message });
    expect(await Users.countDocuments({ email: "dup@example.com" })).toBe(1);
  });

  it("a compound unique index reports every key field, ObjectIds included", async () => {
    const s = await Sellers.create({ name: "Dup Seller" });
    await Listings.create({ seller: s._id, sku: "SKU-1", title: "one", price: 1 });
    // The same sku under another seller is fine.
    await Listings.create({ seller: (await Sellers.create({ name: "Dup Seller 2" }))._id, sku: "SKU-1", title: "two", price: 1 });
    const err = await rejection(Listings.create({ seller: s._id, sku: "SKU-1", title: "three", price: 1 }));
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual({ seller: 1, sku: 1 });
    expect(err.keyValue.sku).toBe("SKU-1");
    expect(err.keyValue.seller).toBeInstanceOf(Types.ObjectId);
    expect(err.keyValue.seller.equals(s._id)).toBe(true);
    expect(err.message).toBe(
      `E11000 duplicate key error collection: ${db.dbName}.listings index: seller_1_sku_1 dup key: { seller: ObjectId('${s._id.toHexString()}'), sku: "SKU-1" }`,
    );
  });

  it("a duplicate _id is reported on the _id_ index", async () => {
    const err = await rejection(Counters.create({ _id: "orders", seq: 1 }));
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual({ _id: 1 });
    expect(err.keyValue).toEqual({ _id: "orders" });
    expect(err.message).toContain('index: _id_ dup key: { _id: "orders" }');
  });

  it("findOneAndUpdate and updateOne into a taken value fail with 11000 and change nothing", async () => {
    await Users.create([{ email: "fau1@example.com", name: "F1" }, { email: "fau2@example.com", name: "F2" }]);
    const err = await rejection(Users.findOneAndUpdate({ email: "fau2@example.com" }, { $set: { email: "fau1@example.com" } }, { returnDocument: "after" }));
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err.code).toBe(11000);
    expect(err.codeName).toBe("DuplicateKey");
    expect(err.keyPattern).toEqual({ email: 1 });
    expect(err.keyValue).toEqual({ email: "fau1@example.com" });
    expect(err.errorResponse).toMatchObject({ ok: 0, code: 11000, codeName: "DuplicateKey", keyValue: { email: "fau1@example.com" } });

    const upsertErr = await rejection(Users.findOneAndUpdate({ email: "nobody-yet@example.com", name: "F1" }, { $set: { email: "fau1@example.com" } }, { upsert: true }));
    expect(upsertErr.code).toBe(11000);

    const err2 = await rejection(Users.updateOne({ email: "fau2@example.com" }, { $set: { email: "fau1@example.com" } }));
    expect(err2).toBeInstanceOf(MongoServerError);
    expect(err2.code).toBe(11000);
    expect(err2.keyValue).toEqual({ email: "fau1@example.com" });
    expect(await Users.countDocuments({ email: { $in: ["fau1@example.com", "fau2@example.com"] } })).toBe(2);
    expect((await Users.findOne({ email: "fau2@example.com" }).lean())!.name).toBe("F2");
  });

  it("insertMany({ordered: false}) inserts everything else and reports the duplicate as a MongoBulkWriteError", async () => {
    const Sku = conn.model("Sku", new Schema({ code: { type: String, unique: true }, n: Number }));
    await Sku.init();
    await Sku.create({ code: "c2", n: 0 });
    const err = await rejection(
      Sku.insertMany(
        [
          { code: "c1", n: 1 },
          { code: "c2", n: 2 },
          { code: "c3", n: 3 },
          { code: "c1", n: 4 },
          { code: "c5", n: 5 },
        ],
        { ordered: false },
      ),
    );
    expect(err).toBeInstanceOf(MongoBulkWriteError);
    expect(err.code).toBe(11000);
    expect(err.writeErrors.map((e: { index: number }) => e.index)).toEqual([1, 3]);
    const first = err.writeErrors[0];
    expect(first.code).toBe(11000);
    expect(first.errmsg).toMatch(/^E11000 duplicate key error collection: .*\.skus index: code_1 dup key: \{ code: "c2" \}$/);
    // The driver keeps index, code, errmsg, errInfo and the failed document of each write error.
    expect(first.getOperation()).toMatchObject({ code: "c2", n: 2 });
    expect(err.writeErrors[1].getOperation()).toMatchObject({ code: "c1", n: 4 });
    expect(err.result.insertedCount).toBe(3);
    expect(err.insertedDocs.map((d: { code: string }) => d.code)).toEqual(["c1", "c3", "c5"]);
    expect((await Sku.find().sort({ n: 1 }).lean()).map((d) => d.code)).toEqual(["c2", "c1", "c3", "c5"]);

    // Ordered (the default) stops at the first error.
    const ordered = await rejection(Sku.insertMany([{ code: "o1" }, { code: "c1" }, { code: "o3" }]));
    expect(ordered.code).toBe(11000);
    expect(await Sku.countDocuments({ code: { $in: ["o1", "o3"] } })).toBe(1);
  });
});
