import { Binary, Decimal128, Long, ObjectId, type Document } from "bson";
import { Bound, MAX_BOUND, MIN_BOUND, typeRank } from "./values.js";
import { orientRange, type KeyRange, type OrderedIndex } from "./ordered-index.js";

/** A value that equality on an index key can look up directly. */
function isPointValue(v: unknown): boolean {
  return (
    v === null ||
    typeof v === "string" ||
    typeof v === "number" ||
    typeof v === "boolean" ||
    v instanceof ObjectId ||
    v instanceof Date ||
    v instanceof Long ||
    v instanceof Decimal128 ||
    v instanceof Binary
  );
}

type FieldBounds =
  | { kind: "points"; values: unknown[] }
  | { kind: "range"; low: unknown; high: unknown; lowInclusive: boolean; highInclusive: boolean };

const RANGE_OPS = new Set(["$gt", "$gte", "$lt", "$lte"]);

/** What a filter condition on one field lets an index scan, if anything. */
function boundsOf(cond: unknown): FieldBounds | null {
  if (isPointValue(cond)) return { kind: "points", values: [cond] };
  if (cond === null || typeof cond !== "object" || Array.isArray(cond) || cond instanceof RegExp) return null;
  const ops = Object.keys(cond as Document);
  if (ops.length === 0 || !ops.every((op) => op.startsWith("$"))) return null;
  const c = cond as Document;
  if (ops.length === 1 && "$eq" in c && isPointValue(c.$eq)) return { kind: "points", values: [c.$eq] };
  if (ops.length === 1 && "$in" in c && Array.isArray(c.$in) && c.$in.length > 0 && c.$in.every(isPointValue)) {
    return { kind: "points", values: c.$in };
  }
  if (ops.every((op) => RANGE_OPS.has(op))) {
    const lowValue = c.$gt ?? c.$gte;
    const highValue = c.$lt ?? c.$lte;
    const sample = lowValue ?? highValue;
    if (!isPointValue(sample) || sample === null) return null;
    if (lowValue !== undefined && highValue !== undefined && typeRank(lowValue) !== typeRank(highValue)) return null;
    const rank = typeRank(sample);
    return {
      kind: "range",
      low: lowValue ?? new Bound(rank, -1),
      high: highValue ?? new Bound(rank, 1),
      lowInclusive: c.$gt === undefined,
      highInclusive: c.$lt === undefined,
    };
  }
  return null;
}

/** Flattens `{$and: [{a: 1}, {b: 2}]}` into field conditions; other operators stay for the matcher. */
function fieldConditions(filter: Document): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const seen = new Set<string>();
  const visit = (f: Document) => {
    for (const [key, cond] of Object.entries(f)) {
      if (key === "$and" && Array.isArray(cond)) {
        for (const part of cond) if (part && typeof part === "object") visit(part as Document);
      } else if (!key.startsWith("$")) {
        if (seen.has(key)) out.delete(key); // two conditions on one field: leave it to the matcher
        else out.set(key, cond);
        seen.add(key);
      }
    }
  };
  visit(filter);
  return out;
}

export interface Plan {
  index: OrderedIndex;
  ranges: KeyRange[];
  score: number;
  /** Scanning the single range in index order (or reversed) yields documents in the requested sort. */
  order: "forward" | "reverse" | null;
}

const MAX_POINT_COMBINATIONS = 1000;

/**
 * Picks the index whose leading fields the filter constrains most (ties: the fewest keys in a short
 * trial, then the one that also gives the sort order); with a sort and no usable condition, an index
 * whose order is the sort. When that choice has more keys than the trial reads, an index that
 * constrains fewer fields but holds fewer keys is taken instead. Null: scan all.
 */
export function planQuery(filter: Document, indexes: Iterable<OrderedIndex>, sort?: Document): Plan | null {
  const conditions = fieldConditions(filter);
  const plans: Plan[] = [];
  for (const index of indexes) {
    if (index.isPartial) continue;
    const plan = planForIndex(index, conditions) ?? (sort && !index.isSparse ? fullScan(index) : null);
    if (!plan) continue;
    plan.order = sort ? sortOrder(plan, index, conditions, sort) : null;
    if (plan.score === 0 && !plan.order) continue;
    plans.push(plan);
  }
  if (plans.length <= 1) return plans[0] ?? null;
  const top = Math.max(...plans.map((p) => p.score));
  const tied = plans.filter((p) => p.score === top);
  const [chosen, keys] = tied.length > 1 ? fewestKeys(tied) : [tied[0], TRIAL_KEYS];
  if (keys < TRIAL_KEYS || top >= UNIQUE_BONUS) return chosen;
  const others = plans.filter((p) => p.score < top && p.score > 0);
  if (others.length === 0) return chosen;
  const [narrow, narrowKeys] = fewestKeys(others);
  return narrowKeys < TRIAL_KEYS ? narrow : chosen;
}

