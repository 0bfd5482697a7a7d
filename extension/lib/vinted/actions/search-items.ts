import type { SearchItemsParams, SearchItemsResult } from "../../../../shared/plugin";
import type { CatalogItem } from "../api";
import type { ActionContext } from "./context";

/**
 * Reads Vinted's catalog search, page by page up to `max_pages` (at most 3: catalogue reading is
 * what Vinted's anti-bot watches most), through the same paced client as every other request.
 * A listing seen on two pages (the list moved between them) is kept once.
 */
export async function searchItems(params: SearchItemsParams, ctx: ActionContext): Promise<SearchItemsResult> {
  const items = new Map<number, CatalogItem>();
  let totalEntries = 0;
  let pagesRead = 0;
  for (let page = 1; page <= params.max_pages; page++) {
    const result = await ctx.api.catalogPage(params, page, {
      signal: ctx.signal,
      onWait: (message) => ctx.report({ current: page - 1, total: params.max_pages, message }),
    });
    pagesRead = page;
    totalEntries = result.pagination.total_entries;
    for (const item of result.items) if (!items.has(item.id)) items.set(item.id, item);
    const lastPage = Math.min(params.max_pages, Math.max(1, result.pagination.total_pages));
    ctx.report({ current: page, total: lastPage, message: `search page ${page}/${lastPage}: ${items.size} listings` });
    if (page >= result.pagination.total_pages || result.items.length === 0) break;
  }
  return { items: [...items.values()], total_entries: totalEntries, pages_read: pagesRead };
}
