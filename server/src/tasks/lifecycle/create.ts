/**
 * The birth of tasks: one at a time, or a batch's jobs in chunks built from one validated document
 * each. Every creation path passes the creation check first (the queued quota).
 */
import { Types, type Connection } from "mongoose";
import { nextSequence, SequenceBlocks } from "../../db/counters.js";
import type { PlainCollection } from "../../db/plain-collection.js";
import type { Task, TaskModel } from "../model.js";
import { rankOf } from "./conditions.js";
import type { TaskEvents } from "./events.js";
import type { CreationCheck, NewTask } from "./types.js";

/** Fields in which the tasks of one createMany call may differ and still share one validated document. */
const PER_TASK_FIELDS = new Set(["task_id", "context_data"]);

function sharesFieldsWith(input: NewTask, first: NewTask): boolean {
  const a = input as Record<string, unknown>;
  const b = first as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (!PER_TASK_FIELDS.has(key) && a[key] !== b[key]) return false;
  return true;
}

/** Kinds of single creation (fields other than task_id and context_data) whose validated document is kept. */
const TEMPLATES_KEPT = 256;

function sharedFieldsKey(input: NewTask): string {
  const { task_id: _taskId, context_data: _contextData, ...shared } = input;
  return JSON.stringify(shared);
}

/** A copy whose objects and arrays are its own (other values are immutable, or replaced whole by updates). */
function copyOf<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copyOf) as T;
  if (value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) out[key] = copyOf(field);
  return out as T;
}

/** Task ids one counter step reserves for this process's single creations. */
const TASK_ID_BLOCK = 64;

export class TaskCreation {
  private check: CreationCheck | null = null;
  /** Ids of single creations: one counter round trip per block, not per task. */
  private readonly ids: SequenceBlocks;
  /** Validated documents of recent single creations, by sharedFieldsKey (oldest first). */
  private readonly templates = new Map<string, Task>();

  constructor(
    private readonly connection: Connection,
    private readonly tasks: TaskModel,
    private readonly plainTasks: PlainCollection,
    private readonly events: TaskEvents,
  ) {
    this.ids = new SequenceBlocks(connection, "tasks", TASK_ID_BLOCK);
  }

  /** Every creation path (API, batches, schedules, publication, plugin) passes this check first. */
  useCheck(check: CreationCheck): void {
    this.check = check;
  }

  /** Stores a new task, pending (due now or at `scheduled_for`), and announces it. */
  async create(input: NewTask): Promise<Task> {
    const reservation = await this.check?.(input.brand, 1);
    let task: Task;
    try {
      task = await this.insertOne(input);
    } catch (err) {
      await reservation?.giveBack(1);
      throw err;
    }
    await this.events.emit("task.created", { task });
    return task;
  }

  /** Validated by the schema, then one plain insert (what mongoose's create adds is not needed here). */
  private async insertOne(input: NewTask): Promise<Task> {
    const task = await this.documentOf(input, await this.ids.take(), new Date());
    await this.plainTasks.insertOne(task);
    return task;
  }

  /**
   * The stored form of a single creation. Its schema defaults, casts and validation depend only on
   * its fields other than `task_id` and `context_data`, so a seller's tasks of one kind are built
   * from the document validated for the first of them (kept among the last TEMPLATES_KEPT kinds).
   */
  private async documentOf(input: NewTask, id: number, now: Date): Promise<Task> {
    const key = sharedFieldsKey(input);
    const template = this.templates.get(key);
    if (!template) {
      const task = await this.validated(input, id, now);
      this.remember(key, task);
      return task;
    }
    // The template's key order is kept: `_id` first, as the engine stores it.
    return { ...copyOf(template), _id: new Types.ObjectId(), id, task_id: input.task_id, context_data: input.context_data ?? {}, created_at: now, updated_at: now };
  }

  private remember(key: string, task: Task): void {
    if (this.templates.size >= TEMPLATES_KEPT) this.templates.delete(this.templates.keys().next().value!);
    this.templates.set(key, copyOf(task));
  }

  /**
   * Stores many new pending tasks (a batch's jobs) with insertMany in chunks, and announces each
   * chunk with one `tasks.created` event. Ids are reserved in one counter step per chunk. Tasks that
   * differ only in `task_id` and `context_data` (a batch's jobs) are built from one validated
   * document per chunk instead of one mongoose document each.
   */
  async createMany(inputs: NewTask[], chunkSize: number): Promise<number> {
    const reservation = inputs.length > 0 ? await this.check?.(inputs[0].brand, inputs.length) : undefined;
    let stored = 0;
    for (let start = 0; start < inputs.length; start += chunkSize) {
      const chunk = inputs.slice(start, start + chunkSize);
      try {
        const last = await nextSequence(this.connection, "tasks", chunk.length);
        const docs = await this.documentsOf(chunk, last - chunk.length + 1);
        await this.tasks.insertMany(docs, { ordered: true, lean: true });
        stored += docs.length;
        await this.events.emit("tasks.created", { brand: chunk[0].brand, batch_id: chunk[0].batch_id ?? null, tasks: docs });
      } catch (err) {
        // The part of a chunk stored before an ordered insert failed stays counted.
        const partly = Number((err as { insertedCount?: unknown }).insertedCount ?? 0) || 0;
        await reservation?.giveBack(inputs.length - stored - partly);
        throw err;
      }
    }
    return stored;
  }

  /** The stored form of each input, with its defaults and timestamps, validated by the schema. */
  private async documentsOf(chunk: NewTask[], firstId: number): Promise<Task[]> {
    const now = new Date();
    // `_id` first, as the engine stores it (a document in any other order is rebuilt on insert).
    const { _id: _first, ...shared } = await this.validated(chunk[0], firstId, now);
    return Promise.all(
      chunk.map(async (input, i) => {
        const id = firstId + i;
        if (!sharesFieldsWith(input, chunk[0])) return this.validated(input, id, now);
        return { _id: new Types.ObjectId(), ...shared, id, task_id: input.task_id, context_data: input.context_data ?? {} };
      }),
    );
  }

  private async validated(input: NewTask, id: number, now: Date): Promise<Task> {
    const doc = new this.tasks({ ...input, id, priority_rank: rankOf(input), created_at: now, updated_at: now });
    await doc.validate();
    return doc.toObject() as Task;
  }
}
