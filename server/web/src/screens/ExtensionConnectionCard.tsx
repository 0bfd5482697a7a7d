import type { ComponentChildren } from "preact";
import type { ExtensionConnection } from "../../../../shared/extension-connection";
import { EXTENSION_CONNECTION_ROUTES } from "../../../../shared/extension-connection";
import { Badge, ErrorBox, Facts, Loading, Section } from "../components";
import { useI18n, useWord } from "../i18n";
import { api } from "../lib/api";
import { useResource } from "../lib/hooks";

const CONNECTION_POLL_MS = 15_000;

/** Whether the seller's extension is connected: last poll, version, Vinted account, paused and why. */
export function ExtensionConnectionCard() {
  const { t, formatDate } = useI18n();
  const word = useWord();
  const connection = useResource(() => api.get<ExtensionConnection>(EXTENSION_CONNECTION_ROUTES.connection), "extension-connection", { intervalMs: CONNECTION_POLL_MS });
  const c = connection.data;
  const when = (iso: string | null) => (iso ? <time dateTime={iso}>{formatDate(iso)}</time> : "—");
  return (
    <Section title={t("extension")}>
      <ErrorBox error={connection.error} />
      {!c && !connection.error && <Loading />}
      {c && (
        <div data-extension-state={c.state}>
          <p>
            <Badge kind={c.state}>{word("extensionState", c.state)}</Badge>
          </p>
          {c.state === "never_seen" ? (
            <p class="empty">{t("extensionNeverSeen")}</p>
          ) : (
            <Facts
              items={[
                [t("lastPoll"), <span data-testid="last-poll">{when(c.last_poll_at)}</span>],
                [t("lastSeen"), when(c.last_seen_at)],
                [t("vintedAccount"), <span data-testid="extension-vinted">{c.vinted_account ? (c.vinted_account.login ?? `#${c.vinted_account.user_id}`) : "—"}</span>],
                [t("extensionVersion"), c.client_version ?? "—"],
                ...(c.paused
                  ? ([
                      [t("pausedBecause"), <span data-testid="pause-reason">{[word("pauseReason", c.pause_reason ?? ""), c.pause_message].filter(Boolean).join(" — ")}</span>],
                      [t("pausedUntil"), c.paused_until ? when(c.paused_until) : t("untilResumed")],
                    ] as [string, ComponentChildren][])
                  : []),
              ]}
            />
          )}
          {c.state === "offline" && <p class="empty">{t("extensionOfflineHint", { seconds: c.offline_after_seconds })}</p>}
        </div>
      )}
    </Section>
  );
}
