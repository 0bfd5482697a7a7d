import type { PluginAction } from "../../../shared/plugin";
import { localHistoryItem, type LocalTaskRecord } from "../storage";

const HISTORY_LENGTH = 20;

/** What this browser did, shown by the popup when the server's list is out of reach. */
export async function recordLocally(record: Omit<LocalTaskRecord, "finishedAt" | "delivered"> & { delivered?: boolean }): Promise<void> {
  const history = await localHistoryItem.getValue();
  const entry: LocalTaskRecord = { ...record, finishedAt: Date.now(), delivered: record.delivered ?? false };
  await localHistoryItem.setValue([entry, ...history.filter((h) => h.taskId !== record.taskId)].slice(0, HISTORY_LENGTH));
}

export async function markDelivered(taskId: string): Promise<void> {
  const history = await localHistoryItem.getValue();
  await localHistoryItem.setValue(history.map((h) => (h.taskId === taskId ? { ...h, delivered: true } : h)));
}

