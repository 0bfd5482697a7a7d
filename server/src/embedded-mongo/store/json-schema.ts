import { Binary, Decimal128, Double, Int32, Long, ObjectId, Timestamp, type Document } from "bson";
import { compareValues } from "./values.js";

/*
 * MongoDB's `$jsonSchema` (draft 4 with `bsonType`, https://www.mongodb.com/docs/manual/reference/operator/query/jsonSchema/),
 * given to mingo as its schema validator: it backs `$jsonSchema` in queries and collection validators.
 */

type Check = (value: unknown) => boolean;

function bsonTypeOf(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "number") return Number.isInteger(v) && Math.abs(v) <= 0x7fffffff ? "int" : "double";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (Array.isArray(v)) return "array";
  if (v instanceof Date) return "date";
  if (v instanceof RegExp) return "regex";
  if (v instanceof ObjectId) return "objectId";
  if (v instanceof Timestamp) return "timestamp";
  if (v instanceof Long) return "long";
  if (v instanceof Int32) return "int";
  if (v instanceof Double) return "double";
  if (v instanceof Decimal128) return "decimal";
  if (v instanceof Binary || ArrayBuffer.isView(v)) return "binData";
  return "object";
}

const NUMBER_TYPES = new Set(["int", "long", "double", "decimal"]);

function hasBsonType(v: unknown, wanted: string): boolean {
  const type = bsonTypeOf(v);
  if (wanted === "number") return NUMBER_TYPES.has(type);
  if (wanted === "integer") return type === "int" || type === "long";
  return type === wanted;
}

/** JSON Schema's `type` keywords, which MongoDB maps onto BSON types. */
function hasJsonType(v: unknown, wanted: string): boolean {
  const type = bsonTypeOf(v);
  switch (wanted) {
    case "object":
      return type === "object";
    case "array":
      return type === "array";
    case "number":
      return NUMBER_TYPES.has(type);
    case "boolean":
      return type === "bool";
    case "string":
      return type === "string";
    case "null":
      return type === "null";
    default:
      throw new Error(`$jsonSchema: unknown type: ${wanted}`);
  }
}

function isObject(v: unknown): v is Document {
  return bsonTypeOf(v) === "object";
}

function asList(v: unknown): string[] {
  return (Array.isArray(v) ? v : [v]).map(String);
}

function numberOf(v: unknown): number {
  return Number(v instanceof Long ? v.toNumber() : v);
}

/** Compiles a schema into a predicate over one value. */
export function compileSchema(schema: Document): Check {
  const checks: Check[] = [];
  const add = (check: Check) => checks.push(check);
  const s = schema;
  if (s.bsonType !== undefined) {
    const types = asList(s.bsonType);
    add((v) => types.some((t) => hasBsonType(v, t)));
  }
  if (s.type !== undefined) {
    const types = asList(s.type);
    add((v) => types.some((t) => hasJsonType(v, t)));
  }
  if (Array.isArray(s.enum)) {
    const allowed = s.enum as unknown[];
    add((v) => allowed.some((a) => compareValues(a, v) === 0));
  }
  // Keywords for one kind of value leave the other kinds alone, as in JSON Schema.
  const numeric = (check: (n: number) => boolean): Check => (v) => !NUMBER_TYPES.has(bsonTypeOf(v)) || check(numberOf(v));
  if (s.minimum !== undefined) add(numeric((n) => (s.exclusiveMinimum === true ? n > numberOf(s.minimum) : n >= numberOf(s.minimum))));
  if (s.maximum !== undefined) add(numeric((n) => (s.exclusiveMaximum === true ? n < numberOf(s.maximum) : n <= numberOf(s.maximum))));
  if (s.multipleOf !== undefined) add(numeric((n) => n % numberOf(s.multipleOf) === 0));
  const text = (check: (t: string) => boolean): Check => (v) => typeof v !== "string" || check(v);
  if (s.minLength !== undefined) add(text((t) => [...t].length >= numberOf(s.minLength)));
  if (s.maxLength !== undefined) add(text((t) => [...t].length <= numberOf(s.maxLength)));
  if (s.pattern !== undefined) {
    const re = new RegExp(String(s.pattern), "u");
    add(text((t) => re.test(t)));
  }
  addArrayChecks(s, add);
  addObjectChecks(s, add);
  if (Array.isArray(s.allOf)) {
    const subs = (s.allOf as Document[]).map(compileSchema);
    add((v) => subs.every((c) => c(v)));
  }
  if (Array.isArray(s.anyOf)) {
    const subs = (s.anyOf as Document[]).map(compileSchema);
    add((v) => subs.some((c) => c(v)));
  }
  if (Array.isArray(s.oneOf)) {
    const subs = (s.oneOf as Document[]).map(compileSchema);
    add((v) => subs.filter((c) => c(v)).length === 1);
  }
  if (isObject(s.not)) {
    const sub = compileSchema(s.not);
    add((v) => !sub(v));
  }
  return (v) => checks.every((c) => c(v));
}

