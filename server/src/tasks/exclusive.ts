/**
 * Exclusive keys: at most one live task per key (a publication of one product to one marketplace).
 *
 * A task owns its key while its `exclusive_slot` holds it; a unique index on that field makes taking
 * the key one atomic write (the task's creation, or its retry), so two concurrent requests can
 * never both succeed. A task that ended without succeeding (failed, cancelled) keeps its slot until
 * someone needs it: the writer that collides with it frees it (conditioned on the holder still being
 * ended) and tries again. Nothing has to run when a task fails for the key to become free.
 */
import { RETRYABLE_STATUSES } from "../../../shared/tasks.js";
import type { Task, TaskModel } from "./model.js";

const DUPLICATE_KEY = 11000;
/** Collisions with ended holders, freed one after another; more means something keeps re-taking it. */
const MAX_ATTEMPTS = 5;

export type SlotOutcome<T> = { taken: true; value: T } | { taken: false; holder: Task | null };

export function isSlotCollision(err: unknown): boolean {
  const e = err as { code?: number; keyPattern?: Record<string, unknown>; message?: string };
  return e.code === DUPLICATE_KEY && (e.keyPattern ? "exclusive_slot" in e.keyPattern : String(e.message).includes("exclusive_slot"));
}

/**
 * Runs `write`, which stores a task with `exclusive_slot: key`. When a live task (pending, running,
 * suspended, completed) holds the key, answers it as `holder` and writes nothing.
 */
export async function takeExclusiveSlot<T>(tasks: TaskModel, brand: number, key: string, write: () => Promise<T>): Promise<SlotOutcome<T>> {
  let holder: Task | null = null;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      return { taken: true, value: await write() };
    } catch (err) {
      if (!isSlotCollision(err)) throw err;
    }
    holder = await tasks.findOne({ brand, exclusive_slot: key }).lean<Task>();
    if (holder && !hasEnded(holder)) return { taken: false, holder };
    if (holder) await freeSlot(tasks, holder, key);
  }
  return { taken: false, holder };
}

function hasEnded(task: Pick<Task, "status">): boolean {
  return (RETRYABLE_STATUSES as readonly string[]).includes(task.status);
}

/** Only while the holder is still ended: a retry that made it live again meanwhile keeps its key. */
async function freeSlot(tasks: TaskModel, holder: Task, key: string): Promise<void> {
  await tasks.updateOne({ _id: holder._id, brand: holder.brand, exclusive_slot: key, status: { $in: [...RETRYABLE_STATUSES] } }, { $set: { exclusive_slot: null } });
}
