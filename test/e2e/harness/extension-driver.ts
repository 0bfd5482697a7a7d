import type { Page } from "puppeteer";

/** What the tests send to the content script: the same message the background sends. */
export interface RunRequest {
  taskId: string;
  action: string;
  params: unknown;
  outcomeUnknown?: boolean;
}

export interface ActionOutcome {
  success: boolean;
  data?: unknown;
  error?: string;
  error_code?: string;
}

export interface ProgressMessage {
  taskId: string;
  progress: { current: number; total: number; message: string; partial?: { page: number; total_pages: number; items: unknown[] } };
}

interface ExtensionApi {
  tabs: {
    query(q: { url: string | string[] }): Promise<Array<{ id?: number }>>;
    sendMessage(tabId: number, message: unknown): Promise<unknown>;
  };
  storage: { local: { set(items: Record<string, unknown>): Promise<void>; get(keys: string | string[] | null): Promise<Record<string, unknown>> } };
  runtime: { onMessage: { addListener(fn: (message: unknown) => void): void }; sendMessage(message: unknown): Promise<unknown> };
}

/** What the background tells the popup about itself (extension/lib/storage.ts ConnectionSnapshot). */
export interface ConnectionState {
  poller: string;
  server: string;
  serverError: string | null;
  vinted: { state: string; login: string | null; userId: number | null; origin: string | null; tabId: number | null };
  lastPollAt: number | null;
  nextPollAt: number | null;
  updatedAt: number;
}

declare global {
  // Inside extension pages.
  var browser: ExtensionApi | undefined;
  var chrome: ExtensionApi | undefined;
  var __progress: ProgressMessage[] | undefined;
}

const VINTED_TABS = "https://*.vinted.fr/*";

/**
 * Drives the extension from one of its own pages (popup.html), with the extension APIs that page
 * has: the same route the background uses to reach the Vinted content script.
 */
export class ExtensionDriver {
  constructor(readonly page: Page) {}

  async setStorage(items: Record<string, unknown>): Promise<void> {
    await this.again(() =>
      this.page.evaluate(async (values) => {
        const api = globalThis.browser ?? globalThis.chrome;
        await api!.storage.local.set(values);
      }, items),
    );
  }

  async getStorage(key: string): Promise<unknown> {
    return this.again(() =>
      this.page.evaluate(async (k) => {
        const api = globalThis.browser ?? globalThis.chrome;
        return (await api!.storage.local.get(k))[k];
      }, key),
    );
  }

  /**
   * Runs `read` again once the page has loaded when its document was replaced meanwhile: as it
   * installs, the extension opens its options page, and Chromium may load it into the options tab
   * a suite has just opened.
   */
  private async again<T>(read: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await read();
      } catch (err) {
        if (attempt === 3 || !(err instanceof Error) || !err.message.includes("Execution context was destroyed")) throw err;
        await this.page.waitForFunction("document.readyState === 'complete'", { timeout: 30_000 });
      }
    }
  }

  async connection(): Promise<ConnectionState> {
    return (await this.getStorage("connection")) as ConnectionState;
  }

  /** What the popup sends when it opens: the background's poller runs a tick now instead of sleeping on. */
  async kick(): Promise<void> {
    await this.page.evaluate(async () => {
      const api = globalThis.browser ?? globalThis.chrome;
      await api!.runtime.sendMessage({ type: "ui/kick" });
    });
  }

  /**
   * Kicks the poller until it has finished `count` whole ticks after this call (each tick ends by
   * writing a new nextPollAt), and returns the state the last one left: proof that the background
   * looked at its queue since, rather than a guess that enough time went by.
   */
  async waitForPollerTicks(count = 2, timeoutMs = 20_000): Promise<ConnectionState> {
    const initial = (await this.connection())?.nextPollAt ?? null;
    const seen = new Set<number>();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await this.kick().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 250));
      const state = await this.connection();
      if (state?.nextPollAt != null && state.nextPollAt !== initial) seen.add(state.nextPollAt);
      if (seen.size >= count) return state;
    }
    throw new Error(`the background's poller did not tick ${count} times within ${timeoutMs} ms`);
  }

  private async send<T>(message: unknown): Promise<T> {
    return this.page.evaluate(
      async (msg, pattern) => {
        const api = globalThis.browser ?? globalThis.chrome;
        const [tab] = await api!.tabs.query({ url: pattern });
        if (tab?.id === undefined) throw new Error("no Vinted tab");
        return api!.tabs.sendMessage(tab.id, msg);
      },
      message,
      VINTED_TABS,
    ) as Promise<T>;
  }

  /** Waits until the content script in the Vinted tab answers (it starts at document_idle). */
  async waitForVintedTab(timeoutMs = 30_000): Promise<{ state: string; user: { id: number; login: string } | null; origin: string }> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        return await this.send({ type: "vinted/status", fresh: true });
      } catch (error) {
        lastError = error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw new Error(`the Vinted content script never answered: ${String(lastError)}`);
  }

  async status(): Promise<{ state: string; error: string | null }> {
    return this.send({ type: "vinted/status" });
  }

  async startRecordingProgress(): Promise<void> {
    await this.page.evaluate(() => {
      if (globalThis.__progress) return;
      globalThis.__progress = [];
      const api = globalThis.browser ?? globalThis.chrome;
      api!.runtime.onMessage.addListener((message) => {
        const m = message as { type?: string } & ProgressMessage;
        if (m.type === "vinted/progress") globalThis.__progress!.push({ taskId: m.taskId, progress: m.progress });
      });
    });
  }

  async progressOf(taskId: string): Promise<ProgressMessage[]> {
    return this.page.evaluate((id) => (globalThis.__progress ?? []).filter((p) => p.taskId === id), taskId);
  }

  run(request: RunRequest): Promise<ActionOutcome> {
    return this.send({ type: "vinted/run", outcomeUnknown: false, ...request });
  }
}
