import { Binary, Code, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, type Document } from "bson";
import { Context } from "mingo/core";
import { Query as MingoQuery } from "mingo/query";
import { Aggregator as MingoAggregator } from "mingo/aggregator";
import { Lazy } from "mingo/lazy";
import * as accumulatorOperators from "mingo/operators/accumulator";
import * as expressionOperators from "mingo/operators/expression";
import * as pipelineOperators from "mingo/operators/pipeline";
import * as projectionOperators from "mingo/operators/projection";
import * as queryOperators from "mingo/operators/query";
import * as windowOperators from "mingo/operators/window";
import { flatten, resolve } from "mingo/util";
import { Bound, compareValues, typeRank, valuesAtPath, type StringCompare } from "./values.js";
import { collationCompare, collationKey, type Collation } from "./collation.js";
import { MongoCommandError } from "../errors.js";
import { jsonSchemaValidator } from "./json-schema.js";

/*
 * mingo compares BSON classes by constructor name and `toString()`: Long(10) < Long(9) ("10" < "9"),
 * Long(100) never equals 100, Decimal128 sorts as text, and `$type` knows no BSON types. This module
 * gives the engine mingo's Query and Aggregator with the comparison operators, `$type` and `$sort`
 * replaced by ones that follow MongoDB's BSON order (values.ts). Everything else is mingo's.
 */

type Options = ConstructorParameters<typeof MingoQuery>[1];
type Predicate = (doc: unknown) => boolean;
type QueryOp = (selector: string, value: unknown, options: Options) => Predicate;
type PipelineOp = (collection: ReturnType<typeof Lazy>, expr: unknown, options: Options) => ReturnType<typeof Lazy>;

const mingoQueryOps = queryOperators as unknown as Record<string, QueryOp>;

function isNumeric(v: unknown): boolean {
  return typeRank(v) === 3 && !(v instanceof Bound);
}

/** The values a condition on `selector` is tested against: the field, and array elements as mongod descends. */
export function candidates(doc: unknown, selector: string): unknown[] {
  const value = resolve(doc as Document, selector, { unwrapArray: true });
  if (!Array.isArray(value)) return [value];
  const depth = selector.split(".").length - 1;
  return [value, ...value, ...flatten(value, depth)];
}

function numericCompare(test: (c: number) => boolean): (selector: string, value: unknown) => Predicate {
  return (selector, value) => (doc) =>
    candidates(doc, selector).some((v) => {
      if (!isNumeric(v)) return false;
      // NaN is only ever equal to NaN; it is neither above nor below any number.
      if (Number.isNaN(Number(v)) || Number.isNaN(Number(value))) {
        return Number.isNaN(Number(v)) && Number.isNaN(Number(value)) && test(0);
      }
      return test(compareValues(v, value));
    });
}

/** The string order of the collation the operation runs with, or null for binary comparison. */
export function stringCompareOf(options: unknown): StringCompare | null {
  const collation = (options as { collation?: Collation } | undefined)?.collation;
  // mingo's updater passes an empty collation object when there is none.
  return typeof collation?.locale === "string" ? collationCompare(collation) : null;
}

function collatedCompare(test: (c: number) => boolean, compare: StringCompare): (selector: string, value: string) => Predicate {
  return (selector, value) => (doc) => candidates(doc, selector).some((v) => typeof v === "string" && test(compare(v, value)));
}

/**
 * Wraps one of mingo's comparison operators: numeric values (of any BSON number type) are ours, and
 * so are strings under a collation (mingo applies a collation to sorting only).
 */
function numericAware(name: string, test: (c: number) => boolean): QueryOp {
  const ours = numericCompare(test);
  return (selector, value, options) => {
    if (isNumeric(value)) return ours(selector, value);
    const compare = typeof value === "string" ? stringCompareOf(options) : null;
    return compare ? collatedCompare(test, compare)(selector, value as string) : mingoQueryOps[name](selector, value, options);
  };
}

