/**
 * Pipeline updates made only of `$set` / `$addFields` stages over a few expression operators
 * (field paths, literals, `$cond`, `$ifNull`, `$eq`, `$add`, `$multiply`, `$round`), evaluated here. These are the updates
 * a task's lease claim sends on every claim, and mingo's Aggregator costs several times more for
 * them: it builds its pipeline, copies the whole document and walks each expression generically.
 * Anything else (another stage or operator, a variable, an array on a path, a value whose meaning
 * depends on mingo's finer rules) returns undefined: mingo applies the update, as before. Where
 * both apply an update they give the same document (the differential test checks it against mingo).
 */
import type { Document } from "bson";
import { isPlainObject, RESERVED_KEYS } from "./values.js";

/** Thrown (never seen outside this module) when the update is mingo's to apply. */
const UNHANDLED = Symbol("unhandled");

const bail = (): never => {
  throw UNHANDLED;
};

/** A field name segment both evaluators treat alike: no operator, index, or prototype name. */
function isPlainSegment(segment: string): boolean {
  return segment.length > 0 && !segment.startsWith("$") && !/^\d+$/.test(segment) && !RESERVED_KEYS.has(segment);
}

/** Split paths, by path: a claim names the same dozen paths every time. Null: not a plain path. */
const splitPaths = new Map<string, readonly string[] | null>();
const SPLIT_PATHS_KEPT = 4096;

function splitPath(path: string): readonly string[] {
  let parts = splitPaths.get(path);
  if (parts === undefined) {
    const split = path.split(".");
    parts = split.every(isPlainSegment) ? split : null;
    if (splitPaths.size >= SPLIT_PATHS_KEPT) splitPaths.clear();
    splitPaths.set(path, parts);
  }
  return parts ?? bail();
}

const isNil = (v: unknown): v is null | undefined => v === null || v === undefined;

/** A field path's value: undefined when missing or under a scalar; unhandled through an array or a non-plain object. */
function valueAt(doc: Document, parts: readonly string[]): unknown {
  let cur: unknown = doc;
  for (let i = 0; i < parts.length; i++) {
    if (cur === null || typeof cur !== "object") return undefined;
    if (!isPlainObject(cur)) return bail();
    cur = cur[parts[i]];
  }
  return cur;
}

/** A value `$eq` compares without mingo's array and document rules: nil, booleans, strings, numbers, dates. */
function isSimpleScalar(v: unknown): boolean {
  return isNil(v) || typeof v === "boolean" || typeof v === "string" || typeof v === "number" || v instanceof Date;
}

function sameScalar(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  return Object.is(a, b) || a === b || (isNil(a) && isNil(b));
}

function operands(args: unknown, count?: number): unknown[] {
  if (!Array.isArray(args) || (count !== undefined && args.length !== count)) return bail();
  return args;
}

type Evaluate = (doc: Document, expr: unknown, reads: string[]) => unknown;

const OPERATORS: Record<string, (doc: Document, args: unknown, reads: string[], evaluate: Evaluate) => unknown> = {
  $cond(doc, args, reads, evaluate) {
    const [test, then, otherwise] = Array.isArray(args)
      ? operands(args, 3)
      : isPlainObject(args) && Object.keys(args).length === 3
        ? [args.if, args.then, args.else]
        : bail();
    const condition = evaluate(doc, test, reads);
    // Truthiness of other values differs between mingo's modes: left to mingo.
    if (typeof condition !== "boolean" && !isNil(condition)) return bail();
    return evaluate(doc, condition === true ? then : otherwise, reads);
  },
  $ifNull(doc, args, reads, evaluate) {
    let value: unknown;
    for (const arg of operands(args)) {
      value = evaluate(doc, arg, reads);
      if (!isNil(value)) return value;
    }
    return value;
  },
  $eq(doc, args, reads, evaluate) {
    const [a, b] = operands(args, 2).map((arg) => evaluate(doc, arg, reads));
    if (!isSimpleScalar(a) || !isSimpleScalar(b)) return bail();
    return sameScalar(a, b);
  },
  $add(doc, args, reads, evaluate) {
    let sum = 0;
    let date = false;
    for (const value of operands(args).map((arg) => evaluate(doc, arg, reads))) {
      if (isNil(value)) return null;
      if (typeof value === "number") sum += value;
      else if (value instanceof Date && !date) {
        date = true;
        sum += value.getTime();
      } else return bail();
    }
    return date ? new Date(sum) : sum;
  },
  $multiply(doc, args, reads, evaluate) {
    const values = operands(args).map((arg) => evaluate(doc, arg, reads));
    if (values.some(isNil)) return null;
    let product = 1;
    for (const value of values) {
      // mingo's $multiply refuses NaN (its $add takes it).
      if (typeof value !== "number" || Number.isNaN(value)) return bail();
      product *= value;
    }
    return product;
  },
  /** Of a whole number to 0 places only (a lease's timeout in ms): mingo's rounding of the rest is its own. */
  $round(doc, args, reads, evaluate) {
    const [value, place] = operands(args).map((arg) => evaluate(doc, arg, reads));
    if (isNil(value)) return null;
    if (!Number.isInteger(value) || Object.is(value, -0) || (place !== undefined && place !== null && place !== 0)) return bail();
    return value;
  },
};

