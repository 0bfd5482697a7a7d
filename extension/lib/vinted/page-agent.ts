import { isHandBackErrorCode, parsePluginCommand, type HeartbeatProgress } from "../../../shared/plugin";
import type { RunActionRequest, VintedTabStatus } from "../messages";
import { VINTED_PATHS, VintedApi, type CurrentUser } from "./api";
import { runVintedAction, type ActionOutcome, type PhotoSource } from "./actions";
import { VintedClient, type CsrfSource } from "./client";
import { currencyForOrigin } from "./domains";
import { VintedError, describeVintedError } from "./errors";
import { findCsrfToken, readAnonId, readCsrfTokenFromDocument } from "./page-session";
import { Pacer, type PacingSettings } from "./pacing";
import type { VintedTransport } from "./transport";

export interface PageAgentDeps {
  transport: VintedTransport;
  pacing: () => PacingSettings;
  photos: PhotoSource;
  report: (taskId: string, progress: HeartbeatProgress) => void;
  document: Document;
  origin: string;
}

/** How long a status answer is trusted; the background asks every poll, Vinted must not see that. */
const STATUS_TTL_MS: Record<VintedTabStatus["state"], number> = { logged_in: 5 * 60_000, logged_out: 30_000, blocked: 60_000 };
/** Finished runs are remembered so a restarted background collects the outcome instead of re-running. */
const FINISHED_RUN_MEMORY_MS = 15 * 60_000;
/** A long wait (429) must still show signs of life, or the lease would lapse. */
const LIVENESS_REPORT_MS = 15_000;

interface Run {
  outcome: Promise<ActionOutcome>;
  controller: AbortController;
}

/** The Vinted tab's executor: one per page, owning its pacing, CSRF token and running actions. */
export class VintedPageAgent {
  private readonly pacer: Pacer;
  private readonly api: VintedApi;
  private csrfToken: string | null;
  private status: { value: VintedTabStatus; at: number } | null = null;
  private user: CurrentUser | null = null;
  private readonly runs = new Map<string, Run>();
  private activeRuns = 0;

  constructor(private readonly deps: PageAgentDeps) {
    this.pacer = new Pacer(deps.pacing);
    this.csrfToken = readCsrfTokenFromDocument(deps.document);
    const csrf: CsrfSource = { current: () => this.csrfToken, refresh: () => this.reloadCsrfToken() };
    const client = new VintedClient({
      transport: deps.transport,
      pacer: this.pacer,
      csrf,
      anonId: () => readAnonId(deps.document),
      pacing: deps.pacing,
      refreshSessionPath: VINTED_PATHS.refreshSession,
    });
    this.api = new VintedApi(client);
  }

  async tabStatus(fresh = false): Promise<VintedTabStatus> {
    const cached = this.status;
    // While an action runs, its own requests tell us about the session; don't add requests.
    if (!fresh && cached && (this.activeRuns > 0 || Date.now() - cached.at < STATUS_TTL_MS[cached.value.state])) return cached.value;
    const value = await this.checkSession();
    this.status = { value, at: Date.now() };
    return value;
  }

  run(request: RunActionRequest): Promise<ActionOutcome> {
    const existing = this.runs.get(request.taskId);
    if (existing) return existing.outcome;
    const controller = new AbortController();
    const outcome = this.execute(request, controller.signal);
    this.runs.set(request.taskId, { outcome, controller });
    const forgetLater = () => setTimeout(() => this.runs.delete(request.taskId), FINISHED_RUN_MEMORY_MS);
    void outcome.then((result) => {
      // A task handed back (logged out, challenge, rate limit) did not finish: when it is claimed
      // again it must run again, not be answered from this memory.
      if (!result.success && isHandBackErrorCode(result.error_code)) this.runs.delete(request.taskId);
      else forgetLater();
    }, forgetLater);
    return outcome;
  }

  cancel(taskId: string, reason: string): boolean {
    const run = this.runs.get(taskId);
    if (!run || run.controller.signal.aborted) return false;
    run.controller.abort(reason);
    return true;
  }

  private async execute(request: RunActionRequest, signal: AbortSignal): Promise<ActionOutcome> {
    const parsed = parsePluginCommand(request.action, request.params);
    if (!parsed.ok) return { success: false, error: parsed.error, error_code: "INVALID_PARAMS" };
    let last: HeartbeatProgress = { current: 0, total: 1, message: "starting" };
    const report = (progress: HeartbeatProgress) => {
      last = progress;
      this.deps.report(request.taskId, progress);
    };
    this.activeRuns += 1;
    const liveness = setInterval(() => this.deps.report(request.taskId, { current: last.current, total: last.total, message: last.message }), LIVENESS_REPORT_MS);
    try {
      const outcome = await runVintedAction(parsed.command, {
        api: this.api,
        origin: this.deps.origin,
        currency: currencyForOrigin(this.deps.origin),
        anonId: () => readAnonId(this.deps.document),
        currentUser: () => this.currentUser(signal),
        report,
        photos: this.deps.photos,
        outcomeUnknown: request.outcomeUnknown,
        signal,
      });
      this.rememberAccountState(outcome);
      return outcome;
    } finally {
      this.activeRuns -= 1;
      clearInterval(liveness);
    }
  }

  /** A run that hit a captcha or a logged-out session changes what the tab can do next. */
  private rememberAccountState(outcome: ActionOutcome): void {
    if (outcome.success) return;
    if (outcome.error_code === "CAPTCHA_REQUIRED") this.setStatus("blocked", outcome.error);
    if (outcome.error_code === "VINTED_LOGGED_OUT") this.setStatus("logged_out", outcome.error);
  }

  private setStatus(state: VintedTabStatus["state"], error: string | null): void {
    this.status = { value: { origin: this.deps.origin, state, user: null, error }, at: Date.now() };
    if (state !== "logged_in") this.user = null;
  }

  private async currentUser(signal?: AbortSignal): Promise<CurrentUser> {
    if (this.user) return this.user;
    this.user = await this.api.currentUser({ signal });
    return this.user;
  }

  private async checkSession(): Promise<VintedTabStatus> {
    const origin = this.deps.origin;
    try {
      this.user = await this.api.currentUser();
      return { origin, state: "logged_in", user: { id: this.user.id, login: this.user.login }, error: null };
    } catch (error) {
      this.user = null;
      const { code, message } = describeVintedError(error);
      if (code === "CAPTCHA_REQUIRED") return { origin, state: "blocked", user: null, error: message };
      if (code === "VINTED_LOGGED_OUT" || code === "ITEM_NOT_FOUND") return { origin, state: "logged_out", user: null, error: message };
      // Network trouble or a Vinted 5xx: not a reason to believe the seller logged out; don't claim work either.
      return { origin, state: "blocked", user: null, error: error instanceof VintedError ? message : String(error) };
    }
  }

  private async reloadCsrfToken(): Promise<string | null> {
    try {
      const page = await this.pacer.schedule(() => this.deps.transport.send("GET", VINTED_PATHS.home, { accept: "text/html" }, { kind: "none" }));
      this.csrfToken = findCsrfToken(page.text) ?? null;
    } catch {
      this.csrfToken = null;
    }
    return this.csrfToken;
  }
}
