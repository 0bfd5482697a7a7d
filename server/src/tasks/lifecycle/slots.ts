/**
 * The brand's running slots and its waiting list: a server run holds one of its brand's numbered
 * slots (a unique index over running tasks refuses a second holder); a task claimed while every
 * slot is taken stays pending, marked `awaiting_slot` with its place in line (`fair_tag`), until a
 * slot is offered to it. None of these writes changes a status.
 */
import type { Types } from "mongoose";
import { allBrands } from "../../brands/scope.js";
import type { Task, TaskModel } from "../model.js";

export class BrandSlots {
  constructor(
    private readonly tasks: TaskModel,
    /** Server tasks one brand may have running at once. */
    readonly limit: number,
  ) {}

  /** The lowest running slot of the brand no run holds; null when every slot is taken. */
  async freeBrandSlot(brand: number): Promise<number | null> {
    const limit = this.limit;
    const running = await this.tasks.find({ brand, executor: "server", status: "running" }, { brand_slot: 1 }).limit(limit + 1).lean<Task[]>();
    // Runs without a slot (started before slots existed) count too.
    if (running.length >= limit) return null;
    const taken = new Set(running.map((t) => t.brand_slot));
    for (let slot = 0; slot < limit; slot++) if (!taken.has(slot)) return slot;
    return null;
  }

  /** Whether some task of the brand waits for a running slot (new ones then wait behind it, in order). */
  async hasAwaiting(brand: number): Promise<boolean> {
    return (await this.tasks.exists({ awaiting_slot: true, brand, status: "pending", executor: "server" })) !== null;
  }

  /** Queued tasks go straight to their brand's waiting list (its slots are spoken for), each with its place in line. */
  async park(entries: Array<{ task: Pick<Task, "task_id" | "brand">; fairTag: number }>): Promise<void> {
    if (entries.length === 0) return;
    await this.tasks.bulkWrite(
      entries.map(({ task, fairTag }) => ({
        updateOne: { filter: { task_id: task.task_id, brand: task.brand, status: "pending" as const }, update: { $set: { awaiting_slot: true, fair_tag: fairTag } } },
      })),
      { ordered: false },
    );
  }

  /** The task waits for its brand's next free slot, at `fairTag` in line. */
  async awaitSlot(task: { _id: Types.ObjectId; brand: number }, fairTag: number | null): Promise<void> {
    await this.tasks.updateOne({ _id: task._id, brand: task.brand, status: "pending" }, { $set: { awaiting_slot: true, fair_tag: fairTag } });
  }

  /** Running server tasks of the brand (for how many waiting tasks may be offered a slot). */
  async runningCount(brand: number): Promise<number> {
    return this.tasks.countDocuments({ brand, executor: "server", status: "running" });
  }

  /**
   * Up to `count` of the brand's tasks waiting for a slot, best first (priority, then their place in
   * line), each taken off the waiting list by one conditional write: several processes offering
   * slots at once never hand the same task out twice.
   */
  async takeAwaiting(brand: number, count: number): Promise<Task[]> {
    if (count <= 0) return [];
    const rows = await this.tasks
      .find({ awaiting_slot: true, brand, status: "pending", executor: "server" })
      .sort({ priority_rank: -1, fair_tag: 1, id: 1 })
      .limit(count)
      .lean<Task[]>();
    const taken: Task[] = [];
    for (const row of rows) {
      const res = await this.tasks.updateOne({ _id: row._id, brand, awaiting_slot: true, status: "pending" }, { $set: { awaiting_slot: false } });
      if (res.modifiedCount === 1) taken.push(row);
    }
    return taken;
  }

  /** Brands with tasks waiting for a slot (the periodic sweep's work list). */
  async brandsAwaiting(): Promise<number[]> {
    return allBrands(this.tasks.distinct("brand", { awaiting_slot: true, status: "pending", executor: "server" })) as Promise<number[]>;
  }
}
