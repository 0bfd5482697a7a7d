/**
 * Vinted catalog searches asked for by a server task (competitor analysis): `vinted.search_items`
 * tasks for the seller's extension, each under an exclusive key made of the asking task, its retry
 * and the search's place in its list, so a run of the asking task after a crash (or after waiting)
 * finds the searches it already asked for instead of asking again. A search must be claimed within
 * a window (plugin.claim_by): with no extension answering, the lease sweeper cancels it and the
 * asking task goes on without it.
 */
import { SearchItemsResultSchema, type SearchItemsParams, type SearchItemsResult } from "../../../shared/plugin.js";
import { ENDED_STATUSES } from "../tasks/lifecycle/index.js";
import type { TaskLifecycle } from "../tasks/lifecycle/index.js";
import { takeExclusiveSlot } from "../tasks/exclusive.js";
import type { Task } from "../tasks/model.js";
import type { PluginService } from "./service.js";

/** One search as the asking task sees it. */
export type CatalogSearchState =
  | { task_id: string; state: "waiting" }
  | { task_id: string; state: "done"; result: SearchItemsResult }
  | { task_id: string; state: "failed"; status: string; error: string };

export interface CatalogSearchRequest {
  /** The asking task: its brand, its creator (the seller whose extension searches), id and retry. */
  asker: Pick<Task, "task_id" | "brand" | "created_by" | "retry_count">;
  searches: SearchItemsParams[];
  /** How long an extension has to take each search before it is given up. */
  claimWithinSeconds: number;
}

/** What the competitor analysis needs of the plugin module. */
export interface CatalogSearchPort {
  /** Asks for every search not asked for yet, and answers where each one stands. */
  ensure(request: CatalogSearchRequest): Promise<CatalogSearchState[]>;
}

/** Seconds one search may run once claimed (three paced pages take well under this). */
const SEARCH_TIMEOUT_SECONDS = 120;

export const searchKeyOf = (asker: CatalogSearchRequest["asker"], index: number) => `vinted.search_items:${asker.task_id}:r${asker.retry_count}:${index}`;

export class PluginCatalogSearches implements CatalogSearchPort {
  constructor(
    private readonly lifecycle: TaskLifecycle,
    private readonly plugin: PluginService,
  ) {}

  async ensure(request: CatalogSearchRequest): Promise<CatalogSearchState[]> {
    const out: CatalogSearchState[] = [];
    for (const [index, params] of request.searches.entries()) out.push(stateOf(await this.searchTask(request, index, params)));
    return out;
  }

  private async searchTask(request: CatalogSearchRequest, index: number, params: SearchItemsParams): Promise<Task> {
    const { asker } = request;
    const key = searchKeyOf(asker, index);
    const existing = await this.lifecycle.tasks.findOne({ brand: asker.brand, exclusive_key: key }).sort({ id: -1 }).lean<Task>();
    if (existing) return existing;
    const outcome = await takeExclusiveSlot(this.lifecycle.tasks, asker.brand, key, () =>
      this.plugin.createOnBehalf({
        owner: asker.created_by,
        brand: asker.brand,
        action: "search_items",
        params,
        description: `Vinted catalog search "${params.search_text ?? "(filters)"}" for competitor analysis ${asker.task_id}`,
        exclusiveKey: key,
        claimWithinSeconds: request.claimWithinSeconds,
        timeoutSeconds: SEARCH_TIMEOUT_SECONDS,
        // A read past its lease is not worth a second go: the analysis goes on without it.
        maxRetries: 0,
      }),
    );
    if (outcome.taken) return outcome.value;
    if (outcome.holder) return outcome.holder;
    throw new Error(`the catalog search ${key} is being created concurrently`);
  }
}

function stateOf(task: Task): CatalogSearchState {
  if (!(ENDED_STATUSES as readonly string[]).includes(task.status)) return { task_id: task.task_id, state: "waiting" };
  if (task.status === "completed") {
    const parsed = SearchItemsResultSchema.safeParse(task.result_data);
    if (parsed.success) return { task_id: task.task_id, state: "done", result: parsed.data };
    return { task_id: task.task_id, state: "failed", status: task.status, error: "The extension's answer is not a search result" };
  }
  return { task_id: task.task_id, state: "failed", status: task.status, error: task.error_message ?? `The search was ${task.status}` };
}

/**
 * An analysis cancelled while it waits for its searches takes those no extension has started with
 * it (a started one is a read: it is left to finish, and nobody reads its result).
 */
export function cancelSearchesOfCancelledTasks(lifecycle: TaskLifecycle, taskType: string): void {
  lifecycle.events.on("task.status_changed", async ({ from, to, task }) => {
    if (to !== "cancelled" || from !== "suspended" || task.task_type !== taskType) return;
    const prefix = `vinted.search_items:${task.task_id}:`;
    const pending = await lifecycle.tasks.find({ brand: task.brand, status: "pending", exclusive_key: { $gte: prefix, $lt: `${prefix}\uffff` } }).lean<Task[]>();
    for (const search of pending) await lifecycle.cancel(search);
  });
}
