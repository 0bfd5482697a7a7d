import type { GetAllProductsParams, GetAllProductsResult, GetStatsParams, GetStatsResult, GetUserDataResult } from "../../../../shared/plugin";
import type { WardrobeItem } from "../api";
import { VintedError } from "../errors";
import type { ActionContext } from "./context";

/** Pages beyond this are not believed: protects against a pagination loop. */
const MAX_WARDROBE_PAGES = 2000;

export async function getUserData(ctx: ActionContext): Promise<GetUserDataResult> {
  const user = await ctx.api.currentUser({ signal: ctx.signal });
  return {
    user_id: user.id,
    login: user.login,
    email: user.email ?? null,
    anon_id: ctx.anonId(),
    real_name: user.real_name ?? null,
    business_account: user.business_account ?? user.business ?? null,
    origin: ctx.origin,
    item_count: user.item_count ?? null,
  };
}

/**
 * Walks the wardrobe page by page, handing each page to `onPage` as it arrives. Items are keyed by
 * id because listings that move between pages during the walk would otherwise appear twice.
 */
async function walkWardrobe(
  ctx: ActionContext,
  userId: number,
  onPage: (page: number, totalPages: number, totalEntries: number, items: WardrobeItem[]) => boolean | void,
): Promise<{ items: Map<number, WardrobeItem>; pages: number }> {
  const items = new Map<number, WardrobeItem>();
  let page = 1;
  for (;;) {
    const result = await ctx.api.wardrobePage(userId, page, "relevance", {
      signal: ctx.signal,
      onWait: (message) => ctx.report({ current: page - 1, total: Math.max(page, 1), message }),
    });
    for (const item of result.items) items.set(item.id, item);
    const totalPages = result.pagination.total_pages;
    const stop = onPage(page, totalPages, result.pagination.total_entries, result.items);
    if (stop === true || page >= totalPages || result.items.length === 0 || page >= MAX_WARDROBE_PAGES) return { items, pages: page };
    page += 1;
  }
}

export async function getAllProducts(params: GetAllProductsParams, ctx: ActionContext): Promise<GetAllProductsResult> {
  const userId = params.user_id ?? (await ctx.currentUser()).id;
  const { items, pages } = await walkWardrobe(ctx, userId, (page, totalPages, totalEntries, pageItems) => {
    ctx.report({
      current: page,
      total: totalPages,
      message: `page ${page}/${totalPages}`,
      partial: { page, total_pages: totalPages, total_entries: totalEntries, items: pageItems },
    });
  });
  const products = [...items.values()];
  return { products, total: products.length, complete: true, pages };
}

export async function getStats(params: GetStatsParams, ctx: ActionContext): Promise<GetStatsResult> {
  const userId = params.user_id ?? (await ctx.currentUser()).id;
  let found: WardrobeItem | undefined;
  await walkWardrobe(ctx, userId, (page, totalPages, _entries, pageItems) => {
    ctx.report({ current: page, total: totalPages, message: `looking for item ${params.item_id}: page ${page}/${totalPages}` });
    found = pageItems.find((item) => item.id === params.item_id);
    return found !== undefined;
  });
  if (!found) throw new VintedError("ITEM_NOT_FOUND", `Item ${params.item_id} is not in the wardrobe of user ${userId}`);
  return {
    item_id: found.id,
    view_count: found.view_count ?? 0,
    favourite_count: found.favourite_count ?? 0,
    message_count: null,
    captured_at: new Date().toISOString(),
  };
}
