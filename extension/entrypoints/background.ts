import { browser } from "wxt/browser";
import { defineBackground } from "wxt/utils/define-background";
import { TaskExecutor } from "../lib/background/executor";
import { ResultOutbox } from "../lib/background/outbox";
import { pauseByUser, resumeByUser } from "../lib/background/pause";
import { downloadPhoto } from "../lib/background/photo-download";
import { Poller } from "../lib/background/poller";
import { injectIntoOpenVintedTabs } from "../lib/background/vinted-tabs";
import { isToBackgroundMessage, onMessages, type ToBackgroundMessage, type ToBackgroundResponses, type UiResponse } from "../lib/messages";
import { AuthManager } from "../lib/server/auth";
import { PluginApi } from "../lib/server/plugin-api";
import { noteServerReachable, patchConnection } from "../lib/storage";
import { isVintedUrl } from "../lib/vinted/domains";

/** Restarts the poller if the worker was stopped; 0.5 min is the shortest period Chrome allows. */
const WATCHDOG_ALARM = "markethub-watchdog";

/** The popup has room for a few publications beside the tasks. */
const RECENT_PUBLICATIONS_SHOWN = 5;

function failure(error: unknown): UiResponse {
  return { ok: false, error: error instanceof Error ? error.message : String(error) };
}

export default defineBackground(() => {
  const auth = new AuthManager();
  const api = new PluginApi(auth);
  const outbox = new ResultOutbox(api);
  const executor = new TaskExecutor(api, outbox);
  const poller = new Poller(api, outbox, executor);

  async function handle(message: ToBackgroundMessage): Promise<ToBackgroundResponses[ToBackgroundMessage["type"]]> {
    switch (message.type) {
      case "vinted/progress":
        return executor.onProgress(message.taskId, message.progress);
      case "photo/fetch":
        return downloadPhoto(message.url, auth);
      case "ui/recent":
        return api.recent(10).then(
          (tasks) => ({ tasks, error: null }),
          (error: unknown) => ({ tasks: null, error: error instanceof Error ? error.message : String(error) }),
        );
      case "ui/publications":
        return api.recentPublications(RECENT_PUBLICATIONS_SHOWN).then(
          (answer) => ({ publications: answer.results, inProgress: answer.in_progress, error: null }),
          (error: unknown) => ({ publications: null, inProgress: 0, error: error instanceof Error ? error.message : String(error) }),
        );
      case "ui/pause":
        await pauseByUser();
        poller.kick();
        return { ok: true };
      case "ui/resume":
        await resumeByUser();
        poller.kick({ freshVintedStatus: true });
        return { ok: true };
      case "ui/sync-now":
        return api.syncVinted().then((answer): UiResponse => {
          poller.kick();
          return { ok: true, message: answer.message };
        }, failure);
      case "ui/kick":
        poller.ensureRunning();
        return { ok: true };
      case "auth/login":
        return auth.login(message.serverUrl, message.email, message.password).then((): UiResponse => {
          void noteServerReachable();
          poller.ensureRunning();
          return { ok: true };
        }, failure);
      case "auth/logout":
        await auth.logout();
        await patchConnection({ poller: "logged_out" });
        poller.kick();
        return { ok: true };
    }
  }

  // Listeners are registered synchronously so events that woke the worker are not missed.
  onMessages<ToBackgroundMessage, ToBackgroundResponses>(isToBackgroundMessage, (message) => handle(message));
  browser.alarms.onAlarm.addListener((alarm) => {
    if (alarm.name === WATCHDOG_ALARM) poller.ensureRunning();
  });
  browser.tabs.onUpdated.addListener((_tabId, change, tab) => {
    if (change.status === "complete" && isVintedUrl(tab.url)) poller.ensureRunning();
  });
  browser.runtime.onInstalled.addListener((details) => {
    void injectIntoOpenVintedTabs();
    // First install: the seller has to log in before anything can happen.
    if (details.reason === "install") void browser.runtime.openOptionsPage();
  });

  void browser.alarms.get(WATCHDOG_ALARM).then((alarm) => {
    if (!alarm) void browser.alarms.create(WATCHDOG_ALARM, { periodInMinutes: 0.5 });
  });
  poller.ensureRunning();
});
