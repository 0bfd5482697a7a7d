import type { AuthSession, ConnectionSnapshot, PauseState, PollerState } from "../../lib/storage";
import { t, type MessageKey } from "../../lib/i18n";

const POLLER_TEXT: Record<PollerState, MessageKey> = {
  starting: "pollerStarting",
  logged_out: "pollerLoggedOut",
  waiting_for_vinted: "pollerWaitingForVinted",
  polling: "pollerPolling",
  idle: "pollerIdle",
  executing: "pollerExecuting",
  paused: "pollerPaused",
  server_unreachable: "pollerServerUnreachable",
  rate_limited_by_server: "pollerRateLimited",
};

function vintedText(vinted: ConnectionSnapshot["vinted"]): { text: string; tone: string } {
  switch (vinted.state) {
    case "logged_in":
      return { text: t("vintedLoggedIn", vinted.login ?? "?", vinted.origin ? new URL(vinted.origin).hostname : "?"), tone: "ok" };
    case "logged_out":
      return { text: t("vintedLoggedOut"), tone: "warn" };
    case "blocked":
      return { text: t("vintedBlocked"), tone: "error" };
    case "no_tab":
      return { text: t("vintedNoTab"), tone: "warn" };
    case "unknown":
      return { text: t("vintedUnknown"), tone: "muted" };
  }
}

function pollerText(connection: ConnectionSnapshot, pause: PauseState | null): { text: string; tone: string } {
  if (pause) {
    if (pause.until === null) return { text: t("pausedByUser"), tone: "warn" };
    return { text: t("pausedUntil", new Date(pause.until).toLocaleTimeString(), pause.message), tone: pause.reason === "captcha" ? "error" : "warn" };
  }
  const tone = connection.poller === "idle" || connection.poller === "executing" || connection.poller === "polling" ? "ok" : "warn";
  return { text: t(POLLER_TEXT[connection.poller]), tone };
}

export function ConnectionRows(props: { connection: ConnectionSnapshot; session: AuthSession | null; pause: PauseState | null }) {
  const { connection, session, pause } = props;
  const server =
    connection.server === "reachable"
      ? { text: t("serverReachable"), tone: "ok" }
      : connection.server === "unreachable"
        ? { text: t("serverUnreachable", connection.serverError ?? ""), tone: "error" }
        : { text: t("serverUnknown"), tone: "muted" };
  const vinted = vintedText(connection.vinted);
  const poller = pollerText(connection, pause);
  return (
    <dl class="rows" data-testid="connection">
      <dt>{t("serverLabel")}</dt>
      <dd class={server.tone} data-testid="server-state">{session ? `${new URL(session.serverUrl).host} · ${server.text}` : server.text}</dd>
      <dt>{t("accountLabel")}</dt>
      <dd class={session ? "ok" : "warn"} data-testid="account-state">{session?.user?.email ?? (session ? "✓" : t("notLoggedIn"))}</dd>
      <dt>{t("vintedLabel")}</dt>
      <dd class={vinted.tone} data-testid="vinted-state">{vinted.text}</dd>
      <dt>{t("pollingLabel")}</dt>
      <dd class={poller.tone} data-testid="poller-state">{poller.text}</dd>
    </dl>
  );
}
