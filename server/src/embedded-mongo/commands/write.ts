import type { Document } from "bson";
import { parseCollation } from "../store/collation.js";
import { MongoCommandError, errorReply } from "../errors.js";
import type { CommandContext, CommandHandler } from "../engine.js";
import type { Collection } from "../store/collection.js";
import { applyUpdate, buildUpsert, checkIdValue, checkUpdate, prepareInsert } from "../store/modify.js";
import { collectionName } from "./ddl.js";
import { validateDocument } from "../store/validation.js";
import { MAX_DOCUMENT_BYTES, OversizedDocument } from "../wire.js";
import { letOf, projectDocuments, runFind } from "./read.js";

interface WriteError extends Document {
  index: number;
  code: number;
  errmsg: string;
}

/** Runs each statement of a batch; ordered batches stop at the first error, as MongoDB does. */
function runBatch<T>(ctx: CommandContext, statements: unknown, field: string, run: (stmt: T, index: number) => void): WriteError[] {
  if (!Array.isArray(statements)) throw new MongoCommandError("TypeMismatch", `BSON field '${field}' must be an array`);
  const ordered = ctx.cmd.ordered !== false;
  const errors: WriteError[] = [];
  for (let i = 0; i < statements.length; i++) {
    try {
      run(statements[i] as T, i);
    } catch (err) {
      const { ok: _ok, codeName: _name, ...rest } = errorReply(err);
      errors.push({ index: i, ...(rest as { code: number; errmsg: string }) });
      if (ordered) break;
    }
  }
  return errors;
}

function withErrors(reply: Document, errors: WriteError[]): Document {
  return errors.length ? { ...reply, writeErrors: errors } : reply;
}

function insert(ctx: CommandContext): Document {
  const storage = ctx.engine.storage;
  const coll = storage.ensure(ctx.db, collectionName(ctx));
  let n = 0;
  const errors = runBatch<Document>(ctx, ctx.cmd.documents, "documents", (doc) => {
    if (doc instanceof OversizedDocument) {
      throw new MongoCommandError("BadValue", `object to insert too large. size in bytes: ${doc.size}, max size: ${MAX_DOCUMENT_BYTES}`);
    }
    const prepared = prepareInsert(doc);
    validateDocument(coll, prepared, null, ctx.cmd.bypassDocumentValidation);
    storage.insert(coll, prepared);
    n++;
  });
  return withErrors({ n }, errors);
}

interface UpdateStatement {
  q?: Document;
  u: unknown;
  upsert?: boolean;
  multi?: boolean;
  arrayFilters?: Document[];
  collation?: Document;
  sort?: Document;
}

function update(ctx: CommandContext): Document {
  const storage = ctx.engine.storage;
  const name = collectionName(ctx);
  let n = 0;
  let nModified = 0;
  const upserted: Document[] = [];
  const variables = letOf(ctx.cmd);
  rejectSort(ctx.cmd.updates);
  const errors = runBatch<UpdateStatement>(ctx, ctx.cmd.updates, "updates", (stmt, index) => {
    const filter = stmt.q ?? {};
    const spec = checkUpdate(stmt.u);
    if (stmt.multi && !Array.isArray(spec) && !Object.keys(spec).some((k) => k.startsWith("$"))) {
      throw new MongoCommandError("FailedToParse", "multi update is not supported for replacement-style update");
    }
    const coll = storage.get(ctx.db, name);
    const collation = coll ? coll.collationFor(stmt.collation) : parseCollation(stmt.collation);
    const options = { filter, arrayFilters: stmt.arrayFilters, collation, variables };
    const matches = coll ? coll.match(filter, stmt.multi ? Infinity : 1, { collation, variables }) : [];
    for (const doc of matches) {
      const next = applyUpdate(doc, spec, options);
      n++;
      if (next) {
        validateDocument(coll!, next, doc, ctx.cmd.bypassDocumentValidation);
        storage.replace(coll!, doc, next);
        nModified++;
      }
    }
    if (matches.length === 0 && stmt.upsert) {
      const doc = buildUpsert(spec, options);
      checkIdValue(doc._id);
      const target = storage.ensure(ctx.db, name);
      validateDocument(target, doc, null, ctx.cmd.bypassDocumentValidation);
      storage.insert(target, doc);
      n++;
      upserted.push({ index, _id: doc._id });
    }
  });
  const reply: Document = { n, nModified };
  if (upserted.length) reply.upserted = upserted;
  return withErrors(reply, errors);
}

