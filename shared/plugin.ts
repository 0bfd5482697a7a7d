/**
 * The plugin delivery contract shared by the MarketHub server and the browser extension.
 *
 * Plain zod 4 (no OpenAPI decorations) so the server can register these schemas with its own
 * registry. Field names and status words follow spec/plugin-polling-api.md; what the spec leaves
 * open (leases, heartbeats, partial sync pages, error codes) is decided here and documented inline.
 *
 * Flow:
 *   GET  /api/plugin/tasks[?wait=N]              → ClaimedTask | NoPendingTask   (429 + Retry-After when polled too fast)
 *   POST /api/plugin/tasks/{task_id}/heartbeat   HeartbeatBody → HeartbeatResponse (409 = lease lost: stop working)
 *   POST /api/plugin/tasks/{task_id}/result      TaskResultBody → TaskResultResponse (409 = stale lease or duplicate: final;
 *                                                the identical body resent with the same lease_token — its answer was lost — is a 200 again)
 *   POST /api/plugin/tasks/{task_id}/release     ReleaseTaskBody → ReleaseTaskResponse (hand the task back, no attempt counted;
 *                                                409 = lease lost; a server without it answers 404/405 and the lease just lapses)
 *   POST /api/plugin/tasks                       CreatePluginTaskBody → 201 PluginTaskView
 *   GET  /api/plugin/tasks/recent?limit=N        → RecentPluginTasksResponse
 *   GET  /api/plugin/tasks/{task_id}             → PluginTaskView
 *   POST /api/sync/vinted                        → SyncVintedResponse
 *   POST /api/v1/auth/login | /api/v1/auth/refresh   (shared/auth.ts)
 */
import { z } from "zod";
import { IntegerIdStringSchema } from "./common.js";
import { PLUGIN_PARAMS_SCHEMAS, PluginActionSchema, type PluginAction } from "./plugin-actions.js";

export * from "./plugin-actions.js";

export const PLUGIN_TASK_STATUSES = ["pending", "executing", "completed", "failed", "cancelled"] as const;
export const PluginTaskStatusSchema = z.enum(PLUGIN_TASK_STATUSES);
export type PluginTaskStatus = z.infer<typeof PluginTaskStatusSchema>;

/**
 * `error_code` values the extension reports in a failed result. The first five are Vinted conditions
 * the seller must know about; CAPTCHA_REQUIRED and RATE_LIMITED also pause the extension's queue.
 */
export const PLUGIN_ERROR_CODES = [
  "VINTED_LOGGED_OUT",
  "CSRF_EXPIRED",
  "CAPTCHA_REQUIRED",
  "RATE_LIMITED",
  "ITEM_NOT_FOUND",
  /** Vinted refused the payload (422/400), e.g. a missing brand or an identical live listing. */
  "VINTED_VALIDATION_ERROR",
  /** Vinted answered 5xx or something the extension could not understand. */
  "VINTED_ERROR",
  /** The Vinted request never got an answer (offline, DNS, aborted connection). */
  "NETWORK_ERROR",
  /** The task's params failed validation in the extension. */
  "INVALID_PARAMS",
  /** upload_photo / create_product could not download a photo from the MarketHub URL. */
  "PHOTO_DOWNLOAD_FAILED",
  /** The extension stopped the action (lease lost, seller paused, tab closed). */
  "CANCELLED",
  "INTERNAL_ERROR",
] as const;
export const PluginErrorCodeSchema = z.enum(PLUGIN_ERROR_CODES);
export type PluginErrorCode = z.infer<typeof PluginErrorCodeSchema>;

// ---------------------------------------------------------------------------------------------
// Task creation and views
// ---------------------------------------------------------------------------------------------

const TaskPrioritySchema = z.number().int().min(0).max(10);
/** Seconds the task may run (and the length of one lease); heartbeats extend the lease. */
const TaskTimeoutSchema = z.number().int().min(10).max(3600);

function createBodyFor<A extends PluginAction>(action: A) {
  return z.object({
    action: z.literal(action),
    params: PLUGIN_PARAMS_SCHEMAS[action],
    priority: TaskPrioritySchema.optional(),
    timeout: TaskTimeoutSchema.optional(),
  });
}

