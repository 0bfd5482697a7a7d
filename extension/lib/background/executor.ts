import { browser } from "wxt/browser";
import { isHandBackErrorCode, type HandBackErrorCode, type HeartbeatProgress, type TaskResultBody } from "../../../shared/plugin";
import { sendToTab } from "../messages";
import type { PluginApi } from "../server/plugin-api";
import { currentTaskItem, progressItem, type CurrentTask } from "../storage";
import type { ActionOutcome } from "../vinted/actions";
import { recordLocally } from "./history";
import { LeaseKeeper } from "./lease-keeper";
import type { ResultOutbox } from "./outbox";
import { clearCaptchaStrikes, pauseForCaptcha, pauseForRateLimit } from "./pause";
import { findVintedTab } from "./vinted-tabs";

const DEFAULT_RATE_LIMIT_PAUSE_MS = 15 * 60_000;
const HEARTBEAT_DRAIN_MS = 10_000;

type Failure = Extract<ActionOutcome, { success: false }>;

type RunEnd = { kind: "outcome"; outcome: ActionOutcome } | { kind: "lease_lost" } | { kind: "tab_lost"; error: string };

function resultBody(current: CurrentTask, outcome: ActionOutcome): TaskResultBody {
  const base = { lease_token: current.task.lease_token, execution_time_ms: Math.max(0, Date.now() - current.startedAt), executed_at: new Date().toISOString() };
  if (outcome.success) return { ...base, success: true, data: outcome.data };
  return { ...base, success: false, error: outcome.error.slice(0, 2000), error_code: outcome.error_code, ...(outcome.data !== undefined ? { data: outcome.data } : {}) };
}

/** Runs one claimed task in a Vinted tab, from lease to result in the outbox. */
export class TaskExecutor {
  private readonly keepers = new Map<string, LeaseKeeper>();

  constructor(private readonly api: PluginApi, private readonly outbox: ResultOutbox) {}

  /** Progress from the content script: becomes a heartbeat and the popup's progress bar. */
  onProgress(taskId: string, progress: HeartbeatProgress): void {
    const keeper = this.keepers.get(taskId);
    if (!keeper) return;
    keeper.progress(progress);
    const { partial: _partial, ...plain } = progress;
    void progressItem.setValue({ ...plain, taskId, updatedAt: Date.now() });
  }

  async run(current: CurrentTask): Promise<void> {
    const { task } = current;
    const keeper = new LeaseKeeper(this.api, task);
    this.keepers.set(task.task_id, keeper);
    keeper.start();
    let end: RunEnd;
    try {
      end = await Promise.race([this.runInTab(current), keeper.lost.then((): RunEnd => ({ kind: "lease_lost" }))]);
      if (end.kind === "outcome") await keeper.drain(HEARTBEAT_DRAIN_MS);
    } finally {
      keeper.stop();
      this.keepers.delete(task.task_id);
    }
    await this.finish(current, end);
  }

  /** After a worker restart: pick the task up again in its tab (or another tab of the same account). */
  async resume(current: CurrentTask): Promise<void> {
    const tabStillThere = await browser.tabs.get(current.tabId).then(() => true, () => false);
    let tabId = current.tabId;
    if (!tabStillThere) {
      const { ready } = await findVintedTab(current.vintedUserId);
      if (!ready) return this.abandon(current, "The Vinted tab was closed during the task; the server will hand it out again");
      tabId = ready.tabId;
    }
    const resumed: CurrentTask = { ...current, tabId, resumed: true };
    await currentTaskItem.setValue(resumed);
    await this.run(resumed);
  }

  private async runInTab(current: CurrentTask): Promise<RunEnd> {
    const { task } = current;
    try {
      const outcome = await sendToTab(current.tabId, {
        type: "vinted/run",
        taskId: task.task_id,
        action: task.action,
        params: task.params,
        outcomeUnknown: task.attempt > 1 || current.resumed,
      });
      return { kind: "outcome", outcome };
    } catch (error) {
      return { kind: "tab_lost", error: error instanceof Error ? error.message : String(error) };
    }
  }

  private async finish(current: CurrentTask, end: RunEnd): Promise<void> {
    const { task } = current;
    if (end.kind === "lease_lost" || (end.kind === "outcome" && !end.outcome.success && end.outcome.error_code === "CANCELLED")) {
      await sendToTab(current.tabId, { type: "vinted/cancel", taskId: task.task_id, reason: "lease lost" }).catch(() => undefined);
      return this.abandon(current, "The server took the task back (lease lost)");
    }
    if (end.kind === "tab_lost") return this.abandon(current, `The Vinted tab went away during the task (${end.error}); the server will hand it out again`);

    const { outcome } = end;
    if (!outcome.success && isHandBackErrorCode(outcome.error_code)) {
      await this.applyAccountConsequences(outcome);
      return this.handBack(current, outcome, outcome.error_code);
    }
    // Outbox first, then forget the task: a crash in between resumes the task, and the content
    // script answers from its memory of the finished run; the outbox keeps one result per task.
    await this.outbox.add(task.task_id, task.action, resultBody(current, outcome));
    await currentTaskItem.setValue(null);
    await progressItem.setValue(null);
    await recordLocally({
      taskId: task.task_id,
      action: task.action,
      status: outcome.success ? "completed" : "failed",
      error: outcome.success ? null : outcome.error,
      errorCode: outcome.success ? null : outcome.error_code,
    });
    await this.applyAccountConsequences(outcome);
    await this.outbox.flush();
  }

  private async applyAccountConsequences(outcome: ActionOutcome): Promise<void> {
    if (outcome.success) return clearCaptchaStrikes();
    if (outcome.error_code === "CAPTCHA_REQUIRED") await pauseForCaptcha(outcome.error);
    if (outcome.error_code === "RATE_LIMITED") await pauseForRateLimit(outcome.retry_after_ms ?? DEFAULT_RATE_LIMIT_PAUSE_MS, outcome.error);
  }

  /**
   * The seller's Vinted account cannot run the task now (logged out, a challenge, a rate limit): not
   * a failure of the task. It goes back to the server's queue with no attempt counted, and this
   * extension takes it again once the seller has logged in or resumed. A server without the release
   * call gets no result either: the lease lapses and the task comes back by itself (one attempt).
   */
  private async handBack(current: CurrentTask, outcome: Failure, code: HandBackErrorCode): Promise<void> {
    const { task } = current;
    const answer = await this.api.release(task.task_id, {
      lease_token: task.lease_token,
      reason_code: code,
      reason: outcome.error.slice(0, 2000),
      ...(outcome.retry_after_ms !== undefined ? { retry_after_ms: Math.min(24 * 3600_000, Math.round(outcome.retry_after_ms)) } : {}),
    });
    if (answer.kind === "failed" || answer.kind === "unsupported") {
      console.warn(`[MarketHub] task ${task.task_id} not released (${answer.kind === "failed" ? answer.error : "server without release"}): its lease will lapse`);
    }
    await currentTaskItem.setValue(null);
    await progressItem.setValue(null);
    await recordLocally({ taskId: task.task_id, action: task.action, status: "handed_back", error: outcome.error, errorCode: code, delivered: true });
  }

  /** Drop the task without a result: its lease lapses and the server re-issues it (attempt + 1). */
  private async abandon(current: CurrentTask, reason: string): Promise<void> {
    await currentTaskItem.setValue(null);
    await progressItem.setValue(null);
    await recordLocally({ taskId: current.task.task_id, action: current.task.action, status: "abandoned", error: reason, errorCode: null, delivered: true });
  }
}
