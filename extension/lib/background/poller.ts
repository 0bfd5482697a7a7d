import { browser } from "wxt/browser";
import { NotLoggedInError } from "../server/auth";
import { ServerError } from "../server/http";
import type { ExtensionIdentity, PluginApi } from "../server/plugin-api";
import {
  currentTaskItem,
  effectivePollIntervalMs,
  patchConnection,
  sessionItem,
  settingsItem,
  type ConnectionSnapshot,
  type CurrentTask,
  type PauseState,
} from "../storage";
import type { TaskExecutor } from "./executor";
import { KeepAlive } from "./keepalive";
import type { ResultOutbox } from "./outbox";
import { activePause } from "./pause";
import { findVintedTab } from "./vinted-tabs";

/** Seconds the server may hold a long-poll open (contract maximum is 25). */
const LONG_POLL_WAIT_SECONDS = 20;
/** Nothing to do until something changes (login, a Vinted tab): the alarm or an event wakes us. */
const DORMANT_DELAY_MS = 30_000;
const MAX_UNREACHABLE_BACKOFF_MS = 60_000;
/** While it does not poll, the extension still tells the server it is there (and why it waits) this often. */
const STATUS_REPORT_EVERY_MS = 30_000;

interface TickResult {
  delayMs: number;
  /** Whether the worker must stay alive until the next tick. */
  stayAwake: boolean;
}

/**
 * The claim loop. One instance per worker life; everything it knows is re-read from storage each
 * tick, so a restarted worker carries on where the previous one stopped.
 */
export class Poller {
  private running = false;
  private wake: (() => void) | null = null;
  private unreachableStreak = 0;
  private freshVintedStatus = false;
  /** The server's Retry-After: no kick (tab event, popup) may poll before this. */
  private pollNotBefore = 0;
  private readonly keepAlive = new KeepAlive();
  private lastStatus: { key: string; at: number } | null = null;

  constructor(private readonly api: PluginApi, private readonly outbox: ResultOutbox, private readonly executor: TaskExecutor) {}

  ensureRunning(): void {
    if (this.running) return this.kick();
    this.running = true;
    void this.loop();
  }

  /**
   * Cuts the current wait short (login, resume, a Vinted tab appeared). `freshVintedStatus`: the
   * seller says the tab changed (solved a challenge, logged in), so don't trust cached tab status.
   */
  kick(options: { freshVintedStatus?: boolean } = {}): void {
    if (options.freshVintedStatus) this.freshVintedStatus = true;
    this.wake?.();
  }

