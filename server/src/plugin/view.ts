/**
 * The plugin view of the one task collection (spec/plugin-polling-api.md): `vinted.<action>` tasks
 * of executor "extension", status `running` shown as `executing`, the 0–10 priority and the timeout
 * in seconds the extension speaks.
 */
import { PLUGIN_ACTIONS, type ClaimedTask, type PluginAction, type PluginTaskStatus, type PluginTaskView } from "../../../shared/plugin.js";
import type { TaskStatus } from "../../../shared/tasks.js";
import { PRIORITY_RANK, priorityWord, timeoutSecondsOf, type PluginTaskState, type Task } from "../tasks/model.js";

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

/** The plugin's words (spec/plugin-polling-api.md): `running` is `executing`; a suspended task is still waiting, so `pending`. */
export function pluginStatus(status: TaskStatus): PluginTaskStatus {
  if (status === "running") return "executing";
  if (status === "suspended") return "pending";
  return status;
}

export function defaultPluginState(): PluginTaskState {
  return {
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
  return task.plugin ?? defaultPluginState();
}

/** The task's 0–10 level (its word's, should a stored level ever disagree with the word). */
export function priorityOf(task: Task): number {
  return priorityWord(task.priority_rank) === task.priority ? task.priority_rank : PRIORITY_RANK[task.priority];
}

export const timeoutOf = timeoutSecondsOf;

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
