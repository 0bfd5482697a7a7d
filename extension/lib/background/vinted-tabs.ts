import { browser } from "wxt/browser";
import { sendToTab, type VintedTabStatus } from "../messages";
import { VINTED_MATCH_PATTERNS } from "../vinted/domains";

export interface VintedTab {
  tabId: number;
  status: VintedTabStatus;
}

/** Vinted tabs, the focused one first, then the most recently used. */
async function vintedTabIds(): Promise<number[]> {
  const tabs = await browser.tabs.query({ url: VINTED_MATCH_PATTERNS });
  return tabs
    .filter((tab) => tab.id !== undefined && tab.status === "complete")
    .sort((a, b) => Number(b.active) - Number(a.active) || (b.lastAccessed ?? 0) - (a.lastAccessed ?? 0))
    .map((tab) => tab.id as number);
}

async function askStatus(tabId: number, fresh: boolean): Promise<VintedTabStatus | null> {
  try {
    return await sendToTab(tabId, { type: "vinted/status", fresh });
  } catch {
    // No content script yet (tab still loading, or opened before the extension was installed).
    return null;
  }
}

/**
 * The tab that can run work: logged in to Vinted (optionally as a given account). Returns the
 * best status seen when none is ready, so the popup can say why nothing is claimed.
 */
export async function findVintedTab(vintedUserId?: number | null, fresh = false): Promise<{ ready: VintedTab | null; seen: VintedTab | null }> {
  let seen: VintedTab | null = null;
  for (const tabId of await vintedTabIds()) {
    const status = await askStatus(tabId, fresh);
    if (!status) continue;
    const candidate = { tabId, status };
    if (status.state === "logged_in" && (vintedUserId == null || status.user?.id === vintedUserId)) return { ready: candidate, seen: candidate };
    seen ??= candidate;
  }
  return { ready: null, seen };
}

/** Tabs opened before install/update have no content script: give them one. */
export async function injectIntoOpenVintedTabs(): Promise<void> {
  for (const tabId of await vintedTabIds()) {
    await browser.scripting.executeScript({ target: { tabId }, files: ["/content-scripts/vinted.js"] }).catch(() => undefined);
  }
}
