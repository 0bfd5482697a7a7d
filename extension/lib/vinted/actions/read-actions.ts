import type { GetAllProductsParams, GetAllProductsResult, GetStatsParams, GetStatsResult, GetUserDataResult } from "../../../../shared/plugin";
import type { WardrobeItem } from "../api";
import { VintedError } from "../errors";
import type { ActionContext } from "./context";

/** Pages beyond this are not believed: protects against a pagination loop. */
const MAX_WARDROBE_PAGES = 2000;
/**
 * Walks of the wardrobe one task may make while the list keeps changing under it. A second walk
 * almost always finds the list still; a seller selling that fast gets no completeness claim.
 */
export const MAX_WARDROBE_WALKS = 3;

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

interface PageSeen {
  page: number;
  totalPages: number;
  totalEntries: number;
  items: WardrobeItem[];
  /** 1 for the first walk, 2+ when the list moved and the wardrobe is read again. */
  walk: number;
}

type WalkEnd = { kind: "stopped" } | { kind: "done"; items: Map<number, WardrobeItem>; pages: number } | { kind: "shifted"; why: string };

/**
 * One walk, page by page. Items are keyed by id because listings that move between pages would
 * otherwise appear twice. A listing that leaves the list (sold) shifts every later one a place up,
 * so the first of the next page would be skipped: a total_entries that changes between pages means
 * this walk cannot be trusted. (The count of distinct listings is not compared with total_entries:
 * Vinted's total may count listings the wardrobe does not show.)
 */
async function walkOnce(ctx: ActionContext, userId: number, walk: number, onPage: (seen: PageSeen) => boolean | void): Promise<WalkEnd> {
  const items = new Map<number, WardrobeItem>();
  let firstTotal: number | null = null;
  let page = 1;
  for (;;) {
    const result = await ctx.api.wardrobePage(userId, page, "relevance", {
      signal: ctx.signal,
      onWait: (message) => ctx.report({ current: page - 1, total: Math.max(page, 1), message }),
    });
    const { total_pages: totalPages, total_entries: totalEntries } = result.pagination;
    for (const item of result.items) items.set(item.id, item);
    if (onPage({ page, totalPages, totalEntries, items: result.items, walk }) === true) return { kind: "stopped" };
    firstTotal ??= totalEntries;
    if (totalEntries !== firstTotal) return { kind: "shifted", why: `total_entries went from ${firstTotal} to ${totalEntries} at page ${page}` };
    if (page >= totalPages || result.items.length === 0 || page >= MAX_WARDROBE_PAGES) return { kind: "done", items, pages: page };
    page += 1;
  }
}

/** Walks until one walk saw a list that held still; `onPage` may stop it early (returns true). */
async function walkWardrobe(ctx: ActionContext, userId: number, onPage: (seen: PageSeen) => boolean | void): Promise<WalkEnd> {
  const reasons: string[] = [];
  for (let walk = 1; walk <= MAX_WARDROBE_WALKS; walk++) {
    const end = await walkOnce(ctx, userId, walk, onPage);
    if (end.kind !== "shifted") return end;
    reasons.push(end.why);
  }
  return { kind: "shifted", why: reasons.join("; ") };
}

export async function getAllProducts(params: GetAllProductsParams, ctx: ActionContext): Promise<GetAllProductsResult> {
  const userId = params.user_id ?? (await ctx.currentUser()).id;
  const end = await walkWardrobe(ctx, userId, ({ page, totalPages, totalEntries, items, walk }) => {
    const again = walk > 1 ? ` (the list changed during the sync: reading it again, pass ${walk})` : "";
    ctx.report({
      current: page,
      total: totalPages,
      message: `page ${page}/${totalPages}${again}`,
      partial: { page, total_pages: totalPages, total_entries: totalEntries, items },
    });
  });
  if (end.kind !== "done") {
    // Every page read is already on the server; what cannot be claimed is that nothing is missing.
    throw new VintedError(
      "VINTED_ERROR",
      `The wardrobe kept changing during the sync (${end.kind === "shifted" ? end.why : "stopped"}): every page read was saved, but the sync is not complete; run it again later`,
    );
  }
  const products = [...end.items.values()];
  return { products, total: products.length, complete: true, pages: end.pages };
}

export async function getStats(params: GetStatsParams, ctx: ActionContext): Promise<GetStatsResult> {
  const userId = params.user_id ?? (await ctx.currentUser()).id;
  let found: WardrobeItem | undefined;
  await walkWardrobe(ctx, userId, ({ page, totalPages, items }) => {
    ctx.report({ current: page, total: totalPages, message: `looking for item ${params.item_id}: page ${page}/${totalPages}` });
    found = items.find((item) => item.id === params.item_id);
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
