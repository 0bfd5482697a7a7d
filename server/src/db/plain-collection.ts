/**
 * The few commands of the task path that need nothing mongoose adds (no casting, middleware or
 * documents): the driver's own collection methods, or, when the engine runs in this process, the
 * same commands handed to it directly with no BSON between. Callers pass values of the stored types
 * and set `updated_at` themselves: the schema is not applied here.
 */
import mongoose, { type Collection, type Connection } from "mongoose";
import { directCommands, type EmbeddedMongo } from "../embedded-mongo/index.js";
import { inProcessEngineOf } from "./connect.js";

type Document = Record<string, unknown>;
export type Sort = Record<string, 1 | -1>;

export interface PlainCollection {
  insertOne(doc: object): Promise<void>;
  findOne<T>(filter: Document, projection?: Document): Promise<T | null>;
  /** Updates the first match (inserting one from the filter and update when none matches and `upsert`). */
  updateOne(filter: Document, update: Document | Document[], options?: { upsert?: boolean }): Promise<void>;
  /** The document after the update (a pipeline when `update` is an array), or null when none matched. */
  findOneAndUpdate<T>(filter: Document, update: Document | Document[], options?: { sort?: Sort }): Promise<T | null>;
}

/** The plain commands on mongoose's `collection` (a model's, or the connection's), through the fastest path its connection has. */
export function plainCollection(collection: Collection): PlainCollection {
  const engine = inProcessEngineOf(collection.conn);
  return engine ? engineCollection(engine, collection.conn, collection.collectionName) : driverCollection(collection);
}

/** Through mongoose's collection: the driver's methods, queued like every other command while disconnected. */
function driverCollection(collection: Collection): PlainCollection {
  return {
    async insertOne(doc) {
      await collection.insertOne(doc as Document);
    },
    findOne: <T>(filter: Document, projection?: Document) => collection.findOne(filter, projection ? { projection } : {}) as Promise<T | null>,
    async updateOne(filter, update, options = {}) {
      await collection.updateOne(filter, update, options);
    },
    findOneAndUpdate: <T>(filter: Document, update: Document | Document[], options: { sort?: Sort } = {}) =>
      collection.findOneAndUpdate(filter, update, { returnDocument: "after", ...(options.sort ? { sort: options.sort } : {}) }) as Promise<T | null>,
  };
}

const { BSON, MongoNetworkError, MongoServerError } = mongoose.mongo;

function engineCollection(engine: EmbeddedMongo, connection: Connection, name: string): PlainCollection {
  const run = directCommands(engine, {
    ObjectId: BSON.ObjectId,
    serialize: (doc) => BSON.serialize(doc, clientBsonOptions(connection).serialize),
    deserialize: (bytes) => BSON.deserialize(bytes, clientBsonOptions(connection).deserialize),
    closedError: (message) => new MongoNetworkError(message),
  });
  // As the driver reports them: a failed command, or a write the server refused.
  const command = async (cmd: Document): Promise<Document> => {
    const reply = await run({ ...cmd, $db: connection.name });
    if (reply.ok !== 1) throw new MongoServerError(reply);
    const [writeError] = (reply.writeErrors as Document[] | undefined) ?? [];
    if (writeError) throw new MongoServerError(writeError);
    return reply;
  };
  const debug = (method: string, ...args: unknown[]): void => debugHook(connection)?.(name, method, ...args);
  return {
    async insertOne(doc) {
      debug("insertOne", doc);
      await command({ insert: name, documents: [doc], ordered: true });
    },
    async findOne<T>(filter: Document, projection?: Document) {
      debug("findOne", filter, projection ? { projection } : {});
      const reply = await command({ find: name, filter, ...(projection ? { projection } : {}), limit: 1, singleBatch: true });
      return ((reply.cursor as { firstBatch: T[] }).firstBatch[0] ?? null) as T | null;
    },
    async updateOne(filter, update, options = {}) {
      debug("updateOne", filter, update, options);
      await command({ update: name, updates: [{ q: filter, u: update, upsert: options.upsert ?? false }], ordered: true });
    },
    async findOneAndUpdate<T>(filter: Document, update: Document | Document[], options: { sort?: Sort } = {}) {
      debug("findOneAndUpdate", filter, update, options);
      const reply = await command({ findAndModify: name, query: filter, update, new: true, ...(options.sort ? { sort: options.sort } : {}) });
      return (reply.value ?? null) as T | null;
    },
  };
}

/** How the connection's driver encodes commands and decodes replies (its options, else its defaults). */
function clientBsonOptions(connection: Connection): { serialize: mongoose.mongo.BSON.SerializeOptions; deserialize: mongoose.mongo.BSON.DeserializeOptions } {
  const o: mongoose.mongo.BSONSerializeOptions = connection.getClient().options;
  return {
    serialize: { ignoreUndefined: o.ignoreUndefined ?? false, serializeFunctions: o.serializeFunctions ?? false, checkKeys: false },
    deserialize: { promoteLongs: o.promoteLongs ?? true, promoteValues: o.promoteValues ?? true, promoteBuffers: o.promoteBuffers ?? false, bsonRegExp: o.bsonRegExp ?? false, useBigInt64: o.useBigInt64 ?? false },
  };
}

type DebugHook = (collection: string, method: string, ...args: unknown[]) => void;

/** Mongoose's debug function (set on the connection, else globally) hears these commands as it hears its own. */
function debugHook(connection: Connection): DebugHook | null {
  const debug: unknown = connection.get("debug") ?? mongoose.get("debug");
  return typeof debug === "function" ? (debug as DebugHook) : null;
}
