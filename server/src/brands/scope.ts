/**
 * Tenancy in one place. A schema that takes `brandScoped` gets a required, indexed `brand` field,
 * and every query, update, delete and aggregation on it must filter by brand or it throws — a
 * route that forgets the filter fails loudly in its first test instead of leaking another brand's
 * data. Routes never build the filter by hand: they pass `ctx.brand` to `brandFilter`.
 * Server-side work that legitimately spans brands (workers, schedulers) says so with `allBrands`.
 */
import type { Aggregate, Query, Schema } from "mongoose";
import type { BrandAccess } from "../http/context.js";

export const BRAND_FIELD = "brand";

const QUERY_OPERATIONS = [
  "countDocuments",
  "deleteMany",
  "deleteOne",
  "distinct",
  "find",
  "findOne",
  "findOneAndDelete",
  "findOneAndReplace",
  "findOneAndUpdate",
  "replaceOne",
  "updateMany",
  "updateOne",
] as const;

type AnyQuery = Query<unknown, unknown>;
type AnyAggregate = Aggregate<unknown>;

const crossBrand = new WeakSet<object>();

/** Marks one query or aggregation as deliberately spanning brands (background jobs, admin tools). */
export function allBrands<T extends AnyQuery | AnyAggregate>(operation: T): T {
  crossBrand.add(operation);
  return operation;
}

/** `{...filter, brand}` for the brand the request acts for. */
export function brandFilter<F extends object>(brand: BrandAccess, filter?: F): F & { brand: number } {
  return { ...(filter ?? ({} as F)), brand: brand.brandId };
}

export class MissingBrandFilterError extends Error {
  constructor(model: string, operation: string) {
    super(`${model}.${operation} on a brand-scoped collection without a brand filter (use brandFilter(ctx.brand, …) or allBrands(query))`);
    this.name = "MissingBrandFilterError";
  }
}

export function brandScoped(schema: Schema): void {
  schema.add({ [BRAND_FIELD]: { type: Number, required: true, index: true } });

  schema.pre([...QUERY_OPERATIONS], { document: false, query: true }, function (this: AnyQuery) {
    if (crossBrand.has(this)) return;
    const filter = this.getFilter() as Record<string, unknown>;
    if (filter[BRAND_FIELD] === undefined || filter[BRAND_FIELD] === null) {
      throw new MissingBrandFilterError(this.model.modelName, String(Reflect.get(this, "op") ?? "query"));
    }
    if (changesBrand(this.getUpdate())) throw new Error(`${this.model.modelName}: a document cannot move to another brand`);
  });

  schema.pre("aggregate", function (this: AnyAggregate) {
    if (crossBrand.has(this)) return;
    const first = this.pipeline()[0] as { $match?: Record<string, unknown> } | undefined;
    if (first?.$match?.[BRAND_FIELD] === undefined) {
      throw new MissingBrandFilterError(this.model().modelName, "aggregate");
    }
  });
}

function changesBrand(update: unknown): boolean {
  if (!update || typeof update !== "object" || Array.isArray(update)) return false;
  return Object.entries(update).some(([key, value]) =>
    key === BRAND_FIELD || (key.startsWith("$") && value !== null && typeof value === "object" && BRAND_FIELD in value),
  );
}
