import { Long, ObjectId, type Document } from "bson";
import { Aggregator, Query, isPlainSort, sortDocuments, type MatchOptions } from "../store/matching.js";
import { collationCompare, parseCollation } from "../store/collation.js";
import { MongoCommandError } from "../errors.js";
import type { CommandContext, CommandHandler } from "../engine.js";
import type { Collection } from "../store/collection.js";
import type { Plan } from "../store/planner.js";
import { cloneDocument, compareValues, idKey, inDocumentOrder, valuesAtPath } from "../store/values.js";
import { collectionName } from "./ddl.js";
import { mergeInto } from "./merge.js";

export interface FindSpec {
  filter?: Document;
  sort?: Document;
  skip?: number;
  limit?: number;
  projection?: Document;
  /** The command's `collation` as sent (the collection's default applies without one). */
  collation?: unknown;
  /** The command's `let` variables. */
  variables?: Document;
}

/** The `let` option of a command: an object of variables for `$expr` and pipelines. */
export function letOf(cmd: Document): Document | undefined {
  return asObject(cmd.let, "let");
}

function asObject(value: unknown, field: string): Document | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new MongoCommandError("TypeMismatch", `BSON field '${field}' is the wrong type, expected type 'object'`);
  }
  return value as Document;
}

/** Runs a query the way `find` does: match, sort, skip, limit, project. */
export function runFind(coll: Collection | undefined, spec: FindSpec): Document[] {
  if (!coll) return [];
  const filter = spec.filter ?? {};
  const options: MatchOptions = { collation: coll.collationFor(spec.collation), variables: spec.variables };
  const strings = options.collation ? collationCompare(options.collation) : undefined;
  const sort = spec.sort && Object.keys(spec.sort).length ? spec.sort : undefined;
  const skip = spec.skip ?? 0;
  const limit = spec.limit ? Math.abs(spec.limit) : 0;
  const wanted = limit ? skip + limit : Infinity;
  // `{$natural: ±1}`: storage (insertion) order or its reverse, from a collection scan as on mongod.
  const natural = sort && Object.keys(sort).length === 1 && (sort.$natural === 1 || sort.$natural === -1) ? sort.$natural : 0;
  // An index that yields the sort order, or no sort at all, lets the scan stop at skip+limit.
  const inOrder = natural ? naturalOrder(coll, filter, natural, options) : sort ? coll.matchInSortOrder(filter, sort, wanted, options) : null;
  const matched = inOrder ?? coll.match(filter, sort ? Infinity : wanted, options);
  const sorted = !sort || inOrder !== null;
  let page: Document[];
  if (sorted) page = matched.slice(skip, limit ? skip + limit : undefined);
  else if (isPlainSort(sort!)) page = sortDocuments(matched, sort!, strings).slice(skip, limit ? skip + limit : undefined);
  else {
    let cursor = new Query(filter, options).find<Document>(matched).sort(sort!);
    if (skip) cursor = cursor.skip(skip);
    if (limit) cursor = cursor.limit(limit);
    page = cursor.all();
  }
  if (!spec.projection) return page;
  // mingo projects in place (an exclusion deletes the field from the object it is given): project
  // copies of the page, never the stored documents.
  return projectDocuments(page, spec.projection, filter, options);
}

/** mingo projects in place: it is given copies. Fields keep the stored document's order. */
export function projectDocuments(page: Document[], projection: Document, filter: Document, options: MatchOptions = {}): Document[] {
  const fields = topLevelInclusion(projection);
  if (fields) return page.map((doc) => includeFields(doc, fields));
  const { slices, rest } = splitSlices(projection);
  const copies = page.map(cloneDocument);
  const projected = Object.keys(rest).length ? new Query(filter, options).find<Document>(copies, rest).all() : copies;
  for (const doc of projected) for (const [path, how] of slices) sliceAt(doc, path.split("."), how);
  return projected.map((doc, i) => inDocumentOrder(doc, page[i]));
}

/** An inclusion of top-level fields only (`{_id: 1}`, `{a: 1, b: 1, _id: 0}`): the fields kept, with `_id` unless excluded. */
function topLevelInclusion(projection: Document): Set<string> | null {
  const fields = new Set<string>(["_id"]);
  let includes = false;
  for (const [path, how] of Object.entries(projection)) {
    if (!path || path.includes(".") || path.startsWith("$")) return null;
    if (path === "_id" && (how === 0 || how === false)) fields.delete("_id");
    else if (how === 1 || how === true) {
      fields.add(path);
      includes = true;
    } else return null;
  }
  // `{_id: 0}` alone excludes.
  return includes ? fields : null;
}

