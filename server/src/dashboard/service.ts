/**
 * The seller dashboard. The overview is one `$facet` aggregation over the batches collection: its
 * counters already hold every job's status, so the cost follows the number of batches, never the
 * number of jobs. The timeseries buckets the jobs themselves (a chart's window only).
 */
import type { DashboardOverview, Timeseries, TimeseriesQuery } from "../../../shared/dashboard.js";
import type { AccountService } from "../accounts/service.js";
import type { BatchModel } from "../batches/model.js";
import type { BrandAccess } from "../http/context.js";
import type { TaskModel } from "../tasks/model.js";

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;

/** "Today" is the UTC calendar day: the same answer for every viewer and every server. */
export function startOfUtcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

interface Totals {
  pending: number;
  completed: number;
  failed: number;
  total_jobs: number;
  total_cost: number;
  total_minutes: number;
}

interface OverviewFacets {
  all: Totals[];
  today: Array<{ jobs: number }>;
  active: Array<{ count: number }>;
}

const INTERVAL_MS = { hour: 3_600_000, day: 86_400_000 } as const;

export class DashboardService {
  constructor(
    private readonly batches: BatchModel,
    private readonly tasks: TaskModel,
    private readonly accounts: AccountService,
  ) {}

  async overview(brand: BrandAccess, accountId: string | undefined, now = new Date()): Promise<DashboardOverview> {
    const account = accountId ? await this.accounts.find(brand, accountId) : null;
    const match = { brand: brand.brandId, ...(accountId ? { account_id: accountId } : {}) };
    const [facets] = await this.batches.aggregate<OverviewFacets>([
      { $match: match },
      {
        $facet: {
          all: [
            {
              $group: {
                _id: null,
                pending: { $sum: { $add: ["$pending_jobs", "$running_jobs"] } },
                completed: { $sum: "$completed_jobs" },
                failed: { $sum: "$failed_jobs" },
                total_jobs: { $sum: "$total_jobs" },
                total_cost: { $sum: "$total_cost" },
                total_minutes: { $sum: "$total_minutes" },
              },
            },
          ],
          today: [{ $match: { created_at: { $gte: startOfUtcDay(now) } } }, { $group: { _id: null, jobs: { $sum: "$total_jobs" } } }],
          active: [{ $match: { is_active: true } }, { $count: "count" }],
        },
      },
    ]);
    const all = facets?.all[0] ?? { pending: 0, completed: 0, failed: 0, total_jobs: 0, total_cost: 0, total_minutes: 0 };
    const today = facets?.today[0]?.jobs ?? 0;
    const active = facets?.active[0]?.count ?? 0;
    const finished = all.completed + all.failed;
    const successRate = finished > 0 ? round1((all.completed / finished) * 100) : 0;
    return {
      success: true,
      timestamp: now.toISOString(),
      account: account && {
        account_id: account.account_id,
        name: account.name,
        status: account.status,
        balance: round2(account.balance),
        billing_type: account.billing_type,
      },
      metrics: { jobs_today: today, success_rate_percentage: successRate, active_batches: active, pending_jobs: all.pending },
      detailed_stats: {
        jobs: { today, pending: all.pending, completed: all.completed, failed: all.failed, total_finished: finished },
        batches: { active_count: active, total_jobs: all.total_jobs, total_cost: round2(all.total_cost), total_minutes: round2(all.total_minutes) },
      },
    };
  }

  /** Jobs created, completed and failed, and the cost of the completed ones, per hour or per UTC day. */
  async timeseries(brand: BrandAccess, query: TimeseriesQuery, now = new Date()): Promise<Timeseries> {
    if (query.account_id) await this.accounts.find(brand, query.account_id);
    const step = INTERVAL_MS[query.interval];
    const last = Math.floor(now.getTime() / step) * step;
    const from = new Date(last - (query.periods - 1) * step);
    const match = { brand: brand.brandId, batch_id: { $ne: null }, ...(query.account_id ? { account_id: query.account_id } : {}) };
    const bucketOf = (field: string) => ({ $dateTrunc: { date: `$${field}`, unit: query.interval } });
    type Row = { _id: Date; n: number; cost?: number };
    const [facets] = await this.tasks.aggregate<{ created: Row[]; completed: Row[]; failed: Row[] }>([
      { $match: { ...match, $or: [{ created_at: { $gte: from } }, { completed_at: { $gte: from } }] } },
      {
        $facet: {
          created: [{ $match: { created_at: { $gte: from } } }, { $group: { _id: bucketOf("created_at"), n: { $sum: 1 } } }],
          completed: [{ $match: { status: "completed", completed_at: { $gte: from } } }, { $group: { _id: bucketOf("completed_at"), n: { $sum: 1 } } }],
          failed: [{ $match: { status: "failed", completed_at: { $gte: from } } }, { $group: { _id: bucketOf("completed_at"), n: { $sum: 1 } } }],
        },
      },
    ]);
    const costs = await this.costPerJob(brand.brandId);
    const points = Array.from({ length: query.periods }, (_, i) => ({ bucket: new Date(from.getTime() + i * step).toISOString(), created: 0, completed: 0, failed: 0, cost: 0 }));
    const at = (d: Date) => points[Math.round((new Date(d).getTime() - from.getTime()) / step)];
    for (const r of facets?.created ?? []) if (at(r._id)) at(r._id).created += r.n;
    for (const r of facets?.completed ?? []) if (at(r._id)) at(r._id).completed += r.n;
    for (const r of facets?.failed ?? []) if (at(r._id)) at(r._id).failed += r.n;
    // Cost per bucket: completed jobs priced at their batch's cost_per_job.
    if (costs.size > 0) {
      const priced = await this.tasks.aggregate<{ _id: { b: Date; batch: string }; n: number }>([
        { $match: { ...match, status: "completed", completed_at: { $gte: from } } },
        { $group: { _id: { b: bucketOf("completed_at"), batch: "$batch_id" }, n: { $sum: 1 } } },
      ]);
      for (const r of priced) if (at(r._id.b)) at(r._id.b).cost = round2(at(r._id.b).cost + r.n * (costs.get(r._id.batch) ?? 0));
    }
    return { interval: query.interval, from: from.toISOString(), to: now.toISOString(), points };
  }

  private async costPerJob(brand: number): Promise<Map<string, number>> {
    const rows = await this.batches.find({ brand, cost_per_job: { $gt: 0 } }, { batch_id: 1, cost_per_job: 1 }).lean();
    return new Map(rows.map((r) => [r.batch_id, r.cost_per_job]));
  }
}