const $eq = numericAware("$eq", (c) => c === 0);
const $in: QueryOp = (selector, value, options) => {
  const ours = (v: unknown) => isNumeric(v) || (typeof v === "string" && stringCompareOf(options) !== null);
  if (!Array.isArray(value) || !value.some(ours)) return mingoQueryOps.$in(selector, value, options);
  const numbers = value.filter(ours).map((v) => $eq(selector, v, options));
  const others = value.filter((v) => !ours(v));
  const rest = others.length ? mingoQueryOps.$in(selector, others, options) : () => false;
  return (doc) => rest(doc) || numbers.some((p) => p(doc));
};

const BSON_TYPES: Record<string, number> = {
  double: 1, string: 2, object: 3, array: 4, binData: 5, undefined: 6, objectId: 7, bool: 8, date: 9,
  null: 10, regex: 11, dbPointer: 12, javascript: 13, symbol: 14, javascriptWithScope: 15, int: 16,
  timestamp: 17, long: 18, decimal: 19, minKey: -1, maxKey: 127,
};

/** The BSON type number a stored value is written with (numbers as the serializer writes them). */
function bsonTypeOf(v: unknown): number | null {
  if (v === undefined) return null;
  if (v === null) return 10;
  switch (typeof v) {
    case "number":
      return Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff ? 16 : 1;
    case "bigint":
      return 18;
    case "string":
      return 2;
    case "boolean":
      return 8;
  }
  if (Array.isArray(v)) return 4;
  if (v instanceof Date) return 9;
  if (v instanceof RegExp) return 11;
  if (v instanceof Timestamp) return 17;
  if (v instanceof Long) return 18;
  if (v instanceof Int32) return 16;
  if (v instanceof Double) return 1;
  if (v instanceof Decimal128) return 19;
  if (v instanceof ObjectId) return 7;
  if (v instanceof Binary || ArrayBuffer.isView(v)) return 5;
  if (v instanceof MinKey) return -1;
  if (v instanceof MaxKey) return 127;
  if (v instanceof Code) return v.scope ? 15 : 13;
  const bsontype = (v as { _bsontype?: string })._bsontype;
  if (bsontype === "BSONSymbol") return 14;
  if (bsontype === "BSONRegExp") return 11;
  return 3;
}

function typeMatches(v: unknown, wanted: unknown): boolean {
  const type = bsonTypeOf(v);
  if (type === null) return false;
  if (wanted === "number") return type === 1 || type === 16 || type === 18 || type === 19;
  const code = typeof wanted === "string" ? BSON_TYPES[wanted] : Number(wanted);
  return code === type;
}

/** `$type`: the field itself, or (for an array) any of its elements, is of one of the given types. */
const $type: QueryOp = (selector, value) => {
  const wanted = Array.isArray(value) ? value : [value];
  for (const w of wanted) {
    if (typeof w === "string" ? w !== "number" && !(w in BSON_TYPES) : !Object.values(BSON_TYPES).includes(Number(w))) {
      throw new Error(`Unknown type name alias: ${String(w)}`);
    }
  }
  return (doc) => {
    const v = resolve(doc as Document, selector, { unwrapArray: true });
    const values = Array.isArray(v) ? [v, ...v] : [v];
    return values.some((x) => wanted.some((w) => typeMatches(x, w)));
  };
};

/** `$all`: every value is present, the field being a scalar equal to it or an array holding it. */
const $all: QueryOp = (selector, value, options) => {
  if (!Array.isArray(value)) throw new MongoCommandError("BadValue", "$all needs an array");
  const elemMatch = value.some((v) => v && typeof v === "object" && !Array.isArray(v) && "$elemMatch" in (v as Document));
  if (elemMatch) return mingoQueryOps.$all(selector, value, options);
  if (value.length === 0) return () => false;
  const each = value.map((v) => $eq(selector, v, options));
  return (doc) => each.every((p) => p(doc));
};

