/**
 * Commands handed to an engine that runs in this process as documents, with no BSON between: the
 * path for a caller's hottest commands, where encoding and decoding cost more than the engine's work.
 *
 * What crosses is copied both ways: the engine stores what it is given, and the caller may change
 * what it gets back. The caller's BSON classes (its driver's copy of bson, not the engine's) are
 * translated on the way: ObjectIds rebuilt, other BSON values (Long, Decimal128, bytes…) encoded one
 * at a time. A command or reply holding anything else but plain objects, arrays, strings, numbers,
 * booleans, null and dates (undefined, a function, a Map, a document with toBSON) goes through BSON
 * whole, so what the engine stores and what the caller reads are exactly what the wire would give.
 */
import { BSON, ObjectId, type Document } from "bson";
import type { EmbeddedMongo } from "./server.js";
import { DESERIALIZE_OPTIONS } from "./wire.js";

/** The caller's side: its ObjectId class and BSON codec (for what the plain copy does not take). */
export interface DirectClient {
  ObjectId: new (id: Uint8Array) => object;
  serialize(doc: Document): Uint8Array;
  deserialize(bytes: Uint8Array): Document;
  /** The error the caller's driver raises for a connection that closed. */
  closedError(message: string): Error;
}

/** A value the plain copy does not take: the whole document goes through BSON. */
const NOT_PLAIN = Symbol("not plain");

type Translate = (value: object) => unknown;

function copyValue(value: unknown, translate: Translate): unknown {
  if (value === null) return null;
  const type = typeof value;
  if (type === "string" || type === "number" || type === "boolean") return value;
  if (type !== "object") throw NOT_PLAIN;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyValue(value[i], translate);
    return out;
  }
  if (value instanceof Date) return new Date(value.getTime());
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const out: Document = {};
    for (const key of Object.keys(value as Document)) {
      // Assigning it would set the copy's prototype; BSON keeps it as a field.
      if (key === "__proto__") throw NOT_PLAIN;
      out[key] = copyValue((value as Document)[key], translate);
    }
    return out;
  }
  return translate(value as object);
}

/** A value of one of BSON's own types (ObjectId, Long, Decimal128, Binary…), bytes, or a regular expression. */
function isBsonValue(value: object): boolean {
  return typeof (value as { _bsontype?: unknown })._bsontype === "string" || ArrayBuffer.isView(value) || value instanceof RegExp;
}

/** A copy of `doc` with its BSON values translated; null when it holds a value only a whole encoding gives its form. */
function plainCopy(doc: Document, translate: Translate): Document | null {
  try {
    return copyValue(doc, translate) as Document;
  } catch (err) {
    if (err === NOT_PLAIN) return null;
    throw err;
  }
}

/**
 * A runner of commands on `embedded`'s engine: each is answered on a later turn of the event loop,
 * as over a connection (a loop of awaited commands must not hold timers and HTTP meanwhile).
 */
export function directCommands(embedded: EmbeddedMongo, client: DirectClient): (command: Document) => Promise<Document> {
  const connectionId = embedded.newConnectionId();
  // Other BSON values (a cursor id's Long, Decimal128, bytes…) go through BSON one at a time: an
  // element is encoded alike whatever its siblings.
  const toEngine: Translate = (value) => {
    if (value instanceof client.ObjectId) return new ObjectId((value as { id: Uint8Array }).id);
    if (isBsonValue(value)) return BSON.deserialize(client.serialize({ v: value }), DESERIALIZE_OPTIONS).v;
    throw NOT_PLAIN;
  };
  const toClient: Translate = (value) => {
    if (value instanceof ObjectId) return new client.ObjectId(value.id);
    if (isBsonValue(value)) return client.deserialize(BSON.serialize({ v: value })).v;
    throw NOT_PLAIN;
  };
  return async (command) => {
    await nextTurn();
    if (embedded.closing) throw client.closedError(`connection ${connectionId} to the embedded engine closed`);
    const given = plainCopy(command, toEngine) ?? BSON.deserialize(client.serialize(command), DESERIALIZE_OPTIONS);
    const reply = embedded.engine.run(given, connectionId);
    return plainCopy(reply, toClient) ?? client.deserialize(BSON.serialize(reply));
  };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
