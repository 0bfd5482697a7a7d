import type { Connection } from "mongoose";
import type { PersistentJobSummary, TaskView } from "../../../shared/tasks.js";
import { authModels } from "../auth/model.js";
import { brandModels } from "../brands/model.js";
import type { PersistentJob, Task } from "./model.js";

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** Task documents in the API's shape, with `brand` and `created_by` resolved in one query each. */
export class TaskSerializer {
  constructor(private readonly connection: Connection) {}

  async many(tasks: Task[]): Promise<TaskView[]> {
    const userIds = [...new Set(tasks.map((t) => t.created_by))];
    const brandIds = [...new Set(tasks.map((t) => t.brand))];
    const [users, brands] = await Promise.all([
      authModels(this.connection).User.find({ _id: { $in: userIds } }, { username: 1 }).lean(),
      brandModels(this.connection).Brand.find({ _id: { $in: brandIds } }, { name: 1 }).lean(),
    ]);
    const usernames = new Map(users.map((u) => [u._id, u.username]));
    const brandNames = new Map(brands.map((b) => [b._id, b.name]));
    return tasks.map((t) => toView(t, brandNames.get(t.brand) ?? "", usernames.get(t.created_by) ?? ""));
  }

  async one(task: Task): Promise<TaskView> {
    const [view] = await this.many([task]);
    return view;
  }
}

function toView(t: Task, brandName: string, username: string): TaskView {
  const pj = t.persistent_job;
  return {
    id: t.id,
    task_id: t.task_id,
    task_type: t.task_type,
    executor: t.executor,
    status: t.status,
    priority: t.priority,
    description: t.description ?? "",
    progress_percentage: t.progress_percentage ?? 0,
    progress_message: t.progress_message ?? null,
    brand: { id: t.brand, name: brandName },
    created_by: { id: t.created_by, username },
    created_at: t.created_at.toISOString(),
    updated_at: t.updated_at.toISOString(),
    started_at: iso(t.started_at),
    completed_at: iso(t.completed_at),
    cancelled_at: iso(t.cancelled_at),
    scheduled_for: iso(t.scheduled_for),
    context_data: t.context_data ?? {},
    result_data: t.result_data ?? null,
    error_message: t.error_message ?? null,
    error_details: t.error_details ?? null,
    retry_count: t.retry_count,
    max_retries: t.max_retries,
    timeout_minutes: t.timeout_minutes,
    is_periodic: t.is_periodic ?? false,
    periodic_task: t.periodic_task ?? null,
    batch_id: t.batch_id ?? null,
    account_id: t.account_id ?? null,
    metrics: t.metrics
      ? {
          execution_time_ms: t.metrics.execution_time_ms,
          memory_usage_mb: t.metrics.memory_usage_mb,
          cost_usd: t.metrics.cost_usd ?? 0,
          recorded_at: iso(t.metrics.recorded_at),
        }
      : null,
    persistent_job: pj ? persistentJobSummary(pj) : null,
  };
}

export function persistentJobSummary(pj: PersistentJob): PersistentJobSummary {
  return {
    state: pj.state,
    can_resume: pj.can_resume,
    checkpoint_count: pj.checkpoint_count,
    last_checkpoint_at: iso(pj.last_checkpoint_at),
    progress_percentage: pj.progress_percentage,
    interrupted_at: iso(pj.interrupted_at),
    resumed_at: iso(pj.resumed_at),
    resume_count: pj.resume_count ?? 0,
  };
}