  private async loop(): Promise<void> {
    for (;;) {
      let result: TickResult;
      try {
        result = await this.tick();
      } catch (error) {
        console.error("[MarketHub] poll tick failed", error);
        result = { delayMs: 5_000, stayAwake: true };
      }
      const pendingResults = (await this.outbox.size()) > 0;
      this.keepAlive.set(result.stayAwake || pendingResults);
      const nextDue = pendingResults ? await this.outbox.nextDueAt() : null;
      const delayMs = nextDue === null ? result.delayMs : Math.min(result.delayMs, Math.max(0, nextDue - Date.now()));
      await patchConnection({ nextPollAt: Date.now() + delayMs });
      await this.sleep(delayMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async tick(): Promise<TickResult> {
    if (!(await sessionItem.getValue())) {
      // Still tell the popup about the Vinted tab (the content script caches its answer).
      const { ready, seen } = await findVintedTab();
      await patchConnection({ poller: "logged_out", vinted: this.describeVinted(ready ?? seen) });
      return { delayMs: DORMANT_DELAY_MS, stayAwake: false };
    }
    await this.outbox.flush();

    const current = await currentTaskItem.getValue();
    if (current) {
      await patchConnection({ poller: "executing" });
      await this.executor.resume(current);
      return { delayMs: 0, stayAwake: true };
    }

    const pause = await activePause();
    if (pause) {
      await patchConnection({ poller: "paused" });
      await this.reportStatus(pause);
      return { delayMs: pause.until === null ? DORMANT_DELAY_MS : Math.min(DORMANT_DELAY_MS, pause.until - Date.now()), stayAwake: false };
    }

    const fresh = this.freshVintedStatus;
    this.freshVintedStatus = false;
    const { ready, seen } = await findVintedTab(null, fresh);
    await patchConnection({ vinted: this.describeVinted(ready ?? seen) });
    const intervalMs = effectivePollIntervalMs(await settingsItem.getValue());
    // No logged-in Vinted tab: don't claim, so no attempt is burnt on work that cannot run.
    if (!ready) {
      await patchConnection({ poller: "waiting_for_vinted" });
      await this.reportStatus(null);
      return { delayMs: intervalMs, stayAwake: false };
    }
    return this.pollAndRun(ready.tabId, { clientVersion: clientVersion(), vintedUserId: ready.status.user?.id ?? null, vintedLogin: ready.status.user?.login ?? null }, intervalMs);
  }

  /** Paused, or without a Vinted tab, the extension does not poll: it says so (when it changes, and now and then). */
  private async reportStatus(pause: PauseState | null): Promise<void> {
    const paused = pause ? { reason: pause.reason, message: pause.message, until: pause.until === null ? null : new Date(pause.until).toISOString() } : null;
    const key = JSON.stringify(paused);
    const now = Date.now();
    if (this.lastStatus && this.lastStatus.key === key && now - this.lastStatus.at < STATUS_REPORT_EVERY_MS) return;
    if (await this.api.reportStatus({ client_version: clientVersion(), paused })) this.lastStatus = { key, at: now };
  }

  private async pollAndRun(tabId: number, who: ExtensionIdentity, intervalMs: number): Promise<TickResult> {
    const vintedUserId = who.vintedUserId;
    const settings = await settingsItem.getValue();
    if (Date.now() < this.pollNotBefore) return { delayMs: this.pollNotBefore - Date.now(), stayAwake: true };
    const startedAt = Date.now();
    await patchConnection({ poller: "polling" });
    let outcome;
    try {
      outcome = await this.api.poll(settings.longPoll ? LONG_POLL_WAIT_SECONDS : undefined, who);
      // A poll tells the server the extension runs: the next pause is news again.
      this.lastStatus = null;
    } catch (error) {
      return this.pollFailed(error, intervalMs);
    }
    this.unreachableStreak = 0;
    await patchConnection({ server: "reachable", serverError: null, lastPollAt: Date.now(), poller: "idle" });
    if (outcome.kind === "invalid_task") {
      console.warn(`[MarketHub] task ${outcome.taskId} is unreadable: ${outcome.error}`);
      return { delayMs: intervalMs, stayAwake: true };
    }
    if (outcome.kind === "none") {
      const elapsed = Date.now() - startedAt;
      // A server that held the long-poll has already made us wait; one that ignored `wait` has not.
      return { delayMs: settings.longPoll && elapsed >= intervalMs ? 0 : Math.max(0, intervalMs - elapsed), stayAwake: true };
    }
    const current: CurrentTask = { task: outcome.task, tabId, vintedUserId, startedAt: Date.now(), resumed: false };
    await currentTaskItem.setValue(current);
    await patchConnection({ poller: "executing" });
    await this.executor.run(current);
    return { delayMs: 0, stayAwake: true };
  }

  private async pollFailed(error: unknown, intervalMs: number): Promise<TickResult> {
    if (error instanceof NotLoggedInError) {
      await patchConnection({ poller: "logged_out", serverError: error.message });
      return { delayMs: DORMANT_DELAY_MS, stayAwake: false };
    }
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof ServerError && error.status === 429) {
      const delayMs = Math.max(intervalMs, error.retryAfterMs ?? intervalMs);
      this.pollNotBefore = Date.now() + delayMs;
      await patchConnection({ poller: "rate_limited_by_server", server: "reachable", serverError: message });
      return { delayMs, stayAwake: true };
    }
    this.unreachableStreak += 1;
    const unreachable = !(error instanceof ServerError) || error.isTransient;
    await patchConnection({ poller: "server_unreachable", server: unreachable ? "unreachable" : "reachable", serverError: message });
    return { delayMs: Math.min(MAX_UNREACHABLE_BACKOFF_MS, intervalMs * 2 ** (this.unreachableStreak - 1)), stayAwake: true };
  }

  private describeVinted(tab: Awaited<ReturnType<typeof findVintedTab>>["ready"]): ConnectionSnapshot["vinted"] {
    if (!tab) return { state: "no_tab", login: null, userId: null, origin: null, tabId: null };
    return { state: tab.status.state, login: tab.status.user?.login ?? null, userId: tab.status.user?.id ?? null, origin: tab.status.origin, tabId: tab.tabId };
  }
}

function clientVersion(): string {
  return browser.runtime.getManifest().version;
}
