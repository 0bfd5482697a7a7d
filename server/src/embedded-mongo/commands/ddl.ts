import type { Document } from "bson";
import { MongoCommandError } from "../errors.js";
import type { CommandContext, CommandHandler } from "../engine.js";
import { ID_INDEX } from "../store/storage.js";
import { defaultIndexName, sameIndexOptions, type IndexSpec } from "../store/index-spec.js";
import type { Collection } from "../store/collection.js";
import { Query } from "../store/matching.js";
import { parseCollation } from "../store/collation.js";

export function collectionName(ctx: CommandContext): string {
  if (typeof ctx.target !== "string" || ctx.target === "") {
    throw new MongoCommandError("InvalidNamespace", `collection name must be a non-empty string`);
  }
  return ctx.target;
}

function requireCollection(ctx: CommandContext): Collection {
  const name = collectionName(ctx);
  const coll = ctx.engine.storage.get(ctx.db, name);
  if (!coll) throw new MongoCommandError("NamespaceNotFound", `ns does not exist: ${ctx.db}.${name}`);
  return coll;
}

function create(ctx: CommandContext): Document {
  const name = collectionName(ctx);
  const { create: _c, $db: _d, lsid: _l, writeConcern: _w, ...options } = ctx.cmd;
  if (options.viewOn) throw new MongoCommandError("CommandNotSupported", "views are not supported by the embedded engine");
  ctx.engine.storage.createCollection(ctx.db, name, options);
  return {};
}

function drop(ctx: CommandContext): Document {
  const name = collectionName(ctx);
  const coll = ctx.engine.storage.get(ctx.db, name);
  if (!coll) throw new MongoCommandError("NamespaceNotFound", "ns not found");
  const nIndexesWas = coll.indexSpecs.length + 1;
  ctx.engine.storage.dropCollection(ctx.db, name);
  return { nIndexesWas, ns: coll.namespace };
}

function listCollections(ctx: CommandContext): Document {
  const filter = (ctx.cmd.filter as Document | undefined) ?? {};
  const query = new Query(filter);
  const infos = ctx.engine.storage
    .collections(ctx.db)
    .map((c) => ({
      name: c.name,
      type: "collection",
      options: c.options,
      info: { readOnly: false },
      idIndex: ID_INDEX,
    }))
    .filter((info) => query.test(info))
    .map((info) => (ctx.cmd.nameOnly ? { name: info.name, type: info.type } : info));
  return { cursor: ctx.engine.cursors.first(`${ctx.db}.$cmd.listCollections`, infos, batchSizeOf(ctx.cmd)) };
}

function batchSizeOf(cmd: Document): number | undefined {
  const cursor = cmd.cursor as Document | undefined;
  return typeof cursor?.batchSize === "number" ? cursor.batchSize : undefined;
}

function renameCollection(ctx: CommandContext): Document {
  const [fromDb, ...fromRest] = String(ctx.target).split(".");
  const [toDb, ...toRest] = String(ctx.cmd.to ?? "").split(".");
  const from = fromRest.join(".");
  const to = toRest.join(".");
  const storage = ctx.engine.storage;
  if (!storage.get(fromDb, from)) throw new MongoCommandError("NamespaceNotFound", `Source collection ${ctx.target} does not exist`);
  if (storage.get(toDb, to)) {
    if (!ctx.cmd.dropTarget) throw new MongoCommandError("NamespaceExists", `target namespace exists`);
    storage.dropCollection(toDb, to);
  }
  storage.renameCollection(fromDb, from, toDb, to);
  return {};
}

function createIndexes(ctx: CommandContext): Document {
  const existed = ctx.engine.storage.get(ctx.db, collectionName(ctx)) !== undefined;
  const coll = ctx.engine.storage.ensure(ctx.db, collectionName(ctx));
  const before = coll.indexSpecs.length + 1;
  const requested = ctx.cmd.indexes;
  if (!Array.isArray(requested) || requested.length === 0) {
    throw new MongoCommandError("BadValue", "Must specify at least one index to create");
  }
  // mongod builds the indexes of one command together: if one fails, none of them is kept.
  const created: string[] = [];
  try {
    for (const raw of requested as Document[]) createIndex(ctx, coll, raw, created);
  } catch (err) {
    for (const name of created) ctx.engine.storage.dropIndex(coll, name);
    throw err;
  }
  const after = coll.indexSpecs.length + 1;
  return { numIndexesBefore: before, numIndexesAfter: after, createdCollectionAutomatically: !existed };
}

