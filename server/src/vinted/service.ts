/**
 * Applies extension results to the seller's Vinted data, and reads it back for the API.
 *
 * The rule that matters (vinted-notes.md, "Lessons"): a listing is marked gone only when Vinted says
 * so (`is_closed`), when MarketHub deleted it, or when a COMPLETE sync no longer has it. Pages of a
 * sync are upserted as they arrive and never mark anything gone, so a sync cut off at page 40/80
 * keeps 40 pages and loses nothing.
 */
import type { Request } from "express";
import type { AnyBulkWriteOperation, Connection } from "mongoose";
import type { Page } from "../../../shared/common.js";
import type {
  VintedAccountView,
  VintedProductDetail,
  VintedProductListQuery,
  VintedProductView,
  VintedStatsSnapshotView,
} from "../../../shared/vinted.js";
import { AppError } from "../http/errors.js";
import { skipOf, toPage } from "../http/pagination.js";
import { vintedModels, type VintedAccountDoc, type VintedModels, type VintedProductDoc } from "./model.js";
import { listingFields, priceFields, type VintedListing } from "./normalize.js";

type Json = Record<string, unknown>;

const DUPLICATE_KEY = 11000;
const SNAPSHOTS_SHOWN = 100;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export interface CompleteSyncOutcome {
  upserted: number;
  marked_gone: number;
  /** Set when gone-marking was skipped because the sync looked incomplete after all. */
  gone_marking_skipped: string | null;
}

export class VintedService {
  readonly models: VintedModels;

  constructor(connection: Connection) {
    this.models = vintedModels(connection);
  }

  async init(): Promise<void> {
    await Promise.all([this.models.Product.init(), this.models.Account.init(), this.models.StatsSnapshot.init()]);
  }

  // -------------------------------------------------------------------------------------------
  // Writes from task results
  // -------------------------------------------------------------------------------------------

  /**
   * Upserts listings as Vinted showed them at `seenAt`. A closed one becomes gone (reason
   * "closed"); an open one is active again, whatever it was. Returns how many were written.
   */
  async upsertListings(owner: number, listings: readonly VintedListing[], taskId: string, seenAt = new Date()): Promise<number> {
    const ops: AnyBulkWriteOperation<VintedProductDoc>[] = [];
    for (const listing of listings) {
      const vintedId = listing.item.id;
      const closed = listing.item.is_closed === true;
      ops.push({
        updateOne: {
          filter: { owner, vinted_id: vintedId },
          update: {
            $set: {
              ...listingFields(listing),
              last_seen_at: seenAt,
              last_task_id: taskId,
              ...(closed ? { status: "gone" } : { status: "active", gone_reason: null, gone_at: null }),
            },
            $setOnInsert: { first_seen_at: seenAt, ...(closed ? { gone_reason: "closed", gone_at: seenAt } : {}) },
          },
          upsert: true,
        },
      });
      // A listing already gone for another reason keeps it; one that just closed gets "closed".
      if (closed) {
        ops.push({
          updateOne: {
            filter: { owner, vinted_id: vintedId, gone_at: null },
            update: { $set: { gone_reason: "closed", gone_at: seenAt } },
          },
        });
      }
    }
    if (ops.length === 0) return 0;
    await this.bulk(ops);
    return ops.filter((op) => "updateOne" in op && op.updateOne.upsert).length;
  }

  /** bulkWrite, once more on a duplicate key (two first-ever upserts of one listing racing). */
  private async bulk(ops: AnyBulkWriteOperation<VintedProductDoc>[]): Promise<void> {
    try {
      await this.models.Product.bulkWrite(ops, { ordered: true });
    } catch (err) {
      if ((err as { code?: number }).code !== DUPLICATE_KEY) throw err;
      await this.models.Product.bulkWrite(ops, { ordered: true });
    }
  }

