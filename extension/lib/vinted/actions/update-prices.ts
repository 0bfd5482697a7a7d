import type { PluginErrorCode, UpdatePricesParams, UpdatePricesResult } from "../../../../shared/plugin";
import { VintedError, describeVintedError } from "../errors";
import { buildUpdateBody, samePrice } from "../mapping";
import type { ActionContext } from "./context";

/** Conditions of the whole account: going on would only hit the same wall for every item. */
const ACCOUNT_LEVEL_CODES: PluginErrorCode[] = ["CAPTCHA_REQUIRED", "VINTED_LOGGED_OUT", "RATE_LIMITED", "CSRF_EXPIRED", "NETWORK_ERROR"];

type Outcome = UpdatePricesResult["results"][number];

function summarise(results: Outcome[], total: number): UpdatePricesResult {
  const updated = results.filter((r) => r.success).length;
  return { updated, failed: results.length - updated, total, results };
}

/** Thrown when an account-level error stops the batch; carries the per-item results so far. */
export class PriceBatchStopped extends VintedError {
  constructor(cause: VintedError, readonly partial: UpdatePricesResult) {
    super(cause.code, cause.message, cause.details);
  }
}

/**
 * One GET + PUT per item (Vinted has no bulk price call); an item already at its price is not written.
 * Each success carries the listing as Vinted has it, so a listing the server has never synced is
 * recorded with its new price too.
 */
export async function updatePrices(params: UpdatePricesParams, ctx: ActionContext): Promise<UpdatePricesResult> {
  const results: Outcome[] = [];
  const total = params.updates.length;
  for (const [index, { item_id, price }] of params.updates.entries()) {
    ctx.report({ current: index, total, message: `price ${index + 1}/${total}: item ${item_id}` });
    try {
      const current = await ctx.api.itemForEditing(item_id, { signal: ctx.signal });
      const item = samePrice(current.price, price)
        ? current
        : await ctx.api.updateItem(item_id, buildUpdateBody(current, { price }, ctx.currency), { signal: ctx.signal });
      // The listing itself goes with the outcome: the server may not have synced it yet.
      results.push({ item_id, success: true, item });
    } catch (error) {
      const { code, message } = describeVintedError(error);
      if (error instanceof VintedError && ACCOUNT_LEVEL_CODES.includes(code)) {
        const remaining = params.updates.slice(index).map((u): Outcome => ({ item_id: u.item_id, success: false, error: message, error_code: code }));
        throw new PriceBatchStopped(error, summarise([...results, ...remaining], total));
      }
      if (!(error instanceof VintedError)) throw error;
      results.push({ item_id, success: false, error: message, error_code: code });
    }
  }
  ctx.report({ current: total, total, message: `${total}/${total} prices done` });
  return summarise(results, total);
}
