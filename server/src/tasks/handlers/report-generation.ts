import type { TaskModel } from "../model.js";
import type { TaskHandler } from "../executor/registry.js";

/** `report_generation`: a summary of the brand's task statistics, per status and per type. */
export function reportGenerationHandler(tasks: TaskModel): TaskHandler {
  return async (ctx) => {
    const brand = ctx.task.brand;
    await ctx.progress(20, "counting tasks");
    const [byStatus, byType] = await Promise.all([
      tasks.aggregate<{ _id: string; count: number }>([{ $match: { brand } }, { $group: { _id: "$status", count: { $sum: 1 } } }]),
      tasks.aggregate<{ _id: string; total: number; completed: number; failed: number; avg_ms: number | null }>([
        { $match: { brand } },
        {
          $group: {
            _id: "$task_type",
            total: { $sum: 1 },
            completed: { $sum: { $cond: [{ $eq: ["$status", "completed"] }, 1, 0] } },
            failed: { $sum: { $cond: [{ $eq: ["$status", "failed"] }, 1, 0] } },
            avg_ms: { $avg: "$metrics.execution_time_ms" },
          },
        },
        { $sort: { _id: 1 } },
      ]),
    ]);
    ctx.throwIfStopped();
    const statusCounts = Object.fromEntries(byStatus.map((s) => [s._id, s.count]));
    const total = byStatus.reduce((n, s) => n + s.count, 0);
    const finished = (statusCounts.completed ?? 0) + (statusCounts.failed ?? 0);
    return {
      generated_at: new Date().toISOString(),
      total_tasks: total,
      status_distribution: statusCounts,
      success_rate: finished ? Math.round(((statusCounts.completed ?? 0) / finished) * 1000) / 10 : null,
      task_types: Object.fromEntries(
        byType.map((t) => [
          t._id,
          {
            total: t.total,
            completed: t.completed,
            failed: t.failed,
            avg_duration_ms: t.avg_ms === null ? null : Math.round(t.avg_ms),
          },
        ]),
      ),
    };
  };
}