  /**
   * The final result of a COMPLETE sync: every listing in it is upserted, and the seller's active
   * listings it does not have — and that nothing has shown since the sync began — are gone.
   * `reportedTotal` (the largest total_entries its pages announced) guards against a "complete"
   * sync that is obviously not: fewer than half the announced listings marks nothing.
   */
  async applyCompleteSync(owner: number, listings: readonly VintedListing[], taskId: string, syncStartedAt: Date, reportedTotal: number | null): Promise<CompleteSyncOutcome> {
    const seenAt = new Date();
    const upserted = await this.upsertListings(owner, listings, taskId, seenAt);
    const ids = listings.map((listing) => listing.item.id);
    if (reportedTotal !== null && reportedTotal > 0 && ids.length < reportedTotal / 2) {
      return {
        upserted,
        marked_gone: 0,
        gone_marking_skipped: `the result has ${ids.length} listings where Vinted announced ${reportedTotal}: nothing was marked gone`,
      };
    }
    const gone = await this.models.Product.updateMany(
      { owner, status: "active", vinted_id: { $nin: ids }, last_seen_at: { $lt: syncStartedAt } },
      { $set: { status: "gone", gone_reason: "missing_from_complete_sync", gone_at: seenAt, last_task_id: taskId } },
    );
    return { upserted, marked_gone: gone.modifiedCount, gone_marking_skipped: null };
  }

  /** create_product / update_product answered with the listing as Vinted has it now. */
  async applyItem(owner: number, listing: VintedListing, taskId: string): Promise<void> {
    await this.upsertListings(owner, [listing], taskId);
  }

  async markDeleted(owner: number, vintedId: number, taskId: string): Promise<void> {
    const now = new Date();
    await this.models.Product.updateOne(
      { owner, vinted_id: vintedId },
      {
        $set: { status: "gone", gone_reason: "deleted", gone_at: now, last_task_id: taskId },
        $setOnInsert: { title: "", first_seen_at: now, last_seen_at: now, raw: {} },
      },
      { upsert: true },
    );
  }

  /** update_prices: the prices that Vinted accepted (the others stay as they were). */
  async applyPrices(owner: number, prices: Array<{ item_id: number; price: string }>, taskId: string): Promise<void> {
    if (prices.length === 0) return;
    const ops: AnyBulkWriteOperation<VintedProductDoc>[] = prices.map(({ item_id, price }) => ({
      updateOne: {
        filter: { owner, vinted_id: item_id },
        update: { $set: { ...priceFields({ value: Number(price) }), last_task_id: taskId } },
      },
    }));
    await this.bulk(ops);
  }

  async storeAccount(owner: number, data: Json, taskId: string): Promise<void> {
    // The CSRF token is a session secret of the seller's browser: never stored, even if sent.
    const set: Partial<VintedAccountDoc> = {
      vinted_user_id: data.user_id as number,
      login: data.login as string,
      email: (data.email as string | null | undefined) ?? null,
      real_name: (data.real_name as string | null | undefined) ?? null,
      business_account: data.business_account ?? null,
      origin: typeof data.origin === "string" ? data.origin : null,
      item_count: typeof data.item_count === "number" ? data.item_count : null,
      last_task_id: taskId,
    };
    await this.models.Account.updateOne({ owner }, { $set: set }, { upsert: true });
  }

  async storeStats(owner: number, stats: { item_id: number; view_count: number; favourite_count: number; message_count: number | null; captured_at: string }, taskId: string): Promise<void> {
    const capturedAt = Number.isNaN(Date.parse(stats.captured_at)) ? new Date() : new Date(stats.captured_at);
    // One snapshot per task: a result delivered twice does not count twice.
    await this.models.StatsSnapshot.updateOne(
      { owner, vinted_id: stats.item_id, task_id: taskId },
      {
        $setOnInsert: {
          view_count: stats.view_count,
          favourite_count: stats.favourite_count,
          message_count: stats.message_count,
          captured_at: capturedAt,
        },
      },
      { upsert: true },
    );
    await this.models.Product.updateOne(
      { owner, vinted_id: stats.item_id },
      { $set: { view_count: stats.view_count, favourite_count: stats.favourite_count } },
    );
  }

  // -------------------------------------------------------------------------------------------
  // Reads
  // -------------------------------------------------------------------------------------------