/** Copies of the kept fields, `_id` first, then in the stored document's order. */
function includeFields(doc: Document, fields: Set<string>): Document {
  const out: Document = {};
  if (fields.has("_id") && "_id" in doc) out._id = cloneDocument(doc._id);
  for (const key of Object.keys(doc)) if (key !== "_id" && fields.has(key)) out[key] = cloneDocument(doc[key]);
  return out;
}

/**
 * `$slice` takes no side in the inclusion/exclusion choice (since 4.4): next to exclusions every other
 * field stays, next to inclusions only those. mingo counts it as an inclusion, so when the rest of the
 * projection excludes, the slices are applied here after mingo's projection.
 */
function splitSlices(projection: Document): { slices: [string, unknown][]; rest: Document } {
  const entries = Object.entries(projection);
  const isSlice = ([, v]: [string, unknown]) => v !== null && typeof v === "object" && "$slice" in (v as Document);
  const others = entries.filter((e) => !isSlice(e) && e[0] !== "_id");
  const excluding = others.every(([, v]) => v === 0 || v === false);
  if (!excluding) return { slices: [], rest: projection };
  const rest: Document = {};
  const slices: [string, unknown][] = [];
  for (const e of entries) {
    if (isSlice(e)) slices.push([e[0], (e[1] as Document).$slice]);
    else rest[e[0]] = e[1];
  }
  return { slices, rest };
}

function sliceAt(doc: unknown, parts: string[], how: unknown): void {
  if (doc === null || typeof doc !== "object") return;
  if (Array.isArray(doc)) {
    for (const el of doc) sliceAt(el, parts, how);
    return;
  }
  const record = doc as Document;
  const [head, ...tail] = parts;
  if (tail.length) return sliceAt(record[head], tail, how);
  const arr = record[head];
  if (!Array.isArray(arr)) return;
  const [skip, count] = Array.isArray(how) ? [Number(how[0]), Number(how[1])] : Number(how) < 0 ? [Number(how), Infinity] : [0, Number(how)];
  const start = skip < 0 ? Math.max(0, arr.length + skip) : Math.min(skip, arr.length);
  record[head] = arr.slice(start, count === Infinity ? undefined : start + count);
}

function naturalOrder(coll: Collection, filter: Document, direction: number, options: MatchOptions): Document[] {
  const query = coll.compile(filter, options);
  const docs = [...coll.docs.values()].filter((doc) => query.test(doc));
  return direction === -1 ? docs.reverse() : docs;
}

/** The engine plans for itself, but like mongod it refuses a hint naming an index that does not exist. */
function checkHint(coll: Collection | undefined, hint: unknown): void {
  if (!coll || hint === undefined || hint === null) return;
  if (typeof hint === "string") {
    if (hint === "_id_" || coll.findIndexSpec(hint)) return;
  } else if (typeof hint === "object") {
    const key = JSON.stringify(hint);
    if (Object.keys(hint).length === 0 || "$natural" in hint || key === '{"_id":1}') return;
    if (coll.indexSpecs.some((spec) => JSON.stringify(spec.key) === key)) return;
  } else return;
  throw new MongoCommandError("BadValue", "error processing query: planner returned error :: caused by :: hint provided does not correspond to an existing index");
}

function find(ctx: CommandContext): Document {
  const name = collectionName(ctx);
  const cmd = ctx.cmd;
  checkHint(ctx.engine.storage.get(ctx.db, name), cmd.hint);
  const docs = runFind(ctx.engine.storage.get(ctx.db, name), {
    filter: asObject(cmd.filter, "filter"),
    sort: asObject(cmd.sort, "sort"),
    projection: asObject(cmd.projection, "projection"),
    skip: numberField(cmd.skip, "skip"),
    limit: numberField(cmd.limit, "limit"),
    collation: cmd.collation,
    variables: letOf(cmd),
  });
  const limit = numberField(cmd.limit, "limit") ?? 0;
  const singleBatch = Boolean(cmd.singleBatch) || limit < 0;
  const batchSize = numberField(cmd.batchSize, "batchSize");
  return { cursor: ctx.engine.cursors.first(`${ctx.db}.${name}`, docs, batchSize, singleBatch) };
}

function numberField(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = value instanceof Long ? value.toNumber() : value;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    throw new MongoCommandError("TypeMismatch", `BSON field '${field}' is the wrong type, expected a number`);
  }
  if (field !== "limit" && n < 0) throw new MongoCommandError("BadValue", `${field} value must be non-negative, but received: ${n}`);
  return n;
}

function getMore(ctx: CommandContext): Document {
  const id = ctx.target instanceof Long ? ctx.target.toBigInt() : BigInt(Number(ctx.target));
  const ns = `${ctx.db}.${String(ctx.cmd.collection)}`;
  return { cursor: ctx.engine.cursors.more(id, ns, numberField(ctx.cmd.batchSize, "batchSize")) };
}