export const CreatePluginTaskBodySchema = z.discriminatedUnion("action", [
  createBodyFor("get_user_data"),
  createBodyFor("get_all_products"),
  createBodyFor("create_product"),
  createBodyFor("update_product"),
  createBodyFor("delete_product"),
  createBodyFor("update_prices"),
  createBodyFor("get_stats"),
  createBodyFor("upload_photo"),
  createBodyFor("search_items"),
]);
/** Spec name kept as an alias. */
export const CreatePluginTaskBody = CreatePluginTaskBodySchema;
export type CreatePluginTaskBody = z.infer<typeof CreatePluginTaskBodySchema>;

export const TaskProgressSchema = z.object({
  current: z.number().int().min(0),
  total: z.number().int().min(0),
  message: z.string().max(500),
});
export type TaskProgress = z.infer<typeof TaskProgressSchema>;

export const PluginTaskViewSchema = z.object({
  task_id: z.string(),
  action: PluginActionSchema,
  status: PluginTaskStatusSchema,
  params: z.unknown().optional(),
  priority: z.number().int().optional(),
  timeout: z.number().int().optional(),
  progress: TaskProgressSchema.nullish(),
  result: z.unknown().optional(),
  error: z.string().nullish(),
  error_code: z.string().nullish(),
  attempt: z.number().int().optional(),
  created_at: z.string(),
  started_at: z.string().nullish(),
  completed_at: z.string().nullish(),
});
export type PluginTaskView = z.infer<typeof PluginTaskViewSchema>;

export const RecentPluginTasksResponseSchema = z.object({ results: z.array(PluginTaskViewSchema) });
export type RecentPluginTasksResponse = z.infer<typeof RecentPluginTasksResponseSchema>;

export const SyncVintedResponseSchema = z.object({ message: z.string(), task_id: z.string() });

// ---------------------------------------------------------------------------------------------
// Claim (poll), heartbeat, result
// ---------------------------------------------------------------------------------------------

/** Longest `wait` (seconds) a long-poll may ask for. */
export const MAX_LONG_POLL_WAIT_SECONDS = 25;

export const PollQuerySchema = z.object({
  wait: z.coerce.number().int().min(0).max(MAX_LONG_POLL_WAIT_SECONDS).optional(),
});

export const ClaimedTaskSchema = z.object({
  task_id: z.string().min(1),
  action: PluginActionSchema,
  /** Validated per action by the extension (parsePluginCommand) so one bad task cannot stall the poller. */
  params: z.unknown(),
  priority: z.number().int(),
  timeout: z.number().int().positive(),
  lease_token: z.string().min(1),
  lease_expires_at: z.string(),
  /** 1 on first delivery; > 1 when an earlier lease expired, i.e. a write's outcome is unknown. */
  attempt: z.number().int().min(1),
});
export type ClaimedTask = z.infer<typeof ClaimedTaskSchema>;

export const NoPendingTaskSchema = z.object({ task_id: z.null(), message: z.string() });
export const PollResponseSchema = z.union([ClaimedTaskSchema, NoPendingTaskSchema]);
export type PollResponse = z.infer<typeof PollResponseSchema>;

/**
 * One page of a get_all_products sync, sent in a heartbeat as soon as it is read, so a sync cut off
 * at page 40/80 still gives the server 40 pages. A page never means "the rest is gone": only a final
 * result with `complete: true` may mark listings missing from it as removed.
 */
export const PartialProductsPageSchema = z.object({
  page: z.number().int().min(1),
  total_pages: z.number().int().min(0),
  total_entries: z.number().int().min(0),
  items: z.array(z.record(z.string(), z.unknown())),
});
export type PartialProductsPage = z.infer<typeof PartialProductsPageSchema>;

export const HeartbeatProgressSchema = TaskProgressSchema.extend({
  partial: PartialProductsPageSchema.optional(),
});
export type HeartbeatProgress = z.infer<typeof HeartbeatProgressSchema>;

export const HeartbeatBodySchema = z.object({
  lease_token: z.string().min(1),
  progress: HeartbeatProgressSchema.optional(),
});
export type HeartbeatBody = z.infer<typeof HeartbeatBodySchema>;

export const HeartbeatResponseSchema = z.object({ status: z.literal("ok"), lease_expires_at: z.string() });

/**
 * `lease_token` may be left out, as spec/plugin-polling-api.md shows the body, only while the task's
 * current lease is the only one it ever had: after an earlier lease expired, a body without a token
 * cannot be told from that lease's late answer and is refused (409 LEASE_TOKEN_REQUIRED).
 * `executed_at` defaults to the time the server received the result.
 */
