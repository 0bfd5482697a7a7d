import { PageQuerySchema } from "../../../shared/common.js";
import {
  CreatePeriodicTaskBodySchema,
  CronJobListQuerySchema,
  CronJobListResponseSchema,
  PatchPeriodicTaskBodySchema,
  PeriodicTaskIdParamsSchema,
  PeriodicTaskListQuerySchema,
  PeriodicTaskListResponseSchema,
  PeriodicTaskSchema,
  PutPeriodicTaskBodySchema,
  ValidateCronBodySchema,
  ValidateCronResponseSchema,
} from "../../../shared/scheduling.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import type { SchedulingService } from "./service.js";

const tags = ["scheduling"];
const BASE = "/tasks/scheduled";
const PERIODIC = `${BASE}/periodic-tasks`;
const notFound = { 404: "Periodic task not found or access denied" };
const invalid = "VALIDATION_ERROR: unknown task type (known_task_types lists them), invalid cron expression or time zone";

/** spec/tasks-infrastructure-overview.md, task_scheduling: periodic tasks and cron jobs, brand-scoped. */
export function registerSchedulingRoutes(api: ApiRouter, scheduling: SchedulingService): void {
  defineRoute(api, {
    method: "get",
    path: `${PERIODIC}/`,
    summary: "List the brand's periodic tasks (filters: enabled, task_type, search; ordering; paginated)",
    tags,
    auth: "brand",
    request: { query: PeriodicTaskListQuerySchema },
    response: PeriodicTaskListResponseSchema,
    handler: ({ req, brand, query }) => scheduling.list(req, brand, query),
  });

  defineRoute(api, {
    method: "post",
    path: `${PERIODIC}/`,
    summary: "Create a periodic task: a task of task_type is created at each occurrence of cron_expression in timezone",
    tags,
    auth: "brand",
    request: { body: CreatePeriodicTaskBodySchema },
    status: 201,
    response: PeriodicTaskSchema,
    errors: { 400: invalid },
    handler: ({ principal, brand, body }) => scheduling.create(principal, brand, body),
  });

  // Fixed paths before …/:id/.
  defineRoute(api, {
    method: "get",
    path: `${PERIODIC}/ready-for-execution/`,
    summary: "Enabled periodic tasks whose next run is due: what the next scheduler tick fires",
    tags,
    auth: "brand",
    request: { query: PageQuerySchema },
    response: PeriodicTaskListResponseSchema,
    handler: ({ req, brand, query }) => scheduling.readyForExecution(req, brand, query),
  });

  defineRoute(api, {
    method: "post",
    path: `${PERIODIC}/validate-cron/`,
    summary: "Check a cron expression (and time zone): errors in words, a description, and the next runs",
    description:
      "An invalid expression or time zone answers 200 with valid: false and the errors; only a malformed request (no cron_expression, count outside 1-50) is a 400.",
    tags,
    auth: "brand",
    request: { body: ValidateCronBodySchema },
    response: ValidateCronResponseSchema,
    handler: async ({ body }) => scheduling.validateCron(body),
  });

  defineRoute(api, {
    method: "get",
    path: `${PERIODIC}/:id/`,
    summary: "One periodic task",
    tags,
    auth: "brand",
    request: { params: PeriodicTaskIdParamsSchema },
    response: PeriodicTaskSchema,
    errors: notFound,
    handler: ({ brand, params }) => scheduling.get(brand, params.id),
  });

  defineRoute(api, {
    method: "put",
    path: `${PERIODIC}/:id/`,
    summary: "Update a periodic task (task_type and cron_expression required; other fields change when given)",
    tags,
    auth: "brand",
    request: { params: PeriodicTaskIdParamsSchema, body: PutPeriodicTaskBodySchema },
    response: PeriodicTaskSchema,
    errors: { ...notFound, 400: invalid },
    handler: ({ brand, params, body }) => scheduling.update(brand, params.id, body),
  });

  defineRoute(api, {
    method: "patch",
    path: `${PERIODIC}/:id/`,
    summary: "Change some fields of a periodic task; a new schedule or zone recomputes next_run_at",
    tags,
    auth: "brand",
    request: { params: PeriodicTaskIdParamsSchema, body: PatchPeriodicTaskBodySchema },
    response: PeriodicTaskSchema,
    errors: { ...notFound, 400: invalid },
    handler: ({ brand, params, body }) => scheduling.update(brand, params.id, body),
  });

  defineRoute(api, {
    method: "delete",
    path: `${PERIODIC}/:id/`,
    summary: "Delete a periodic task (the tasks it created stay)",
    tags,
    auth: "brand",
    request: { params: PeriodicTaskIdParamsSchema },
    status: 204,
    response: null,
    errors: notFound,
    handler: ({ brand, params }) => scheduling.remove(brand, params.id),
  });

  defineRoute(api, {
    method: "post",
    path: `${PERIODIC}/:id/pause/`,
    summary: "Pause: nothing fires until it is resumed (idempotent)",
    tags,
    auth: "brand",
    request: { params: PeriodicTaskIdParamsSchema },
    response: PeriodicTaskSchema,
    errors: notFound,
    handler: ({ brand, params }) => scheduling.pause(brand, params.id),
  });

  defineRoute(api, {
    method: "post",
    path: `${PERIODIC}/:id/resume/`,
    summary: "Resume: the next run is the first occurrence after now; runs missed while paused are not made up (idempotent)",
    tags,
    auth: "brand",
    request: { params: PeriodicTaskIdParamsSchema },
    response: PeriodicTaskSchema,
    errors: notFound,
    handler: ({ brand, params }) => scheduling.resume(brand, params.id),
  });

  defineRoute(api, {
    method: "get",
    path: `${BASE}/cron-jobs/`,
    summary: "The scheduled jobs: every enabled periodic task with its cron, zone, description and next runs",
    tags,
    auth: "brand",
    request: { query: CronJobListQuerySchema },
    response: CronJobListResponseSchema,
    handler: ({ req, brand, query }) => scheduling.cronJobs(req, brand, query),
  });
}