  async listProducts(req: Request, owner: number, q: VintedProductListQuery): Promise<Page<VintedProductView>> {
    const filter: Record<string, unknown> = { owner };
    if (q.status !== "all") filter.status = q.status;
    if (q.search) filter.title = { $regex: escapeRegex(q.search), $options: "i" };
    if (q.price_min !== undefined || q.price_max !== undefined) {
      const range: Record<string, number> = {};
      if (q.price_min !== undefined) range.$gte = q.price_min;
      if (q.price_max !== undefined) range.$lte = q.price_max;
      filter.price_value = range;
    }
    const field = q.ordering.replace(/^-/, "");
    const sort: Record<string, 1 | -1> = { [field === "price" ? "price_value" : field]: q.ordering.startsWith("-") ? -1 : 1 };
    if (field !== "vinted_id") sort.vinted_id = -1;
    const [count, rows] = await Promise.all([
      this.models.Product.countDocuments(filter),
      this.models.Product.find(filter).sort(sort).skip(skipOf(q)).limit(q.page_size).lean<VintedProductDoc[]>(),
    ]);
    return toPage(req, q, count, rows.map(productView));
  }

  async product(owner: number, vintedId: number): Promise<VintedProductDetail> {
    const product = await this.models.Product.findOne({ owner, vinted_id: vintedId }).lean<VintedProductDoc>();
    if (!product) throw new AppError(404, "NOT_FOUND", "No such Vinted listing among yours");
    const latest = await this.models.StatsSnapshot.find({ owner, vinted_id: vintedId })
      .sort({ captured_at: -1 })
      .limit(SNAPSHOTS_SHOWN)
      .lean();
    const snapshots: VintedStatsSnapshotView[] = latest.reverse().map((s) => ({
      view_count: s.view_count,
      favourite_count: s.favourite_count,
      message_count: s.message_count ?? null,
      captured_at: s.captured_at.toISOString(),
    }));
    const first = snapshots[0];
    const last = snapshots.at(-1);
    const trend =
      first && last && snapshots.length >= 2
        ? {
            views_change: last.view_count - first.view_count,
            favourites_change: last.favourite_count - first.favourite_count,
            since: first.captured_at,
            until: last.captured_at,
          }
        : null;
    return { ...productView(product), stats: { snapshots, trend } };
  }

  async account(owner: number): Promise<VintedAccountView> {
    const account = await this.models.Account.findOne({ owner }).lean<VintedAccountDoc>();
    if (!account) throw new AppError(404, "NOT_FOUND", "No Vinted account known yet: run a get_user_data task from the extension");
    return {
      vinted_user_id: account.vinted_user_id,
      login: account.login,
      email: account.email ?? null,
      real_name: account.real_name ?? null,
      business_account: account.business_account ?? null,
      origin: account.origin ?? null,
      item_count: account.item_count ?? null,
      updated_at: account.updated_at.toISOString(),
    };
  }

  /** The Vinted user id last seen for this seller (sync params), if any. */
  async vintedUserId(owner: number): Promise<number | null> {
    const account = await this.models.Account.findOne({ owner }, { vinted_user_id: 1 }).lean();
    return account?.vinted_user_id ?? null;
  }
}

function productView(p: VintedProductDoc): VintedProductView {
  return {
    vinted_id: p.vinted_id,
    title: p.title ?? "",
    price: p.price ?? null,
    currency: p.currency ?? null,
    brand_title: p.brand_title ?? null,
    size_title: p.size_title ?? null,
    condition: p.condition ?? null,
    url: p.url ?? null,
    photo_url: p.photo_url ?? null,
    view_count: p.view_count ?? null,
    favourite_count: p.favourite_count ?? null,
    is_draft: p.is_draft ?? false,
    is_reserved: p.is_reserved ?? false,
    is_hidden: p.is_hidden ?? false,
    status: p.status,
    gone_reason: p.gone_reason ?? null,
    gone_at: iso(p.gone_at),
    first_seen_at: p.first_seen_at.toISOString(),
    last_seen_at: p.last_seen_at.toISOString(),
    updated_at: p.updated_at.toISOString(),
  };
}