export const TaskResultBodySchema = z.object({
  lease_token: z.string().min(1).optional(),
  success: z.boolean(),
  data: z.unknown().optional(),
  error: z.string().max(2000).optional(),
  error_code: z.string().max(64).optional(),
  execution_time_ms: z.number().int().min(0),
  executed_at: z.string().optional(),
});
export type TaskResultBody = z.infer<typeof TaskResultBodySchema>;

/**
 * Conditions of the seller's Vinted account, not of the task: the task could not run now and is
 * handed back instead of failing (the extension waits for the seller, then claims it again).
 */
export const HAND_BACK_ERROR_CODES = ["VINTED_LOGGED_OUT", "CAPTCHA_REQUIRED", "RATE_LIMITED"] as const satisfies readonly PluginErrorCode[];
export const HandBackErrorCodeSchema = z.enum(HAND_BACK_ERROR_CODES);
export type HandBackErrorCode = z.infer<typeof HandBackErrorCodeSchema>;

export function isHandBackErrorCode(code: string): code is HandBackErrorCode {
  return (HAND_BACK_ERROR_CODES as readonly string[]).includes(code);
}

/**
 * POST /api/plugin/tasks/{task_id}/release: the lease holder gives the task back unfinished because
 * of its Vinted account (logged out, challenge, rate limit). Fenced like a result (running, this
 * token, lease not ended). The task becomes pending again with retry_count and attempt unchanged
 * (the next claim's attempt is this one's again: nothing was written), error_message = reason and
 * error_details.error_code = reason_code, so its views say why it waits. `retry_after_ms` (when
 * given) delays it: scheduled_for = now + retry_after_ms. Answer 200 ReleaseTaskResponse; 409
 * LEASE_EXPIRED when the token is not the current lease; 404 TASK_NOT_FOUND.
 */
export const ReleaseTaskBodySchema = z.object({
  lease_token: z.string().min(1),
  reason_code: HandBackErrorCodeSchema,
  reason: z.string().max(2000),
  retry_after_ms: z.number().int().min(0).max(24 * 3600_000).optional(),
});
export type ReleaseTaskBody = z.infer<typeof ReleaseTaskBodySchema>;
export const ReleaseTaskResponseSchema = z.object({ status: z.literal("released"), message: z.string() });

/**
 * 200 once per task: for the current lease's first result, and again for an identical resend of it
 * (same lease_token, same body). A late, stale-token or different result is a 409 (LEASE_EXPIRED or
 * RESULT_ALREADY_RECEIVED) and never replaces the stored one.
 */
export const TaskResultResponseSchema = z.object({ status: z.literal("received"), message: z.string() });

// ---------------------------------------------------------------------------------------------
// Routes: the server defines them with these paths, the extension calls them (login, refresh and
// the error body are in shared/auth.ts and shared/errors.ts)
// ---------------------------------------------------------------------------------------------

export const PLUGIN_ROUTES = {
  tasks: "/api/plugin/tasks",
  recentTasks: "/api/plugin/tasks/recent",
  task: "/api/plugin/tasks/:task_id",
  heartbeat: "/api/plugin/tasks/:task_id/heartbeat",
  result: "/api/plugin/tasks/:task_id/result",
  release: "/api/plugin/tasks/:task_id/release",
  syncVinted: "/api/sync/vinted",
} as const;

/** A route with its `:name` segments filled in (encoded). */
export function routePath(route: string, params: Record<string, string | number> = {}): string {
  return route.replace(/:([a-z_]+)/g, (_, name: string) => {
    if (params[name] === undefined) throw new Error(`missing route parameter ${name} for ${route}`);
    return encodeURIComponent(String(params[name]));
  });
}

/** spec/plugin-polling-api.md's `user_id`: accepted, but only as the caller's own id. */
export const PluginUserIdQuerySchema = z.object({ user_id: IntegerIdStringSchema.optional() });
export const PluginPollQuerySchema = PollQuerySchema.extend(PluginUserIdQuerySchema.shape);
export const RecentPluginTasksQuerySchema = PluginUserIdQuerySchema.extend({ limit: z.coerce.number().int().min(1).max(50).default(10) });
export const PluginTaskIdParamsSchema = z.object({ task_id: z.string().min(1).max(100) });
export const SyncVintedBodySchema = z.object({ user_id: z.number().int().positive().optional() });

