import type { Document } from "bson";
import { MongoCommandError } from "../errors.js";
import type { StringCompare } from "./values.js";

/** A collation as MongoDB accepts it (https://www.mongodb.com/docs/manual/reference/collation/). */
export interface Collation {
  locale: string;
  strength?: number;
  caseLevel?: boolean;
  caseFirst?: "upper" | "lower" | "off";
  numericOrdering?: boolean;
  alternate?: "non-ignorable" | "shifted";
  maxVariable?: "punct" | "space";
  backwards?: boolean;
  normalization?: boolean;
}

const FIELDS = new Set(["locale", "strength", "caseLevel", "caseFirst", "numericOrdering", "alternate", "maxVariable", "backwards", "normalization"]);

function shell(spec: Document): string {
  return `{ ${Object.entries(spec).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ")} }`;
}

/** The collation a command or index asked for; null for none or the binary `simple` locale. */
export function parseCollation(raw: unknown): Collation | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new MongoCommandError("TypeMismatch", "BSON field 'collation' is the wrong type, expected type 'object'");
  }
  const spec = raw as Document;
  for (const key of Object.keys(spec)) {
    if (!FIELDS.has(key)) throw new MongoCommandError("Location40415", `BSON field 'collation.${key}' is an unknown field.`);
  }
  if (typeof spec.locale !== "string") throw new MongoCommandError("Location40414", "BSON field 'collation.locale' is missing but a required field");
  if (spec.locale === "simple") {
    if (Object.keys(spec).length > 1) throw new MongoCommandError("BadValue", `If 'locale' is set to 'simple', no other fields may be set: ${shell(spec)}`);
    return null;
  }
  if (Intl.Collator.supportedLocalesOf([spec.locale.replace(/@.*$/, "").replace(/_/g, "-")]).length === 0 && spec.locale !== "root") {
    throw new MongoCommandError("BadValue", `Field 'locale' is invalid in: ${shell(spec)}`);
  }
  if (spec.strength !== undefined && ![1, 2, 3, 4, 5].includes(Number(spec.strength))) {
    throw new MongoCommandError("BadValue", `Field 'strength' must be an integer 1 through 5. Got: ${String(spec.strength)}`);
  }
  return spec as Collation;
}

/** A stable text for a collation (or its absence), to compare collations and key caches. */
export function collationKey(collation: Collation | null | undefined): string {
  if (!collation) return "";
  const { locale, strength = 3, caseLevel = false, caseFirst = "off", numericOrdering = false, alternate = "non-ignorable" } = collation;
  return JSON.stringify([locale, Number(strength), caseLevel, caseFirst, numericOrdering, alternate]);
}

const comparers = new Map<string, StringCompare>();

/**
 * String comparison under a collation, through ICU's collator (Intl.Collator): strength 1 ignores
 * case and diacritics, 2 ignores case, 3 (the default) tells them apart.
 */
export function collationCompare(collation: Collation): StringCompare {
  const key = collationKey(collation);
  let compare = comparers.get(key);
  if (!compare) {
    const strength = Number(collation.strength ?? 3);
    const sensitivity = strength === 1 ? (collation.caseLevel ? "case" : "base") : strength === 2 ? (collation.caseLevel ? "variant" : "accent") : "variant";
    const locale = collation.locale === "root" ? "und" : collation.locale.replace(/@.*$/, "").replace(/_/g, "-");
    const collator = new Intl.Collator(locale, {
      sensitivity,
      numeric: Boolean(collation.numericOrdering),
      caseFirst: collation.caseFirst === "upper" || collation.caseFirst === "lower" ? collation.caseFirst : "false",
      ignorePunctuation: collation.alternate === "shifted",
      usage: "sort",
    });
    compare = (a, b) => collator.compare(a, b);
    comparers.set(key, compare);
  }
  return compare;
}
