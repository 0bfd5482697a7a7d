import { ObjectId, type Document } from "bson";
import { UnsupportedIndexOperator, type MatchOptions } from "./matching.js";
import { compileFilter, type Matcher } from "./compiled-query.js";
import { collationKey, parseCollation, type Collation } from "./collation.js";
import { MongoCommandError } from "../errors.js";
import { idKey } from "./values.js";
import { OrderedIndex } from "./ordered-index.js";
import { isOrderedIndex, type IndexSpec } from "./index-spec.js";
import { PlanCache, idLookups, planOrBranches, type Plan } from "./planner.js";

export type QueryPlan = { kind: "id"; ids: unknown[] } | { kind: "index"; plans: Plan[] } | { kind: "scan" };

export const ID_INDEX: IndexSpec = { v: 2, key: { _id: 1 }, name: "_id_" };

/** A key value as mongod prints it in E11000 messages: `"text"`, `ObjectId('…')`, `new Date(ms)`, `{ a: 1 }`. */
function shellValue(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (v instanceof ObjectId) return `ObjectId('${v.toHexString()}')`;
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  if (Array.isArray(v)) return v.length ? `[ ${v.map(shellValue).join(", ")} ]` : "[]";
  if (typeof v === "object" && (v as { _bsontype?: string })._bsontype) return String(v);
  if (typeof v === "object") {
    const entries = Object.entries(v as Document).map(([k, x]) => `${k}: ${shellValue(x)}`);
    return entries.length ? `{ ${entries.join(", ")} }` : "{}";
  }
  return String(v);
}

/** One collection: documents by `_id` in insertion order, plus its secondary indexes. */
export class Collection {
  readonly docs = new Map<string, Document>();
  /** Every declared index but `_id_`, in creation order. */
  readonly indexSpecs: IndexSpec[] = [];
  private readonly ordered = new Map<string, OrderedIndex>();
  /** Index choices by filter shape; cleared whenever an index is added or dropped. */
  private readonly plans = new PlanCache();

  constructor(
    readonly db: string,
    public name: string,
    readonly options: Document = {},
  ) {}

  get namespace(): string {
    return `${this.db}.${this.name}`;
  }

  /** Indexes actually maintained (ordered keys), for the planner and unique checks. */
  get orderedIndexes(): IterableIterator<OrderedIndex> {
    return this.ordered.values();
  }

  getById(id: unknown): Document | undefined {
    return this.docs.get(idKey(id));
  }

  /** The collation an operation runs with: the one it names, else the collection's default (null: binary). */
  collationFor(requested: unknown): Collation | null {
    return parseCollation(requested ?? this.options.collation);
  }

  /** Indexes a query under `collation` may read: only those built with that same collation. */
  private usableIndexes(collation: Collation | null | undefined): OrderedIndex[] {
    const key = collationKey(collation);
    return [...this.ordered.values()].filter((index) => index.collationKey === key);
  }

  /** `_id` lookups by exact key; under a collation other than the collection's, string ids may match others. */
  private idPlan(filter: Document, collation: Collation | null | undefined): unknown[] | null {
    const ids = idLookups(filter);
    if (!ids || collationKey(collation) === collationKey(parseCollation(this.options.collation))) return ids;
    return collation && ids.some((id) => typeof id === "string") ? null : ids;
  }

  /** How `filter` is answered: `_id` lookups, index scans (several for an `$or`), or a full scan. */
  queryPlan(filter: Document, collation?: Collation | null): QueryPlan {
    const ids = this.idPlan(filter, collation);
    if (ids) return { kind: "id", ids };
    const indexes = this.usableIndexes(collation);
    const plan = this.plans.plan(filter, indexes, undefined, collationKey(collation));
    const plans = planOrBranches(filter, indexes, plan?.score ?? 0) ?? (plan ? [plan] : null);
    return plans ? { kind: "index", plans } : { kind: "scan" };
  }

  /** Candidate documents for `filter` (a superset of the matches); all documents when no index helps. */
  candidates(filter: Document, collation?: Collation | null): Iterable<Document> {
    const plan = this.queryPlan(filter, collation);
    if (plan.kind === "scan") return this.docs.values();
    const out: Document[] = [];
    if (plan.kind === "id") {
      for (const id of plan.ids) {
        const doc = this.getById(id);
        if (doc) out.push(doc);
      }
      return out;
    }
    if (plan.plans.length === 1 && plan.plans[0].ranges.length === 1) return this.lazily(plan.plans[0]);
    const keys = new Set<string>();
    for (const p of plan.plans) for (const key of p.index.scan(p.ranges)) keys.add(key);
    for (const key of keys) {
      const doc = this.docs.get(key);
      if (doc) out.push(doc);
    }
    return out;
  }

  /** One range's documents read as they are needed: a match with a limit stops reading at it. */
  private *lazily(plan: Plan): Generator<Document> {
    for (const key of plan.index.inOrder(plan.ranges[0], false)) {
      const doc = this.docs.get(key);
      if (doc) yield doc;
    }
  }

