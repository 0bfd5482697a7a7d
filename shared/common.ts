/** Building blocks shared by every API contract: ids, timestamps, query values, pagination. */
import { z } from "zod";

/** Users, brands, tasks… carry integer ids allocated from a counters collection. */
export const IntegerIdSchema = z.number().int().positive();

/** A path or header segment that must hold an integer id ("9", not "9a" nor "09.5"). */
export const IntegerIdStringSchema = z
  .string()
  .regex(/^[1-9]\d{0,15}$/, "must be a positive integer")
  .transform(Number);

export const IdParamsSchema = z.object({ id: IntegerIdStringSchema });

/** Emails are compared lower-cased and trimmed, so "Martin@X.fr " and "martin@x.fr" are one account. */
export const EmailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email());

/** ISO 8601 UTC timestamps, as the specs show them ("2024-12-20T14:30:00Z"). */
export const TimestampSchema = z.iso.datetime();

/**
 * Query values arrive as strings (Express's simple parser; a repeated key gives an array and is
 * refused). Booleans are spelled out, since z.coerce.boolean() would read "false" as true.
 */
export const QueryBooleanSchema = z.enum(["true", "false"]).transform((v) => v === "true");

export const PAGE_SIZE_MAX = 100;

export const PageQuerySchema = z.object({
  page: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(20),
});
export type PageQuery = z.infer<typeof PageQuerySchema>;

/**
 * The list envelope of spec/task-core-api.md: `next`/`previous` link the neighbour pages relative to
 * the list's URL, as the spec shows them ("?page=2"), keeping the other query parameters.
 */
export function paginated<T extends z.ZodType>(item: T) {
  return z.object({
    count: z.number().int().min(0),
    next: z.string().nullable(),
    previous: z.string().nullable(),
    results: z.array(item),
  });
}
/** A page of T, as `paginated()` declares it. */
export type Page<T> = Omit<z.infer<ReturnType<typeof paginated<z.ZodUnknown>>>, "results"> & { results: T[] };

/** `a,b,c` → ["a","b","c"], each checked against `values` (or an alias in `extra` standing for several), duplicates dropped; a bad value is reported under the parameter's own name. */
export function commaListOf<const T extends readonly [string, ...string[]]>(values: T, extra: Record<string, readonly T[number][]> = {}) {
  const allowed: string[] = [...values, ...Object.keys(extra)];
  return z.string().transform((raw, ctx) => {
    const list = raw.split(",").map((v) => v.trim()).filter(Boolean);
    const unknown = list.filter((v) => !allowed.includes(v));
    if (list.length === 0 || unknown.length > 0) {
      ctx.addIssue({ code: "custom", message: `Valeur invalide${unknown.length ? ` (${unknown.join(", ")})` : ""}. Choix: ${allowed.join(", ")}` });
      return z.NEVER;
    }
    return [...new Set(list.flatMap((v) => extra[v] ?? [v]))] as T[number][];
  });
}
