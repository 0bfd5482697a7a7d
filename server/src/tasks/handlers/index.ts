import type { Connection } from "mongoose";
import { taskModel } from "../model.js";
import { TaskRegistry } from "../executor/registry.js";
import { dataExportHandler } from "./data-export.js";
import { reportGenerationHandler } from "./report-generation.js";
import { SimulatedParamsSchema, simulatedHandler } from "./simulated.js";
import { productModels } from "../../products/model.js";
import { vintedModels } from "../../vinted/model.js";
import { CompetitorAnalysisParamsSchema, competitorAnalysisHandler } from "./seo/competitor-analysis.js";
import { ContentAuditParamsSchema, contentAuditHandler } from "./seo/content-audit.js";
import { DailyReportParamsSchema, dailySeoReportHandler } from "./seo/daily-report.js";
import { KeywordAnalysisParamsSchema, keywordAnalysisHandler } from "./seo/keyword-analysis.js";

/** The server-side task types MarketHub ships with. */
export function builtInTaskTypes(connection: Connection): TaskRegistry {
  const tasks = taskModel(connection);
  const vinted = vintedModels(connection);
  const products = productModels(connection);
  return new TaskRegistry()
    .register("seo_content_audit", {
      handler: contentAuditHandler(vinted, products),
      params: ContentAuditParamsSchema,
      description: "Score every listing's content (title, description, photos, attributes) and say what to fix",
    })
    .register("seo_keyword_analysis", {
      handler: keywordAnalysisHandler(vinted),
      params: KeywordAnalysisParamsSchema,
      description: "Which words of titles and descriptions go with more views and favourites, and which listings lack them",
    })
    .register("seo_competitor_analysis", {
      handler: competitorAnalysisHandler(vinted),
      params: CompetitorAnalysisParamsSchema,
      description: "Each listing against similar ones of the wardrobe (same brand and size): price, views, photos, title",
    })
    .register("daily_seo_report", {
      handler: dailySeoReportHandler(vinted),
      params: DailyReportParamsSchema,
      description: "What changed on the wardrobe over the last day: new and gone listings, views gained, what to fix",
    })
    .register("data_export", { handler: dataExportHandler(tasks), description: "Export the brand's tasks as CSV or JSON" })
    .register("report_generation", { handler: reportGenerationHandler(tasks), description: "Summarise the brand's task statistics" })
    .register("simulated", { handler: simulatedHandler, params: SimulatedParamsSchema, description: "Configurable simulated work (steps, delays, failures)" });
}