function killCursors(ctx: CommandContext): Document {
  const ids = ((ctx.cmd.cursors as unknown[]) ?? []).map((c) => (c instanceof Long ? c.toBigInt() : BigInt(Number(c))));
  const { killed, notFound } = ctx.engine.cursors.kill(ids);
  const toLong = (ids: bigint[]) => ids.map((id) => Long.fromBigInt(id));
  return { cursorsKilled: toLong(killed), cursorsNotFound: toLong(notFound), cursorsAlive: [], cursorsUnknown: [] };
}

function count(ctx: CommandContext): Document {
  const coll = ctx.engine.storage.get(ctx.db, collectionName(ctx));
  const query = asObject(ctx.cmd.query, "query") ?? {};
  const options = coll ? { collation: coll.collationFor(ctx.cmd.collation) } : {};
  const total = !coll ? 0 : Object.keys(query).length === 0 ? coll.docs.size : coll.match(query, Infinity, options).length;
  const skip = numberField(ctx.cmd.skip, "skip") ?? 0;
  const limit = Math.abs(numberField(ctx.cmd.limit, "limit") ?? 0);
  const n = Math.max(0, total - skip);
  return { n: limit ? Math.min(n, limit) : n };
}

function distinct(ctx: CommandContext): Document {
  const coll = ctx.engine.storage.get(ctx.db, collectionName(ctx));
  if (typeof ctx.cmd.key !== "string") throw new MongoCommandError("TypeMismatch", "BSON field 'key' must be a string");
  const parts = ctx.cmd.key.split(".");
  const values = new Map<string, unknown>();
  const collation = coll ? coll.collationFor(ctx.cmd.collation) : parseCollation(ctx.cmd.collation);
  const strings = collation ? collationCompare(collation) : undefined;
  const found: unknown[] = [];
  for (const doc of coll ? coll.match(asObject(ctx.cmd.query, "query") ?? {}, Infinity, { collation }) : []) {
    // A missing field gives nothing, an array its elements (an empty one none), as mongod does.
    for (const v of valuesAtPath(doc, parts)) {
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) {
        const key = idKey(x);
        if (values.has(key)) continue;
        values.set(key, x);
        found.push(x);
      }
    }
  }
  const sorted = found.sort((a, b) => compareValues(a, b, strings));
  if (!strings) return { values: sorted };
  // Under a collation, strings that compare equal ("Café", "cafe" at strength 1) are one value: the first kept.
  return { values: sorted.filter((v, i) => i === 0 || compareValues(sorted[i - 1], v, strings) !== 0) };
}

const UNSUPPORTED_STAGES: Record<string, string> = {
  $changeStream: "The $changeStream stage is only supported on replica sets",
  $currentOp: "$currentOp is not supported by the embedded engine",
  $collStats: "$collStats is not supported by the embedded engine",
  $indexStats: "$indexStats is not supported by the embedded engine",
  $listSessions: "$listSessions is not supported by the embedded engine",
  $planCacheStats: "$planCacheStats is not supported by the embedded engine",
  $search: "$search is not supported by the embedded engine",
  $geoNear: "$geoNear is not supported by the embedded engine",
};

const KNOWN_STAGES = new Set(
  "addFields bucket bucketAuto count densify documents facet fill graphLookup group limit lookup match merge out project redact replaceRoot replaceWith sample set setWindowFields skip sort sortByCount unionWith unset unwind"
    .split(" ")
    .map((s) => "$" + s),
);

function checkPipeline(pipeline: unknown): Document[] {
  if (!Array.isArray(pipeline)) throw new MongoCommandError("TypeMismatch", "'pipeline' option must be specified as an array");
  for (const stage of pipeline as Document[]) {
    const name = stage && typeof stage === "object" ? Object.keys(stage)[0] : undefined;
    if (!name || Object.keys(stage).length !== 1) {
      throw new MongoCommandError("Location40324", "A pipeline stage specification object must contain exactly one field.");
    }
    if (name === "$changeStream") throw new MongoCommandError("Location40573", UNSUPPORTED_STAGES[name]);
    if (UNSUPPORTED_STAGES[name]) throw new MongoCommandError("CommandNotSupported", UNSUPPORTED_STAGES[name]);
    if (!KNOWN_STAGES.has(name)) throw new MongoCommandError("Location40324", `Unrecognized pipeline stage name: '${name}'`);
    if ((name === "$out" || name === "$merge") && stage !== pipeline[pipeline.length - 1]) {
      throw new MongoCommandError("Location40601", `${name} can only be the final stage in the pipeline`);
    }
  }
  return pipeline as Document[];
}

