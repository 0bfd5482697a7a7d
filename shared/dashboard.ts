/** The seller dashboard (spec/batches-and-dashboard-endpoints.md): overview cards and chart series. */
import { z } from "zod";
import { AccountIdSchema, AccountSummarySchema } from "./accounts.js";
import { TimestampSchema } from "./common.js";

export const DashboardQuerySchema = z.object({ account_id: AccountIdSchema.optional() });

export const DashboardOverviewSchema = z
  .object({
    success: z.literal(true),
    timestamp: TimestampSchema,
    account: AccountSummarySchema.nullable(),
    metrics: z.object({
      jobs_today: z.number().int(),
      success_rate_percentage: z.number(),
      active_batches: z.number().int(),
      pending_jobs: z.number().int(),
    }),
    detailed_stats: z.object({
      jobs: z.object({
        today: z.number().int(),
        pending: z.number().int(),
        completed: z.number().int(),
        failed: z.number().int(),
        total_finished: z.number().int(),
      }),
      batches: z.object({
        active_count: z.number().int(),
        total_jobs: z.number().int(),
        total_cost: z.number(),
        total_minutes: z.number(),
      }),
    }),
  })
  .meta({ id: "DashboardOverview" });
export type DashboardOverview = z.infer<typeof DashboardOverviewSchema>;

export const TimeseriesQuerySchema = DashboardQuerySchema.extend({
  interval: z.enum(["hour", "day"]).default("hour"),
  /** Buckets back from now (the current one included). */
  periods: z.coerce.number().int().min(1).max(366).default(24),
});
export type TimeseriesQuery = z.infer<typeof TimeseriesQuerySchema>;

export const TimeseriesSchema = z
  .object({
    interval: z.enum(["hour", "day"]),
    from: TimestampSchema,
    to: TimestampSchema,
    points: z.array(
      z.object({
        bucket: TimestampSchema,
        created: z.number().int(),
        completed: z.number().int(),
        failed: z.number().int(),
        cost: z.number(),
      }),
    ),
  })
  .meta({ id: "DashboardTimeseries" });
export type Timeseries = z.infer<typeof TimeseriesSchema>;