function addArrayChecks(s: Document, add: (c: Check) => void): void {
  const array = (check: (a: unknown[]) => boolean): Check => (v) => !Array.isArray(v) || check(v);
  if (s.minItems !== undefined) add(array((a) => a.length >= numberOf(s.minItems)));
  if (s.maxItems !== undefined) add(array((a) => a.length <= numberOf(s.maxItems)));
  if (s.uniqueItems === true) add(array((a) => a.every((x, i) => a.findIndex((y) => compareValues(x, y) === 0) === i)));
  if (isObject(s.items)) {
    const item = compileSchema(s.items);
    add(array((a) => a.every(item)));
  } else if (Array.isArray(s.items)) {
    const positional = (s.items as Document[]).map(compileSchema);
    const extra = s.additionalItems;
    const rest: Check = extra === false ? () => false : isObject(extra) ? compileSchema(extra) : () => true;
    add(array((a) => a.every((x, i) => (i < positional.length ? positional[i](x) : rest(x)))));
  }
}

function addObjectChecks(s: Document, add: (c: Check) => void): void {
  const object = (check: (o: Document) => boolean): Check => (v) => !isObject(v) || check(v);
  if (Array.isArray(s.required)) {
    const required = (s.required as unknown[]).map(String);
    add(object((o) => required.every((k) => o[k] !== undefined)));
  }
  if (s.minProperties !== undefined) add(object((o) => Object.keys(o).length >= numberOf(s.minProperties)));
  if (s.maxProperties !== undefined) add(object((o) => Object.keys(o).length <= numberOf(s.maxProperties)));
  const properties = isObject(s.properties) ? Object.entries(s.properties).map(([k, sub]) => [k, compileSchema(sub as Document)] as const) : [];
  for (const [key, check] of properties) add(object((o) => o[key] === undefined || check(o[key])));
  const patterns = isObject(s.patternProperties)
    ? Object.entries(s.patternProperties).map(([p, sub]) => [new RegExp(p, "u"), compileSchema(sub as Document)] as const)
    : [];
  for (const [re, check] of patterns) add(object((o) => Object.entries(o).every(([k, v]) => !re.test(k) || check(v))));
  if (s.additionalProperties !== undefined && s.additionalProperties !== true) {
    const known = new Set(properties.map(([k]) => k));
    const extra: Check = s.additionalProperties === false ? () => false : compileSchema(s.additionalProperties as Document);
    add(object((o) => Object.entries(o).every(([k, v]) => known.has(k) || patterns.some(([re]) => re.test(k)) || extra(v))));
  }
  if (isObject(s.dependencies)) {
    for (const [key, dep] of Object.entries(s.dependencies)) {
      const check: (o: Document) => boolean = Array.isArray(dep)
        ? (o) => dep.every((k) => o[String(k)] !== undefined)
        : ((sub) => (o: Document) => sub(o))(compileSchema(dep as Document));
      add(object((o) => o[key] === undefined || check(o)));
    }
  }
}

/** mingo's `jsonSchemaValidator` option. */
export function jsonSchemaValidator(schema: Document): (doc: unknown) => boolean {
  return compileSchema(schema);
}
