import {
  CreatePluginTaskBodySchema,
  HeartbeatBodySchema,
  HeartbeatResponseSchema,
  PLUGIN_ROUTES,
  PluginTaskIdParamsSchema,
  PluginTaskViewSchema,
  PluginUserIdQuerySchema,
  PollResponseSchema,
  RecentPluginTasksQuerySchema,
  RecentPluginTasksResponseSchema,
  SyncVintedBodySchema,
  ReleaseTaskBodySchema,
  ReleaseTaskResponseSchema,
  SyncVintedResponseSchema,
  TaskResultBodySchema,
  TaskResultResponseSchema,
} from "../../../shared/plugin.js";
import {
  EXTENSION_CONNECTION_ROUTES,
  ExtensionConnectionSchema,
  ExtensionStatusBodySchema,
  ExtensionStatusResponseSchema,
  PluginPollWithReportQuerySchema,
} from "../../../shared/extension-connection.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import type { Principal } from "../http/context.js";
import { permissionDenied } from "../http/errors.js";
import { demoteInAccessLog } from "../http/request-logging.js";
import type { ExtensionConnections } from "./connections.js";
import { NO_PENDING_TASKS, type ExtensionDelivery } from "./delivery.js";
import type { ExtensionResults } from "./results.js";
import type { PluginService } from "./service.js";
import type { SellerUploadGate } from "./upload-gate.js";

export interface PluginRouteServices {
  tasks: PluginService;
  delivery: ExtensionDelivery;
  results: ExtensionResults;
  /** PLUGIN_BODY_LIMIT: only results and heartbeats (which carry wardrobe pages) may be that large. */
  largeBodyLimit: string;
  uploads: SellerUploadGate;
  connections: ExtensionConnections;
}

const tags = ["plugin"];

/** Frozen, so its body is serialised once (define-route.ts) rather than on every empty poll. */
const NOTHING_TO_CLAIM = Object.freeze({ ...NO_PENDING_TASKS });
/** The client of a plain poll, as far as the poll can tell: it never leaves before the answer. */
const STAYS = new AbortController().signal;

function assertOwnUser(principal: Principal, userId: number | undefined): void {
  if (userId !== undefined && userId !== principal.userId) {
    throw permissionDenied("user_id must be your own user id: an extension only ever sees its seller's tasks.");
  }
}

const taskErrors = { 403: "user_id is not your own id", 404: "No such task of yours" };
const leaseErrors = {
  404: "No such task of yours",
  409: "LEASE_EXPIRED (the token is not the current lease: stop working on it) or RESULT_ALREADY_RECEIVED",
};