/** `sort` in an update statement (updateOne/replaceOne) arrived with MongoDB 8.0; 7.0 refuses the field. */
function rejectSort(statements: unknown): void {
  if (!Array.isArray(statements)) return;
  if (statements.some((stmt) => stmt && typeof stmt === "object" && "sort" in (stmt as Document))) {
    throw new MongoCommandError("Location40415", "BSON field 'update.updates.sort' is an unknown field.");
  }
}

interface DeleteStatement {
  q?: Document;
  limit?: number;
  collation?: Document;
}

function remove(ctx: CommandContext): Document {
  const storage = ctx.engine.storage;
  const name = collectionName(ctx);
  let n = 0;
  const variables = letOf(ctx.cmd);
  const errors = runBatch<DeleteStatement>(ctx, ctx.cmd.deletes, "deletes", (stmt) => {
    const coll = storage.get(ctx.db, name);
    if (!coll) return;
    const collation = coll.collationFor(stmt.collation);
    for (const doc of coll.match(stmt.q ?? {}, stmt.limit === 1 ? 1 : Infinity, { collation, variables })) {
      storage.remove(coll, doc);
      n++;
    }
  });
  return withErrors({ n }, errors);
}

function project(doc: Document | null, fields: unknown, filter: Document): Document | null {
  if (!doc || !fields || typeof fields !== "object" || Object.keys(fields).length === 0) return doc;
  return projectDocuments([doc], fields as Document, filter)[0] ?? null;
}

/** The stored document that `find` would return first for this filter and sort. */
function firstMatch(coll: Collection | undefined, filter: Document, sort: Document | undefined, collation: unknown, variables: Document | undefined): Document | null {
  if (!coll) return null;
  const [hit] = runFind(coll, { filter, sort, limit: 1, collation, variables });
  return hit ? (coll.getById(hit._id) ?? null) : null;
}

function findAndModify(ctx: CommandContext): Document {
  const storage = ctx.engine.storage;
  const name = collectionName(ctx);
  const cmd = ctx.cmd;
  const filter = (cmd.query as Document | undefined) ?? {};
  const coll = storage.get(ctx.db, name);
  const variables = letOf(cmd);
  const collation = coll ? coll.collationFor(cmd.collation) : parseCollation(cmd.collation);
  const found = firstMatch(coll, filter, cmd.sort as Document | undefined, cmd.collation, variables);
  if (cmd.remove) {
    if (cmd.update !== undefined) throw new MongoCommandError("FailedToParse", "Cannot specify both an update and remove=true");
    if (found) storage.remove(coll!, found);
    return { lastErrorObject: { n: found ? 1 : 0 }, value: project(found, cmd.fields, filter) };
  }
  if (cmd.update === undefined) throw new MongoCommandError("FailedToParse", "Either an update or remove=true must be specified");
  const spec = checkUpdate(cmd.update);
  const options = { filter, arrayFilters: cmd.arrayFilters as Document[] | undefined, collation, variables };
  if (found) {
    const next = applyUpdate(found, spec, options);
    if (next) {
      validateDocument(coll!, next, found, cmd.bypassDocumentValidation);
      storage.replace(coll!, found, next);
    }
    return {
      lastErrorObject: { n: 1, updatedExisting: true },
      value: project(cmd.new ? (next ?? found) : found, cmd.fields, filter),
    };
  }
  if (!cmd.upsert) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null };
  const doc = buildUpsert(spec, options);
  checkIdValue(doc._id);
  const target = storage.ensure(ctx.db, name);
  validateDocument(target, doc, null, cmd.bypassDocumentValidation);
  storage.insert(target, doc);
  return {
    lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id },
    value: project(cmd.new ? doc : null, cmd.fields, filter),
  };
}

export const writeCommands: Record<string, CommandHandler> = {
  insert,
  update,
  delete: remove,
  findAndModify,
};
