/** EN / FR / ES, chosen by the seller (remembered) or from the browser's language. */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { en, type MessageKey, type Messages } from "./en";
import { es } from "./es";
import { fr } from "./fr";

export const LANGUAGES = { en: "English", fr: "Français", es: "Español" } as const;
export type Language = keyof typeof LANGUAGES;
const DICTIONARIES: Record<Language, Messages> = { en, fr, es };
const STORAGE_KEY = "markethub.language";

function isLanguage(value: string | null): value is Language {
  return value !== null && Object.hasOwn(LANGUAGES, value);
}

export function initialLanguage(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (isLanguage(saved)) return saved;
  const browser = navigator.language.slice(0, 2).toLowerCase();
  return isLanguage(browser) ? browser : "en";
}

export function saveLanguage(language: Language): void {
  localStorage.setItem(STORAGE_KEY, language);
  document.documentElement.lang = language;
}

export type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

export function translator(language: Language): Translate {
  const messages = DICTIONARIES[language];
  return (key, values) => messages[key].replace(/\{(\w+)\}/g, (whole, name: string) => (values && name in values ? String(values[name]) : whole));
}

/** A key built from a server word (status, state…), with the raw word when it is not translated. */
export function hasKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

export interface I18n {
  language: Language;
  t: Translate;
  setLanguage(language: Language): void;
  /** Dates and numbers in the seller's language. */
  formatDate(iso: string | null): string;
  formatNumber(value: number, digits?: number): string;
}

export const I18nContext = createContext<I18n>({
  language: "en",
  t: translator("en"),
  setLanguage: () => undefined,
  formatDate: (iso) => iso ?? "",
  formatNumber: String,
});

export function makeI18n(language: Language, setLanguage: (language: Language) => void): I18n {
  const dates = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" });
  return {
    language,
    t: translator(language),
    setLanguage,
    formatDate: (iso) => (iso ? dates.format(new Date(iso)) : "—"),
    formatNumber: (value, digits = 0) => new Intl.NumberFormat(language, { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(value),
  };
}

export function useI18n(): I18n {
  return useContext(I18nContext);
}

/** The translated word for a server value such as `status_running`, or the value itself. */
export function useWord(): (prefix: string, value: string) => string {
  const { t } = useI18n();
  return (prefix, value) => {
    const key = `${prefix}_${value}`;
    return hasKey(key) ? t(key) : value;
  };
}