function aggregate(ctx: CommandContext): Document {
  const pipeline = checkPipeline(ctx.cmd.pipeline);
  const storage = ctx.engine.storage;
  const collName = typeof ctx.target === "string" ? ctx.target : null;
  if (!collName && !(pipeline[0] && "$documents" in pipeline[0])) {
    throw new MongoCommandError("InvalidNamespace", "aggregate on a database needs a $documents first stage");
  }
  const last = pipeline[pipeline.length - 1];
  const writeStage = last && ("$out" in last || "$merge" in last) ? last : undefined;
  let stages = writeStage === undefined ? pipeline : pipeline.slice(0, -1);
  let source: Document[] = [];
  const coll = collName ? storage.get(ctx.db, collName) : undefined;
  const collation = coll ? coll.collationFor(ctx.cmd.collation) : parseCollation(ctx.cmd.collation);
  const variables = letOf(ctx.cmd);
  if (collName) {
    // A leading $match runs through the indexes; the rest of the pipeline goes to mingo.
    if (stages[0] && "$match" in stages[0]) {
      source = coll ? coll.match(stages[0].$match as Document, Infinity, { collation, variables }) : [];
      stages = stages.slice(1);
    } else source = coll ? [...coll.docs.values()] : [];
  }
  // mingo's stages ($set, $addFields, $unwind, …) write into the documents they are given: they get
  // copies, never the stored documents (which would change in memory but not in the journal).
  const aggregator = new Aggregator(stages, {
    collectionResolver: (name: string) => [...(storage.get(ctx.db, name)?.docs.values() ?? [])].map(cloneDocument),
    ...(collation ? { collation: collation as never } : {}),
    ...(variables ? { variables } : {}),
  });
  const results = aggregator.run(source.map(cloneDocument)) as Document[];
  if (writeStage !== undefined) {
    if ("$out" in writeStage) writeOut(ctx, writeStage.$out, results);
    else mergeInto(ctx, writeStage.$merge, results);
    return { cursor: ctx.engine.cursors.first(`${ctx.db}.${collName}`, [], 0) };
  }
  const cursorOpts = (ctx.cmd.cursor as Document | undefined) ?? {};
  return { cursor: ctx.engine.cursors.first(`${ctx.db}.${collName ?? "$cmd.aggregate"}`, results, numberField(cursorOpts.batchSize, "batchSize")) };
}

function writeOut(ctx: CommandContext, target: unknown, docs: Document[]): void {
  const t = typeof target === "string" ? { db: ctx.db, coll: target } : (target as Document);
  const db = String(t.db ?? ctx.db);
  const name = String(t.coll);
  const storage = ctx.engine.storage;
  const old = storage.get(db, name);
  const specs = old ? [...old.indexSpecs] : [];
  if (old) storage.dropCollection(db, name);
  const coll = storage.createCollection(db, name, old?.options ?? {});
  for (const spec of specs) storage.createIndex(coll, spec);
  for (const doc of docs) storage.insert(coll, doc._id === undefined ? { _id: new ObjectId(), ...doc } : doc);
}


/** `explain` for find/count/aggregate: which plan the engine would use, and how many documents it read. */
function explain(ctx: CommandContext): Document {
  const inner = ctx.target as Document;
  const innerName = Object.keys(inner)[0];
  const collName = String(inner[innerName]);
  const filter: Document =
    innerName === "find" ? ((inner.filter as Document) ?? {}) :
    innerName === "count" ? ((inner.query as Document) ?? {}) :
    innerName === "aggregate" && Array.isArray(inner.pipeline) && inner.pipeline[0]?.$match ? (inner.pipeline[0].$match as Document) : {};
  const coll = ctx.engine.storage.get(ctx.db, collName);
  let winningPlan: Document = { stage: "EOF" };
  let docsExamined = 0;
  let nReturned = 0;
  if (coll) {
    const collation = coll.collationFor(inner.collation);
    const candidates = [...coll.candidates(filter, collation)];
    docsExamined = candidates.length;
    const query = coll.compile(filter, { collation });
    nReturned = candidates.filter((d) => query.test(d)).length;
    const plan = coll.queryPlan(filter, collation);
    const ixscan = (p: Plan) => ({ stage: "IXSCAN", indexName: p.index.spec.name, keyPattern: p.index.spec.key });
    winningPlan =
      plan.kind === "id" ? { stage: "IDHACK" }
      : plan.kind === "scan" ? { stage: "COLLSCAN" }
      : plan.plans.length === 1 ? { stage: "FETCH", inputStage: ixscan(plan.plans[0]) }
      : { stage: "FETCH", inputStage: { stage: "OR", inputStages: plan.plans.map(ixscan) } };
  }
  return {
    queryPlanner: { namespace: `${ctx.db}.${collName}`, parsedQuery: filter, winningPlan, rejectedPlans: [] },
    executionStats: { nReturned, totalDocsExamined: docsExamined, executionSuccess: true },
    command: inner,
  };
}

export const readCommands: Record<string, CommandHandler> = {
  find,
  getMore,
  killCursors,
  count,
  distinct,
  aggregate,
  explain,
};
