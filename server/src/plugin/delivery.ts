/**
 * Delivery of extension tasks to the seller's browser: a plain poll claims at once; a long-poll
 * (`?wait=N`) holds the request until a task of the seller's becomes claimable (woken by the
 * lifecycle's events in this process, or found by a periodic re-check when another process made
 * it) or N seconds pass.
 */
import type { Logger } from "pino";
import type { PollResponse } from "../../../shared/plugin.js";
import { tokenError } from "../auth/tokens.js";
import { allBrands } from "../brands/scope.js";
import type { PluginConfig } from "../config.js";
import type { Principal } from "../http/context.js";
import { AppError } from "../http/errors.js";
import type { Task, TaskModel } from "../tasks/model.js";
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

  constructor(private readonly deps: DeliveryDeps) {
    this.limiter = new PollLimiter(deps.config.pollIntervalMs, deps.config.pollToleranceMs);
    this.waiters = new LongPollWaiters({
      recheckMs: deps.config.longPollRecheckMs,
      isDraining: deps.isDraining,
      findReady: (userIds) => this.sellersWithWork(userIds),
      logger: deps.logger,
    });
  }

  open(): void {
    this.waiters.open();
  }

  /** Answers every held long-poll. */
  close(): void {
    this.waiters.close();
  }

  /** Listener of the lifecycle: a task of this seller's became claimable (created, retried, lease expired, resumed). */
  wakeSeller(task: Task): void {
    if (task.executor === "extension" && task.status === "pending" && task.owner_user_id !== null) this.waiters.notify(task.owner_user_id);
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
    const onGone = () => waiter?.wake("closing");
    clientGone.addEventListener("abort", onGone);
    try {
      for (;;) {
        if (clientGone.aborted) return NO_PENDING_TASKS;
        const task = await this.deps.leases.claim(userId);
        if (task) {
          this.limiter.release(userId);
          return toClaimedTask(task);
        }
        const remaining = deadline - Date.now();
        if (!waiter || remaining <= 0) return NO_PENDING_TASKS;
        const reason = await waiter.next(remaining);
        if (reason === "closing") return NO_PENDING_TASKS;
        if (!(await this.deps.isSessionOpen(principal))) throw tokenError.revoked();
      }
    } finally {
      clientGone.removeEventListener("abort", onGone);
      if (waiter) this.waiters.unregister(waiter);
    }
  }

  /** Of these sellers, those with a task to claim now. */
  private async sellersWithWork(userIds: number[]): Promise<number[]> {
    if (userIds.length === 0) return [];
    const ids = await allBrands(this.deps.tasks.distinct("owner_user_id", { owner_user_id: { $in: userIds }, ...claimableFilter(new Date()) }));
    return ids.filter((id): id is number => typeof id === "number");
  }
}
