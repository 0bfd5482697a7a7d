import type { PluginAction, TaskResultBody } from "../../../shared/plugin";
import type { PluginApi } from "../server/plugin-api";
import { outboxItem, type PendingResult } from "../storage";
import { markDelivered } from "./history";

const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 5 * 60_000;

function backoffMs(attempts: number): number {
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
  return base / 2 + Math.random() * (base / 2);
}

async function update(mutate: (items: PendingResult[]) => PendingResult[]): Promise<void> {
  await outboxItem.setValue(mutate(await outboxItem.getValue()));
}

/**
 * Results wait here until the server acknowledges them (200) or refuses them for good (409/4xx).
 * Nothing else removes them: a server that is down for hours gets every result when it is back.
 */
export class ResultOutbox {
  private flushing: Promise<void> | null = null;
  /** Retries run on their own timer: the poll loop may sit in a 20 s long-poll meanwhile. */
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly api: PluginApi) {}

  async add(taskId: string, action: PluginAction, body: TaskResultBody): Promise<void> {
    await update((items) => [...items.filter((i) => i.taskId !== taskId), { taskId, action, body, attempts: 0, nextAttemptAt: 0 }]);
  }

  async size(): Promise<number> {
    return (await outboxItem.getValue()).length;
  }

  /** Earliest time a pending result is due, or null when the outbox is empty. */
  async nextDueAt(): Promise<number | null> {
    const items = await outboxItem.getValue();
    return items.length ? Math.min(...items.map((i) => i.nextAttemptAt)) : null;
  }

  flush(): Promise<void> {
    this.flushing ??= this.deliverDue().finally(() => {
      this.flushing = null;
      void this.armRetryTimer();
    });
    return this.flushing;
  }

  private async armRetryTimer(): Promise<void> {
    clearTimeout(this.retryTimer);
    const dueAt = await this.nextDueAt();
    if (dueAt !== null) this.retryTimer = setTimeout(() => void this.flush(), Math.max(0, dueAt - Date.now()));
  }

  private async deliverDue(): Promise<void> {
    for (const item of await outboxItem.getValue()) {
      if (item.nextAttemptAt > Date.now()) continue;
      const outcome = await this.api.deliverResult(item.taskId, item.body);
      if (outcome.kind === "retry") {
        const attempts = item.attempts + 1;
        const delay = Math.max(outcome.retryAfterMs ?? 0, backoffMs(attempts));
        await update((items) => items.map((i) => (i.taskId === item.taskId ? { ...i, attempts, nextAttemptAt: Date.now() + delay } : i)));
        // The server is unwell: leave the others for the next round instead of hammering it.
        return;
      }
      if (outcome.kind === "rejected") console.warn(`[MarketHub] result for ${item.taskId} refused for good: ${outcome.reason}`);
      await update((items) => items.filter((i) => i.taskId !== item.taskId));
      if (outcome.kind === "acknowledged") await markDelivered(item.taskId);
    }
  }
}