/** Server-side JavaScript is off, as on Atlas and on mongod started with `--noscripting`. */
function noScripting(): never {
  throw new MongoCommandError("BadValue", "no globalScriptEngine in $where parsing");
}

/** Operators that need a text or geo index, which the engine does not build: refused, never half-answered. */
export class UnsupportedIndexOperator extends Error {
  constructor(readonly operator: string) {
    super(operator);
  }
}

function needsIndex(operator: string): QueryOp {
  return () => {
    throw new UnsupportedIndexOperator(operator);
  };
}

const QUERY_OVERRIDES: Record<string, QueryOp> = {
  $all,
  $where: noScripting,
  $text: needsIndex("$text"),
  $near: needsIndex("$near"),
  $nearSphere: needsIndex("$nearSphere"),
  $geoWithin: needsIndex("$geoWithin"),
  $geoIntersects: needsIndex("$geoIntersects"),
  $within: needsIndex("$geoWithin"),
  $eq,
  $ne: (selector, value, options) => {
    const eq = $eq(selector, value, options);
    return (doc) => !eq(doc);
  },
  $gt: numericAware("$gt", (c) => c > 0),
  $gte: numericAware("$gte", (c) => c >= 0),
  $lt: numericAware("$lt", (c) => c < 0),
  $lte: numericAware("$lte", (c) => c <= 0),
  $in,
  $nin: (selector, value, options) => {
    const inList = $in(selector, value, options);
    return (doc) => !inList(doc);
  },
  $type,
};

/** An empty array sorts before null and missing fields, as in mongod. */
const EMPTY_ARRAY_KEY = new Bound(2, -1);

/** The value a document sorts by on one path: the lowest (ascending) or highest (descending) element. */
function sortKey(doc: Document, parts: string[], direction: number, strings?: StringCompare): unknown {
  let best: unknown = null;
  let found = false;
  for (const v of valuesAtPath(doc, parts)) {
    const items = Array.isArray(v) ? (v.length ? v : [EMPTY_ARRAY_KEY]) : [v === undefined ? null : v];
    for (const x of items) {
      if (!found || compareValues(x, best, strings) * direction < 0) {
        best = x;
        found = true;
      }
    }
  }
  return best;
}

/** Whether `sortDocuments` can order by this spec (plain 1/-1 keys: no $meta, no $natural). */
export function isPlainSort(sort: Document): boolean {
  const entries = Object.entries(sort);
  return entries.length > 0 && entries.every(([path, dir]) => !path.startsWith("$") && (dir === 1 || dir === -1));
}

/** Sorts documents by MongoDB's rules (BSON type order, arrays by their min/max element); stable. */
export function sortDocuments<T extends Document>(docs: T[], sort: Document, strings?: StringCompare): T[] {
  const fields = Object.entries(sort).map(([path, dir]) => ({ parts: path.split("."), direction: dir === -1 ? -1 : 1 }));
  const keyed = docs.map((doc) => ({ doc, keys: fields.map((f) => sortKey(doc, f.parts, f.direction, strings)) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < fields.length; i++) {
      const c = compareValues(a.keys[i], b.keys[i], strings);
      if (c) return c * fields[i].direction;
    }
    return 0;
  });
  return keyed.map((k) => k.doc);
}

const mingoSort = (pipelineOperators as unknown as Record<string, PipelineOp>).$sort;

const $sort: PipelineOp = (collection, expr, options) => {
  const spec = expr as Document;
  if (!spec || typeof spec !== "object" || !isPlainSort(spec)) return mingoSort(collection, expr, options);
  const strings = stringCompareOf(options) ?? undefined;
  return collection.transform((docs) => Lazy(sortDocuments(docs as Document[], spec, strings)));
};

