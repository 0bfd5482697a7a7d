import type { PluginCommand } from "../../../../shared/plugin";
import { ActionCancelledError, VintedError, describeVintedError } from "../errors";
import type { ActionContext, ActionOutcome } from "./context";
import { PriceBatchStopped, updatePrices } from "./update-prices";
import { getAllProducts, getStats, getUserData } from "./read-actions";
import { searchItems } from "./search-items";
import { createProduct, deleteProduct, updateProduct, uploadPhoto } from "./write-actions";

export type { ActionContext, ActionOutcome, PhotoSource } from "./context";

function dispatch(command: PluginCommand, ctx: ActionContext): Promise<unknown> {
  switch (command.action) {
    case "get_user_data":
      return getUserData(ctx);
    case "get_all_products":
      return getAllProducts(command.params, ctx);
    case "create_product":
      return createProduct(command.params, ctx);
    case "update_product":
      return updateProduct(command.params, ctx);
    case "delete_product":
      return deleteProduct(command.params, ctx);
    case "update_prices":
      return updatePrices(command.params, ctx);
    case "get_stats":
      return getStats(command.params, ctx);
    case "upload_photo":
      return uploadPhoto(command.params, ctx);
    case "search_items":
      return searchItems(command.params, ctx);
  }
}

/** Runs one action; never throws: every failure becomes an outcome with an error code. */
export async function runVintedAction(command: PluginCommand, ctx: ActionContext): Promise<ActionOutcome> {
  try {
    return { success: true, data: await dispatch(command, ctx) };
  } catch (error) {
    if (error instanceof ActionCancelledError) return { success: false, error: error.message, error_code: "CANCELLED" };
    const { code, message } = describeVintedError(error);
    const data = error instanceof PriceBatchStopped ? error.partial : undefined;
    const retryAfterMs = error instanceof VintedError ? error.details.retryAfterMs : undefined;
    return { success: false, error: message, error_code: code, ...(data ? { data } : {}), ...(retryAfterMs !== undefined ? { retry_after_ms: retryAfterMs } : {}) };
  }
}
