import type { Connection } from "mongoose";
import { taskModel } from "../model.js";
import { TaskRegistry } from "../executor/registry.js";
import { dataExportHandler } from "./data-export.js";
import { reportGenerationHandler } from "./report-generation.js";
import { SimulatedParamsSchema, simulatedHandler } from "./simulated.js";

/** The server-side task types MarketHub ships with. */
export function builtInTaskTypes(connection: Connection): TaskRegistry {
  const tasks = taskModel(connection);
  return new TaskRegistry()
    .register("data_export", { handler: dataExportHandler(tasks), description: "Export the brand's tasks as CSV or JSON" })
    .register("report_generation", { handler: reportGenerationHandler(tasks), description: "Summarise the brand's task statistics" })
    .register("simulated", { handler: simulatedHandler, params: SimulatedParamsSchema, description: "Configurable simulated work (steps, delays, failures)" });
}
