import { ObjectId, Timestamp, type Document } from "bson";
import { Aggregator, updateOperatorOptions } from "./matching.js";
import { applySimplePipeline } from "./simple-pipeline.js";
import * as mingoUpdateOperators from "mingo/operators/update";
import { cloneDeep, isEqual } from "mingo/util";
import type { Collation } from "./collation.js";
import { MongoCommandError } from "../errors.js";
import { cloneDocument, getPath, idKey, RESERVED_KEYS, sameDocument } from "./values.js";
import { compileFilter } from "./compiled-query.js";

const UPDATE_OPERATORS = new Set([
  "$set", "$unset", "$inc", "$mul", "$min", "$max", "$rename", "$currentDate",
  "$push", "$pull", "$pullAll", "$addToSet", "$pop", "$bit", "$setOnInsert",
]);

export type UpdateSpec = Document | Document[];

export interface UpdateOptions {
  filter: Document;
  arrayFilters?: Document[];
  collation?: Collation | null;
  /** `let` variables, for pipeline-style updates. */
  variables?: Document;
}

/** Whether a path uses the positional `$` (the element the query matched), the only use of the filter here. */
function usesPositional(operators: Document): boolean {
  for (const fields of Object.values(operators)) {
    if (!fields || typeof fields !== "object") continue;
    for (const path of Object.keys(fields as Document)) if (path === "$" || path.endsWith(".$") || path.includes(".$.")) return true;
  }
  return false;
}

type UpdateOperator = (expr: unknown, arrayFilters: Document[], options: unknown) => (doc: Document) => string[];
const MINGO_UPDATE_OPERATORS = mingoUpdateOperators as unknown as Record<string, UpdateOperator>;

/**
 * Two operators writing the same path, or one inside the other, conflict, as in mongod: paths are
 * compared segment by segment, positional segments as written (`a.$.x` and `a.$.y` do not
 * conflict; `a.$` and `a.$.x` do).
 */
function checkConflicts(operators: Document): void {
  const paths: string[] = [];
  for (const [op, fields] of Object.entries(operators)) {
    if (!fields || typeof fields !== "object") continue;
    for (const [path, value] of Object.entries(fields as Document)) {
      if (path.startsWith("$")) continue;
      paths.push(path);
      if (op === "$rename" && typeof value === "string") paths.push(value);
    }
  }
  if (paths.length < 2) return;
  const seen: string[] = [];
  for (const path of paths) {
    const clash = seen.find((p) => p === path || p.startsWith(path + ".") || path.startsWith(p + "."));
    if (clash !== undefined) {
      const at = clash.length < path.length ? clash : path;
      throw new MongoCommandError("ConflictingUpdateOperators", `Updating the path '${path}' would create a conflict at '${at}'`);
    }
    seen.push(path);
  }
}

/** Operators that create the fields their paths name. */
const CREATING_OPERATORS = ["$set", "$inc", "$mul", "$min", "$max", "$currentDate", "$push", "$addToSet"];

/**
 * A path through a value that cannot hold fields (a number, a string, null; an array for a name
 * that is not an index) cannot be created: mongod refuses the update (PathNotViable) rather than
 * leaving the document as it was.
 */
function checkViablePaths(doc: Document, operators: Document): void {
  for (const op of CREATING_OPERATORS) {
    const fields = operators[op] as Document | undefined;
    if (!fields || typeof fields !== "object") continue;
    for (const path of Object.keys(fields)) {
      const segments = path.split(".");
      if (segments.length < 2 || segments.some((s) => s.startsWith("$"))) continue;
      let value: unknown = doc;
      for (let i = 0; i < segments.length - 1; i++) {
        const holder = value as Document;
        value = Array.isArray(holder) && /^\d+$/.test(segments[i]) ? holder[Number(segments[i])] : (holder as Document)[segments[i]];
        if (value === undefined) break;
        const next = segments[i + 1];
        const holdsFields = value !== null && typeof value === "object" && !(value instanceof Date) && !(value as { _bsontype?: string })._bsontype;
        if (holdsFields && (!Array.isArray(value) || /^\d+$/.test(next))) continue;
        const element = segments.slice(0, i + 1).join(".");
        throw new MongoCommandError("PathNotViable", `Cannot create field '${next}' in element {${element}: ${shellValue(value)}}`);
      }
    }
  }
}

function shellValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "[...]";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * mingo's update operators applied to `doc` (in place); the paths they changed. They are run here
 * rather than through mingo/updater, which rebuilds its operator tables for every call.
 */
function applyOperators(doc: Document, operators: Document, options: UpdateOptions): string[] {
  const split = splitPositional(operators);
  if (split) return [...applyOperators(doc, split[0], options), ...applyOperators(doc, split[1], options)];
  operators = resolveSharedPositions(doc, operators, options);
  checkConflicts(operators);
  // The filter matters only to the positional `$`; mingo would compile it again for every document.
  const condition = usesPositional(operators) ? options.filter : {};
  const mingoOptions = updateOperatorOptions({ collation: options.collation }, condition);
  const changed: string[] = [];
  for (const [op, expr] of Object.entries(operators)) {
    const operator = MINGO_UPDATE_OPERATORS[op];
    if (!operator) throw new Error(`Unknown update operator: '${op}'.`);
    changed.push(...operator(expr, options.arrayFilters ?? [], mingoOptions)(doc));
  }
  return changed;
}

/**
 * `$set` of top-level fields alone (a bulk status change over 100,000 documents), applied here as
 * mingo applies it (same equality, same deep copy of the value) to a shallow copy: the new version
 * shares the untouched fields' values with the old one, which is safe because stored documents are
 * never changed in place (every other update works on a deep copy). Undefined for any other update;
 * null when nothing changes.
 */
function setTopLevelFields(doc: Document, operators: Document): Document | null | undefined {
  const ops = Object.keys(operators);
  if (ops.length !== 1 || ops[0] !== "$set") return undefined;
  const fields = operators.$set as unknown;
  if (!fields || typeof fields !== "object" || Array.isArray(fields)) return undefined;
  const paths = Object.keys(fields);
  if (!paths.every((p) => p.length > 0 && !p.includes(".") && !p.includes("$") && !RESERVED_KEYS.has(p))) return undefined;
  let next: Document | null = null;
  for (const path of paths) {
    const value = (fields as Document)[path];
    if (isEqual(doc[path], value)) continue;
    next ??= { ...doc };
    next[path] = cloneDeep(value);
  }
  return next;
}

