import { Double, EJSON, Int32, Long, ObjectId, Timestamp, type Document } from "bson";
import { Query, candidates, type MatchOptions } from "./matching.js";
import { collationCompare, collationKey } from "./collation.js";
import { compareValues, equalityKey, typeRank, type StringCompare } from "./values.js";

/*
 * Compiling a filter with mingo costs far more than testing a document against it, and the hot
 * filters (a worker's claim, the scheduler's due-job lookup) repeat one shape with new values (a new
 * `now` each time). Filters made of field comparisons are compiled once per shape — the filter with
 * its strings, numbers, dates and ids taken out as parameters — into a predicate that reads them per
 * call; any other part of the shape (null, booleans, regexes, $elemMatch …) is kept literally in the
 * shape's key and compiled by mingo once. Other filters ($expr, $where …) are mingo's, cached by
 * their exact text.
 */

export interface Matcher {
  test(doc: Document): boolean;
}

type Node = (doc: Document, values: unknown[]) => boolean;

const PARAM_OPS = new Set(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"]);
const SIMPLE_OPS = new Set([...PARAM_OPS, "$exists"]);
const LOGICAL = new Set(["$and", "$or", "$nor"]);

/** A value that takes part in the shape as a parameter: compared with the engine's own BSON order. */
function isParameter(v: unknown): boolean {
  if (typeof v === "string") return true;
  if (typeof v === "number") return !Number.isNaN(v);
  if (v instanceof Timestamp) return false;
  return v instanceof Date || v instanceof ObjectId || v instanceof Long || v instanceof Int32 || (v instanceof Double && !Number.isNaN(v.value));
}

function isOperatorObject(cond: unknown): cond is Document {
  if (!cond || typeof cond !== "object" || Array.isArray(cond) || cond instanceof Date || cond instanceof RegExp) return false;
  if ((cond as { _bsontype?: string })._bsontype) return false;
  const keys = Object.keys(cond);
  return keys.length > 0 && keys.every((k) => k.startsWith("$"));
}

function literalText(v: unknown): string {
  if (v === null || typeof v === "boolean") return String(v);
  return EJSON.stringify({ v } as Document, { relaxed: false });
}

/** The shape key of `filter`, its parameters appended to `values`; null when the filter is not a plain comparison filter. */
function shapeOf(filter: Document, values: unknown[]): string | null {
  let key = "{";
  for (const [field, cond] of Object.entries(filter)) {
    key += JSON.stringify(field) + ":";
    if (LOGICAL.has(field)) {
      if (!Array.isArray(cond) || cond.length === 0) return null;
      key += "[";
      for (const part of cond) {
        if (!part || typeof part !== "object" || Array.isArray(part)) return null;
        const sub = shapeOf(part as Document, values);
        if (sub === null) return null;
        key += sub + ",";
      }
      key += "]";
    } else if (field.startsWith("$")) {
      return null;
    } else if (isParameter(cond)) {
      key += "?";
      values.push(cond);
    } else if (isOperatorObject(cond) && Object.keys(cond).every((op) => SIMPLE_OPS.has(op))) {
      key += "{";
      for (const [op, v] of Object.entries(cond)) {
        key += op + ":";
        if (isParameter(v) && op !== "$in" && op !== "$nin") {
          key += "?";
          values.push(v);
        } else if ((op === "$in" || op === "$nin") && Array.isArray(v) && v.length > 0 && v.every(isParameter)) {
          key += `?${v.length}`;
          values.push(...v);
        } else key += literalText(v);
        key += ",";
      }
      key += "}";
    } else key += "L" + literalText(cond);
    key += ",";
  }
  return key + "}";
}

/** Builds the predicate of a shape from the first filter seen with it; `slot` numbers the parameters in walk order. */
function build(filter: Document, slot: { next: number }, options: MatchOptions, strings: StringCompare | undefined): Node {
  const parts: Node[] = [];
  for (const [field, cond] of Object.entries(filter)) {
    if (LOGICAL.has(field)) {
      const subs = (cond as Document[]).map((part) => build(part, slot, options, strings));
      if (field === "$and") parts.push((doc, values) => subs.every((n) => n(doc, values)));
      else if (field === "$or") parts.push((doc, values) => subs.some((n) => n(doc, values)));
      else parts.push((doc, values) => !subs.some((n) => n(doc, values)));
    } else if (isParameter(cond)) {
      parts.push(equals(field, slot.next++, strings));
    } else if (isOperatorObject(cond) && Object.keys(cond).every((op) => SIMPLE_OPS.has(op))) {
      for (const [op, v] of Object.entries(cond)) parts.push(operatorNode(field, op, v, slot, options, strings));
    } else parts.push(literal(field, cond, options));
  }
  if (parts.length === 1) return parts[0];
  return (doc, values) => parts.every((p) => p(doc, values));
}

function literal(field: string, cond: unknown, options: MatchOptions): Node {
  const query = new Query({ [field]: cond }, { collation: options.collation });
  return (doc) => query.test(doc);
}

function operatorNode(field: string, op: string, v: unknown, slot: { next: number }, options: MatchOptions, strings: StringCompare | undefined): Node {
  if ((op === "$in" || op === "$nin") && Array.isArray(v) && v.length > 0 && v.every(isParameter)) {
    const first = slot.next;
    slot.next += v.length;
    const count = v.length;
    const any: Node =
      count >= HASHED_IN_MIN && !strings
        ? hashedIn(field, first, count)
        : (doc, values) => {
            const found = candidates(doc, field);
            for (let i = first; i < first + count; i++) if (found.some((c) => compareValues(c, values[i], strings) === 0)) return true;
            return false;
          };
    return op === "$in" ? any : (doc, values) => !any(doc, values);
  }
  if (!PARAM_OPS.has(op) || !isParameter(v)) return literal(field, { [op]: v }, options);
  const at = slot.next++;
  switch (op) {
    case "$eq":
      return equals(field, at, strings);
    case "$ne": {
      const eq = equals(field, at, strings);
      return (doc, values) => !eq(doc, values);
    }
    case "$gt":
      return ordered(field, at, strings, (c) => c > 0);
    case "$gte":
      return ordered(field, at, strings, (c) => c >= 0);
    case "$lt":
      return ordered(field, at, strings, (c) => c < 0);
    default:
      return ordered(field, at, strings, (c) => c <= 0);
  }
}

/** From this many values on, `$in` looks values up by key instead of comparing with each. */
const HASHED_IN_MIN = 16;

/**
 * `$in` over many values (a bulk write's 10,000 ids) as a lookup: the values are grouped by
 * `equalityKey` once per filter (per parameter array), and a hit is confirmed with `compareValues`.
 */
function hashedIn(field: string, first: number, count: number): Node {
  const tables = new WeakMap<unknown[], Map<string, unknown[]>>();
  const tableOf = (values: unknown[]) => {
    let table = tables.get(values);
    if (!table) {
      table = new Map();
      for (let i = first; i < first + count; i++) {
        const key = equalityKey(values[i])!;
        const bucket = table.get(key);
        if (bucket) bucket.push(values[i]);
        else table.set(key, [values[i]]);
      }
      tables.set(values, table);
    }
    return table;
  };
  return (doc, values) => {
    const table = tableOf(values);
    return candidates(doc, field).some((c) => {
      const key = equalityKey(c);
      const bucket = key === null ? undefined : table.get(key);
      return bucket !== undefined && bucket.some((v) => compareValues(c, v) === 0);
    });
  };
}

function equals(field: string, at: number, strings: StringCompare | undefined): Node {
  return (doc, values) => candidates(doc, field).some((c) => compareValues(c, values[at], strings) === 0);
}

function isNaNumber(v: unknown): boolean {
  return (typeof v === "number" && Number.isNaN(v)) || (v instanceof Double && Number.isNaN(v.value));
}

/** `$gt` and friends compare within one BSON type bracket only; NaN is neither above nor below a number. */
function ordered(field: string, at: number, strings: StringCompare | undefined, test: (c: number) => boolean): Node {
  return (doc, values) => {
    const v = values[at];
    const rank = typeRank(v);
    return candidates(doc, field).some((c) => typeRank(c) === rank && !isNaNumber(c) && test(compareValues(c, v, strings)));
  };
}

const MAX_CACHED = 500;
const shapes = new Map<string, Node>();
const exact = new Map<string, Query>();

function remember<T>(cache: Map<string, T>, key: string, value: T): T {
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
  return value;
}

/** A compiled filter, from the caches when this shape (or this exact filter) was seen before. */
export function compileFilter(filter: Document, options: MatchOptions = {}): Matcher {
  const collation = collationKey(options.collation);
  const values: unknown[] = [];
  const shape = shapeOf(filter, values);
  if (shape !== null) {
    const key = collation + shape;
    const node = shapes.get(key) ?? remember(shapes, key, build(filter, { next: 0 }, options, options.collation ? collationCompare(options.collation) : undefined));
    return { test: (doc) => node(doc, values) };
  }
  // `let` variables and $$NOW change from one command to the next: those queries are compiled afresh.
  if (options.variables) return new Query(filter, options);
  const text = EJSON.stringify(filter, { relaxed: false });
  if (text.includes("$$NOW") || text.includes("$$CLUSTER_TIME")) return new Query(filter, options);
  const key = collation + text;
  const cached = exact.get(key);
  if (cached) {
    // Most recently used last, so the oldest is the one forgotten.
    exact.delete(key);
    exact.set(key, cached);
    return cached;
  }
  return remember(exact, key, new Query(filter, options));
}
