/**
 * Extension leases: a claim leases the seller's best due task for its timeout with a fresh token;
 * a lease that ends without a result goes back to the queue (an attempt counted) or fails, by the
 * lifecycle's one retry rule. The sweeper finds ended leases every PLUGIN_LEASE_SWEEP_MS; a claim
 * that finds nothing puts back the seller's own ended leases, so no sweep is needed in between.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { allBrands } from "../brands/scope.js";
import { notPastClaimBy } from "../tasks/lifecycle/conditions.js";
import type { FailureOutcome, TaskLifecycle } from "../tasks/lifecycle/index.js";
import type { Task } from "../tasks/model.js";
import { LeasedCopies } from "./leased-copies.js";

const SWEEP_BATCH = 500;

/** Extension tasks a claim may take now: pending and due, or running on a lease that has ended. */
export function claimableFilter(now: Date) {
  return {
    executor: "extension" as const,
    $or: [
      { status: "pending" as const, $and: [{ $or: [{ scheduled_for: null }, { scheduled_for: { $lte: now } }] }, notPastClaimBy(now)] },
      { status: "running" as const, lease_expires_at: { $lt: now } },
    ],
  };
}

export interface LeaseOptions {
  sweepMs: number;
}

export class ExtensionLeases {
  /** What this process's claims handed out, for their results (leased-copies.ts). */
  readonly copies = new LeasedCopies();
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(
    private readonly lifecycle: TaskLifecycle,
    private readonly options: LeaseOptions,
    private readonly logger: Logger,
    private readonly memberBrandIds: ((userId: number) => Promise<number[]>) | null = null,
  ) {}

  start(): void {
    if (this.sweepTimer) return;
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.sweepMs);
    this.sweepTimer.unref();
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.expireLeases();
      await this.cancelUnclaimed();
    } catch (err) {
      this.logger.warn({ err }, "plugin lease sweep failed");
    } finally {
      this.sweeping = false;
    }
  }

  /** Puts back (or fails) every extension task whose lease has ended; one seller's only when given. */
  async expireLeases(ownerUserId?: number): Promise<number> {
    const filter: Record<string, unknown> = { executor: "extension", status: "running", lease_expires_at: { $lt: new Date() } };
    if (ownerUserId !== undefined) filter.owner_user_id = ownerUserId;
    const expired = await allBrands(this.lifecycle.tasks.find(filter).limit(SWEEP_BATCH).lean<Task[]>());
    let n = 0;
    for (const task of expired) if (await this.expire(task)) n++;
    return n;
  }

  /**
   * Pending tasks whose claim window closed (no extension took them in time) are cancelled, saying
   * so: whoever waits for one is resumed by the lifecycle's listeners and goes on without it.
   */
  async cancelUnclaimed(now = new Date()): Promise<number> {
    const late = await allBrands(
      this.lifecycle.tasks.find({ executor: "extension", status: "pending", "plugin.claim_by": { $lte: now } }).limit(SWEEP_BATCH).lean<Task[]>(),
    );
    let n = 0;
    for (const task of late) {
      const seconds = Math.round((task.plugin!.claim_by!.getTime() - task.created_at.getTime()) / 1000);
      const message = `No extension of the seller took this task within ${seconds} s: it was not run`;
      if (await this.lifecycle.cancel(task, now, { error_message: message, "plugin.error_code": "NOT_CLAIMED" })) n++;
    }
    if (n > 0) this.logger.info({ cancelled: n }, "extension tasks not claimed in time were cancelled");
    return n;
  }

  /** Back to the queue (the seller's long-poll is woken by the lifecycle's listeners) or failed. */
  async expire(task: Task): Promise<FailureOutcome | null> {
    this.copies.drop(task.task_id);
    const outcome = await this.lifecycle.expireLease(task);
    if (outcome) this.logger.warn({ task_id: task.task_id, attempt: task.attempt, requeued: outcome.outcome === "retried" }, "extension lease expired");
    return outcome;
  }

  /**
   * One atomic claim of the seller's best due task, with a fresh lease. Only when there is none are
   * the seller's own ended leases looked for (the sweeper may not have run yet): put back, they are
   * claimed at once.
   */
  async claim(userId: number): Promise<Task | null> {
    // Only tasks of brands the seller is still a member of: a removed member is handed none of that brand's.
    const brands = this.memberBrandIds ? await this.memberBrandIds(userId) : null;
    const claimed = (await this.lifecycle.claimLease(userId, randomUUID(), brands)) ?? (await this.claimAfterExpiring(userId, brands));
    if (claimed) this.copies.keep(claimed);
    return claimed;
  }

  private async claimAfterExpiring(userId: number, brands: number[] | null): Promise<Task | null> {
    if ((await this.expireLeases(userId)) === 0) return null;
    return this.lifecycle.claimLease(userId, randomUUID(), brands);
  }
}
