/**
 * Messages between the extension's parts. Background ⇄ Vinted content script carry the actions;
 * popup/options talk only to the background, which alone owns the MarketHub tokens (refresh
 * tokens rotate, so two owners would invalidate each other).
 */
import { browser, type Browser } from "wxt/browser";
import type { HeartbeatProgress, PluginAction, PluginTaskView } from "../../shared/plugin";
import type { ProductTask } from "../../shared/publications";
import type { PhotoBytes } from "./vinted/api";
import type { ActionOutcome } from "./vinted/actions";

export interface VintedTabStatus {
  origin: string;
  state: "logged_in" | "logged_out" | "blocked";
  user: { id: number; login: string } | null;
  error: string | null;
}

export interface RunActionRequest {
  type: "vinted/run";
  taskId: string;
  action: PluginAction;
  params: unknown;
  outcomeUnknown: boolean;
}

/** Sent by the background or an extension page to a Vinted tab. */
export type ToContentMessage =
  | { type: "vinted/status"; fresh?: boolean }
  | RunActionRequest
  | { type: "vinted/cancel"; taskId: string; reason: string };

export interface ToContentResponses {
  "vinted/status": VintedTabStatus;
  "vinted/run": ActionOutcome;
  "vinted/cancel": { cancelled: boolean };
}

export type PhotoFetchResponse = { ok: true; photo: PhotoBytes } | { ok: false; error: string };

export type UiResponse = { ok: true; message?: string } | { ok: false; error: string };

export interface RecentPublicationsAnswer {
  /** Null when the server could not be asked. */
  publications: ProductTask[] | null;
  inProgress: number;
  error: string | null;
}

export interface RecentTasksResponse {
  tasks: PluginTaskView[] | null;
  error: string | null;
}

/** Sent to the background (runtime.sendMessage). */
export type ToBackgroundMessage =
  | { type: "vinted/progress"; taskId: string; progress: HeartbeatProgress }
  | { type: "photo/fetch"; url: string }
  | { type: "ui/recent" }
  | { type: "ui/publications" }
  | { type: "ui/pause" }
  | { type: "ui/resume" }
  | { type: "ui/sync-now" }
  | { type: "ui/kick" }
  | { type: "auth/login"; serverUrl: string; email: string; password: string }
  | { type: "auth/logout" };

export interface ToBackgroundResponses {
  "vinted/progress": void;
  "photo/fetch": PhotoFetchResponse;
  "ui/recent": RecentTasksResponse;
  "ui/publications": RecentPublicationsAnswer;
  "ui/pause": UiResponse;
  "ui/resume": UiResponse;
  "ui/sync-now": UiResponse;
  "ui/kick": UiResponse;
  "auth/login": UiResponse;
  "auth/logout": UiResponse;
}

export function sendToTab<M extends ToContentMessage>(tabId: number, message: M): Promise<ToContentResponses[M["type"]]> {
  return browser.tabs.sendMessage(tabId, message);
}

export function sendToBackground<M extends ToBackgroundMessage>(message: M): Promise<ToBackgroundResponses[M["type"]]> {
  return browser.runtime.sendMessage(message);
}

type Handler<M extends { type: string }, R extends Record<M["type"], unknown>> = (
  message: M,
  sender: Browser.runtime.MessageSender,
) => Promise<R[M["type"]]> | undefined;

/**
 * Registers an async handler; returning undefined leaves the message to other listeners.
 * Uses sendResponse + `return true`, which both Chrome and Firefox honour for async answers.
 */
export function onMessages<M extends { type: string }, R extends Record<M["type"], unknown>>(
  isMine: (message: unknown) => message is M,
  handler: Handler<M, R>,
): void {
  browser.runtime.onMessage.addListener((message: unknown, sender, sendResponse) => {
    if (sender.id !== browser.runtime.id || !isMine(message)) return undefined;
    const answer = handler(message, sender);
    if (!answer) return undefined;
    answer.then(sendResponse, (error: unknown) => sendResponse({ ok: false, error: error instanceof Error ? error.message : String(error) }));
    return true;
  });
}

const CONTENT_TYPES = new Set(["vinted/status", "vinted/run", "vinted/cancel"]);
const BACKGROUND_TYPES = new Set(["vinted/progress", "photo/fetch", "ui/recent", "ui/publications", "ui/pause", "ui/resume", "ui/sync-now", "ui/kick", "auth/login", "auth/logout"]);

function hasType(message: unknown, types: Set<string>): boolean {
  return typeof message === "object" && message !== null && types.has(String((message as { type?: unknown }).type));
}

export const isToContentMessage = (message: unknown): message is ToContentMessage => hasType(message, CONTENT_TYPES);
export const isToBackgroundMessage = (message: unknown): message is ToBackgroundMessage => hasType(message, BACKGROUND_TYPES);
