import type { SortOrder } from "mongoose";
import type { TaskListQuery } from "../../../shared/tasks.js";

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function startOfDayOrInstant(value: string, endOfDay: boolean): Date {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return new Date(`${value}T${endOfDay ? "23:59:59.999" : "00:00:00.000"}Z`);
  return new Date(value);
}

/**
 * A job that POST …/persistent-jobs/{id}/resume/ accepts: interrupted by a dead worker (not resumed
 * automatically) with a checkpoint to continue from. A completed or merely failed job is not one.
 */
export const RESUMABLE_JOB = {
  "persistent_job.state": "interrupted",
  "persistent_job.can_resume": true,
  status: { $in: ["failed", "cancelled"] },
} as const;

/** The mongo filter for GET /tasks/ (brand added by the caller); every value was validated by zod. */
export function taskListFilter(q: TaskListQuery): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  const and: Record<string, unknown>[] = [];
  if (q.status) filter.status = { $in: q.status };
  if (q.priority) filter.priority = { $in: q.priority };
  if (q.task_type?.length) filter.task_type = { $in: q.task_type };
  if (q.task_type__startswith) and.push({ task_type: { $regex: `^${escapeRegex(q.task_type__startswith)}` } });
  if (q.created_after || q.created_before) {
    const range: Record<string, Date> = {};
    if (q.created_after) range.$gte = startOfDayOrInstant(q.created_after, false);
    if (q.created_before) range.$lte = startOfDayOrInstant(q.created_before, true);
    filter.created_at = range;
  }
  if (q.search) {
    // Spaces and underscores match each other: "keyword analysis" finds seo_keyword_analysis and back.
    const pattern = { $regex: escapeRegex(q.search).replace(/[\s_]+/g, "[\\s_]+"), $options: "i" };
    and.push({ $or: [{ task_type: pattern }, { description: pattern }, { task_id: pattern }, { error_message: pattern }] });
  }
  if (q.has_metrics !== undefined) filter.metrics = q.has_metrics ? { $ne: null } : null;
  if (q.is_resumable !== undefined) and.push(q.is_resumable ? RESUMABLE_JOB : { $nor: [RESUMABLE_JOB] });
  if (q.is_periodic !== undefined) filter.is_periodic = q.is_periodic;
  if (q.execution_time__gte !== undefined) filter["metrics.execution_time_ms"] = { $gte: q.execution_time__gte };
  if (q.batch_id) filter.batch_id = q.batch_id;
  if (q.account_id) filter.account_id = q.account_id;
  if (and.length) filter.$and = and;
  return filter;
}

const SORT_FIELD: Record<string, string> = { priority: "priority_rank", execution_time: "metrics.execution_time_ms" };

/** `ordering=-created_at,priority` → a mongo sort; ties broken by id so pages never overlap. */
export function taskSort(ordering: string[] | undefined): Record<string, SortOrder> {
  const sort: Record<string, SortOrder> = {};
  for (const field of ordering ?? ["-created_at"]) {
    const name = field.replace(/^-/, "");
    sort[SORT_FIELD[name] ?? name] = field.startsWith("-") ? -1 : 1;
  }
  if (!("id" in sort)) sort.id = -1;
  return sort;
}
