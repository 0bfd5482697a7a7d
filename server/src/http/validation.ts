import type { z } from "zod";
import { NON_FIELD_ERRORS, type FieldErrors } from "../../../shared/errors.js";
import { validationError, type AppError } from "./errors.js";

/** zod issues → `{"field.path": ["message"]}`; issues about the value as a whole → non_field_errors. */
export function fieldErrorsOf(error: z.ZodError): FieldErrors {
  const fieldErrors = new Map<string, string[]>();
  for (const issue of error.issues) {
    const key = issue.path.length > 0 ? issue.path.map(String).join(".") : NON_FIELD_ERRORS;
    fieldErrors.set(key, [...(fieldErrors.get(key) ?? []), issue.message]);
  }
  return toFieldErrors(fieldErrors);
}

/**
 * Keys come from the client's own JSON, "__proto__" included: Object.fromEntries defines them as
 * plain properties, where `obj[key] = …` would set the object's prototype instead.
 */
function toFieldErrors(entries: Map<string, string[]>): FieldErrors {
  return Object.fromEntries(entries);
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(fieldErrorsOf(result.error));
  return result.data;
}

const UNSAFE_KEY_MESSAGE = "keys may not start with \"$\", contain \".\" or be \"__proto__\"";

function isUnsafeKey(key: string): boolean {
  return key.startsWith("$") || key.includes(".") || key === "__proto__";
}

/**
 * Free-form JSON (context_data, result data…) is stored as given, so a key such as `$where`,
 * `$set` or `a.b` could turn into an operator or a path in some later query or update. Such bodies
 * are refused (400) rather than silently altered, so a client never stores something else than
 * it sent. Iterative, so a deeply nested body cannot overflow the stack.
 */
export function rejectUnsafeKeys(body: unknown): AppError | null {
  const pending: Array<{ value: unknown; path: string }> = [{ value: body, path: "" }];
  const fieldErrors = new Map<string, string[]>();
  while (pending.length > 0) {
    const { value, path } = pending.pop()!;
    if (value === null || typeof value !== "object") continue;
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      if (!Array.isArray(value) && isUnsafeKey(key)) fieldErrors.set(childPath, [UNSAFE_KEY_MESSAGE]);
      pending.push({ value: child, path: childPath });
    }
  }
  return fieldErrors.size > 0 ? validationError(toFieldErrors(fieldErrors)) : null;
}
