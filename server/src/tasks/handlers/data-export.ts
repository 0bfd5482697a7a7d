import { z } from "zod";
import { TASK_STATUSES } from "../../../../shared/tasks.js";
import type { TaskModel } from "../model.js";
import type { TaskHandler } from "../executor/registry.js";

export const DataExportParamsSchema = z.object({
  format: z.enum(["csv", "json"]).default("csv"),
  status: z.enum(TASK_STATUSES).optional(),
  task_type: z.string().optional(),
  limit: z.number().int().min(1).max(50_000).default(10_000),
});

const COLUMNS = ["id", "task_id", "task_type", "status", "priority", "progress_percentage", "retry_count", "created_at", "started_at", "completed_at", "error_message"] as const;

/** A spreadsheet reads a cell starting with one of these as a formula (CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = value instanceof Date ? value.toISOString() : String(value);
  // Text only: a leading quote makes it plain text in the spreadsheet; numbers stay numbers.
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** `data_export`: the brand's tasks as CSV or JSON, in the result. */
export function dataExportHandler(tasks: TaskModel): TaskHandler {
  return async (ctx) => {
    const params = DataExportParamsSchema.parse(ctx.task.context_data ?? {});
    const filter: Record<string, unknown> = { brand: ctx.task.brand, task_id: { $ne: ctx.task.task_id } };
    if (params.status) filter.status = params.status;
    if (params.task_type) filter.task_type = params.task_type;
    await ctx.progress(10, "reading tasks");
    const rows = await tasks.find(filter, Object.fromEntries(COLUMNS.map((c) => [c, 1]))).sort({ id: 1 }).limit(params.limit).lean();
    ctx.throwIfStopped();
    await ctx.progress(60, `formatting ${rows.length} rows`);
    const records = rows.map((row) => Object.fromEntries(COLUMNS.map((c) => [c, (row as Record<string, unknown>)[c] ?? null])));
    const content =
      params.format === "json"
        ? JSON.stringify(records)
        : [COLUMNS.join(","), ...records.map((r) => COLUMNS.map((c) => csvCell(r[c])).join(","))].join("\n");
    return { format: params.format, row_count: rows.length, columns: [...COLUMNS], content };
  };
}
