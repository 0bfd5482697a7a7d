/**
 * The plugin view of the one task collection (spec/plugin-polling-api.md): `vinted.<action>` tasks
 * of executor "extension", status `running` shown as `executing`, the 0–10 priority and the timeout
 * in seconds the extension speaks.
 */
import { PLUGIN_ACTIONS, type ClaimedTask, type PluginAction, type PluginTaskStatus, type PluginTaskView } from "../../../shared/plugin.js";
import type { TaskPriority, TaskStatus } from "../../../shared/tasks.js";
import type { PluginTaskState, Task } from "../tasks/model.js";

export const TASK_TYPE_PREFIX = "vinted.";

export const taskTypeOf = (action: PluginAction) => `${TASK_TYPE_PREFIX}${action}`;

export function actionOf(taskType: string): PluginAction | null {
  if (!taskType.startsWith(TASK_TYPE_PREFIX)) return null;
  const action = taskType.slice(TASK_TYPE_PREFIX.length);
  return (PLUGIN_ACTIONS as readonly string[]).includes(action) ? (action as PluginAction) : null;
}

export const PLUGIN_TASK_TYPES = PLUGIN_ACTIONS.map(taskTypeOf);

/** Spec defaults: priority 1, timeout 60 s. */
export const DEFAULT_PRIORITY = 1;
export const DEFAULT_TIMEOUT_SECONDS = 60;
export const MIN_TIMEOUT_SECONDS = 10;
export const MAX_TIMEOUT_SECONDS = 3600;

/** 0–10 → the hub's priority word (so /tasks/ and queue stats read it too). */
export function priorityWord(priority: number): TaskPriority {
  if (priority <= 0) return "low";
  if (priority <= 4) return "normal";
  if (priority <= 8) return "high";
  return "critical";
}

/** The hub's word → 0–10, for tasks created through /tasks/. */
export const PRIORITY_NUMBER: Record<TaskPriority, number> = { low: 0, normal: 1, high: 5, critical: 9 };

/** The plugin's words (spec/plugin-polling-api.md): `running` is `executing`; a suspended task is still waiting, so `pending`. */
export function pluginStatus(status: TaskStatus): PluginTaskStatus {
  if (status === "running") return "executing";
  if (status === "suspended") return "pending";
  return status;
}

export function defaultPluginState(priority: number, timeoutSeconds: number): PluginTaskState {
  return {
    priority,
    timeout_seconds: timeoutSeconds,
    progress_current: null,
    progress_total: null,
    error_code: null,
    executed_at: null,
    result_digest: null,
    sync_total_entries: null,
    handed_back: false,
    claim_by: null,
  };
}

function stateOf(task: Task): PluginTaskState {
  return task.plugin ?? defaultPluginState(PRIORITY_NUMBER[task.priority] ?? DEFAULT_PRIORITY, Math.round(task.timeout_minutes * 60));
}

/** The 0–10 priority, unless the hub's word was changed since (PATCH /tasks/…): then the word's number. */
export function priorityOf(task: Task): number {
  const state = stateOf(task);
  return priorityWord(state.priority) === task.priority ? state.priority : PRIORITY_NUMBER[task.priority];
}

export function timeoutOf(task: Task): number {
  return stateOf(task).timeout_seconds;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function toPluginView(task: Task): PluginTaskView {
  const state = stateOf(task);
  const hasProgress = state.progress_total !== null || task.progress_message !== null;
  return {
    task_id: task.task_id,
    action: actionOf(task.task_type) ?? "get_user_data",
    status: pluginStatus(task.status),
    params: task.context_data ?? {},
    priority: priorityOf(task),
    timeout: timeoutOf(task),
    progress: hasProgress
      ? {
          current: Math.max(0, state.progress_current ?? 0),
          total: Math.max(0, state.progress_total ?? 0),
          message: (task.progress_message ?? "").slice(0, 500),
        }
      : null,
    result: task.result_data ?? undefined,
    error: task.error_message ?? null,
    error_code: state.error_code ?? (typeof task.error_details?.error_code === "string" ? task.error_details.error_code : null),
    attempt: task.attempt,
    created_at: task.created_at.toISOString(),
    started_at: iso(task.started_at),
    completed_at: iso(task.completed_at),
  };
}

export function toClaimedTask(task: Task): ClaimedTask {
  return {
    task_id: task.task_id,
    action: actionOf(task.task_type) ?? "get_user_data",
    params: task.context_data ?? {},
    priority: priorityOf(task),
    timeout: timeoutOf(task),
    lease_token: task.run_token ?? "",
    lease_expires_at: (task.lease_expires_at ?? new Date()).toISOString(),
    attempt: Math.max(1, task.attempt),
  };
}
