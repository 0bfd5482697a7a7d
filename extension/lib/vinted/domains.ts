/**
 * Vinted country sites. Requests always go to the tab's own `location.origin`; this list only
 * feeds the manifest (content script matches, host permissions) and the currency guess.
 */
export const VINTED_TLDS = [
  "fr", "de", "es", "it", "co.uk", "com", "nl", "be", "pl", "lt", "lv", "ee", "cz", "sk", "at",
  "pt", "se", "fi", "dk", "ro", "hu", "hr", "gr", "ie", "lu", "si",
] as const;

/** HTTPS only: every Vinted site is served over TLS, and the session cookies are Secure. */
export const VINTED_MATCH_PATTERNS: string[] = VINTED_TLDS.map((tld) => `https://*.vinted.${tld}/*`);

const CURRENCY_BY_TLD: Record<string, string> = {
  "co.uk": "GBP", com: "USD", pl: "PLN", cz: "CZK", se: "SEK", dk: "DKK", ro: "RON", hu: "HUF",
};

export function currencyForOrigin(origin: string): string {
  const host = new URL(origin).hostname;
  const tld = VINTED_TLDS.find((t) => host === `vinted.${t}` || host.endsWith(`.vinted.${t}`));
  return (tld && CURRENCY_BY_TLD[tld]) ?? "EUR";
}

export function isVintedUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const { protocol, hostname } = new URL(url);
    return protocol === "https:" && VINTED_TLDS.some((t) => hostname === `vinted.${t}` || hostname.endsWith(`.vinted.${t}`));
  } catch {
    return false;
  }
}
