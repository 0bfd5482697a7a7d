/**
 * Delivery of extension tasks to the seller's browser: a plain poll claims at once; a long-poll
 * (`?wait=N`) holds the request until a task of the seller's becomes claimable (woken by the
 * lifecycle's events in this process, or found by a periodic re-check when another process made
 * it) or N seconds pass. A seller this process knows has nothing to claim (claim-hints.ts) is
 * answered without the database.
 */
import type { Logger } from "pino";
import type { PluginPollCounters } from "../../../shared/monitoring.js";
import type { PollResponse } from "../../../shared/plugin.js";
import { tokenError } from "../auth/tokens.js";
import { allBrands } from "../brands/scope.js";
import type { PluginConfig } from "../config.js";
import type { Principal } from "../http/context.js";
import { AppError } from "../http/errors.js";
import type { Task, TaskModel } from "../tasks/model.js";
import { ClaimHints } from "./claim-hints.js";
import { claimableFilter, type ExtensionLeases } from "./leases.js";
import { PollLimiter } from "./poll-limiter.js";
import { toClaimedTask } from "./view.js";
import { LongPollWaiters } from "./waiters.js";

export const NO_PENDING_TASKS = { task_id: null, message: "No pending tasks" } as const;

export interface DeliveryDeps {
  tasks: TaskModel;
  leases: ExtensionLeases;
  config: PluginConfig;
  logger: Logger;
  isDraining: () => boolean;
  /** A long-poll authenticated before a logout must not claim work after it. */
  isSessionOpen: (principal: Principal) => Promise<boolean>;
}

export class ExtensionDelivery {
  readonly limiter: PollLimiter;
  readonly waiters: LongPollWaiters;
  readonly hints: ClaimHints;
  /** Since start; shown by GET /tasks/monitoring/workers/overview/. */
  readonly counters: PluginPollCounters = { empty: 0, without_database: 0, database_claims: 0, claimed: 0 };

  constructor(private readonly deps: DeliveryDeps) {
    this.limiter = new PollLimiter(deps.config.pollIntervalMs, deps.config.pollToleranceMs);
    this.waiters = new LongPollWaiters({
      recheckMs: deps.config.longPollRecheckMs,
      isDraining: deps.isDraining,
      findReady: (userIds) => this.sellersWithWork(userIds),
      logger: deps.logger,
    });
    this.hints = new ClaimHints({
      recheckMs: deps.config.longPollRecheckMs,
      findSellersWithWork: () => this.allSellersWithWork(),
      onFound: (userIds) => userIds.forEach((userId) => this.waiters.notify(userId)),
      logger: deps.logger,
    });
  }

  /** Held polls are taken; the claimable-work marks are built, then kept up to date. */
  async open(): Promise<void> {
    this.waiters.open();
    await this.hints.start();
  }

  /** Answers every held long-poll. */
  close(): void {
    this.hints.stop();
    this.waiters.close();
  }

  /**
   * Listener of the lifecycle: a task of this seller's became claimable (created, retried, lease
   * expired, resumed). `many`: it stands for several (a batch's jobs), how many is not counted.
   */
  wakeSeller(task: Task, many = false): void {
    if (task.executor !== "extension" || task.status !== "pending" || task.owner_user_id === null) return;
    this.hints.mark(task.owner_user_id, many);
    this.waiters.notify(task.owner_user_id);
  }

  /**
   * GET /api/plugin/tasks[?wait=N]: the seller's next task, leased, or "No pending tasks" — at once,
   * or when one arrives within N seconds. `clientGone` stops the wait without claiming anything.
   */
  async poll(principal: Principal, waitSeconds: number, clientGone: AbortSignal): Promise<PollResponse> {
    const userId = principal.userId;
    const decision = this.limiter.take(userId);
    if (!decision.ok) {
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      throw new AppError(429, "RATE_LIMITED", `Polling too fast: at most one poll every ${this.deps.config.pollIntervalMs / 1000}s; retry in ${seconds}s.`, {
        headers: { "Retry-After": String(seconds) },
      });
    }
    const deadline = Date.now() + waitSeconds * 1000;
    const waiter = waitSeconds > 0 ? this.waiters.register(userId) : null;
    // Only a waiter can be woken by the client leaving; a plain poll adds no listener.
    const onGone = () => waiter?.wake("closing");
    if (waiter) clientGone.addEventListener("abort", onGone);
    try {
      for (;;) {
        if (clientGone.aborted) return this.nothing();
        const task = await this.claim(userId);
        if (task) {
          this.limiter.release(userId);
          return toClaimedTask(task);
        }
        const remaining = deadline - Date.now();
        if (!waiter || remaining <= 0) return this.nothing();
        const reason = await waiter.next(remaining);
        if (reason === "closing") return this.nothing();
        if (!(await this.deps.isSessionOpen(principal))) throw tokenError.revoked();
      }
    } finally {
      if (waiter) {
        clientGone.removeEventListener("abort", onGone);
        this.waiters.unregister(waiter);
      }
    }
  }

  private nothing(): typeof NO_PENDING_TASKS {
    this.counters.empty++;
    return NO_PENDING_TASKS;
  }

  /** The database is asked only for a seller that may have something to claim. */
  private async claim(userId: number): Promise<Task | null> {
    const seen = this.hints.markOf(userId);
    if (seen === null) {
      this.counters.without_database++;
      return null;
    }
    this.counters.database_claims++;
    const task = await this.deps.leases.claim(userId);
    if (task) {
      this.counters.claimed++;
      this.hints.claimed(userId);
    } else this.hints.clear(userId, seen);
    return task;
  }

  /** Of these sellers, those with a task to claim now (from memory once the marks are kept). */
  private async sellersWithWork(userIds: number[]): Promise<number[]> {
    if (userIds.length === 0) return [];
    if (this.hints.isActive) return userIds.filter((userId) => this.hints.markOf(userId) !== null);
    const ids = await allBrands(this.deps.tasks.distinct("owner_user_id", { owner_user_id: { $in: userIds }, ...claimableFilter(new Date()) }));
    return ids.filter((id): id is number => typeof id === "number");
  }

  /**
   * Every seller with a task to claim now. Two reads, one per status, each on the
   * (executor, status, lease_expires_at) index: finished tasks are never looked at.
   */
  private async allSellersWithWork(): Promise<number[]> {
    const now = new Date();
    const [due, ended] = await Promise.all([
      allBrands(this.deps.tasks.distinct("owner_user_id", { executor: "extension", status: "pending", $or: [{ scheduled_for: null }, { scheduled_for: { $lte: now } }] })),
      allBrands(this.deps.tasks.distinct("owner_user_id", { executor: "extension", status: "running", lease_expires_at: { $lt: now } })),
    ]);
    return [...new Set([...due, ...ended])].filter((id): id is number => typeof id === "number");
  }
}