/** An expression's value against `doc` (undefined: missing); the field paths it read go to `reads`. */
function evaluate(doc: Document, expr: unknown, reads: string[]): unknown {
  if (typeof expr === "string") {
    if (!expr.startsWith("$")) return expr;
    if (expr.startsWith("$$")) return bail();
    const path = expr.slice(1);
    reads.push(path);
    return valueAt(doc, splitPath(path));
  }
  if (expr === null || typeof expr === "number" || typeof expr === "boolean" || expr instanceof Date) return expr;
  if (!isPlainObject(expr)) return bail();
  const keys = Object.keys(expr);
  const operator = keys.length === 1 ? OPERATORS[keys[0]] : undefined;
  return operator ? operator(doc, expr[keys[0]], reads, evaluate) : bail();
}

/** `inner` lies strictly within `outer` (`a.b` within `a`). */
function isWithin(inner: string, outer: string): boolean {
  return inner.length > outer.length && inner.charCodeAt(outer.length) === 46 && inner.startsWith(outer);
}

function related(a: string, b: string): boolean {
  return a === b || isWithin(a, b) || isWithin(b, a);
}

/**
 * `next` with `value` at `parts` (removed when undefined). Nested objects on the way are copied
 * once per stage (`copied`), so the stage's input is never changed.
 */
function writeAt(next: Document, parts: readonly string[], value: unknown, copied: Document[]): void {
  let parent = next;
  const last = parts.length - 1;
  for (let i = 0; i < last; i++) {
    const part = parts[i];
    const child: unknown = parent[part];
    // mingo builds missing and null objects on the way to a write; a removal stops there.
    if (isNil(child)) {
      if (value === undefined) return;
      const created: Document = {};
      copied.push(created);
      parent[part] = created;
      parent = created;
    } else if (!isPlainObject(child)) return bail();
    else if (copied.includes(child)) parent = child;
    else {
      const copy = Object.assign({}, child);
      copied.push(copy);
      parent[part] = copy;
      parent = copy;
    }
  }
  if (value === undefined) delete parent[parts[last]];
  else parent[parts[last]] = value;
}

/**
 * What the stage has done so far, for `overlapsEarlierWork`: mingo changes nested objects in place
 * as it goes. So a later field can see an earlier field's nested write, and a nested write reaches
 * every value that was read as the object around it (a write to `a.b` after a read of `$a` changes
 * what was read, or makes it hold itself). Such fields, and fields whose paths overlap an earlier
 * field's, are left to mingo.
 */
interface StageWork {
  written: string[];
  nestedWritten: string[];
  readSoFar: Set<string>;
}

function overlapsEarlierWork(path: string, reads: readonly string[], work: StageWork): boolean {
  for (const earlier of work.written) if (related(path, earlier)) return true;
  for (const earlier of work.nestedWritten) for (const read of reads) if (related(read, earlier)) return true;
  if (path.includes(".")) for (const read of work.readSoFar) if (isWithin(path, read)) return true;
  return false;
}

function applyStage(doc: Document, fields: Document): Document {
  // Not `{ ...doc }`: V8 makes a field added to a spread copy slow (about 2 µs each).
  const next: Document = Object.assign({}, doc);
  const copied: Document[] = [];
  const work: StageWork = { written: [], nestedWritten: [], readSoFar: new Set() };
  const reads: string[] = [];
  for (const path in fields) {
    reads.length = 0;
    const value = evaluate(doc, fields[path], reads);
    for (const read of reads) work.readSoFar.add(read);
    if (overlapsEarlierWork(path, reads, work)) return bail();
    const parts = splitPath(path);
    writeAt(next, parts, value, copied);
    work.written.push(path);
    if (parts.length > 1) work.nestedWritten.push(path);
  }
  return next;
}

/** The document after the one-stage pipeline `stages`, or undefined when mingo must apply it. */
export function applySimplePipeline(doc: Document, stages: readonly unknown[]): Document | undefined {
  // One stage only: across stages, mingo's in-place writes can reach an earlier stage's output.
  if (stages.length !== 1 || !isPlainObject(stages[0])) return undefined;
  const stage = stages[0];
  const keys = Object.keys(stage);
  const fields: unknown = stage[keys[0]];
  if (keys.length !== 1 || (keys[0] !== "$set" && keys[0] !== "$addFields") || !isPlainObject(fields)) return undefined;
  try {
    return applyStage(doc, fields);
  } catch (err) {
    if (err === UNHANDLED) return undefined;
    throw err;
  }
}
