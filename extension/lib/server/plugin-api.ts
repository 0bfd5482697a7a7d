import { z } from "zod";
import {
  ClaimedTaskSchema,
  HeartbeatResponseSchema,
  PLUGIN_ROUTES,
  PollResponseSchema,
  RecentPluginTasksResponseSchema,
  ReleaseTaskResponseSchema,
  SyncVintedResponseSchema,
  TaskResultResponseSchema,
  routePath,
  type ClaimedTask,
  type HeartbeatBody,
  type PluginTaskView,
  type ReleaseTaskBody,
  type TaskResultBody,
} from "../../../shared/plugin";
import { PUBLICATION_ROUTES, RecentPublicationsResponseSchema, type RecentPublicationsResponse } from "../../../shared/publications";
import { EXTENSION_CONNECTION_ROUTES, ExtensionStatusResponseSchema, type ExtensionStatusBody } from "../../../shared/extension-connection";
import type { AuthManager } from "./auth";
import { noteServerReachable } from "../storage";
import { ServerError, joinUrl, requestServerJson } from "./http";

export type PollOutcome = { kind: "task"; task: ClaimedTask } | { kind: "none" } | { kind: "invalid_task"; taskId: string; error: string };
export type HeartbeatOutcome = { kind: "ok"; leaseExpiresAt: string } | { kind: "lease_lost" } | { kind: "failed"; error: string };
/** `unsupported`: a server without the release call; the lease then lapses by itself. */
export type ReleaseOutcome = { kind: "released" } | { kind: "lease_lost" } | { kind: "unsupported" } | { kind: "failed"; error: string };
export type DeliveryOutcome = { kind: "acknowledged" } | { kind: "rejected"; reason: string } | { kind: "retry"; error: string; retryAfterMs?: number };

const LONG_POLL_GRACE_MS = 10_000;

/** Who is polling: kept by the server as this extension's heartbeat (the dashboard shows it). */
export interface ExtensionIdentity {
  clientVersion: string;
  vintedUserId: number | null;
  vintedLogin: string | null;
}

function pollPath(waitSeconds: number | undefined, who: ExtensionIdentity | undefined): string {
  const query = new URLSearchParams();
  if (waitSeconds) query.set("wait", String(waitSeconds));
  if (who) {
    query.set("client_version", who.clientVersion);
    if (who.vintedUserId !== null) query.set("vinted_user_id", String(who.vintedUserId));
    if (who.vintedLogin) query.set("vinted_login", who.vintedLogin);
  }
  const text = query.toString();
  return text ? `${PLUGIN_ROUTES.tasks}?${text}` : PLUGIN_ROUTES.tasks;
}

/** The extension's side of /api/plugin/*: every call authenticated, one token refresh on 401. */
export class PluginApi {
  constructor(private readonly auth: AuthManager) {}

