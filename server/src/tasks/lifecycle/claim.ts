/**
 * How a run takes its task: a server worker claims it in a free running slot of its brand, the
 * seller's extension leases its best due task; batch jobs pass the claim gate first either way.
 * The writes a run makes while it keeps its task (progress, lease renewals) are fenced on owning it.
 */
import type { Types } from "mongoose";
import { allBrands } from "../../brands/scope.js";
import type { Task, TaskModel } from "../model.js";
import { dueBy, extensionDueBy, fenceFilter, LEASE_ORDER, leaseEnd } from "./conditions.js";
import type { TaskEvents } from "./events.js";
import type { BrandSlots } from "./slots.js";
import type { ClaimAdmission, ClaimGate, ConditionalStatusChange, Fields, RunFence, StatusChange } from "./types.js";

/** Candidates an extension claim looks at before answering that nothing can be claimed now. */
const MAX_GATED_LOOKS = 20;

/** Tasks of no batch: nothing to ask before claiming them. */
export const NOT_A_BATCH_JOB = { $eq: [{ $ifNull: ["$batch_id", null] }, null] };

/** What a lease writes (one pipeline stage): started `now`, leased for the task's timeout with `token`. */
export function leaseFields(token: string, now = new Date()): Fields {
  return {
    started_at: now,
    updated_at: now,
    run_token: token,
    lease_expires_at: leaseEnd(now),
    // A lease handed back (release) was not an attempt: the next claim is that attempt again.
    attempt: { $add: [{ $ifNull: ["$attempt", 0] }, { $cond: [{ $eq: ["$plugin.handed_back", true] }, 0, 1] }] },
    "plugin.handed_back": false,
    progress_message: null,
    "plugin.progress_current": null,
    "plugin.progress_total": null,
    "plugin.sync_total_entries": null,
  };
}

/** A write refused by a unique index (here: the brand slot another run took first). */
function isDuplicateKey(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 11000;
}

export class TaskClaims {
  private gate: ClaimGate | null = null;

  constructor(
    private readonly tasks: TaskModel,
    private readonly slots: BrandSlots,
    private readonly change: StatusChange,
    private readonly changeIf: ConditionalStatusChange,
    private readonly events: TaskEvents,
  ) {}

  /** Batches decide whether their jobs may be claimed (concurrency, pause, credits). */
  useGate(gate: ClaimGate): void {
    this.gate = gate;
  }

  /**
   * Puts the task on its brand's waiting list and says so: a run that ended after this claim read
   * the slots, but before the task was in line, offered its slot to a list without it, and the
   * listener (the executor) offers it again now.
   */
  private async awaitSlot(found: { _id: Types.ObjectId; brand: number }, taskId: string, fairTag: number | null): Promise<void> {
    await this.slots.awaitSlot(found, fairTag);
    await this.events.emit("task.awaiting_slot", { task: { task_id: taskId, brand: found.brand } });
  }

  /**
   * A server worker claims a due pending task with a fresh run token, in a free running slot of its
   * brand; null when it is not there to take. When the brand has no free slot the task is marked
   * `awaiting_slot` (with `fairTag`, its place in line) and waits for `dispatchAwaiting`.
   */
  async claim(taskId: string, token: string, workerId: string, fairTag: number | null): Promise<Task | null> {
    // The _id is read first by the unique task_id, so the claim itself is an _id lookup: with the
    // claim's other conditions in the filter, a planner may prefer a (status, …) index and read
    // every pending task — the cost of a claim would then grow with the backlog.
    const found = await allBrands(this.tasks.findOne({ task_id: taskId }, { _id: 1, status: 1, brand: 1, batch_id: 1 }).lean());
    if (!found || found.status !== "pending") return null;
    const slot = await this.slots.freeBrandSlot(found.brand);
    if (slot === null) {
      await this.awaitSlot(found, taskId, fairTag);
      return null;
    }
    const admission = found.batch_id && this.gate ? await this.gate(found) : null;
    if (admission && admission.verdict !== "claim") {
      await this.refuse(found._id, admission);
      return null;
    }
    const now = new Date();
    let claimed: Task | null;
    try {
      claimed = await this.change(
        "claim",
        "pending",
        "running",
        { _id: found._id, task_id: taskId, executor: "server", ...dueBy(now) },
        {
          $set: { started_at: now, run_token: token, worker_id: workerId, progress_message: null, brand_slot: slot, awaiting_slot: false },
          $inc: { attempt: 1 },
        },
      );
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Another process took that slot between our read and this write: wait for the next one.
      claimed = null;
      await this.awaitSlot(found, taskId, fairTag);
    }
    if (!claimed) await admission?.release?.();
    return claimed;
  }

