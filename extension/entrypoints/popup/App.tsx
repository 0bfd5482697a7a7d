import { useEffect, useState } from "preact/hooks";
import { browser } from "wxt/browser";
import type { PluginTaskView } from "../../../shared/plugin";
import { t } from "../../lib/i18n";
import { sendToBackground, type RecentPublicationsAnswer, type UiResponse } from "../../lib/messages";
import {
  connectionItem,
  currentTaskItem,
  localHistoryItem,
  outboxItem,
  pauseItem,
  progressItem,
  sessionItem,
} from "../../lib/storage";
import { useStorageItem } from "../../lib/ui/use-storage-item";
import { ConnectionRows } from "./ConnectionRows";
import { Publications } from "./PublicationViews";
import { CurrentTaskCard, RecentTasks } from "./TaskViews";

const RECENT_REFRESH_MS = 5_000;

function useServerRecentTasks(loggedIn: boolean): PluginTaskView[] | null {
  const [tasks, setTasks] = useState<PluginTaskView[] | null>(null);
  useEffect(() => {
    if (!loggedIn) return setTasks(null);
    let alive = true;
    const load = () => void sendToBackground({ type: "ui/recent" }).then((answer) => alive && setTasks(answer.tasks), () => undefined);
    load();
    const timer = setInterval(load, RECENT_REFRESH_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [loggedIn]);
  return tasks;
}

const NO_PUBLICATIONS: RecentPublicationsAnswer = { publications: null, inProgress: 0, error: null };

/** The seller's publications as the server has them, refreshed with the task list. */
function useServerPublications(loggedIn: boolean): RecentPublicationsAnswer {
  const [answer, setAnswer] = useState<RecentPublicationsAnswer>(NO_PUBLICATIONS);
  useEffect(() => {
    if (!loggedIn) return setAnswer(NO_PUBLICATIONS);
    let alive = true;
    // A failed refresh keeps what was shown: the list is a glance, not a live feed.
    const load = () => void sendToBackground({ type: "ui/publications" }).then((next) => alive && next.publications && setAnswer(next), () => undefined);
    load();
    const timer = setInterval(load, RECENT_REFRESH_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [loggedIn]);
  return answer;
}

export function App() {
  const connection = useStorageItem(connectionItem);
  const session = useStorageItem(sessionItem) ?? null;
  const pause = useStorageItem(pauseItem) ?? null;
  const current = useStorageItem(currentTaskItem) ?? null;
  const progress = useStorageItem(progressItem) ?? null;
  const outbox = useStorageItem(outboxItem) ?? [];
  const history = useStorageItem(localHistoryItem) ?? [];
  const serverRecent = useServerRecentTasks(session !== null);
  const publications = useServerPublications(session !== null);
  const [notice, setNotice] = useState<{ text: string; tone: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => void sendToBackground({ type: "ui/kick" }).catch(() => undefined), []);

  async function act(run: () => Promise<UiResponse>, success?: (message: string) => string) {
    setBusy(true);
    try {
      const answer = await run();
      setNotice(answer.ok ? (success ? { text: success(answer.message ?? ""), tone: "ok" } : null) : { text: answer.error, tone: "error" });
    } finally {
      setBusy(false);
    }
  }

  if (!connection) return null;
  return (
    <main>
      <h1>MarketHub</h1>
      <h2>{t("popupConnection")}</h2>
      <ConnectionRows connection={connection} session={session} pause={pause} />
      <h2>{t("currentTask")}</h2>
      <CurrentTaskCard current={current} progress={progress} />
      {outbox.length > 0 && <p class="warn" data-testid="pending-results">{t("pendingResults", outbox.length)}</p>}
      <Publications publications={publications.publications} inProgress={publications.inProgress} />
      <h2>{t("recentTasks")}</h2>
      <RecentTasks server={serverRecent} local={history} connection={connection} pause={pause} busy={current !== null} />
      <div class="actions">
        {pause ? (
          <button class="primary" disabled={busy} onClick={() => act(() => sendToBackground({ type: "ui/resume" }))} data-testid="resume">{t("resume")}</button>
        ) : (
          <button disabled={busy || !session} onClick={() => act(() => sendToBackground({ type: "ui/pause" }))} data-testid="pause">{t("pause")}</button>
        )}
        <button disabled={busy || !session} onClick={() => act(() => sendToBackground({ type: "ui/sync-now" }), (m) => t("syncStarted", m))} data-testid="sync-now">
          {t("syncNow")}
        </button>
        <button onClick={() => void browser.runtime.openOptionsPage()} data-testid="open-options">{t("openOptions")}</button>
      </div>
      {notice && <p class={`notice ${notice.tone}`} data-testid="notice">{notice.text}</p>}
    </main>
  );
}
