/**
 * A run that waits for another task: its task is suspended with `waiting_for` and goes back to the
 * queue when that task ends (or is removed), even when the end was not heard at the time. The
 * awaited task is marked `awaited`, so the end of the many tasks no one waits for costs no look.
 */
import type { TaskStatus } from "../../../../shared/tasks.js";
import { allBrands } from "../../brands/scope.js";
import type { Task, TaskModel } from "../model.js";
import { fenceFilter } from "./conditions.js";
import type { Fields, RunFence, StatusChange } from "./types.js";

/** A task in one of these has its outcome: whoever waits for it may go on. */
export const ENDED_STATUSES = ["completed", "failed", "cancelled"] as const satisfies readonly TaskStatus[];

export class TaskWaits {
  constructor(
    private readonly tasks: TaskModel,
    private readonly change: StatusChange,
  ) {}

  /**
   * The run hands its task over to wait for task `waitingFor` (suspended, no worker held). That task
   * may have ended before this write, when no one was waiting yet to be told: then resumed at once.
   */
  async wait(fence: RunFence, waitingFor: string, set: Fields): Promise<Task | null> {
    const waiting = await this.change("wait", "running", "suspended", fenceFilter(fence), {
      $set: { ...set, waiting_for: waitingFor, run_token: null, worker_id: null, lease_expires_at: null },
    });
    if (!waiting) return null;
    // The awaited task's end resumes its waiters only when it says it has some (its end then returns
    // the mark). Marked after our write and checked after the mark: an end that came before the mark
    // is seen by hasEnded, one after it sees the mark.
    await allBrands(this.tasks.updateOne({ task_id: waitingFor }, { $set: { awaited: true } }));
    if (await this.hasEnded(waitingFor)) await this.resumeWaitersOf(waitingFor);
    return waiting;
  }

  /** Tasks suspended waiting for `taskId` go back to the queue (it ended, or was removed). */
  async resumeWaitersOf(taskId: string): Promise<number> {
    let resumed = 0;
    while (await this.change("resume", "suspended", "pending", { waiting_for: taskId }, { $set: { waiting_for: null, scheduled_for: null } })) resumed++;
    return resumed;
  }

  /** Waits whose task ended while no one heard it (the process that ended it died before telling): resumed. */
  async resumeEndedWaits(): Promise<number> {
    const waiting = await allBrands(this.tasks.find({ status: "suspended", waiting_for: { $type: "string" } }, { waiting_for: 1 }).lean<Array<Pick<Task, "waiting_for">>>());
    let resumed = 0;
    for (const taskId of new Set(waiting.map((t) => t.waiting_for!))) {
      if (await this.hasEnded(taskId)) resumed += await this.resumeWaitersOf(taskId);
    }
    return resumed;
  }

  async hasEnded(taskId: string): Promise<boolean> {
    const awaited = await allBrands(this.tasks.findOne({ task_id: taskId }, { status: 1 }).lean<Pick<Task, "status">>());
    return !awaited || (ENDED_STATUSES as readonly TaskStatus[]).includes(awaited.status);
  }
}
