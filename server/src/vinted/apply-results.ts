/**
 * What an extension result means for the seller's Vinted data: a sync fills the listings, a create
 * or an update stores the item, a price batch the prices Vinted took… The plugin's result endpoint
 * hands each accepted result here and keeps what this returns as the task's `result_data`.
 */
import type { z } from "zod";
import { PLUGIN_PARAMS_SCHEMAS, PLUGIN_RESULT_SCHEMAS, type PluginAction, type TaskResultBody } from "../../../shared/plugin.js";
import { fieldErrorsOf } from "../http/validation.js";
import type { Task } from "../tasks/model.js";
import {
  documentedDelete,
  documentedPrices,
  documentedStats,
  documentedSync,
  documentedUserData,
  isDocumentedAction,
  type DocumentedAction,
} from "./documented-results.js";
import { readListings } from "./normalize.js";
import type { VintedService } from "./service.js";

type Json = Record<string, unknown>;

export interface AppliedResult {
  /** What the task keeps as result_data. */
  resultData: Json | null;
  /** Set when a success's data did not match the action's result: the task completes, nothing is applied. */
  warning: string | null;
  /**
   * Listings applied without some field Vinted sent in an unexpected type (each line names the
   * listing, the field and what was wrong): the rest of each listing, and of the result, is applied.
   */
  problems?: string[];
}

export function asJsonObject(value: unknown): Json | null {
  if (value === undefined || value === null) return null;
  return typeof value === "object" && !Array.isArray(value) ? (value as Json) : { value };
}

function pick(source: Json, keys: string[]): Json {
  return Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, source[k]]));
}

export class VintedResultApplier {
  constructor(private readonly vinted: VintedService) {}

  /**
   * Applies a result of `action` to the task owner's Vinted data. A success whose data does not
   * match the action's result schema still completes the task (the write did happen on Vinted),
   * with a warning and nothing applied.
   */
  async apply(task: Task, action: PluginAction, body: TaskResultBody): Promise<AppliedResult> {
    const owner = task.owner_user_id as number;
    const params = (task.context_data ?? {}) as Json;
    if (!body.success) {
      // A price batch stopped half-way reports which prices Vinted took: those are true now.
      if (action === "update_prices") {
        const partial = PLUGIN_RESULT_SCHEMAS.update_prices.safeParse(body.data);
        if (partial.success) await this.applyPrices(owner, params, partial.data.results, task.task_id);
      }
      return { resultData: asJsonObject(body.data), warning: null };
    }
    const schema: z.ZodType = PLUGIN_RESULT_SCHEMAS[action];
    const parsed = schema.safeParse(body.data);
    if (!parsed.success && isDocumentedAction(action)) {
      const documented = await this.applyDocumented(task, action, body);
      if (documented) return documented;
    }
    if (!parsed.success) {
      const problems = Object.entries(fieldErrorsOf(parsed.error))
        .map(([k, v]) => `${k}: ${v.join(", ")}`)
        .join("; ");
      return { resultData: action === "get_all_products" ? null : asJsonObject(body.data), warning: `data does not match the ${action} result (${problems})`.slice(0, 1000) };
    }
    const data = parsed.data as Json;
    const vinted = this.vinted;
    switch (action) {
      case "get_user_data": {
        await vinted.storeAccount(owner, data, task.task_id);
        const { csrf_token: _secret, ...kept } = data;
        return { resultData: kept, warning: null };
      }
      case "get_all_products": {
        const result = PLUGIN_RESULT_SCHEMAS.get_all_products.parse(data);
        const { listings, problems } = readListings(result.products);
        const outcome = await vinted.applyCompleteSync(owner, listings, task.task_id, task.started_at ?? new Date(0), task.plugin?.sync_total_entries ?? null);
        return { resultData: { total: result.total, pages: result.pages, complete: result.complete, ...outcome }, warning: null, problems };
      }
      case "create_product":
      case "update_product": {
        const result = PLUGIN_RESULT_SCHEMAS[action].parse(data);
        // What the task asked for stands in for what Vinted's answer leaves out.
        const problems = await this.applyItems(owner, [{ ...pick(params, ["title", "price"]), ...result.item }], task.task_id);
        return { resultData: data, warning: null, problems };
      }
      case "delete_product": {
        const result = PLUGIN_RESULT_SCHEMAS.delete_product.parse(data);
        await vinted.markDeleted(owner, result.item_id, task.task_id);
        return { resultData: data, warning: null };
      }
      case "update_prices": {
        const result = PLUGIN_RESULT_SCHEMAS.update_prices.parse(data);
        const problems = await this.applyPrices(owner, params, result.results, task.task_id);
        return { resultData: data, warning: null, problems };
      }
      case "get_stats": {
        const result = PLUGIN_RESULT_SCHEMAS.get_stats.parse(data);
        await vinted.storeStats(owner, result, task.task_id);
        return { resultData: data, warning: null };
      }
      case "upload_photo":
      // Other sellers' listings: kept on the task for whoever asked (competitor analysis), never stored as the seller's.
      case "search_items":
        return { resultData: data, warning: null };
    }
  }

