/**
 * A runtime net under the lifecycle's rule: a mongoose write that would change a task's `status`
 * throws unless the lifecycle marked it, so a new writer fails in its first test instead of
 * silently skipping the transition table and its events.
 */
import type { Query, Schema } from "mongoose";

const UPDATE_OPERATIONS = ["updateOne", "updateMany", "findOneAndUpdate", "replaceOne", "findOneAndReplace"] as const;

type AnyQuery = Query<unknown, unknown>;
const marked = new WeakSet<object>();

/** The lifecycle's own status writes. */
export function lifecycleWrite<T extends AnyQuery>(query: T): T {
  marked.add(query);
  return query;
}

export class StatusWriteOutsideLifecycleError extends Error {
  constructor(operation: string) {
    super(`tasks.${operation} writes status outside the task lifecycle (server/src/tasks/lifecycle): use one of its transitions`);
    this.name = "StatusWriteOutsideLifecycleError";
  }
}

function writesStatus(update: unknown): boolean {
  if (Array.isArray(update)) return update.some((stage) => writesStatus(stage));
  if (!update || typeof update !== "object") return false;
  return Object.entries(update as Record<string, unknown>).some(([key, value]) => {
    if (key === "status") return true;
    if (!key.startsWith("$") || !value || typeof value !== "object") return false;
    return Object.keys(value).some((field) => field === "status");
  });
}

export function statusWritesThroughLifecycle(schema: Schema): void {
  schema.pre([...UPDATE_OPERATIONS], { document: false, query: true }, function (this: AnyQuery) {
    if (marked.has(this)) return;
    if (writesStatus(this.getUpdate())) throw new StatusWriteOutsideLifecycleError(String(Reflect.get(this, "op") ?? "update"));
  });
  schema.pre("save", function () {
    if (!this.isNew && this.isModified("status")) throw new StatusWriteOutsideLifecycleError("save");
  });
}
