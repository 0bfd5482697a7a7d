import type { Document } from "bson";
import { MongoCommandError } from "../errors.js";
import type { Collection } from "./collection.js";

/**
 * A collection's `validator` (a query, often `$jsonSchema`), enforced on every insert and update as
 * `validationLevel` ("strict": all; "moderate": not updates of documents already invalid; "off")
 * and `validationAction` ("error"; "warn" lets the write through) say.
 */
export function validateDocument(coll: Collection, doc: Document, previous: Document | null, bypass: unknown): void {
  const validator = coll.options.validator as Document | undefined;
  if (!validator || bypass === true || coll.options.validationLevel === "off" || coll.options.validationAction === "warn") return;
  if (Object.keys(validator).length === 0) return;
  const query = coll.compile(validator);
  if (query.test(doc)) return;
  if (previous && coll.options.validationLevel === "moderate" && !query.test(previous)) return;
  const operatorName = Object.keys(validator)[0].startsWith("$") ? Object.keys(validator)[0] : "$and";
  throw new MongoCommandError("DocumentValidationFailure", "Document failed validation", {
    errInfo: { failingDocumentId: doc._id, details: { operatorName } },
  });
}