/** Keys a trial reads of each candidate plan: enough to tell a handful of matches from a backlog. */
const TRIAL_KEYS = 64;
/** Added to the score of equality on every field of a unique index: at most one key per point. */
const UNIQUE_BONUS = 100;

/**
 * The plan with the fewest keys in its ranges, counted up to TRIAL_KEYS (as mongod's plan trial
 * stops early): `{awaiting_slot: true, brand, status}` then reads the few waiting tasks, not every
 * pending task of the brand. Equal counts: the one giving the sort order.
 */
function fewestKeys(plans: Plan[]): [Plan, number] {
  let best = plans[0];
  let bestKeys = keysUpTo(best, TRIAL_KEYS);
  for (const plan of plans.slice(1)) {
    const keys = keysUpTo(plan, TRIAL_KEYS);
    if (keys < bestKeys || (keys === bestKeys && plan.order && !best.order)) {
      best = plan;
      bestKeys = keys;
    }
  }
  return [best, bestKeys];
}

function keysUpTo(plan: Plan, cap: number): number {
  let n = 0;
  for (const range of plan.ranges) {
    for (const _key of plan.index.inOrder(range, false)) if (++n >= cap) return n;
  }
  return n;
}

function fullScan(index: OrderedIndex): Plan {
  const low = [...index.fields.map(() => MIN_BOUND), MIN_BOUND];
  const high = [...index.fields.map(() => MAX_BOUND), MAX_BOUND];
  return { index, ranges: [orientRange(low, high, index.directions)], score: 0, order: null };
}

/** Whether the plan's single range, read in index order or reversed, is already sorted by `sort`. */
function sortOrder(plan: Plan, index: OrderedIndex, conditions: Map<string, unknown>, sort: Document): Plan["order"] {
  if (plan.ranges.length !== 1) return null;
  const fixed = (field: string) => {
    const b = conditions.has(field) ? boundsOf(conditions.get(field)) : null;
    return b?.kind === "points" && b.values.length === 1;
  };
  const sortFields = Object.entries(sort).filter(([field]) => !fixed(field));
  if (sortFields.length === 0) return "forward";
  const start = index.fields.findIndex((f) => !fixed(f));
  if (start < 0 || start + sortFields.length > index.fields.length) return null;
  let sign = 0;
  for (let i = 0; i < sortFields.length; i++) {
    const [field, dir] = sortFields[i];
    if (index.fields[start + i] !== field || (dir !== 1 && dir !== -1)) return null;
    const s = dir * index.directions[start + i];
    if (sign && s !== sign) return null;
    sign = s;
  }
  return sign === 1 ? "forward" : "reverse";
}

function planForIndex(index: OrderedIndex, conditions: Map<string, unknown>): Plan | null {
  let prefixes: unknown[][] = [[]];
  let range: Extract<FieldBounds, { kind: "range" }> | null = null;
  let score = 0;
  for (const [i, field] of index.fields.entries()) {
    const bounds = conditions.has(field) ? boundsOf(conditions.get(field)) : null;
    if (!bounds) break;
    if (bounds.kind === "points") {
      // A sparse index has no entry for missing fields, so it cannot answer `field: null`.
      if (index.isSparse && bounds.values.some((v) => v === null)) break;
      if (prefixes.length * bounds.values.length > MAX_POINT_COMBINATIONS) break;
      prefixes = prefixes.flatMap((p) => bounds.values.map((v) => [...p, v]));
      score += 2;
    } else {
      // On a multikey field `{$gt: 1, $lt: 3}` may be met by two different elements ([0, 5]):
      // like mongod, scan one side only and let the matcher apply the other.
      const bothEnds = !(bounds.low instanceof Bound) && !(bounds.high instanceof Bound);
      range = index.multikey[i] && bothEnds
        ? { ...bounds, high: new Bound(typeRank(bounds.low), 1), highInclusive: true }
        : bounds;
      score += 1;
      break;
    }
  }
  if (score === 0) return null;
  const used = prefixes[0].length + (range ? 1 : 0);
  // Equality on every field of a unique index: at most one document per point.
  if (index.isUnique && !range && used === index.fields.length) score += UNIQUE_BONUS;
  const ranges = prefixes.map((prefix): KeyRange => {
    if (!range) return { low: [...prefix, ...restBounds(index, used, "first")], high: [...prefix, ...restBounds(index, used, "last")] };
    // Index order: a descending field starts from its high end. An exclusive end skips every key
    // holding exactly that value, whatever the later fields hold.
    const ascending = index.directions[used - 1] === 1;
    const [start, startInclusive, end, endInclusive] = ascending
      ? [range.low, range.lowInclusive, range.high, range.highInclusive]
      : [range.high, range.highInclusive, range.low, range.lowInclusive];
    return {
      low: [...prefix, start, ...restBounds(index, used, startInclusive ? "first" : "last")],
      high: [...prefix, end, ...restBounds(index, used, endInclusive ? "last" : "first")],
    };
  });
  return { index, ranges, score, order: null };
}

