import { useEffect, useMemo, useState } from "preact/hooks";
import type { MeResponse } from "../../../shared/auth";
import { AUTH_ROUTES } from "../../../shared/auth";
import { I18nContext, LANGUAGES, initialLanguage, makeI18n, saveLanguage, useI18n, type Language } from "./i18n";
import type { MessageKey } from "./i18n/en";
import { api } from "./lib/api";
import { useResource } from "./lib/hooks";
import { href, useRoute } from "./lib/router";
import { Login } from "./screens/Login";
import { Overview } from "./screens/Overview";
import { BatchPage, Batches } from "./screens/Batches";
import { TaskPage, Tasks } from "./screens/Tasks";
import { ProductPage, Products } from "./screens/products";
import { Vinted } from "./screens/Vinted";
import { Operations } from "./screens/Operations";
import { Settings } from "./screens/Settings";

const SCREENS: { path: string; label: MessageKey }[] = [
  { path: "overview", label: "navOverview" },
  { path: "batches", label: "navBatches" },
  { path: "tasks", label: "navTasks" },
  { path: "products", label: "navProducts" },
  { path: "vinted", label: "navVinted" },
  { path: "operations", label: "navOperations" },
  { path: "settings", label: "navSettings" },
];

function useSession() {
  const [session, setSession] = useState(api.current);
  const [brand, setBrand] = useState(api.brand);
  useEffect(
    () =>
      api.onChange(() => {
        setSession(api.current);
        setBrand(api.brand);
      }),
    [],
  );
  return { session, brand };
}

export function App() {
  const [language, setLanguage] = useState<Language>(initialLanguage);
  const i18n = useMemo(
    () =>
      makeI18n(language, (next) => {
        saveLanguage(next);
        setLanguage(next);
      }),
    [language],
  );
  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);
  const { session, brand } = useSession();
  return <I18nContext.Provider value={i18n}>{session ? <Shell key={`${session.userId}:${brand ?? ""}`} /> : <Login />}</I18nContext.Provider>;
}

export function LanguagePicker() {
  const { t, language, setLanguage } = useI18n();
  return (
    <label class="inline-field">
      <span>{t("language")}</span>
      <select name="language" value={language} onChange={(e) => setLanguage(e.currentTarget.value as Language)}>
        {Object.entries(LANGUAGES).map(([code, name]) => (
          <option key={code} value={code} lang={code}>
            {name}
          </option>
        ))}
      </select>
    </label>
  );
}

function BrandPicker() {
  const { t } = useI18n();
  const me = useResource(() => api.get<MeResponse>(AUTH_ROUTES.me), "me");
  const brands = me.data?.brands ?? [];
  const current = api.brand ?? me.data?.user.personal_brand_id ?? "";
  if (brands.length === 0) return null;
  return (
    <label class="inline-field">
      <span>{t("brand")}</span>
      <select name="brand" value={String(current)} onChange={(e) => api.setBrand(Number(e.currentTarget.value))}>
        {brands.map((b) => (
          <option key={b.id} value={String(b.id)}>
            {b.personal ? t("personalBrand", { name: b.name }) : b.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function Screen() {
  const { segments, query } = useRoute();
  const [screen = "overview", id] = segments;
  switch (screen) {
    case "batches":
      return id ? <BatchPage batchId={id} /> : <Batches />;
    case "tasks":
      return id ? <TaskPage taskId={id} /> : <Tasks query={query} />;
    case "products":
      return id ? <ProductPage productId={id} /> : <Products />;
    case "vinted":
      return <Vinted />;
    case "operations":
      return <Operations />;
    case "settings":
      return <Settings />;
    default:
      return <Overview />;
  }
}

function Shell() {
  const { t } = useI18n();
  const { segments } = useRoute();
  const active = segments[0] ?? "overview";
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        {t("skipToContent")}
      </a>
      <header class="topbar">
        <a class="logo" href={href("overview")}>
          {t("appName")}
        </a>
        <div class="topbar-controls">
          <BrandPicker />
          <LanguagePicker />
          <span class="who">{api.current?.email}</span>
          <button type="button" onClick={() => void api.logout()}>
            {t("logout")}
          </button>
        </div>
      </header>
      <nav class="tabs" aria-label={t("mainNav")}>
        {SCREENS.map((s) => (
          <a key={s.path} href={href(s.path)} aria-current={active === s.path ? "page" : undefined}>
            {t(s.label)}
          </a>
        ))}
      </nav>
      <main id="main" tabIndex={-1}>
        <Screen />
      </main>
    </>
  );
}
