import { useState } from "preact/hooks";
import { PASSWORD_MIN_LENGTH } from "../../../../shared/auth";
import { LanguagePicker } from "../App";
import { ErrorBox, Notice } from "../components";
import { useI18n } from "../i18n";
import { api } from "../lib/api";
import { useAction } from "../lib/hooks";

export function Login() {
  const { t } = useI18n();
  const [mode, setMode] = useState<"login" | "register">("login");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [username, setUsername] = useState("");
  const action = useAction();
  const isRegister = mode === "register";
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(() => (isRegister ? api.register(email, password, username.trim() || undefined) : api.login(email, password)));
  };
  return (
    <main class="login" id="main">
      <div class="login-lang">
        <LanguagePicker />
      </div>
      <form class="card login-card" onSubmit={submit}>
        <h1>{isRegister ? t("registerTitle") : t("loginTitle")}</h1>
        <Notice text={api.sessionExpired && !action.error ? t("sessionExpired") : null} />
        <ErrorBox error={action.error} />
        <label class="field">
          <span>{t("email")}</span>
          <input type="email" name="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>{t("password")}</span>
          <input
            type="password"
            name="password"
            autoComplete={isRegister ? "new-password" : "current-password"}
            required
            minLength={isRegister ? PASSWORD_MIN_LENGTH : 1}
            aria-describedby={isRegister ? "password-hint" : undefined}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          {isRegister && (
            <small id="password-hint" class="hint">
              {t("passwordHint")}
            </small>
          )}
        </label>
        {isRegister && (
          <label class="field">
            <span>{t("username")}</span>
            <input name="username" autoComplete="nickname" value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
          </label>
        )}
        <button type="submit" class="primary" disabled={action.busy}>
          {isRegister ? t("registerAction") : t("loginAction")}
        </button>
        <button type="button" class="link" onClick={() => (action.clear(), setMode(isRegister ? "login" : "register"))}>
          {isRegister ? t("toLogin") : t("toRegister")}
        </button>
      </form>
    </main>
  );
}