  /**
   * The first `limit` matches in `sort` order read straight from an index, or null when no index
   * yields that order (the caller then sorts in memory).
   */
  matchInSortOrder(filter: Document, sort: Document, limit = Infinity, options: MatchOptions = {}): Document[] | null {
    if (this.idPlan(filter, options.collation)) return null;
    const indexes = this.usableIndexes(options.collation);
    const plan = this.plans.plan(filter, indexes, sort, collationKey(options.collation));
    if (!plan?.order) return null;
    // Branches of an `$or` that each constrain more than the sorted index read only their matches
    // (Agenda's due jobs among thousands queued for later): those, sorted in memory, cost less than
    // walking the whole index in sort order.
    if (planOrBranches(filter, indexes, plan.score)) return null;
    const query = this.compile(filter, options);
    const out: Document[] = [];
    for (const key of plan.index.inOrder(plan.ranges[0], plan.order === "reverse")) {
      const doc = this.docs.get(key);
      if (doc && query.test(doc)) {
        out.push(doc);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  /** Documents matching `filter`, in natural (or index) order. */
  match(filter: Document, limit = Infinity, options: MatchOptions = {}): Document[] {
    const query = this.compile(filter, options);
    const out: Document[] = [];
    for (const doc of this.candidates(filter, options.collation)) {
      if (query.test(doc)) {
        out.push(doc);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  /**
   * The filter compiled. Text and geo operators are refused: with no such index as mongod words it,
   * with one as an engine limit (it builds neither), never with a wrong answer.
   */
  compile(filter: Document, options: MatchOptions = {}): Matcher {
    try {
      if ("$text" in filter) throw new UnsupportedIndexOperator("$text");
      return compileFilter(filter, options);
    } catch (err) {
      if (!(err instanceof UnsupportedIndexOperator)) throw err;
      const kinds = this.indexSpecs.flatMap((s) => Object.values(s.key));
      if (err.operator === "$text" && !kinds.includes("text")) throw new MongoCommandError("IndexNotFound", "text index required for $text query");
      if ((err.operator === "$near" || err.operator === "$nearSphere") && !kinds.some((k) => k === "2d" || k === "2dsphere")) {
        throw new MongoCommandError("NoQueryExecutionPlans", "error processing query: planner returned error :: caused by :: unable to find index for $geoNear query");
      }
      throw new MongoCommandError("CommandNotSupported", `${err.operator} is not supported by the embedded engine (it builds no text or geo index)`);
    }
  }

  /** Throws MongoDB's duplicate-key error when `doc` would break `_id` or a unique index. */
  checkUnique(doc: Document, replacing?: Document, indexes: Iterable<OrderedIndex> = this.ordered.values()): void {
    const existing = this.docs.get(idKey(doc._id));
    if (existing && existing !== replacing) throw this.duplicateKey(ID_INDEX, [doc._id]);
    for (const index of indexes) {
      const conflict = index.findConflict(doc);
      if (conflict) throw this.duplicateKey(index.spec, conflict);
    }
  }

  duplicateKey(spec: IndexSpec, values: unknown[]): MongoCommandError {
    const fields = Object.keys(spec.key);
    const keyValue: Document = {};
    fields.forEach((f, i) => (keyValue[f] = values[i]));
    const shown = fields.map((f, i) => `${f}: ${shellValue(values[i])}`);
    return new MongoCommandError(
      "DuplicateKey",
      `E11000 duplicate key error collection: ${this.namespace} index: ${spec.name} dup key: { ${shown.join(", ")} }`,
      { keyPattern: { ...spec.key }, keyValue },
    );
  }

  insert(doc: Document): void {
    this.checkUnique(doc);
    this.docs.set(idKey(doc._id), doc);
    for (const index of this.ordered.values()) index.add(doc);
  }

  /** Swaps a stored document for its new version, keeping indexes exact; throws before changing anything. */
  replace(oldDoc: Document, newDoc: Document): void {
    // An index whose keys the change leaves as they were is not touched (a status change moves
    // one or two of a task's indexes, not all of them).
    const moved = [...this.ordered.values()].filter((index) => !index.sameKeys(oldDoc, newDoc));
    const id = idKey(newDoc._id);
    for (const index of moved) index.remove(oldDoc, id);
    try {
      this.checkUnique(newDoc, oldDoc, moved);
    } catch (err) {
      for (const index of moved) index.add(oldDoc, id);
      throw err;
    }
    this.docs.set(id, newDoc);
    for (const index of moved) index.add(newDoc, id);
  }

  remove(doc: Document): void {
    if (!this.docs.delete(idKey(doc._id))) return;
    for (const index of this.ordered.values()) index.remove(doc);
  }

  /** Builds a declared index; a unique index that existing documents violate is not created. */
  addIndex(spec: IndexSpec): void {
    if (isOrderedIndex(spec.key)) {
      const index = new OrderedIndex(spec);
      for (const doc of this.docs.values()) {
        const conflict = index.findConflict(doc);
        if (conflict) throw this.duplicateKey(spec, conflict);
        index.add(doc);
      }
      this.ordered.set(spec.name, index);
      this.plans.clear();
    }
    this.indexSpecs.push(spec);
  }

  dropIndex(name: string): boolean {
    const at = this.indexSpecs.findIndex((s) => s.name === name);
    if (at < 0) return false;
    this.indexSpecs.splice(at, 1);
    this.ordered.delete(name);
    this.plans.clear();
    return true;
  }

  findIndexSpec(name: string): IndexSpec | undefined {
    return this.indexSpecs.find((s) => s.name === name);
  }

  /** Documents past their TTL on any `expireAfterSeconds` index. */
  expired(now: Date): Document[] {
    const out = new Map<string, Document>();
    for (const index of this.ordered.values()) {
      const ttl = index.spec.expireAfterSeconds;
      if (typeof ttl !== "number" || index.fields.length !== 1) continue;
      const cutoff = new Date(now.getTime() - ttl * 1000);
      for (const key of index.datesUpTo(cutoff)) {
        const doc = this.docs.get(key);
        if (doc) out.set(key, doc);
      }
    }
    return [...out.values()];
  }
}