/** The operators the engine's queries, projections and pipelines run with. */
export const CONTEXT = Context.init({
  pipeline: { ...pipelineOperators, $sort },
  expression: { ...expressionOperators, $function: noScripting },
  accumulator: { ...accumulatorOperators, $accumulator: noScripting },
  projection: projectionOperators,
  query: { ...queryOperators, ...QUERY_OVERRIDES },
  window: windowOperators,
} as unknown as Parameters<typeof Context.init>[0]);

/** What a query runs with besides its filter: a collation, and `let` variables for `$expr`. */
export interface MatchOptions {
  collation?: Collation | null;
  variables?: Document;
}

/**
 * mingo copies every operator table into a fresh context for each plain options object it is given
 * (some 100 µs per query, update or pipeline): options are built once per collation, and every
 * query, pipeline and update gets a copy of them that shares their context.
 */
interface ComputeOptions {
  readonly options: object;
  update(locals: object): ComputeOptions;
}
interface ComputeOptionsClass {
  new (options: object, locals?: object): ComputeOptions;
  init(options: object): ComputeOptions;
}

/**
 * mingo does not export its options class; an operator receives an instance, whose constructor
 * (with the static `init` that copies an instance without copying its operators) is taken once here.
 */
const ComputeOptions: ComputeOptionsClass = (() => {
  let seen: unknown;
  const probe = Context.init({ query: { $probe: (_s: string, _v: unknown, options: unknown) => ((seen = options), () => true) } } as never);
  new MingoQuery({ x: { $probe: 1 } } as never, { context: probe } as never);
  return (seen as object).constructor as unknown as ComputeOptionsClass;
})();

/**
 * One options object per collation, never handed out itself (mingo keeps per-call state in the
 * copies). Clients choose collations: the oldest is forgotten past a few dozen.
 */
const baseOptions = new Map<string, ComputeOptions>();
const MAX_COLLATIONS = 64;

function baseFor(collation: Collation | null | undefined): ComputeOptions {
  const key = collationKey(collation);
  let base = baseOptions.get(key);
  if (!base) {
    base = ComputeOptions.init({ context: CONTEXT, jsonSchemaValidator, ...(collation ? { collation: collation as never } : {}) });
    if (baseOptions.size >= MAX_COLLATIONS) baseOptions.delete(baseOptions.keys().next().value as string);
    baseOptions.set(key, base);
  }
  return base;
}

export function mingoOptions(match: MatchOptions = {}): Options {
  // A copy: mingo keeps per-query state ($$NOW's timestamp, variables) in the options it is given.
  const options = ComputeOptions.init(baseFor(match.collation));
  if (match.variables) options.update({ variables: match.variables });
  return options as unknown as Options;
}

/**
 * Options for an update's operators (mingo/operators/update): the engine's operators, fresh per-call
 * state, and what the operators read from it (the filter for the positional `$`, how values are copied).
 */
export function updateOperatorOptions(match: MatchOptions, condition: Document): Options {
  return ComputeOptions.init(baseFor(match.collation)).update({ condition, updateConfig: { cloneMode: "deep" } }) as unknown as Options;
}

/** mingo's Query with the engine's operators. */
export class Query extends MingoQuery {
  constructor(condition: ConstructorParameters<typeof MingoQuery>[0], options?: MatchOptions) {
    super(condition, mingoOptions(options));
  }
}

type AggregatorOptions = ConstructorParameters<typeof MingoAggregator>[1];

/** mingo's Aggregator with the engine's operators (shared, not copied: see `baseFor`). */
export class Aggregator extends MingoAggregator {
  constructor(pipeline: ConstructorParameters<typeof MingoAggregator>[0], options?: AggregatorOptions) {
    const { context: _context, ...rest } = (options ?? {}) as AggregatorOptions & object;
    const base = baseFor((rest as { collation?: Collation }).collation);
    super(pipeline, new ComputeOptions({ ...base.options, ...rest }) as never);
  }
}
