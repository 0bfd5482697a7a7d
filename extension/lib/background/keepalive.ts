import { browser } from "wxt/browser";

/**
 * Chrome stops an MV3 service worker after 30 s without extension events or API calls, and alarms
 * fire at most every 30 s. While there is work (a poll loop with a Vinted tab, a running task,
 * results to deliver) a cheap API call every 20 s keeps the worker, and so the 5 s poller, alive.
 */
export class KeepAlive {
  private timer: ReturnType<typeof setInterval> | undefined;

  set(wanted: boolean): void {
    if (wanted && !this.timer) this.timer = setInterval(() => void browser.runtime.getPlatformInfo(), 20_000);
    if (!wanted && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
