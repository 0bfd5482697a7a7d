/**
 * Everything the extension remembers lives in browser.storage.local, so a service worker that
 * Chrome stops and restarts (or a Firefox event page that unloads) resumes exactly where it was.
 */
import { storage } from "wxt/utils/storage";
import type { ClaimedTask, HeartbeatProgress, PluginAction, TaskResultBody } from "../../shared/plugin";
import { DEFAULT_PACING, type PacingSettings } from "./vinted/pacing";

export const MIN_POLL_INTERVAL_SECONDS = 5;

export interface Settings {
  serverUrl: string;
  pollIntervalSeconds: number;
  /** Ask the server to hold the poll open (GET /api/plugin/tasks?wait=N) instead of polling every interval. */
  longPoll: boolean;
}

export const DEFAULT_SETTINGS: Settings = { serverUrl: "http://localhost:8000", pollIntervalSeconds: 5, longPoll: true };

export interface AuthSession {
  serverUrl: string;
  accessToken: string;
  refreshToken: string;
  /** Epoch ms when accessToken expires. */
  expiresAt: number;
  user: { id: string; email: string } | null;
}

export interface CurrentTask {
  task: ClaimedTask;
  tabId: number;
  vintedUserId: number | null;
  startedAt: number;
  /** Set once this worker has lost track of a run (restart): writes must check Vinted first. */
  resumed: boolean;
}

export interface PendingResult {
  taskId: string;
  action: PluginAction;
  body: TaskResultBody;
  attempts: number;
  nextAttemptAt: number;
}

export type PauseReason = "user" | "captcha" | "rate_limited";

export interface PauseState {
  reason: PauseReason;
  since: number;
  /** Epoch ms when polling resumes by itself; null = until the seller resumes. */
  until: number | null;
  message: string;
}

export type PollerState =
  | "starting"
  | "logged_out"
  | "waiting_for_vinted"
  | "polling"
  | "idle"
  | "executing"
  | "paused"
  | "server_unreachable"
  | "rate_limited_by_server";

export type VintedTabState = "logged_in" | "logged_out" | "blocked" | "no_tab" | "unknown";

export interface ConnectionSnapshot {
  poller: PollerState;
  server: "unknown" | "reachable" | "unreachable";
  serverError: string | null;
  vinted: { state: VintedTabState; login: string | null; userId: number | null; origin: string | null; tabId: number | null };
  lastPollAt: number | null;
  nextPollAt: number | null;
  updatedAt: number;
}

export interface LocalTaskRecord {
  taskId: string;
  action: PluginAction;
  /** handed_back: the Vinted account could not run it now; the server queues it again. */
  status: "completed" | "failed" | "abandoned" | "handed_back";
  error: string | null;
  errorCode: string | null;
  finishedAt: number;
  delivered: boolean;
}

export interface TaskProgressSnapshot extends Omit<HeartbeatProgress, "partial"> {
  taskId: string;
  updatedAt: number;
}

export const settingsItem = storage.defineItem<Settings>("local:settings", { fallback: DEFAULT_SETTINGS });
/** Vinted pacing; tests shorten it by writing this key. */
export const pacingItem = storage.defineItem<PacingSettings>("local:vintedPacing", { fallback: DEFAULT_PACING });
export const sessionItem = storage.defineItem<AuthSession | null>("local:session", { fallback: null });
export const currentTaskItem = storage.defineItem<CurrentTask | null>("local:currentTask", { fallback: null });
export const outboxItem = storage.defineItem<PendingResult[]>("local:outbox", { fallback: [] });
export const pauseItem = storage.defineItem<PauseState | null>("local:pause", { fallback: null });
/** Consecutive anti-bot challenges: each one doubles the next pause (30 min → 6 h). */
export const captchaStrikesItem = storage.defineItem<number>("local:captchaStrikes", { fallback: 0 });
export const progressItem = storage.defineItem<TaskProgressSnapshot | null>("local:progress", { fallback: null });
export const localHistoryItem = storage.defineItem<LocalTaskRecord[]>("local:localHistory", { fallback: [] });
export const connectionItem = storage.defineItem<ConnectionSnapshot>("local:connection", {
  fallback: {
    poller: "starting",
    server: "unknown",
    serverError: null,
    vinted: { state: "unknown", login: null, userId: null, origin: null, tabId: null },
    lastPollAt: null,
    nextPollAt: null,
    updatedAt: 0,
  },
});

export async function patchConnection(patch: Partial<ConnectionSnapshot>): Promise<void> {
  const current = await connectionItem.getValue();
  await connectionItem.setValue({ ...current, ...patch, updatedAt: Date.now() });
}

/** A server answer arrived: say so at once (written only when it changes, heartbeats are frequent). */
export async function noteServerReachable(): Promise<void> {
  const current = await connectionItem.getValue();
  if (current.server === "reachable" && current.serverError === null) return;
  await connectionItem.setValue({ ...current, server: "reachable", serverError: null, updatedAt: Date.now() });
}

export function effectivePollIntervalMs(settings: Settings): number {
  return Math.max(MIN_POLL_INTERVAL_SECONDS, settings.pollIntervalSeconds) * 1000;
}
