import { Binary, Decimal128, Double, EJSON, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, type Document } from "bson";

/** Index-scan sentinels: the lowest/highest key of one BSON type bracket, or of everything. */
export class Bound {
  constructor(
    readonly rank: number,
    readonly side: -1 | 1,
  ) {}
}
export const MIN_BOUND = new Bound(0, -1);
export const MAX_BOUND = new Bound(99, 1);

/** MongoDB's cross-type sort order (https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/). */
export function typeRank(v: unknown): number {
  if (v instanceof Bound) return v.rank;
  if (v === undefined || v === null) return 2;
  switch (typeof v) {
    case "number":
    case "bigint":
      return 3;
    case "string":
      return 4;
    case "boolean":
      return 9;
  }
  if (v instanceof Date) return 10;
  if (v instanceof ObjectId) return 8;
  if (v instanceof MinKey) return 1;
  if (v instanceof MaxKey) return 13;
  if (v instanceof Timestamp) return 11; // before Long: bson's Timestamp is a subclass of Long
  if (v instanceof Long || v instanceof Int32 || v instanceof Double || v instanceof Decimal128) return 3;
  if (Array.isArray(v)) return 6;
  if (v instanceof Binary || ArrayBuffer.isView(v)) return 7;
  if (v instanceof ObjectId) return 8;
  if (v instanceof Date) return 10;
  if (v instanceof RegExp) return 12;
  return 5;
}

function toNumber(v: unknown): number | bigint {
  if (typeof v === "number" || typeof v === "bigint") return v;
  if (v instanceof Long) return v.toBigInt();
  if (v instanceof Decimal128) return Number(v.toString());
  if (v instanceof Int32 || v instanceof Double) return v.valueOf();
  return NaN;
}

function compareNumbers(a: unknown, b: unknown): number {
  const x = toNumber(a);
  const y = toNumber(b);
  if (typeof x === "bigint" && typeof y === "bigint") return x < y ? -1 : x > y ? 1 : 0;
  const nx = Number(x);
  const ny = Number(y);
  if (Number.isNaN(nx)) return Number.isNaN(ny) ? 0 : -1; // NaN sorts before all numbers
  if (Number.isNaN(ny)) return 1;
  return nx < ny ? -1 : nx > ny ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length;
}

function binaryBytes(v: unknown): { subtype: number; bytes: Uint8Array } {
  if (v instanceof Binary) return { subtype: v.sub_type, bytes: v.buffer.subarray(0, v.position) };
  const view = v as ArrayBufferView;
  return { subtype: 0, bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength) };
}

/** How two strings compare: binary by default, or by a collation. */
export type StringCompare = (a: string, b: string) => number;

const binaryStrings: StringCompare = (a, b) => (a === b ? 0 : a < b ? -1 : 1);

/** Total order over BSON values as MongoDB orders index keys (strings by `strings`, binary unless a collation applies). */
export function compareValues(a: unknown, b: unknown, strings: StringCompare = binaryStrings): number {
  // Index keys are mostly strings, numbers and dates compared with their own kind: answered first.
  if (typeof a === "string" && typeof b === "string") return strings(a, b);
  if (typeof a === "number" && typeof b === "number" && a === a && b === b) return a < b ? -1 : a > b ? 1 : 0;
  if (a instanceof Date && b instanceof Date) return Math.sign(a.getTime() - b.getTime());
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (a instanceof Bound || b instanceof Bound) {
    if (ra !== rb) return ra - rb;
    const sa = a instanceof Bound ? a.side : 0;
    const sb = b instanceof Bound ? b.side : 0;
    return sa - sb;
  }
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 3:
      return compareNumbers(a, b);
    case 4:
      return strings(a as string, b as string);
    case 5:
      return compareObjects(a as Document, b as Document, strings);
    case 6:
      return compareArrays(a as unknown[], b as unknown[], strings);
    case 7: {
      const x = binaryBytes(a);
      const y = binaryBytes(b);
      return x.bytes.length - y.bytes.length || x.subtype - y.subtype || compareBytes(x.bytes, y.bytes);
    }
    case 8:
      return compareBytes((a as ObjectId).id, (b as ObjectId).id);
    case 9:
      return Number(a) - Number(b);
    case 10:
      return Math.sign((a as Date).getTime() - (b as Date).getTime());
    case 11:
      return (a as Timestamp).compare(b as Timestamp);
    case 12: {
      const x = a as RegExp;
      const y = b as RegExp;
      return x.source < y.source ? -1 : x.source > y.source ? 1 : x.flags < y.flags ? -1 : x.flags > y.flags ? 1 : 0;
    }
    default:
      return 0;
  }
}

function compareArrays(a: unknown[], b: unknown[], strings: StringCompare): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i], b[i], strings);
    if (c) return c;
  }
  return a.length - b.length;
}

function compareObjects(a: Document, b: Document, strings: StringCompare): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const byType = typeRank(a[ka[i]]) - typeRank(b[kb[i]]);
    if (byType) return byType;
    if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
    const c = compareValues(a[ka[i]], b[kb[i]], strings);
    if (c) return c;
  }
  return ka.length - kb.length;
}

