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

type Line = { text: string; tone: string };

function vintedText(vinted: ConnectionSnapshot["vinted"], pause: PauseState | null): Line {
  // The tab's last status may predate the challenge: while paused for it, the account is not usable.
  if (pause?.reason === "captcha") return { text: t("vintedBlocked"), tone: "error" };
  if (pause?.reason === "rate_limited") return { text: t("vintedRateLimited"), tone: "warn" };
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

function pauseText(pause: PauseState): Line {
  if (pause.until === null) return { text: t("pausedByUser"), tone: "warn" };
  const at = new Date(pause.until).toLocaleTimeString();
  if (pause.reason === "captcha") return { text: t("pausedCaptcha", at, Math.round((pause.until - pause.since) / 60_000)), tone: "error" };
  if (pause.reason === "rate_limited") return { text: t("pausedRateLimited", at), tone: "warn" };
  return { text: t("pausedUntil", at, pause.message), tone: "warn" };
}

function pollerText(connection: ConnectionSnapshot, pause: PauseState | null): Line {
  if (pause) return pauseText(pause);
  const tone = connection.poller === "idle" || connection.poller === "executing" || connection.poller === "polling" ? "ok" : "warn";
  return { text: t(POLLER_TEXT[connection.poller]), tone };
}

function serverText(connection: ConnectionSnapshot): Line {
  if (connection.server === "reachable") return { text: t("serverReachable"), tone: "ok" };
  if (connection.server === "unreachable") return { text: t("serverUnreachable", connection.serverError ?? ""), tone: "error" };
  // A first poll is on its way (a long-poll may be held for 20 s): that is not "never contacted".
  const contacting = connection.poller === "polling" || connection.poller === "starting" || connection.poller === "idle" || connection.poller === "executing";
  return { text: t(contacting ? "serverContacting" : "serverUnknown"), tone: "muted" };
}

export function ConnectionRows(props: { connection: ConnectionSnapshot; session: AuthSession | null; pause: PauseState | null }) {
  const { connection, session, pause } = props;
  const server = serverText(connection);
  const vinted = vintedText(connection.vinted, pause);
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
