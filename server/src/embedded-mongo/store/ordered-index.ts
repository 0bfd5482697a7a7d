import sortedBtree from "sorted-btree";
import type { Document } from "bson";
import { compileFilter, type Matcher } from "./compiled-query.js";
import { Bound, MAX_BOUND, MIN_BOUND, compareValues, indexValuesOf, idKey, isPlainObject, type StringCompare } from "./values.js";
import { collationCompare, collationKey, parseCollation } from "./collation.js";
import type { IndexSpec } from "./index-spec.js";

/** An index key: the indexed values in field order, then the document's id key (unique per entry). */
export type IndexKey = unknown[];

/** Orders keys field by field in each field's declared direction; the trailing id key ascends. */
function keyComparator(directions: number[], strings?: StringCompare): (a: IndexKey, b: IndexKey) => number {
  return (a, b) => {
    for (let i = 0; i < a.length; i++) {
      // The trailing id key is compared as binary text whatever the collation.
      const c = compareValues(a[i], b[i], i < directions.length ? strings : undefined);
      if (c) return i < directions.length ? c * directions[i] : c;
    }
    return 0;
  };
}

/** One scan over an index: each bound is a full tuple of values (or sentinels), in index order. */
export interface KeyRange {
  low: IndexKey;
  high: IndexKey;
}

/** Turns value-ascending bounds into index-order bounds: descending fields swap ends. */
export function orientRange(low: IndexKey, high: IndexKey, directions: number[]): KeyRange {
  const l = [...low];
  const h = [...high];
  directions.forEach((dir, i) => {
    if (dir === -1) [l[i], h[i]] = [h[i], l[i]];
  });
  return { low: l, high: h };
}

// sorted-btree is CommonJS with `exports.default`: imported from Node's ESM, the class sits on
// `.default`; bundlers that honour `__esModule` (vitest, vite) hand over the class itself.
const btreeExport: unknown = sortedBtree;
const BTree: typeof sortedBtree.default =
  typeof btreeExport === "function" ? (btreeExport as typeof sortedBtree.default) : sortedBtree.default;
type BTree<K, V> = InstanceType<typeof sortedBtree.default<K, V>>;

/**
 * Whether both documents hold the same scalar (string, number, boolean, null, date) at `parts`,
 * through plain objects only: then they give an index the same key there. False means "compare
 * the keys", not "different".
 */
function sameScalarAt(a: Document, b: Document, parts: readonly string[]): boolean {
  let x: unknown = a;
  let y: unknown = b;
  for (const part of parts) {
    if (!isPlainObject(x) || !isPlainObject(y)) return false;
    x = (x as Document)[part];
    y = (y as Document)[part];
  }
  if (x instanceof Date && y instanceof Date) return x.getTime() === y.getTime();
  return (x === null || (typeof x !== "object" && x !== undefined)) && x === y;
}

const NOT_SCALAR = Symbol("not scalar");

/** The one key value at `parts` (null when missing), or NOT_SCALAR when the path meets an array or an odd object. */
function scalarValueAt(doc: Document, parts: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const part of parts) {
    if (!isPlainObject(cur)) return cur === undefined || cur === null || typeof cur !== "object" || cur instanceof Date ? null : NOT_SCALAR;
    cur = (cur as Document)[part];
  }
  if (cur === undefined) return null;
  return Array.isArray(cur) ? NOT_SCALAR : cur;
}

