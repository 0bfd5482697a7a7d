import { browser } from "wxt/browser";
import { defineContentScript } from "wxt/utils/define-content-script";
import { injectScript } from "wxt/utils/inject-script";
import { isToContentMessage, onMessages, sendToBackground, type ToContentMessage, type ToContentResponses } from "../lib/messages";
import { pacingItem } from "../lib/storage";
import { VintedError } from "../lib/vinted/errors";
import { BRIDGE_READY_EVENT, channelEventName } from "../lib/vinted/bridge-protocol";
import { VINTED_MATCH_PATTERNS } from "../lib/vinted/domains";
import { DEFAULT_PACING, type PacingSettings } from "../lib/vinted/pacing";
import { VintedPageAgent } from "../lib/vinted/page-agent";
import { BridgeTransport } from "../lib/vinted/transport";
import type { PhotoSource } from "../lib/vinted/actions";

const BRIDGE_READY_TIMEOUT_MS = 10_000;

declare global {
  interface Window {
    /** Set once per isolated world: the script may be injected again by scripting.executeScript. */
    __markethubVintedAgent?: boolean;
  }
}

async function startBridge(): Promise<BridgeTransport> {
  const channel = crypto.randomUUID();
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the Vinted bridge did not start")), BRIDGE_READY_TIMEOUT_MS);
    document.addEventListener(channelEventName(BRIDGE_READY_EVENT, channel), () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
  const transport = new BridgeTransport(channel);
  await injectScript("/vinted-bridge.js", { modifyScript: (script) => void (script.dataset.channel = channel) });
  await ready;
  return transport;
}

const photos: PhotoSource = {
  async fetch(url) {
    const answer = await sendToBackground({ type: "photo/fetch", url });
    if (!answer.ok) throw new VintedError("PHOTO_DOWNLOAD_FAILED", answer.error);
    return answer.photo;
  },
};

export default defineContentScript({
  matches: VINTED_MATCH_PATTERNS,
  runAt: "document_idle",
  async main() {
    if (window.__markethubVintedAgent) return;
    window.__markethubVintedAgent = true;

    let pacing: PacingSettings = { ...DEFAULT_PACING, ...(await pacingItem.getValue()) };
    pacingItem.watch((value) => void (pacing = { ...DEFAULT_PACING, ...value }));

    const agent = new VintedPageAgent({
      transport: await startBridge(),
      pacing: () => pacing,
      photos,
      // Fire-and-forget: progress also reaches extension pages (tests listen there).
      report: (taskId, progress) => void browser.runtime.sendMessage({ type: "vinted/progress", taskId, progress }).catch(() => undefined),
      document,
      origin: location.origin,
    });

    onMessages<ToContentMessage, ToContentResponses>(isToContentMessage, (message) => {
      switch (message.type) {
        case "vinted/status":
          return agent.tabStatus(message.fresh);
        case "vinted/run":
          return agent.run(message);
        case "vinted/cancel":
          return Promise.resolve({ cancelled: agent.cancel(message.taskId, message.reason) });
      }
    });
  },
});
