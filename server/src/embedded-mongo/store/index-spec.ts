import type { Document } from "bson";
import { collationKey, parseCollation } from "./collation.js";

/** An index as createIndexes declares it and listIndexes returns it. */
export interface IndexSpec extends Document {
  v?: number;
  key: Document;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Document;
  expireAfterSeconds?: number;
}

export function defaultIndexName(key: Document): string {
  return Object.entries(key)
    .map(([field, dir]) => `${field}_${dir}`)
    .join("_");
}

/** Fields whose index keys are ordered values (1/-1); text, hashed and geo fields are stored but not maintained. */
export function isOrderedIndex(key: Document): boolean {
  return Object.values(key).every((dir) => dir === 1 || dir === -1);
}

/** Options that make two index specs different indexes even when the key is the same. */
export function sameIndexOptions(a: IndexSpec, b: IndexSpec): boolean {
  return (
    Boolean(a.unique) === Boolean(b.unique) &&
    Boolean(a.sparse) === Boolean(b.sparse) &&
    a.expireAfterSeconds === b.expireAfterSeconds &&
    JSON.stringify(a.partialFilterExpression ?? null) === JSON.stringify(b.partialFilterExpression ?? null) &&
    collationKey(parseCollation(a.collation)) === collationKey(parseCollation(b.collation))
  );
}
