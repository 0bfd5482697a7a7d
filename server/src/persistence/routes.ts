import { PageQuerySchema } from "../../../shared/common.js";
import {
  CheckpointListQuerySchema,
  CheckpointListResponseSchema,
  PersistentJobListResponseSchema,
  PersistentJobSchema,
  ResumeJobResponseSchema,
} from "../../../shared/persistence.js";
import { TaskIdParamsSchema } from "../../../shared/tasks.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import type { PersistenceService } from "./service.js";

const tags = ["persistent-jobs"];
const BASE = "/tasks/persistent-jobs";

/** The spec's paths keep the doubled segment (app prefix + resource): /tasks/persistent-jobs/persistent-jobs/… */
export function registerPersistenceRoutes(api: ApiRouter, jobs: PersistenceService): void {
  defineRoute(api, {
    method: "get",
    path: `${BASE}/persistent-jobs/`,
    summary: "Tasks that checkpoint their work, newest checkpoint first",
    tags,
    auth: "brand",
    request: { query: PageQuerySchema },
    response: PersistentJobListResponseSchema,
    handler: ({ req, brand, query }) => jobs.list(req, brand, query),
  });

  defineRoute(api, {
    method: "get",
    path: `${BASE}/persistent-jobs/resumable/`,
    summary: "Jobs interrupted by a crash or restart that can resume from their last checkpoint",
    tags,
    auth: "brand",
    request: { query: PageQuerySchema },
    response: PersistentJobListResponseSchema,
    handler: ({ req, brand, query }) => jobs.resumable(req, brand, query),
  });

  defineRoute(api, {
    method: "get",
    path: `${BASE}/persistent-jobs/:id/`,
    summary: "One persistent job with its last checkpoint",
    tags,
    auth: "brand",
    request: { params: TaskIdParamsSchema },
    response: PersistentJobSchema,
    errors: { 404: "Task not found or access denied" },
    handler: ({ brand, params }) => jobs.get(brand, params.id),
  });

  defineRoute(api, {
    method: "post",
    path: `${BASE}/persistent-jobs/:id/resume/`,
    summary: "Resume an interrupted job from its last checkpoint",
    tags,
    auth: "brand",
    request: { params: TaskIdParamsSchema },
    response: ResumeJobResponseSchema,
    errors: { 404: "Task not found or access denied", 400: "INVALID_OPERATION: not interrupted" },
    handler: ({ brand, params }) => jobs.resume(brand, params.id),
  });

  defineRoute(api, {
    method: "get",
    path: `${BASE}/checkpoints/`,
    summary: "Checkpoints of the brand's jobs (filter with task_id)",
    tags,
    auth: "brand",
    request: { query: CheckpointListQuerySchema },
    response: CheckpointListResponseSchema,
    handler: ({ req, brand, query }) => jobs.listCheckpoints(req, brand, query),
  });
}
