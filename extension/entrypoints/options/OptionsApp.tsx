import { useEffect, useState } from "preact/hooks";
import { browser } from "wxt/browser";
import { t } from "../../lib/i18n";
import { sendToBackground } from "../../lib/messages";
import { MIN_POLL_INTERVAL_SECONDS, connectionItem, sessionItem, settingsItem, type ConnectionSnapshot, type Settings } from "../../lib/storage";
import { useStorageItem } from "../../lib/ui/use-storage-item";

type Notice = { text: string; tone: "ok" | "error" } | null;

function parseServerUrl(raw: string): URL | null {
  try {
    const url = new URL(raw.trim());
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

/** Host permission for a seller-chosen server; must run inside the click that asked for it. */
async function ensureServerPermission(url: URL): Promise<boolean> {
  const origins = [`${url.protocol}//${url.hostname}/*`];
  if (await browser.permissions.contains({ origins })) return true;
  return browser.permissions.request({ origins });
}

function LoginForm(props: { settings: Settings }) {
  const [serverUrl, setServerUrl] = useState(props.settings.serverUrl);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [notice, setNotice] = useState<Notice>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const url = parseServerUrl(serverUrl);
    if (!url) return setNotice({ text: t("invalidUrl"), tone: "error" });
    setBusy(true);
    try {
      if (!(await ensureServerPermission(url))) return setNotice({ text: t("permissionDenied", url.origin), tone: "error" });
      const answer = await sendToBackground({ type: "auth/login", serverUrl: url.origin, email, password });
      setPassword("");
      setNotice(answer.ok ? { text: t("loginDone", email), tone: "ok" } : { text: t("loginFailed", answer.error), tone: "error" });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} data-testid="login-form">
      <label>{t("serverUrl")}<input type="url" name="serverUrl" value={serverUrl} onInput={(e) => setServerUrl(e.currentTarget.value)} required /></label>
      <label>{t("email")}<input type="email" name="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} autocomplete="username" required /></label>
      <label>{t("password")}<input type="password" name="password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} autocomplete="current-password" required /></label>
      <div><button class="primary" type="submit" disabled={busy} data-testid="login">{t("logIn")}</button></div>
      {notice && <p class={notice.tone} data-testid="login-notice">{notice.text}</p>}
    </form>
  );
}

function PollingForm(props: { settings: Settings }) {
  const [interval, setIntervalValue] = useState(String(props.settings.pollIntervalSeconds));
  const [longPoll, setLongPoll] = useState(props.settings.longPoll);
  const [notice, setNotice] = useState<Notice>(null);

  async function submit(event: Event) {
    event.preventDefault();
    const seconds = Math.max(MIN_POLL_INTERVAL_SECONDS, Math.round(Number(interval)) || MIN_POLL_INTERVAL_SECONDS);
    setIntervalValue(String(seconds));
    await settingsItem.setValue({ ...(await settingsItem.getValue()), pollIntervalSeconds: seconds, longPoll });
    await sendToBackground({ type: "ui/kick" });
    setNotice({ text: t("saved"), tone: "ok" });
  }

  return (
    <form onSubmit={submit} data-testid="polling-form">
      <label>{t("pollInterval")}<input type="number" name="pollInterval" min={MIN_POLL_INTERVAL_SECONDS} value={interval} onInput={(e) => setIntervalValue(e.currentTarget.value)} /></label>
      <label class="inline"><input type="checkbox" name="longPoll" checked={longPoll} onChange={(e) => setLongPoll(e.currentTarget.checked)} />{t("longPoll")}</label>
      <div><button type="submit" data-testid="save-polling">{t("save")}</button></div>
      {notice && <p class={notice.tone}>{notice.text}</p>}
    </form>
  );
}

/** After login the seller is not done yet: say what comes next, and when it is all set. */
function NextStep(props: { vinted: ConnectionSnapshot["vinted"] | undefined }) {
  if (props.vinted?.state === "logged_in") return <p class="ok" data-testid="next-step">{t("nextStepReady", props.vinted.login ?? "?")}</p>;
  return (
    <p data-testid="next-step">
      {t("nextStepVinted")}{" "}
      <a href="https://www.vinted.fr/" target="_blank" rel="noreferrer">{t("openVinted")}</a>
    </p>
  );
}

export function OptionsApp() {
  const session = useStorageItem(sessionItem);
  const connection = useStorageItem(connectionItem);
  const [settings, setSettings] = useState<Settings | null>(null);
  useEffect(() => void settingsItem.getValue().then(setSettings), []);
  if (!settings || session === undefined) return null;
  return (
    <main>
      <h1>{t("optionsTitle")}</h1>
      {session ? (
        <>
          <p data-testid="session">
            {t("loginDone", session.user?.email ?? "")} · {new URL(session.serverUrl).host}{" "}
            <button onClick={() => void sendToBackground({ type: "auth/logout" })} data-testid="logout">{t("logOut")}</button>
          </p>
          <NextStep vinted={connection?.vinted} />
        </>
      ) : (
        <LoginForm settings={settings} />
      )}
      <PollingForm settings={settings} />
    </main>
  );
}
