import type { RequestHandler } from "express";
import { DashboardOverviewSchema, DashboardQuerySchema, TimeseriesQuerySchema, TimeseriesSchema } from "../../../shared/dashboard.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import type { DashboardService } from "./service.js";

const tags = ["dashboard"];

export function registerDashboardRoutes(api: ApiRouter, dashboard: DashboardService, options: { pollRateLimit?: RequestHandler } = {}): void {
  defineRoute(api, {
    method: "get",
    path: "/api/v1/dashboard/overview",
    summary: "Dashboard cards: jobs today, success rate, active batches, pending jobs (one $facet aggregation)",
    tags,
    auth: "brand",
    rateLimit: options.pollRateLimit,
    request: { query: DashboardQuerySchema },
    response: DashboardOverviewSchema,
    errors: { 404: "Account not found (or another brand's)", 429: "RATE_LIMITED: polled too often" },
    handler: async ({ brand, query, res }) => {
      res.setHeader("Cache-Control", "private, no-cache");
      return dashboard.overview(brand, query.account_id);
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/dashboard/timeseries",
    summary: "Batch jobs created, completed, failed and their cost per hour or per UTC day, for charts",
    tags,
    auth: "brand",
    rateLimit: options.pollRateLimit,
    request: { query: TimeseriesQuerySchema },
    response: TimeseriesSchema,
    errors: { 404: "Account not found (or another brand's)", 429: "RATE_LIMITED: polled too often" },
    handler: ({ brand, query }) => dashboard.timeseries(brand, query),
  });
}