function isOperatorUpdate(update: Document): boolean {
  const keys = Object.keys(update);
  const dollar = keys.filter((k) => k.startsWith("$"));
  if (dollar.length && dollar.length !== keys.length) {
    throw new MongoCommandError("FailedToParse", "Cannot mix update operators and plain fields in one update document");
  }
  for (const op of dollar) {
    if (!UPDATE_OPERATORS.has(op)) throw new MongoCommandError("FailedToParse", `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
  }
  return dollar.length > 0;
}

/** Validates an update before any document is touched, so a bad update changes nothing. */
export function checkUpdate(update: unknown): UpdateSpec {
  if (Array.isArray(update)) return update as Document[];
  if (!update || typeof update !== "object") throw new MongoCommandError("FailedToParse", "Update argument must be either an object or an array");
  isOperatorUpdate(update as Document);
  return update as Document;
}

function assertSameId(before: Document, after: Document): void {
  if (idKey(before._id) !== idKey(after._id)) {
    throw new MongoCommandError("ImmutableField", "Performing an update on the path '_id' would modify the immutable field '_id'");
  }
}

function isPositional(segment: string): boolean {
  return segment === "$" || segment.startsWith("$[") || /^\d+$/.test(segment);
}

/**
 * mingo takes two paths through the same array's matched element (`a.$.x`, `a.$.y`) for a conflict
 * at `a`; mongod writes both. The element is found here as mingo finds it (the filter's one
 * condition on the array), and the `$` of those paths replaced by its index.
 */
function resolveSharedPositions(doc: Document, operators: Document, options: UpdateOptions): Document {
  const byArray = new Map<string, number>();
  for (const fields of Object.values(operators)) {
    if (!fields || typeof fields !== "object") continue;
    for (const path of Object.keys(fields as Document)) {
      const at = path.indexOf(".$.");
      if (at > 0) byArray.set(path.slice(0, at), (byArray.get(path.slice(0, at)) ?? 0) + 1);
    }
  }
  const shared = [...byArray].filter(([, n]) => n > 1).map(([array]) => array);
  if (shared.length === 0) return operators;
  const index = new Map<string, number>();
  for (const array of shared) {
    const keys = Object.keys(options.filter).filter((k) => k === array || k.startsWith(array + "."));
    const elements = getPath(doc, array);
    if (keys.length !== 1 || !Array.isArray(elements)) continue;
    const query = compileFilter({ [keys[0]]: options.filter[keys[0]] }, { collation: options.collation ?? null });
    const at = elements.findIndex((e) => query.test({ [array]: [e] }));
    if (at >= 0) index.set(array, at);
  }
  const resolved: Document = {};
  for (const [op, fields] of Object.entries(operators)) {
    if (!fields || typeof fields !== "object") {
      resolved[op] = fields;
      continue;
    }
    resolved[op] = Object.fromEntries(
      Object.entries(fields as Document).map(([path, value]) => {
        const at = path.indexOf(".$.");
        const position = at > 0 ? index.get(path.slice(0, at)) : undefined;
        return [position === undefined ? path : `${path.slice(0, at)}.${position}.${path.slice(at + 3)}`, value];
      }),
    );
  }
  return resolved;
}

/**
 * mingo refuses `a.$.x` next to `a.$[].y` as a conflict; mongod applies both, refusing only paths
 * that overlap once positions are ignored (`a.$` with `a.$[]`). Such updates are split in two: the
 * paths with the positional `$`, then the others.
 */
function splitPositional(operators: Document): [Document, Document] | null {
  const positional: Document = {};
  const others: Document = {};
  let arrayWide = false;
  for (const [op, fields] of Object.entries(operators)) {
    if (!fields || typeof fields !== "object") continue;
    for (const [path, value] of Object.entries(fields as Document)) {
      const segments = path.split(".");
      if (segments.some((s) => s.startsWith("$["))) arrayWide = true;
      const target = segments.includes("$") ? positional : others;
      ((target[op] ??= {}) as Document)[path] = value;
    }
  }
  if (!arrayWide || Object.keys(positional).length === 0) return null;
  const paths = (ops: Document) => Object.values(ops).flatMap((fields) => Object.keys(fields as Document));
  for (const a of paths(positional)) {
    for (const b of paths(others)) {
      const x = a.split(".");
      const y = b.split(".");
      const n = Math.min(x.length, y.length);
      let i = 0;
      while (i < n && (x[i] === y[i] || (isPositional(x[i]) && isPositional(y[i])))) i++;
      if (i === n) throw new MongoCommandError("ConflictingUpdateOperators", `Updating the path '${b}' would create a conflict at '${x.slice(0, n).join(".")}'`);
    }
  }
  return [positional, others];
}

/** The BSON type name mongod prints in its messages. */
function typeName(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "number") return Number.isInteger(v) && Math.abs(v) <= 0x7fffffff ? "int" : "double";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (v instanceof Date) return "date";
  if (v instanceof ObjectId) return "objectId";
  if (v instanceof RegExp) return "regex";
  const bsontype = (v as { _bsontype?: string })._bsontype;
  if (bsontype === "Long") return "long";
  if (bsontype === "Decimal128") return "decimal";
  if (bsontype === "Binary") return "binData";
  if (bsontype === "Timestamp") return "timestamp";
  return "object";
}

/** `$push`, `$addToSet`, `$pull` and `$pullAll` need an array (or, to push, nothing) where they point. */
function checkArrayTargets(doc: Document, operators: Document): void {
  for (const op of ["$push", "$addToSet", "$pull", "$pullAll"]) {
    const fields = operators[op] as Document | undefined;
    if (!fields || typeof fields !== "object") continue;
    for (const path of Object.keys(fields)) {
      if (path.split(".").some((s) => s.startsWith("$"))) continue;
      const value = getPath(doc, path);
      if (value === undefined || Array.isArray(value)) continue;
      if (op === "$pull" || op === "$pullAll") throw new MongoCommandError("BadValue", `Cannot apply ${op} to a non-array value`);
      throw new MongoCommandError("BadValue", `The field '${path}' must be an array but is of type ${typeName(value)} in document {_id: ${shellId(doc._id)}}`);
    }
  }
}

function shellId(id: unknown): string {
  if (id instanceof ObjectId) return `ObjectId('${id.toHexString()}')`;
  return typeof id === "string" ? JSON.stringify(id) : String(id);
}

/**
 * `$pull` with `$or`/`$and`/`$nor` conditions tests each element as a document against them (mingo
 * leaves the array untouched): those are applied here, the others by mingo.
 */
function pullLogical(doc: Document, operators: Document): string[] {
  const fields = operators.$pull as Document | undefined;
  if (!fields || typeof fields !== "object") return [];
  const changed: string[] = [];
  for (const [path, cond] of Object.entries(fields)) {
    if (!cond || typeof cond !== "object" || Array.isArray(cond) || path.includes("$")) continue;
    if (!Object.keys(cond).some((k) => k === "$or" || k === "$and" || k === "$nor")) continue;
    delete fields[path];
    const arr = getPath(doc, path);
    if (!Array.isArray(arr)) continue;
    const query = compileFilter(cond as Document);
    const kept = arr.filter((el) => !(el && typeof el === "object" && !Array.isArray(el) && query.test(el as Document)));
    if (kept.length === arr.length) continue;
    arr.splice(0, arr.length, ...kept);
    changed.push(path);
  }
  if (Object.keys(fields).length === 0) delete operators.$pull;
  return changed;
}

function runPipeline(doc: Document, update: Document[], options: UpdateOptions): Document {
  const [result] = new Aggregator(update, options.variables ? { variables: options.variables } : undefined).run([cloneDocument(doc)]) as Document[];
  return result;
}

/** The document after `update`, or null when nothing changed. Never mutates `doc`. */
export function applyUpdate(doc: Document, update: UpdateSpec, options: UpdateOptions, inserting = false): Document | null {
  if (Array.isArray(update)) {
    const result = applySimplePipeline(doc, update) ?? runPipeline(doc, update, options);
    const next = { _id: doc._id, ...result };
    assertSameId(doc, next);
    return sameDocument(next, doc) && !inserting ? null : next;
  }
  if (!isOperatorUpdate(update)) {
    const next = { _id: doc._id, ...cloneDocument(update) };
    assertSameId(doc, next);
    return next;
  }
  const { $setOnInsert, ...operators } = update;
  if (inserting && $setOnInsert) operators.$set = { ...(operators.$set as Document | undefined), ...($setOnInsert as Document) };
  // mingo refuses any update path on `_id`; mongod accepts `$set: {_id: <its current value>}` as a no-op.
  const setId = takeIdFromSet(operators);
  if (setId.present) assertSameId(doc, { _id: setId.value });
  currentTimestamps(operators);
  if (!inserting) {
    const direct = setTopLevelFields(doc, operators);
    if (direct !== undefined) return direct;
  }
  const next = cloneDocument(doc);
  checkArrayTargets(next, operators);
  checkViablePaths(next, operators);
  if (operators.$pull) operators.$pull = { ...(operators.$pull as Document) };
  const pulled = pullLogical(next, operators);
  if (Object.keys(operators).length === 0) return inserting || pulled.length ? next : null;
  let changed: string[];
  try {
    changed = [...pulled, ...applyOperators(next, operators, options)];
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/immutable field/.test(message)) throw new MongoCommandError("ImmutableField", message);
    if (/would create a conflict/.test(message)) throw new MongoCommandError("ConflictingUpdateOperators", message.replace(/^updating/, "Updating"));
    throw new MongoCommandError("BadValue", message);
  }
  assertSameId(doc, next);
  return changed.length || inserting ? next : null;
}

let lastTimestamp = { t: 0, i: 0 };

/** mingo's `$currentDate: {f: {$type: "timestamp"}}` writes milliseconds; mongod writes a BSON Timestamp. */
function currentTimestamps(operators: Document): void {
  const spec = operators.$currentDate as Document | undefined;
  if (!spec || typeof spec !== "object") return;
  const dates: Document = {};
  const stamps: Document = {};
  for (const [path, how] of Object.entries(spec)) {
    if (how && typeof how === "object" && (how as Document).$type === "timestamp") {
      const t = Math.floor(Date.now() / 1000);
      lastTimestamp = t === lastTimestamp.t ? { t, i: lastTimestamp.i + 1 } : { t, i: 1 };
      stamps[path] = new Timestamp(lastTimestamp);
    } else dates[path] = how;
  }
  if (Object.keys(stamps).length === 0) return;
  if (Object.keys(dates).length) operators.$currentDate = dates;
  else delete operators.$currentDate;
  operators.$set = { ...(operators.$set as Document | undefined), ...stamps };
}

/** Removes `_id` from `$set` (mingo cannot apply it), reporting the value it was to be set to. */
function takeIdFromSet(operators: Document): { present: boolean; value?: unknown } {
  const $set = operators.$set as Document | undefined;
  if (!$set || typeof $set !== "object" || !("_id" in $set)) return { present: false };
  const { _id, ...rest } = $set;
  if (Object.keys(rest).length) operators.$set = rest;
  else delete operators.$set;
  return { present: true, value: _id };
}

/** The `_id` an operator update sets, if any. */
function idSetBy(update: Document): unknown {
  for (const op of ["$setOnInsert", "$set"]) {
    const fields = update[op] as Document | undefined;
    if (fields && typeof fields === "object" && fields._id !== undefined) return fields._id;
  }
  return undefined;
}

/** Equality conditions of a filter, as the fields an upserted document starts with. */
function equalityFields(filter: Document, out: Document = {}): Document {
  for (const [key, cond] of Object.entries(filter)) {
    if (key === "$and" && Array.isArray(cond)) {
      for (const part of cond) equalityFields(part as Document, out);
      continue;
    }
    if (key.startsWith("$")) continue;
    const isOperatorObject = cond !== null && typeof cond === "object" && !Array.isArray(cond) && !(cond instanceof Date) && Object.keys(cond).some((k) => k.startsWith("$"));
    if (!isOperatorObject) out[key] = cond;
    else if ("$eq" in (cond as Document)) out[key] = (cond as Document).$eq;
  }
  return out;
}

/** The document an upsert inserts: the filter's equalities, then the update applied on top. */
export function buildUpsert(update: UpdateSpec, options: UpdateOptions): Document {
  const seed: Document = {};
  const { _id: filterId, ...equalities } = equalityFields(options.filter);
  if (Object.keys(equalities).length) applyOperators(seed, { $set: equalities }, { filter: {} });
  if (filterId !== undefined) seed._id = filterId;
  // Without an `_id` in the filter, one set by the update ($set / $setOnInsert) is the new document's.
  const updateId = Array.isArray(update) ? undefined : idSetBy(update);
  const id = seed._id ?? updateId ?? new ObjectId();
  const base = { _id: id, ...seed };
  if (!Array.isArray(update) && !isOperatorUpdate(update)) {
    if (update._id !== undefined && idKey(update._id) !== idKey(id) && seed._id !== undefined) {
      throw new MongoCommandError("ImmutableField", "The _id field cannot be changed by an upsert replacement");
    }
    return { _id: update._id ?? id, ...cloneDocument(update) };
  }
  // The new document need not match the filter ({a: {$in: […]}} contributes nothing to it), and
  // mingo applies an update only to documents matching the condition it is given: give it none.
  return applyUpdate(base, update, { ...options, filter: {} }, true) ?? base;
}

/** mongod refuses `$`-prefixed field names anywhere inside an `_id`, which would read as operators. */
export function checkIdValue(id: unknown): void {
  if (!id || typeof id !== "object" || Array.isArray(id) || id instanceof Date || (id as { _bsontype?: string })._bsontype) return;
  for (const [key, value] of Object.entries(id as Document)) {
    if (key.startsWith("$")) throw new MongoCommandError("DollarPrefixedFieldName", `_id fields may not contain '$'-prefixed fields: ${key} is not valid for storage.`);
    checkIdValue(value);
  }
}

/** A document ready to store: an `_id` first, and not an array. */
export function prepareInsert(doc: Document): Document {
  if (Array.isArray(doc._id)) throw new MongoCommandError("InvalidIdField", "can't use an array for _id");
  checkIdValue(doc._id);
  // mongod stores _id as the first field whatever order the client sent.
  if (doc._id !== undefined && firstKey(doc) === "_id") return doc;
  const { _id, ...rest } = doc;
  return { _id: _id === undefined ? new ObjectId() : _id, ...rest };
}

function firstKey(doc: Document): string | undefined {
  for (const key in doc) return key;
  return undefined;
}