/** Sentinels for the index fields from `from` on, then the id: the first or last key in index order. */
function restBounds(index: OrderedIndex, from: number, which: "first" | "last"): unknown[] {
  const first = (direction: number) => (direction === 1 ? MIN_BOUND : MAX_BOUND);
  const last = (direction: number) => (direction === 1 ? MAX_BOUND : MIN_BOUND);
  const pick = which === "first" ? first : last;
  return [...index.directions.slice(from).map(pick), pick(1)];
}

/**
 * A top-level `$or` whose every branch (with the rest of the filter) can use an index: one plan per
 * branch, their results united — only when that constrains more than the best plan of the whole.
 */
export function planOrBranches(filter: Document, indexes: OrderedIndex[], wholeScore: number): Plan[] | null {
  const branches = filter.$or;
  if (!Array.isArray(branches) || branches.length === 0 || branches.length > 16) return null;
  const { $or: _or, ...rest } = filter;
  const plans: Plan[] = [];
  for (const branch of branches) {
    if (!branch || typeof branch !== "object") return null;
    const plan = planQuery({ $and: [rest, branch as Document] }, indexes);
    if (!plan || plan.score <= wholeScore) return null;
    plans.push(plan);
  }
  return plans;
}

/** `_id` equality or `$in`: answered from the primary map without any scan. */
export function idLookups(filter: Document): unknown[] | null {
  if (!("_id" in filter)) return null;
  const bounds = boundsOf(filter._id);
  return bounds && bounds.kind === "points" ? bounds.values : null;
}

/** A cached choice is planned afresh after this many uses, so it follows the data as it changes. */
const REPLAN_AFTER = 200;
const MAX_CACHED_SHAPES = 500;

/** What a value contributes to a plan: its BSON type (and, for a list, each element's), never the value. */
function valueKind(v: unknown): string {
  if (v === null) return "n";
  if (v === undefined) return "u";
  if (Array.isArray(v)) return `[${v.map(valueKind).join(",")}]`;
  if (typeof v !== "object") return typeof v;
  if (v instanceof Date || v instanceof RegExp || v instanceof Bound) return v.constructor.name;
  const bsontype = (v as { _bsontype?: string })._bsontype;
  if (bsontype) return bsontype;
  return `{${Object.entries(v as Document).map(([k, x]) => `${JSON.stringify(k)}:${valueKind(x)}`).join(",")}}`;
}

/**
 * Plans by filter shape, as mongod's plan cache does: the index chosen for a shape (fields,
 * operators and value types, not values) is reused without weighing every index again, and is
 * chosen afresh every REPLAN_AFTER uses. The owner clears it whenever its indexes change.
 */
export class PlanCache {
  private readonly choices = new Map<string, { index: string | null; uses: number }>();

  clear(): void {
    this.choices.clear();
  }

  get size(): number {
    return this.choices.size;
  }

  plan(filter: Document, indexes: OrderedIndex[], sort: Document | undefined, scope: string): Plan | null {
    const key = `${scope}|${valueKind(filter)}|${sort ? valueKind(sort) + JSON.stringify(sort) : ""}`;
    const cached = this.choices.get(key);
    if (cached && cached.uses++ < REPLAN_AFTER) {
      if (cached.index === null) return null;
      const index = indexes.find((i) => i.spec.name === cached.index);
      const plan = index ? planWith(index, filter, sort) : null;
      if (plan) return plan;
    }
    const plan = planQuery(filter, indexes, sort);
    if (cached) this.choices.delete(key);
    else if (this.choices.size >= MAX_CACHED_SHAPES) this.choices.delete(this.choices.keys().next().value as string);
    this.choices.set(key, { index: plan?.index.spec.name ?? null, uses: 0 });
    return plan;
  }
}

/** The plan on one given index, as `planQuery` would build it (null if it could not use it now). */
function planWith(index: OrderedIndex, filter: Document, sort: Document | undefined): Plan | null {
  if (index.isPartial) return null;
  const conditions = fieldConditions(filter);
  const plan = planForIndex(index, conditions) ?? (sort && !index.isSparse ? fullScan(index) : null);
  if (!plan) return null;
  plan.order = sort ? sortOrder(plan, index, conditions, sort) : null;
  return plan.score === 0 && !plan.order ? null : plan;
}
