/**
 * Pipeline updates made only of `$set` / `$addFields` stages over a few expression operators
 * (field paths, literals, `$cond`, `$ifNull`, `$eq`, `$add`), evaluated here. These are the updates
 * a task's lease claim sends on every claim, and mingo's Aggregator costs several times more for
 * them: it builds its pipeline, copies the whole document and walks each expression generically.
 * Anything else (another stage or operator, a variable, an array on a path, a value whose meaning
 * depends on mingo's finer rules) returns undefined: mingo applies the update, as before. Where
 * both apply an update they give the same document (the differential test checks it against mingo).
 */
import type { Document } from "bson";

/** Thrown (never seen outside this module) when the update is mingo's to apply. */
const UNHANDLED = Symbol("unhandled");

const bail = (): never => {
  throw UNHANDLED;
};

function isPlainObject(v: unknown): v is Document {
  return v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype;
}

const RESERVED_SEGMENTS = new Set(["__proto__", "constructor", "prototype"]);

/** A field name segment both evaluators treat alike: no operator, index, or prototype name. */
function isPlainSegment(segment: string): boolean {
  return segment.length > 0 && !segment.startsWith("$") && !/^\d+$/.test(segment) && !RESERVED_SEGMENTS.has(segment);
}

function splitPath(path: string): string[] {
  const parts = path.split(".");
  if (!parts.every(isPlainSegment)) bail();
  return parts;
}

const isNil = (v: unknown): v is null | undefined => v === null || v === undefined;

/** A field path's value: undefined when missing or under a scalar; unhandled through an array or a non-plain object. */
function valueAt(doc: Document, parts: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const part of parts) {
    if (cur === null || typeof cur !== "object") return undefined;
    if (!isPlainObject(cur)) return bail();
    cur = cur[part];
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
};

/** An expression's value against `doc` (undefined: missing); the field paths it read go to `reads`. */
function evaluate(doc: Document, expr: unknown, reads: string[]): unknown {
  if (typeof expr === "string") {
    if (!expr.startsWith("$")) return expr;
    if (expr.startsWith("$$")) return bail();
    reads.push(expr.slice(1));
    return valueAt(doc, splitPath(expr.slice(1)));
  }
  if (expr === null || typeof expr === "number" || typeof expr === "boolean" || expr instanceof Date) return expr;
  if (!isPlainObject(expr)) return bail();
  const keys = Object.keys(expr);
  const operator = keys.length === 1 ? OPERATORS[keys[0]] : undefined;
  return operator ? operator(doc, expr[keys[0]], reads, evaluate) : bail();
}

function related(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

/**
 * `next` with `value` at `parts` (removed when undefined). Nested objects on the way are copied
 * once per stage (`copied`), so the stage's input is never changed.
 */
function writeAt(next: Document, parts: readonly string[], value: unknown, copied: Set<Document>): void {
  let parent = next;
  for (const part of parts.slice(0, -1)) {
    const child: unknown = parent[part];
    // mingo builds missing and null objects on the way to a write; a removal stops there.
    if (isNil(child)) {
      if (value === undefined) return;
      const created: Document = {};
      copied.add(created);
      parent[part] = created;
      parent = created;
      continue;
    }
    if (!isPlainObject(child)) return bail();
    if (!copied.has(child)) {
      const copy = { ...child };
      copied.add(copy);
      parent[part] = copy;
      parent = copy;
    } else parent = child;
  }
  const last = parts[parts.length - 1];
  if (value === undefined) delete parent[last];
  else parent[last] = value;
}

/**
 * mingo changes nested objects in place as it goes. So a later field can see an earlier field's
 * nested write, and a nested write reaches every value that was read as the object around it (a
 * write to `a.b` after a read of `$a` changes what was read, or makes it hold itself). Such fields,
 * and fields whose paths overlap an earlier field's, are left to mingo.
 */
function overlapsEarlierWork(path: string, reads: readonly string[], allReads: readonly string[], written: readonly string[]): boolean {
  if (written.some((earlier) => related(path, earlier) || (earlier.includes(".") && reads.some((read) => related(read, earlier))))) return true;
  return path.includes(".") && allReads.some((read) => path.startsWith(`${read}.`));
}

function applyStage(doc: Document, fields: Document): Document {
  const next: Document = { ...doc };
  const copied = new Set<Document>([next]);
  const written: string[] = [];
  const allReads: string[] = [];
  for (const [path, expr] of Object.entries(fields)) {
    const reads: string[] = [];
    const value = evaluate(doc, expr, reads);
    allReads.push(...reads);
    if (overlapsEarlierWork(path, reads, allReads, written)) return bail();
    writeAt(next, splitPath(path), value, copied);
    written.push(path);
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
