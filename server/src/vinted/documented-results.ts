/**
 * Results in spec/plugin-polling-api.md's shapes, turned into the extension's richer ones so one
 * applier handles both. What the documented shape leaves out is taken from the task (the item id of
 * its params) or the result's arrival; what cannot be known is not invented.
 */
import { DOCUMENTED_RESULT_SCHEMAS, PLUGIN_PARAMS_SCHEMAS, type PluginAction, type PluginResultData } from "../../../shared/plugin.js";

type Json = Record<string, unknown>;

export type DocumentedAction = keyof typeof DOCUMENTED_RESULT_SCHEMAS;

export type Completed<A extends PluginAction> = { data: PluginResultData[A]; warning: null } | { data: null; warning: string };

export function isDocumentedAction(action: PluginAction): action is DocumentedAction {
  return action in DOCUMENTED_RESULT_SCHEMAS;
}

function itemIdOf(params: Json): number | null {
  const id = params.item_id;
  return typeof id === "number" && Number.isInteger(id) && id > 0 ? id : null;
}

/** get_user_data as documented: the Vinted site and item count are simply unknown. */
export function documentedUserData(data: unknown): PluginResultData["get_user_data"] | null {
  const parsed = DOCUMENTED_RESULT_SCHEMAS.get_user_data.safeParse(data);
  if (!parsed.success) return null;
  return { ...parsed.data, origin: parsed.data.origin ?? "", item_count: parsed.data.item_count ?? null };
}

/** {products, total}: complete when it has every listing Vinted announced. */
export function documentedSync(data: unknown): { products: Json[]; total: number; complete: boolean } | null {
  const parsed = DOCUMENTED_RESULT_SCHEMAS.get_all_products.safeParse(data);
  if (!parsed.success) return null;
  return { products: parsed.data.products, total: parsed.data.total, complete: parsed.data.products.length >= parsed.data.total };
}

/** {success: true}: the item is the one the task asked to delete. */
export function documentedDelete(data: unknown, params: Json): Completed<"delete_product"> | null {
  if (!DOCUMENTED_RESULT_SCHEMAS.delete_product.safeParse(data).success) return null;
  const itemId = itemIdOf(params);
  if (itemId === null) return { data: null, warning: "the task's params name no item_id" };
  return { data: { success: true, item_id: itemId }, warning: null };
}

/** {view_count, favourite_count, message_count}: the stats of the task's item, as of the result. */
export function documentedStats(data: unknown, params: Json, capturedAt: Date): Completed<"get_stats"> | null {
  const parsed = DOCUMENTED_RESULT_SCHEMAS.get_stats.safeParse(data);
  if (!parsed.success) return null;
  const itemId = itemIdOf(params);
  if (itemId === null) return { data: null, warning: "the task's params name no item_id" };
  return { data: { item_id: itemId, ...parsed.data, message_count: parsed.data.message_count ?? null, captured_at: capturedAt.toISOString() }, warning: null };
}

/**
 * {updated, failed, total}: without per-item outcomes, the prices are known only when every one
 * requested was updated; otherwise none is applied (the next sync reads them from Vinted).
 */
export function documentedPrices(data: unknown, params: Json): Completed<"update_prices"> | null {
  const parsed = DOCUMENTED_RESULT_SCHEMAS.update_prices.safeParse(data);
  if (!parsed.success) return null;
  const requested = PLUGIN_PARAMS_SCHEMAS.update_prices.safeParse(params);
  if (!requested.success) return { data: null, warning: "the task's params are not a price batch" };
  const { updated, failed, total } = parsed.data;
  if (failed > 0 || updated !== requested.data.updates.length) {
    return { data: null, warning: `${failed} of ${total} prices failed and the result does not say which: none applied until the next sync` };
  }
  return { data: { ...parsed.data, results: requested.data.updates.map((u) => ({ item_id: u.item_id, success: true })) }, warning: null };
}