/** A string that is equal for two `_id` values exactly when MongoDB treats them as the same key. */
export function idKey(v: unknown): string {
  if (typeof v === "string") return "s" + v;
  if (v instanceof ObjectId) return "o" + v.toHexString();
  if (typeof v === "number") return "n" + (Object.is(v, -0) ? 0 : v);
  if (v instanceof Long && !(v instanceof Timestamp)) return "n" + (v.toBigInt() >= BigInt(Number.MIN_SAFE_INTEGER) && v.toBigInt() <= BigInt(Number.MAX_SAFE_INTEGER) ? v.toNumber() : v.toString());
  if (v instanceof Int32 || v instanceof Double) return "n" + v.valueOf();
  if (v instanceof Date) return "d" + v.getTime();
  if (v === null || v === undefined) return "z";
  if (typeof v === "boolean") return "b" + v;
  return "x" + EJSON.stringify(v as Document, { relaxed: false });
}

/**
 * A key that two values share whenever `compareValues` (binary strings) finds them equal: numbers
 * of every BSON type by their numeric value, strings, dates and ObjectIds by their content. Values
 * of other brackets get null. Different values may share a key (two Longs past 2^53): callers
 * confirm a hit with `compareValues`.
 */
export function equalityKey(v: unknown): string | null {
  switch (typeRank(v)) {
    case 3:
      return v instanceof Bound ? null : "n" + Number(toNumber(v));
    case 4:
      return "s" + (v as string);
    case 8:
      return "o" + (v as ObjectId).toHexString();
    case 10:
      return "d" + (v as Date).getTime();
    default:
      return null;
  }
}

/** A document or sub-document as a literal builds it (not an array, a date or a BSON value). */
export function isPlainObject(v: unknown): v is Document {
  return v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype;
}

/** Field names that would reach an object's prototype if written as keys. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

const IMMUTABLE_TYPES = [ObjectId, Long, Decimal128, Binary, Timestamp, MinKey, MaxKey, Int32, Double];

/** Deep copy of plain objects and arrays; BSON value objects are immutable and shared. */
export function cloneDocument<T>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(cloneDocument) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (IMMUTABLE_TYPES.some((type) => value instanceof type) || value instanceof RegExp) return value;
  if (ArrayBuffer.isView(value)) return value;
  const out: Document = {};
  for (const [k, v] of Object.entries(value as Document)) out[k] = cloneDocument(v);
  return out as T;
}

/**
 * Whether two documents would be stored alike: same fields in the same order, same types, same
 * values (a pipeline update that changes nothing is no modification).
 */
export function sameDocument(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
    return typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((v, i) => sameDocument(v, other[i]));
  }
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (Object.getPrototypeOf(a) !== Object.prototype) return JSON.stringify(a) === JSON.stringify(b) && String(a) === String(b);
  const keys = Object.keys(a);
  const otherKeys = Object.keys(b);
  if (keys.length !== otherKeys.length) return false;
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] !== otherKeys[i] || !sameDocument((a as Document)[keys[i]], (b as Document)[keys[i]])) return false;
  }
  return true;
}

/** Values found at a dotted path, descending through arrays as MongoDB does for index keys. */
export function valuesAtPath(doc: unknown, parts: readonly string[], start = 0): unknown[] {
  if (start === parts.length) return [doc];
  if (Array.isArray(doc)) {
    const out: unknown[] = [];
    const part = parts[start];
    if (/^\d+$/.test(part) && Number(part) < doc.length) out.push(...valuesAtPath(doc[Number(part)], parts, start + 1));
    for (const el of doc) if (el !== null && typeof el === "object" && !Array.isArray(el)) out.push(...valuesAtPath(el, parts, start));
    return out.length ? out : [undefined];
  }
  if (doc === null || typeof doc !== "object" || doc instanceof Date) return [undefined];
  const record = doc as Document;
  if (!(parts[start] in record)) return [undefined];
  return valuesAtPath(record[parts[start]], parts, start + 1);
}

/** Index key values of one field: array elements one by one, missing as null. */
export function indexValuesOf(doc: Document, parts: readonly string[]): unknown[] {
  const out: unknown[] = [];
  for (const v of valuesAtPath(doc, parts)) {
    if (Array.isArray(v)) {
      if (v.length === 0) out.push(undefined);
      else out.push(...v);
    } else out.push(v);
  }
  const unique: unknown[] = [];
  for (const v of out.map((x) => (x === undefined ? null : x))) {
    if (!unique.some((u) => compareValues(u, v) === 0)) unique.push(v);
  }
  return unique;
}

export function getPath(doc: Document, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Document)[part];
  }
  return cur;
}

/**
 * A projected document with its fields in the stored document's order, `_id` first, as mongod
 * returns them (mingo orders them by the projection and puts `_id` last).
 */
export function inDocumentOrder(projected: Document, original: Document, top = true): Document {
  const out: Document = {};
  if (top && "_id" in projected) out._id = projected._id;
  for (const key of Object.keys(original)) {
    if (!(key in projected) || key in out) continue;
    out[key] = sameShape(projected[key], original[key]);
  }
  for (const key of Object.keys(projected)) if (!(key in out)) out[key] = projected[key];
  return out;
}

function isPlainDocument(v: unknown): v is Document {
  return v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype;
}

function sameShape(projected: unknown, original: unknown): unknown {
  if (isPlainDocument(projected) && isPlainDocument(original)) return inDocumentOrder(projected, original, false);
  if (Array.isArray(projected) && Array.isArray(original) && projected.length === original.length) {
    return projected.map((v, i) => sameShape(v, original[i]));
  }
  return projected;
}