  private async call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown, timeoutMs?: number): Promise<T> {
    const answer = await this.authenticatedCall(method, path, schema, body, timeoutMs);
    // Any answer proves the server reachable: the popup need not wait for a held long-poll to say so.
    void noteServerReachable();
    return answer;
  }

  private async authenticatedCall<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown, timeoutMs?: number): Promise<T> {
    let session = await this.auth.session();
    try {
      return await requestServerJson(joinUrl(session.serverUrl, path), { method, body, token: session.accessToken, timeoutMs }, schema);
    } catch (error) {
      if (!(error instanceof ServerError) || error.status !== 401) throw error;
      session = await this.auth.forceRefresh(session.accessToken);
      return requestServerJson(joinUrl(session.serverUrl, path), { method, body, token: session.accessToken, timeoutMs }, schema);
    }
  }

  async poll(waitSeconds: number | undefined, who?: ExtensionIdentity): Promise<PollOutcome> {
    const path = pollPath(waitSeconds, who);
    const response = await this.call("GET", path, z.unknown(), undefined, (waitSeconds ?? 0) * 1000 + LONG_POLL_GRACE_MS);
    const parsed = PollResponseSchema.safeParse(response);
    if (parsed.success) return parsed.data.task_id === null ? { kind: "none" } : { kind: "task", task: ClaimedTaskSchema.parse(parsed.data) };
    // A task we cannot even read must still be answered, or it would come back forever.
    const taskId = typeof response === "object" && response !== null ? (response as { task_id?: unknown }).task_id : undefined;
    if (typeof taskId === "string") return { kind: "invalid_task", taskId, error: z.prettifyError(parsed.error) };
    throw new ServerError(200, `Unexpected poll answer: ${z.prettifyError(parsed.error)}`);
  }

  async heartbeat(taskId: string, body: HeartbeatBody): Promise<HeartbeatOutcome> {
    try {
      const answer = await this.call("POST", routePath(PLUGIN_ROUTES.heartbeat, { task_id: taskId }), HeartbeatResponseSchema, body);
      return { kind: "ok", leaseExpiresAt: answer.lease_expires_at };
    } catch (error) {
      if (error instanceof ServerError && (error.status === 409 || error.status === 404)) return { kind: "lease_lost" };
      return { kind: "failed", error: error instanceof Error ? error.message : String(error) };
    }
  }

  async deliverResult(taskId: string, body: TaskResultBody): Promise<DeliveryOutcome> {
    try {
      await this.call("POST", routePath(PLUGIN_ROUTES.result, { task_id: taskId }), TaskResultResponseSchema, body);
      return { kind: "acknowledged" };
    } catch (error) {
      if (!(error instanceof ServerError)) return { kind: "retry", error: error instanceof Error ? error.message : String(error) };
      if (error.isTransient || error.status === 401) return { kind: "retry", error: error.message, retryAfterMs: error.retryAfterMs };
      // 409 (stale lease, duplicate) and other 4xx: the server has decided; resending cannot change it.
      return { kind: "rejected", reason: `${error.status} ${error.body?.error_code ?? ""} ${error.message}`.trim() };
    }
  }

  /** Hands a claimed task back unfinished (its Vinted account cannot run it now); no attempt is counted. */
  async release(taskId: string, body: ReleaseTaskBody): Promise<ReleaseOutcome> {
    try {
      await this.call("POST", routePath(PLUGIN_ROUTES.release, { task_id: taskId }), ReleaseTaskResponseSchema, body);
      return { kind: "released" };
    } catch (error) {
      if (error instanceof ServerError) {
        if (error.status === 409 || (error.status === 404 && error.body?.error_code === "TASK_NOT_FOUND")) return { kind: "lease_lost" };
        if (error.status === 404 || error.status === 405) return { kind: "unsupported" };
      }
      return { kind: "failed", error: error instanceof Error ? error.message : String(error) };
    }
  }

  async recent(limit: number): Promise<PluginTaskView[]> {
    const answer = await this.call("GET", `${PLUGIN_ROUTES.recentTasks}?limit=${limit}`, RecentPluginTasksResponseSchema);
    return answer.results;
  }

  /** The seller's publications to marketplaces, those in progress first (their personal brand). */
  async recentPublications(limit: number): Promise<RecentPublicationsResponse> {
    return this.call("GET", `${PUBLICATION_ROUTES.recent}?limit=${limit}`, RecentPublicationsResponseSchema);
  }

  /** Tells the server this extension's state while it does not poll (paused); false when the server could not take it. */
  async reportStatus(body: ExtensionStatusBody): Promise<boolean> {
    try {
      await this.call("POST", EXTENSION_CONNECTION_ROUTES.status, ExtensionStatusResponseSchema, body);
      return true;
    } catch {
      // An older server, or a network blip: the next report (or poll) says it again.
      return false;
    }
  }

  async syncVinted(): Promise<{ message: string; task_id: string }> {
    return this.call("POST", PLUGIN_ROUTES.syncVinted, SyncVintedResponseSchema, {});
  }
}