  /**
   * The seller's extension claims its best due task: leased for the task's timeout with `token`
   * (highest priority, then the oldest), among `brands` when given (those the seller is a member of).
   * Batch jobs pass the claim gate first, as server jobs do: a job its batch holds is skipped (the
   * next best is taken), one it suspends or cancels is moved so and the next best is looked at.
   */
  async claimLease(ownerUserId: number, token: string, brands: readonly number[] | null): Promise<Task | null> {
    const mine: Fields = { owner_user_id: ownerUserId, executor: "extension", ...(brands ? { brand: { $in: [...brands] } } : {}) };
    if (!this.gate) return this.lease(mine, token);
    const held: string[] = [];
    for (let look = 0; look < MAX_GATED_LOOKS; look++) {
      const filter: Fields = held.length ? { ...mine, batch_id: { $nin: held } } : mine;
      // One atomic command: the best task is leased unless it is a batch job, which is only looked at.
      const { changed, seen: best } = await this.changeIf("claim", "pending", "running", { ...filter, ...extensionDueBy(new Date()) }, leaseFields(token), NOT_A_BATCH_JOB, {
        sort: LEASE_ORDER,
      });
      if (changed || !best) return changed;
      const admission = await this.gate(best);
      if (admission.verdict === "hold") {
        held.push(best.batch_id!);
        continue;
      }
      if (admission.verdict !== "claim") {
        await this.refuse(best._id, admission);
        continue;
      }
      const leased = await this.lease({ ...filter, _id: best._id }, token);
      if (leased) return leased;
      await admission.release?.();
    }
    return null;
  }

  /** Suspends or cancels a pending job its batch does not admit. */
  private async refuse(id: Types.ObjectId, admission: ClaimAdmission): Promise<void> {
    if (admission.verdict === "suspend") await this.change("suspend", "pending", "suspended", { _id: id }, { $set: {} });
    if (admission.verdict === "cancel") {
      const at = new Date();
      await this.change("cancel", "pending", "cancelled", { _id: id }, { $set: { cancelled_at: at, completed_at: at, ...admission.cancelSet } });
    }
  }

  /** One atomic claim of the best due pending task matching `filter`, with a fresh lease. */
  private async lease(filter: Fields, token: string): Promise<Task | null> {
    return this.change("claim", "pending", "running", { ...filter, ...extensionDueBy(new Date()) }, [{ $set: leaseFields(token) }], { sort: LEASE_ORDER });
  }

  /** Progress, checkpoints: applied only while the run owns the task. False when it no longer does. */
  async recordRunning(fence: RunFence, set: Fields): Promise<boolean> {
    const updated = await this.tasks.updateOne({ ...fenceFilter(fence), status: "running" }, { $set: set });
    return updated.matchedCount === 1;
  }

  /** An extension heartbeat: extends the lease by the task's timeout (and writes `set`) while it has not ended. */
  async renewLease(fence: RunFence, set: Fields): Promise<Task | null> {
    const now = new Date();
    return this.tasks
      .findOneAndUpdate(
        { ...fenceFilter(fence), status: "running", lease_expires_at: { $gte: now } },
        [{ $set: { ...set, updated_at: now, lease_expires_at: leaseEnd(now) } }],
        { returnDocument: "after", updatePipeline: true, timestamps: false },
      )
      .lean<Task>();
  }
}