/** A secondary index kept as a B+tree of (values…, id) keys; arrays index each element (multikey). */
export class OrderedIndex {
  readonly fields: string[];
  /** 1 or -1 per field, as declared. */
  readonly directions: number[];
  /**
   * Per field: some document gave it several keys (an array). Like mongod's multikey flag it never
   * clears; the planner must not intersect range bounds on such a field.
   */
  readonly multikey: boolean[];
  /** The index's collation, as `collationKey` writes it ("" for binary). */
  readonly collationKey: string;
  private readonly paths: string[][];
  private readonly partial: Matcher | null;
  private readonly tree: BTree<IndexKey, true>;
  private readonly compare: (a: IndexKey, b: IndexKey) => number;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    this.directions = this.fields.map((f) => (spec.key[f] === -1 ? -1 : 1));
    this.multikey = this.fields.map(() => false);
    this.paths = this.fields.map((f) => f.split("."));
    this.partial = spec.partialFilterExpression ? compileFilter(spec.partialFilterExpression) : null;
    const collation = parseCollation(spec.collation);
    this.collationKey = collationKey(collation);
    this.compare = keyComparator(this.directions, collation ? collationCompare(collation) : undefined);
    this.tree = new BTree<IndexKey, true>(undefined, this.compare, 64);
  }

  get isUnique(): boolean {
    return Boolean(this.spec.unique);
  }

  get isSparse(): boolean {
    return Boolean(this.spec.sparse);
  }

  get isPartial(): boolean {
    return this.partial !== null;
  }

  get size(): number {
    return this.tree.size;
  }

  /** The value tuples this document contributes, or none when sparse/partial rules leave it out. */
  valueTuples(doc: Document): unknown[][] {
    if (this.partial && !this.partial.test(doc)) return [];
    const single = this.scalarTuple(doc);
    if (single) return this.isSparse && single.every((v) => v === null) && !this.hasAnyField(doc) ? [] : [single];
    const perField = this.paths.map((parts) => indexValuesOf(doc, parts));
    perField.forEach((vals, i) => {
      if (vals.length > 1) this.multikey[i] = true;
    });
    if (this.isSparse && perField.every((vals) => vals.length === 1 && vals[0] === null && !this.hasAnyField(doc))) {
      return [];
    }
    let tuples: unknown[][] = [[]];
    for (const vals of perField) tuples = tuples.flatMap((t) => vals.map((v) => [...t, v]));
    return tuples;
  }

  /** The key values when no field's path meets an array (most documents): one tuple, built directly. */
  private scalarTuple(doc: Document): unknown[] | null {
    const out = new Array<unknown>(this.paths.length);
    for (let i = 0; i < this.paths.length; i++) {
      const value = scalarValueAt(doc, this.paths[i]);
      if (value === NOT_SCALAR) return null;
      out[i] = value;
    }
    return out;
  }

  private hasAnyField(doc: Document): boolean {
    return this.paths.some((parts) => {
      let cur: unknown = doc;
      for (const p of parts) {
        if (cur === null || typeof cur !== "object" || !(p in (cur as Document))) return false;
        cur = (cur as Document)[p];
      }
      return true;
    });
  }

  /** Whether two versions of one document have entries this index orders the same (it reads only their ids). */
  sameKeys(a: Document, b: Document): boolean {
    if (!this.partial && this.paths.every((parts) => sameScalarAt(a, b, parts))) return true;
    const x = this.valueTuples(a);
    const y = this.valueTuples(b);
    return x.length === y.length && x.every((tuple, i) => this.compare([...tuple, ""], [...y[i], ""]) === 0);
  }

  add(doc: Document, id = idKey(doc._id)): void {
    for (const tuple of this.valueTuples(doc)) this.tree.set([...tuple, id], true);
  }

  remove(doc: Document, id = idKey(doc._id)): void {
    for (const tuple of this.valueTuples(doc)) this.tree.delete([...tuple, id]);
  }

  /** The first value tuple of `doc` that another document already holds, for unique indexes. */
  findConflict(doc: Document): unknown[] | null {
    if (!this.isUnique) return null;
    const id = idKey(doc._id);
    for (const tuple of this.valueTuples(doc)) {
      let clash = false;
      this.tree.forRange([...tuple, MIN_BOUND], [...tuple, MAX_BOUND], true, (key: IndexKey) => {
        if (key[key.length - 1] !== id) {
          clash = true;
          return { break: true };
        }
      });
      if (clash) return tuple;
    }
    return null;
  }

  /** Id keys of the entries within the given ranges (a superset of the matches: callers re-check). */
  scan(ranges: KeyRange[]): Set<string> {
    const ids = new Set<string>();
    for (const { low, high } of ranges) {
      this.tree.forRange(low, high, true, (key: IndexKey) => {
        ids.add(key[key.length - 1] as string);
      });
    }
    return ids;
  }

  /** Id keys in index order within one range (reversed: from its high end), each once. */
  *inOrder(range: KeyRange, reverse: boolean): Generator<string> {
    const seen = new Set<string>();
    const compare = this.compare;
    const entries = reverse ? this.tree.entriesReversed(range.high) : this.tree.entries(range.low);
    for (const [key] of entries) {
      if (reverse ? compare(key, range.low) < 0 : compare(key, range.high) > 0) return;
      const id = key[key.length - 1] as string;
      if (!seen.has(id)) {
        seen.add(id);
        yield id;
      }
    }
  }

  /** Id keys whose value in the first field is a date at or before `cutoff` (TTL expiry). */
  datesUpTo(cutoff: Date): Set<string> {
    const rest = this.fields.slice(1).map(() => MIN_BOUND);
    const restHigh = this.fields.slice(1).map(() => MAX_BOUND);
    const low: IndexKey = [new Bound(10, -1), ...rest, MIN_BOUND];
    const high: IndexKey = [cutoff, ...restHigh, MAX_BOUND];
    return this.scan([orientRange(low, high, this.directions)]);
  }
}