  /**
   * A result in spec/plugin-polling-api.md's shape, completed from the task and applied like the
   * extension's; null when `body.data` is not in that shape either.
   */
  private async applyDocumented(task: Task, action: DocumentedAction, body: TaskResultBody): Promise<AppliedResult | null> {
    const owner = task.owner_user_id as number;
    const params = (task.context_data ?? {}) as Json;
    const receivedAt = body.executed_at && !Number.isNaN(Date.parse(body.executed_at)) ? new Date(body.executed_at) : new Date();
    switch (action) {
      case "get_user_data": {
        const data = documentedUserData(body.data);
        if (!data) return null;
        await this.vinted.storeAccount(owner, data, task.task_id);
        const { csrf_token: _secret, ...kept } = data;
        return { resultData: kept, warning: null };
      }
      case "get_all_products": {
        const sync = documentedSync(body.data);
        if (!sync) return null;
        const { listings, problems } = readListings(sync.products);
        if (sync.complete) {
          const outcome = await this.vinted.applyCompleteSync(owner, listings, task.task_id, task.started_at ?? new Date(0), task.plugin?.sync_total_entries ?? null);
          return { resultData: { total: sync.total, complete: true, ...outcome }, warning: null, problems };
        }
        const upserted = await this.vinted.upsertListings(owner, listings, task.task_id);
        const skipped = `the result has ${sync.products.length} of ${sync.total} listings: nothing was marked gone`;
        return { resultData: { total: sync.total, complete: false, upserted, marked_gone: 0, gone_marking_skipped: skipped }, warning: null, problems };
      }
      case "delete_product": {
        const done = documentedDelete(body.data, params);
        if (!done) return null;
        if (done.data) await this.vinted.markDeleted(owner, done.data.item_id, task.task_id);
        return { resultData: done.data ?? asJsonObject(body.data), warning: done.warning };
      }
      case "get_stats": {
        const done = documentedStats(body.data, params, receivedAt);
        if (!done) return null;
        if (done.data) await this.vinted.storeStats(owner, done.data, task.task_id);
        return { resultData: done.data ?? asJsonObject(body.data), warning: done.warning };
      }
      case "update_prices": {
        const done = documentedPrices(body.data, params);
        if (!done) return null;
        if (done.data) await this.applyPrices(owner, params, done.data.results, task.task_id);
        return { resultData: asJsonObject(body.data), warning: done.warning };
      }
    }
  }

  /**
   * Sync pages saved as they arrive (heartbeats): a sync cut off later keeps them, and marks nothing
   * gone. Returns the problems read in the page (the final result reports them for the task).
   */
  async applySyncPage(owner: number, items: unknown[], taskId: string): Promise<string[]> {
    const { listings, problems } = readListings(items);
    await this.vinted.upsertListings(owner, listings, taskId);
    return problems;
  }

  /** Raw items read once and upserted; the problems found in them. */
  private async applyItems(owner: number, items: unknown[], taskId: string): Promise<string[]> {
    const { listings, problems } = readListings(items);
    await this.vinted.upsertListings(owner, listings, taskId);
    return problems;
  }

  private async applyPrices(
    owner: number,
    params: Json,
    outcomes: Array<{ item_id: number; success: boolean; item?: Json }>,
    taskId: string,
  ): Promise<string[]> {
    const requested = PLUGIN_PARAMS_SCHEMAS.update_prices.safeParse(params);
    if (!requested.success) return [];
    const priceOf = new Map(requested.data.updates.map((u) => [u.item_id, u.price]));
    const accepted = outcomes.filter((o) => o.success && priceOf.has(o.item_id));
    // A listing the server has not synced yet is recorded whole when Vinted's answer came with it.
    const answered = accepted.flatMap((o) => (o.item ? [{ price: priceOf.get(o.item_id)!, ...o.item }] : []));
    const problems = await this.applyItems(owner, answered, taskId);
    await this.vinted.applyPrices(owner, accepted.map((o) => ({ item_id: o.item_id, price: priceOf.get(o.item_id)! })), taskId);
    return problems;
  }
}