function createIndex(ctx: CommandContext, coll: Collection, raw: Document, created: string[]): void {
  const spec = normaliseSpec(raw, coll);
  if (spec.name === "_id_") return;
  const sameName = coll.findIndexSpec(spec.name);
  if (sameName) {
    if (JSON.stringify(sameName.key) !== JSON.stringify(spec.key)) {
      throw new MongoCommandError("IndexKeySpecsConflict", `An existing index has the same name as the requested index but a different key: ${spec.name}`);
    }
    if (!sameIndexOptions(sameName, spec)) {
      throw new MongoCommandError("IndexOptionsConflict", `An existing index has the same name as the requested index but different options: ${spec.name}`);
    }
    return;
  }
  const sameKey = coll.indexSpecs.find((s) => JSON.stringify(s.key) === JSON.stringify(spec.key));
  if (sameKey && sameIndexOptions(sameKey, spec)) {
    throw new MongoCommandError("IndexOptionsConflict", `Index already exists with a different name: ${sameKey.name}`);
  }
  ctx.engine.storage.createIndex(coll, spec);
  created.push(spec.name);
}

function normaliseSpec(raw: Document, coll: Collection): IndexSpec {
  const key = raw.key as Document | undefined;
  if (!key || typeof key !== "object" || Object.keys(key).length === 0) {
    throw new MongoCommandError("BadValue", "Index spec must have a non-empty 'key'");
  }
  const spec: IndexSpec = { v: 2, key, name: typeof raw.name === "string" ? raw.name : defaultIndexName(key) };
  for (const option of ["unique", "sparse", "partialFilterExpression", "expireAfterSeconds", "background", "collation", "weights", "default_language", "textIndexVersion", "2dsphereIndexVersion", "hidden"]) {
    if (raw[option] !== undefined) spec[option] = raw[option];
  }
  if (spec.unique === false) delete spec.unique;
  // An index without a collation takes the collection's default; `simple` asks for binary comparison.
  const collation = raw.collation === undefined ? coll.collationFor(undefined) : parseCollation(raw.collation);
  if (collation) spec.collation = { ...collation };
  else delete spec.collation;
  return spec;
}

function listIndexes(ctx: CommandContext): Document {
  const coll = requireCollection(ctx);
  const specs = [ID_INDEX, ...coll.indexSpecs];
  return { cursor: ctx.engine.cursors.first(`${ctx.db}.${coll.name}`, specs, batchSizeOf(ctx.cmd)) };
}

function dropIndexes(ctx: CommandContext): Document {
  const coll = requireCollection(ctx);
  const nIndexesWas = coll.indexSpecs.length + 1;
  const which = ctx.cmd.index;
  const names: string[] = [];
  if (which === "*") names.push(...coll.indexSpecs.map((s) => s.name));
  else if (Array.isArray(which)) names.push(...which.map(String));
  else if (typeof which === "string") names.push(which);
  else if (which && typeof which === "object") {
    const spec = coll.indexSpecs.find((s) => JSON.stringify(s.key) === JSON.stringify(which));
    if (!spec) throw new MongoCommandError("IndexNotFound", `can't find index with key: ${JSON.stringify(which)}`);
    names.push(spec.name);
  }
  for (const name of names) {
    if (name === "_id_") throw new MongoCommandError("InvalidOptions", "cannot drop _id index");
    if (!coll.findIndexSpec(name)) throw new MongoCommandError("IndexNotFound", `index not found with name [${name}]`);
    ctx.engine.storage.dropIndex(coll, name);
  }
  return { nIndexesWas };
}

export const ddlCommands: Record<string, CommandHandler> = {
  create,
  drop,
  dropDatabase: (ctx) => {
    ctx.engine.storage.dropDatabase(ctx.db);
    return { dropped: ctx.db };
  },
  listCollections,
  renameCollection,
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
  collMod: (ctx) => {
    requireCollection(ctx);
    // Changing a validator afterwards would need the collection's options journaled anew.
    for (const option of ["validator", "validationLevel", "validationAction", "viewOn", "pipeline"]) {
      if (ctx.cmd[option] !== undefined) throw new MongoCommandError("CommandNotSupported", `collMod ${option} is not supported by the embedded engine; set it with create`);
    }
    return {};
  },
  validate: (ctx) => {
    const coll = requireCollection(ctx);
    return { ns: coll.namespace, nrecords: coll.docs.size, nIndexes: coll.indexSpecs.length + 1, valid: true, errors: [] };
  },
  collStats: (ctx) => {
    const coll = requireCollection(ctx);
    return { ns: coll.namespace, count: coll.docs.size, nindexes: coll.indexSpecs.length + 1, size: coll.docs.size * 256 };
  },
};
