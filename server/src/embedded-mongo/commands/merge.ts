import { ObjectId, type Document } from "bson";
import { MongoCommandError } from "../errors.js";
import type { CommandContext } from "../engine.js";
import type { Collection } from "../store/collection.js";
import { evalExpr } from "mingo/core";
import { Aggregator, mingoOptions } from "../store/matching.js";
import { ID_INDEX } from "../store/storage.js";
import type { IndexSpec } from "../store/index-spec.js";
import { cloneDocument, getPath, idKey } from "../store/values.js";
import { validateDocument } from "../store/validation.js";

/** `$merge` (https://www.mongodb.com/docs/manual/reference/operator/aggregation/merge/). */
interface MergeSpec {
  db: string;
  coll: string;
  on: string[];
  whenMatched: "replace" | "keepExisting" | "merge" | "fail" | Document[];
  whenNotMatched: "insert" | "discard" | "fail";
  /** `let` as given; without one, `$$new` is the result document. */
  variables: Document | null;
}

const WHEN_MATCHED = new Set(["replace", "keepExisting", "merge", "fail"]);
const WHEN_NOT_MATCHED = new Set(["insert", "discard", "fail"]);

function parseMerge(ctx: CommandContext, raw: unknown): MergeSpec {
  const spec = (typeof raw === "string" ? { into: raw } : raw) as Document;
  if (!spec || typeof spec !== "object") throw new MongoCommandError("TypeMismatch", "$merge requires a string or object argument");
  const into = typeof spec.into === "string" ? { db: ctx.db, coll: spec.into } : (spec.into as Document | undefined);
  if (!into || typeof into.coll !== "string") throw new MongoCommandError("FailedToParse", "$merge requires an 'into' collection name");
  const on = spec.on === undefined ? ["_id"] : Array.isArray(spec.on) ? spec.on.map(String) : [String(spec.on)];
  const whenMatched = spec.whenMatched ?? "merge";
  if (!Array.isArray(whenMatched) && !WHEN_MATCHED.has(whenMatched as string)) {
    throw new MongoCommandError("BadValue", `Enumeration value '${String(whenMatched)}' for field '$merge.whenMatched' is not a valid value.`);
  }
  const whenNotMatched = spec.whenNotMatched ?? "insert";
  if (!WHEN_NOT_MATCHED.has(whenNotMatched as string)) {
    throw new MongoCommandError("BadValue", `Enumeration value '${String(whenNotMatched)}' for field '$merge.whenNotMatched' is not a valid value.`);
  }
  return {
    db: typeof into.db === "string" ? into.db : ctx.db,
    coll: into.coll,
    on,
    whenMatched: whenMatched as MergeSpec["whenMatched"],
    whenNotMatched: whenNotMatched as MergeSpec["whenNotMatched"],
    variables: (spec.let as Document | undefined) ?? null,
  };
}

/** The unique index that makes `on` a key of the target: required unless `on` is `_id`. */
function onIndex(target: Collection | undefined, on: string[]): IndexSpec {
  if (on.length === 1 && on[0] === "_id") return ID_INDEX;
  const wanted = [...on].sort().join("\0");
  const spec = target?.indexSpecs.find(
    (s) => s.unique && !s.partialFilterExpression && Object.keys(s.key).sort().join("\0") === wanted,
  );
  if (!spec) throw new MongoCommandError("Location51183", "Cannot find index to verify that join fields will be unique");
  return spec;
}

function onValues(doc: Document, on: string[]): Document {
  const filter: Document = {};
  for (const field of on) {
    const value = getPath(doc, field);
    if (value === undefined || value === null || Array.isArray(value)) {
      throw new MongoCommandError("Location51132", `$merge write error: 'on' field '${field}' cannot be missing, null, undefined or an array`);
    }
    filter[field] = value;
  }
  return filter;
}

/** Writes an aggregation's results into a collection, document by document, as `$merge` specifies. */
export function mergeInto(ctx: CommandContext, raw: unknown, results: Document[]): void {
  const spec = parseMerge(ctx, raw);
  const bypass = ctx.cmd.bypassDocumentValidation;
  const storage = ctx.engine.storage;
  const index = onIndex(storage.get(spec.db, spec.coll), spec.on);
  for (const result of results) {
    const doc = result._id === undefined && spec.on.includes("_id") ? { _id: new ObjectId(), ...result } : result;
    const coll = storage.ensure(spec.db, spec.coll);
    const key = onValues(doc, spec.on);
    const [existing] = coll.match(key, 1);
    if (!existing) {
      if (spec.whenNotMatched === "fail") {
        throw new MongoCommandError("Location13113", "$merge could not find a matching document in the target collection for at least one document in the source collection");
      }
      if (spec.whenNotMatched === "insert") {
        const inserted = doc._id === undefined ? { _id: new ObjectId(), ...doc } : doc;
        validateDocument(coll, inserted, null, bypass);
        storage.insert(coll, inserted);
      }
      continue;
    }
    const next = matchedVersion(spec, coll, index, existing, doc);
    if (!next) continue;
    validateDocument(coll, next, existing, bypass);
    storage.replace(coll, existing, next);
  }
}

function matchedVersion(spec: MergeSpec, coll: Collection, index: IndexSpec, existing: Document, doc: Document): Document | null {
  const keepId = (next: Document): Document => {
    if (next._id !== undefined && idKey(next._id) !== idKey(existing._id)) {
      throw new MongoCommandError("ImmutableField", "$merge failed to update the matching document, did you attempt to modify the _id or the shard key?");
    }
    const { _id: _ignored, ...rest } = next;
    return { _id: existing._id, ...rest };
  };
  switch (spec.whenMatched) {
    case "keepExisting":
      return null;
    case "fail":
      throw coll.duplicateKey(index, Object.keys(index.key).map((f) => getPath(doc, f)));
    case "replace":
      return keepId(cloneDocument(doc));
    case "merge":
      return keepId({ ...cloneDocument(existing), ...cloneDocument(doc) });
    default: {
      const variables: Document = { new: cloneDocument(doc) };
      if (spec.variables) {
        // `let` expressions are evaluated against the result document; they replace the default `new`.
        delete variables.new;
        for (const [name, expr] of Object.entries(spec.variables)) variables[name] = evalExpr(doc, expr, mingoOptions() as never);
      }
      const [updated] = new Aggregator(spec.whenMatched, { variables }).run([cloneDocument(existing)]) as Document[];
      return updated ? keepId(updated) : null;
    }
  }
}
