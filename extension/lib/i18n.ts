import { browser } from "wxt/browser";

export type MessageKey = keyof typeof import("../public/_locales/en/messages.json");

/** browser.i18n with the keys of public/_locales/en/messages.json checked at compile time. */
export function t(key: MessageKey, ...substitutions: Array<string | number>): string {
  return browser.i18n.getMessage(key, substitutions.map(String)) || key;
}
