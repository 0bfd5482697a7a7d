import {
  CancelTaskResponseSchema,
  CreateTaskBodySchema,
  QueueStatsResponseSchema,
  ReplaceTaskBodySchema,
  RetryTaskBodySchema,
  RetryTaskResponseSchema,
  TaskIdParamsSchema,
  TaskListQuerySchema,
  TaskListResponseSchema,
  TaskSchema,
  TypeStatsResponseSchema,
  UpdateTaskBodySchema,
} from "../../../shared/tasks.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import type { TaskService } from "./service.js";

const tags = ["tasks"];
const notFound = {
  404: "Task not found or access denied",
  403: "PERMISSION_DENIED: a task you may know exists (yours, or of another of your brands) outside the brand addressed",
};

/** spec/task-core-api.md: the task hub, brand-scoped. */
export function registerTaskRoutes(api: ApiRouter, tasks: TaskService): void {
  defineRoute(api, {
    method: "get",
    path: "/tasks/",
    summary: "List the brand's tasks, filtered, ordered and paginated",
    tags,
    auth: "brand",
    request: { query: TaskListQuerySchema },
    response: TaskListResponseSchema,
    handler: ({ req, brand, query }) => tasks.list(req, brand, query),
  });

  defineRoute(api, {
    method: "post",
    path: "/tasks/",
    summary: "Create a task; it is queued for execution at once or at scheduled_for",
    tags,
    auth: "brand",
    request: { body: CreateTaskBodySchema },
    status: 201,
    response: TaskSchema,
    errors: { 429: "RATE_LIMITED: the brand's queued quota is reached (queued_task_limit)" },
    handler: ({ principal, brand, body }) => tasks.create(principal, brand, body),
  });

  // Fixed paths before /tasks/:id/, which would otherwise read them as ids.
  defineRoute(api, {
    method: "get",
    path: "/tasks/queue-stats/",
    summary: "Pending/running counts per priority queue, status distribution, average processing time",
    tags,
    auth: "brand",
    response: QueueStatsResponseSchema,
    handler: ({ brand }) => tasks.queueStats(brand),
  });

  defineRoute(api, {
    method: "get",
    path: "/tasks/type-stats/",
    summary: "Totals, success rate and average duration per task type",
    tags,
    auth: "brand",
    response: TypeStatsResponseSchema,
    handler: ({ brand }) => tasks.typeStats(brand),
  });

  defineRoute(api, {
    method: "get",
    path: "/tasks/:id/",
    summary: "One task, with its metrics and persistent-job state",
    tags,
    auth: "brand",
    request: { params: TaskIdParamsSchema },
    response: TaskSchema,
    errors: notFound,
    handler: ({ principal, brand, params }) => tasks.get(brand, params.id, principal.userId),
  });

  for (const method of ["put", "patch"] as const) {
    defineRoute(api, {
      method,
      path: "/tasks/:id/",
      summary:
        method === "put"
          ? "Replace the modifiable fields (every one given): priority, description, context_data, scheduled_for, max_retries, timeout_minutes"
          : "Change some modifiable fields: priority, description, context_data, scheduled_for, max_retries, timeout_minutes",
      tags,
      auth: "brand",
      request: { params: TaskIdParamsSchema, body: method === "put" ? ReplaceTaskBodySchema : UpdateTaskBodySchema },
      response: TaskSchema,
      errors: { ...notFound, 400: "VALIDATION_ERROR (a PUT missing a field names it), or INVALID_OPERATION: the task is finished (completed, failed, cancelled)" },
      handler: ({ principal, brand, params, body }) => tasks.update(brand, params.id, body, principal.userId),
    });
  }

  defineRoute(api, {
    method: "delete",
    path: "/tasks/:id/",
    summary: "Delete a task (a running one is cancelled first)",
    tags,
    auth: "brand",
    request: { params: TaskIdParamsSchema },
    status: 204,
    response: null,
    errors: notFound,
    handler: ({ principal, brand, params }) => tasks.remove(brand, params.id, principal.userId),
  });

  defineRoute(api, {
    method: "post",
    path: "/tasks/:id/retry/",
    summary: "Queue a failed or cancelled task again",
    tags,
    auth: "brand",
    request: { params: TaskIdParamsSchema, body: RetryTaskBodySchema },
    response: RetryTaskResponseSchema,
    errors: { ...notFound, 400: "INVALID_OPERATION: not failed/cancelled, or max_retries reached" },
    handler: ({ principal, brand, params, body }) => tasks.retry(brand, params.id, body, principal.userId),
  });

  defineRoute(api, {
    method: "post",
    path: "/tasks/:id/cancel/",
    summary: "Cancel a pending or running task (a running one stops)",
    tags,
    auth: "brand",
    request: { params: TaskIdParamsSchema },
    response: CancelTaskResponseSchema,
    errors: { ...notFound, 400: "INVALID_OPERATION: already finished" },
    handler: ({ principal, brand, params }) => tasks.cancel(brand, params.id, principal.userId),
  });
}