/** The extension's API (shared/plugin.ts): poll/claim, heartbeat, result, create, views, sync. */
export function registerPluginRoutes(api: ApiRouter, { tasks, delivery, results, largeBodyLimit, uploads, connections }: PluginRouteServices): void {
  const largeBody = { bodyLimit: largeBodyLimit, beforeBody: [uploads.middleware] };
  defineRoute(api, {
    method: "get",
    path: PLUGIN_ROUTES.tasks,
    summary: "Claim your next extension task (leased), or wait up to ?wait=N s for one; else {task_id: null}",
    description:
      "Plain polls no faster than PLUGIN_POLL_INTERVAL_MS per seller (429 + Retry-After otherwise); a poll that hands out a task " +
      "frees the slot. `attempt` > 1 means an earlier lease expired: a write's outcome is unknown, check Vinted first. " +
      "client_version, vinted_user_id and vinted_login (optional) are kept as the extension's heartbeat (GET /api/plugin/connection).",
    tags,
    auth: "user",
    request: { query: PluginPollWithReportQuerySchema },
    response: PollResponseSchema,
    errors: { 403: "user_id is not your own id", 429: "Polling too fast (RATE_LIMITED, see Retry-After)" },
    handler: async ({ principal, query, res }) => {
      assertOwnUser(principal, query.user_id);
      connections.notePoll(principal.userId, query);
      const wait = query.wait ?? 0;
      // Only a held poll can see its client leave: a plain one answers before any close is heard.
      const gone = wait > 0 ? new AbortController() : null;
      const onClose = () => {
        if (!res.writableEnded) gone?.abort();
      };
      if (gone) res.once("close", onClose);
      try {
        const answer = await delivery.poll(principal, wait, gone?.signal ?? STAYS);
        if (answer.task_id !== null) return answer;
        // Counted in the poll counters (GET /tasks/monitoring/workers/overview/) instead.
        demoteInAccessLog(res);
        return answer === NO_PENDING_TASKS ? NOTHING_TO_CLAIM : answer;
      } finally {
        if (gone) res.off("close", onClose);
      }
    },
  });

  defineRoute(api, {
    method: "post",
    path: PLUGIN_ROUTES.tasks,
    summary: "Create a task for your extension (params validated per action); brand: X-Brand-ID or your personal brand",
    tags,
    auth: "brand",
    request: { query: PluginUserIdQuerySchema, body: CreatePluginTaskBodySchema },
    status: 201,
    response: PluginTaskViewSchema,
    errors: { 403: "user_id is not your own id" },
    handler: ({ principal, brand, query, body }) => {
      assertOwnUser(principal, query.user_id);
      return tasks.createPluginTask(principal, brand, body);
    },
  });

  // Before /api/plugin/tasks/:task_id, which would read "recent" as an id.
  defineRoute(api, {
    method: "get",
    path: PLUGIN_ROUTES.recentTasks,
    summary: "Your latest extension tasks, newest first (the popup's list)",
    tags,
    auth: "user",
    request: { query: RecentPluginTasksQuerySchema },
    response: RecentPluginTasksResponseSchema,
    errors: { 403: "user_id is not your own id" },
    handler: ({ principal, query }) => {
      assertOwnUser(principal, query.user_id);
      return tasks.recent(principal.userId, query.limit);
    },
  });

  defineRoute(api, {
    method: "get",
    path: PLUGIN_ROUTES.task,
    summary: "One of your extension tasks (status executing while leased)",
    tags,
    auth: "user",
    request: { params: PluginTaskIdParamsSchema, query: PluginUserIdQuerySchema },
    response: PluginTaskViewSchema,
    errors: taskErrors,
    handler: ({ principal, params, query }) => {
      assertOwnUser(principal, query.user_id);
      return tasks.get(principal.userId, params.task_id);
    },
  });

  defineRoute(api, {
    method: "post",
    path: PLUGIN_ROUTES.heartbeat,
    summary: "Extend your lease and report progress (and, for get_all_products, each page as it is read)",
    tags,
    auth: "user",
    request: { params: PluginTaskIdParamsSchema, body: HeartbeatBodySchema },
    ...largeBody,
    response: HeartbeatResponseSchema,
    errors: leaseErrors,
    handler: ({ principal, params, body }) => {
      connections.noteAlive(principal.userId);
      return results.heartbeat(principal.userId, params.task_id, body);
    },
  });

  defineRoute(api, {
    method: "post",
    path: PLUGIN_ROUTES.result,
    summary: "Deliver the result of your lease (once; an identical resend is acknowledged again)",
    description:
      "The body and each action's `data` may also be as spec/plugin-polling-api.md shows them: without `lease_token` while the task's " +
      "current lease is its only one, without `executed_at`, and `data` in the document's leaner shapes.",
    tags,
    auth: "user",
    request: { params: PluginTaskIdParamsSchema, body: TaskResultBodySchema },
    ...largeBody,
    response: TaskResultResponseSchema,
    errors: { ...leaseErrors, 409: `${leaseErrors[409]}, or LEASE_TOKEN_REQUIRED (no lease_token after an earlier lease of the task expired)` },
    handler: ({ principal, params, body }) => {
      connections.noteAlive(principal.userId);
      return results.result(principal.userId, params.task_id, body);
    },
  });

  defineRoute(api, {
    method: "post",
    path: PLUGIN_ROUTES.release,
    summary: "Hand your lease back unfinished (Vinted logged out, a challenge, a rate limit): queued again, no attempt counted",
    description: "`retry_after_ms` delays the next claim. 409 LEASE_EXPIRED when the token is not the current, live lease.",
    tags,
    auth: "user",
    request: { params: PluginTaskIdParamsSchema, body: ReleaseTaskBodySchema },
    response: ReleaseTaskResponseSchema,
    errors: { 404: "No such task of yours", 409: "LEASE_EXPIRED (the token is not the current lease, or the lease ended)" },
    handler: ({ principal, params, body }) => results.release(principal.userId, params.task_id, body),
  });

  defineRoute(api, {
    method: "post",
    path: PLUGIN_ROUTES.syncVinted,
    summary: "Start a full Vinted sync (get_all_products), or get the one already pending/running",
    tags,
    auth: "brand",
    request: { body: SyncVintedBodySchema },
    response: SyncVintedResponseSchema,
    errors: { 403: "user_id is not your own id" },
    handler: ({ principal, brand, body }) => {
      assertOwnUser(principal, body.user_id);
      return tasks.syncVinted(principal, brand);
    },
  });

  defineRoute(api, {
    method: "post",
    path: EXTENSION_CONNECTION_ROUTES.status,
    summary: "Report your extension's state when it does not poll (paused and why, resumed), its version and Vinted account",
    tags,
    auth: "user",
    request: { body: ExtensionStatusBodySchema },
    response: ExtensionStatusResponseSchema,
    handler: async ({ principal, body }) => {
      connections.noteStatus(principal.userId, body);
      return { status: "received" as const };
    },
  });

  defineRoute(api, {
    method: "get",
    path: EXTENSION_CONNECTION_ROUTES.connection,
    summary: "Whether your extension is connected: last poll, version, Vinted account, paused and why",
    tags,
    auth: "user",
    response: ExtensionConnectionSchema,
    handler: ({ principal }) => connections.get(principal.userId),
  });
}
