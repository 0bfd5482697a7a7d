import type { Request } from "express";
import type { Connection, SortOrder } from "mongoose";
import type { Page, PageQuery } from "../../../shared/common.js";
import type { FieldErrors } from "../../../shared/errors.js";
import {
  canonicalTimeZone,
  type CreatePeriodicTaskBody,
  type CronJobListQuery,
  type CronJobView,
  type PatchPeriodicTaskBody,
  type PeriodicTaskListQuery,
  type PeriodicTaskView,
  type ValidateCronBody,
  type ValidateCronResponse,
} from "../../../shared/scheduling.js";
import { authModels } from "../auth/model.js";
import { brandModels } from "../brands/model.js";
import { brandFilter } from "../brands/scope.js";
import { nextSequence } from "../db/counters.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { AppError } from "../http/errors.js";
import { skipOf, toPage } from "../http/pagination.js";
import type { TaskTypeCatalog } from "../tasks/service.js";
import { describeCron, nextRunAfter, nextRuns, parseCron, shortestGapSeconds, shortestIntervalMs, toZonedIso, zoneUsableByCronParser, type CronSchedule } from "./cron.js";
import { periodicTaskModel, type PeriodicTask, type PeriodicTaskModel } from "./model.js";

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export const periodicTaskNotFound = () => new AppError(404, "NOT_FOUND", "Periodic task not found or access denied");

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A stored expression, parsed again (it was checked when written); null if it no longer parses. */
export function storedSchedule(expression: string): CronSchedule | null {
  const check = parseCron(expression);
  return check.ok ? check.schedule : null;
}

export interface SchedulingOptions {
  /** SCHEDULER_TICK_MS: schedules firing more often than this are warned about. */
  tickMs: number;
  /** CRON_MIN_INTERVAL_SECONDS: schedules firing more often than this are refused. */
  minIntervalSeconds: number;
}

/** Periodic tasks of a brand: CRUD, pause/resume, cron validation and the scheduled-jobs views. */
export class SchedulingService {
  readonly periodicTasks: PeriodicTaskModel;

  constructor(
    private readonly connection: Connection,
    /** The server task types a schedule may create. */
    private readonly catalog: TaskTypeCatalog,
    private readonly options: SchedulingOptions,
  ) {
    this.periodicTasks = periodicTaskModel(connection);
  }

  async init(): Promise<void> {
    await this.periodicTasks.init();
  }

  // ------------------------------------------------------------------------------------------
  // Views
  // ------------------------------------------------------------------------------------------

  private async views(rows: PeriodicTask[]): Promise<PeriodicTaskView[]> {
    const [users, brands] = await Promise.all([
      authModels(this.connection).User.find({ _id: { $in: [...new Set(rows.map((r) => r.created_by))] } }, { username: 1 }).lean(),
      brandModels(this.connection).Brand.find({ _id: { $in: [...new Set(rows.map((r) => r.brand))] } }, { name: 1 }).lean(),
    ]);
    const usernames = new Map(users.map((u) => [u._id, u.username]));
    const brandNames = new Map(brands.map((b) => [b._id, b.name]));
    return rows.map((p) => {
      const schedule = storedSchedule(p.cron_expression);
      return {
        id: p.id,
        name: p.name,
        task_type: p.task_type,
        cron_expression: p.cron_expression,
        timezone: p.timezone,
        cron_description: schedule ? describeCron(schedule) : null,
        context_data: p.context_data ?? {},
        priority: p.priority,
        description: p.description ?? "",
        enabled: p.enabled,
        max_retries: p.max_retries,
        timeout_minutes: p.timeout_minutes,
        last_run_at: iso(p.last_run_at),
        next_run_at: iso(p.next_run_at),
        next_run_at_local: p.next_run_at ? toZonedIso(p.next_run_at, p.timezone) : null,
        total_run_count: p.total_run_count ?? 0,
        last_task_id: p.last_task_id ?? null,
        brand: { id: p.brand, name: brandNames.get(p.brand) ?? "" },
        created_by: { id: p.created_by, username: usernames.get(p.created_by) ?? "" },
        created_at: p.created_at.toISOString(),
        updated_at: p.updated_at.toISOString(),
      };
    });
  }

  private async view(row: PeriodicTask): Promise<PeriodicTaskView> {
    const [view] = await this.views([row]);
    return view;
  }

  private async page(req: Request, query: PageQuery, filter: Record<string, unknown>, sort: Record<string, SortOrder>): Promise<{ count: number; rows: PeriodicTask[]; toPage: <T>(items: T[]) => Page<T> }> {
    const [count, rows] = await Promise.all([
      this.periodicTasks.countDocuments(filter),
      this.periodicTasks.find(filter).sort(sort).skip(skipOf(query)).limit(query.page_size).lean<PeriodicTask[]>(),
    ]);
    return { count, rows, toPage: (items) => toPage(req, query, count, items) };
  }

  // ------------------------------------------------------------------------------------------
  // Checks shared by create and update
  // ------------------------------------------------------------------------------------------

  /** Task type, expression and zone together: every problem in one 400. */
  private check(fields: { task_type?: string; cron_expression?: string; timezone?: string }): CronSchedule | null {
    const fieldErrors: FieldErrors = {};
    const extra: Record<string, unknown> = {};
    let schedule: CronSchedule | null = null;
    if (fields.task_type !== undefined && !this.catalog.has(fields.task_type)) {
      const known = this.catalog.names();
      fieldErrors.task_type = [`Unknown task type '${fields.task_type}'. Known types: ${known.join(", ")}`];
      extra.known_task_types = known;
    }
    if (fields.cron_expression !== undefined) {
      const check = parseCron(fields.cron_expression);
      if (check.ok) schedule = check.schedule;
      else fieldErrors.cron_expression = check.errors;
      const tooFrequent = schedule ? this.tooFrequent(schedule) : null;
      if (tooFrequent) {
        fieldErrors.cron_expression = [tooFrequent];
        extra.min_interval_seconds = this.options.minIntervalSeconds;
      }
    }
    if (fields.timezone !== undefined && !zoneUsableByCronParser(fields.timezone)) {
      fieldErrors.timezone = [`Time zone '${fields.timezone}' cannot be used for schedules`];
    }
    if (Object.keys(fieldErrors).length) throw new AppError(400, "VALIDATION_ERROR", "Validation failed", { field_errors: fieldErrors, extra });
    return schedule;
  }

  /**
   * A schedule firing more often than the minimum interval is refused: one brand's every-second
   * schedule would otherwise keep a worker busy for everyone. Null when it is frequent enough.
   */
  private tooFrequent(schedule: CronSchedule): string | null {
    const gap = shortestGapSeconds(schedule);
    const min = this.options.minIntervalSeconds;
    if (gap === null || gap >= min) return null;
    return `Runs as often as every ${gap} s: schedules may run at most once every ${min} s`;
  }

  async find(brand: BrandAccess, id: number): Promise<PeriodicTask> {
    const row = await this.periodicTasks.findOne(brandFilter(brand, { id })).lean<PeriodicTask>();
    if (!row) throw periodicTaskNotFound();
    return row;
  }

  // ------------------------------------------------------------------------------------------
  // CRUD
  // ------------------------------------------------------------------------------------------

  async list(req: Request, brand: BrandAccess, query: PeriodicTaskListQuery): Promise<Page<PeriodicTaskView>> {
    const filter: Record<string, unknown> = {};
    if (query.enabled !== undefined) filter.enabled = query.enabled;
    if (query.task_type?.length) filter.task_type = { $in: query.task_type };
    if (query.search) {
      const pattern = { $regex: escapeRegex(query.search), $options: "i" };
      filter.$or = [{ name: pattern }, { description: pattern }, { task_type: pattern }, { cron_expression: pattern }];
    }
    const sort: Record<string, SortOrder> = {};
    for (const field of query.ordering ?? ["-created_at"]) sort[field.replace(/^-/, "")] = field.startsWith("-") ? -1 : 1;
    if (!("id" in sort)) sort.id = -1;
    const page = await this.page(req, query, brandFilter(brand, filter), sort);
    return page.toPage(await this.views(page.rows));
  }

  async get(brand: BrandAccess, id: number): Promise<PeriodicTaskView> {
    return this.view(await this.find(brand, id));
  }

  async create(principal: Principal, brand: BrandAccess, body: CreatePeriodicTaskBody): Promise<PeriodicTaskView> {
    const schedule = this.check(body)!;
    const now = new Date();
    const row = await this.periodicTasks.create({
      id: await nextSequence(this.connection, "periodic_tasks"),
      brand: brand.brandId,
      created_by: principal.userId,
      name: body.name ?? defaultName(body.task_type, schedule),
      task_type: body.task_type,
      cron_expression: schedule.expression,
      timezone: body.timezone,
      context_data: body.context_data,
      priority: body.priority,
      description: body.description,
      enabled: body.enabled,
      max_retries: body.max_retries,
      timeout_minutes: body.timeout_minutes,
      next_run_at: body.enabled ? nextRunAfter(schedule, body.timezone, now) : null,
    });
    return this.view(row.toObject());
  }

  /**
   * PUT and PATCH: the given fields change. A new expression or zone, or enabling, recomputes
   * next_run_at from now; disabling clears it. The scheduler's claim is conditioned on the
   * expression, zone and next_run_at it read, so a run computed from the old schedule cannot fire.
   */
  async update(brand: BrandAccess, id: number, body: PatchPeriodicTaskBody): Promise<PeriodicTaskView> {
    const current = await this.find(brand, id);
    const cronChanged = body.cron_expression !== undefined && body.cron_expression !== current.cron_expression;
    const zoneChanged = body.timezone !== undefined && body.timezone !== current.timezone;
    const typeChanged = body.task_type !== undefined && body.task_type !== current.task_type;
    const schedule =
      this.check({
        task_type: typeChanged ? body.task_type : undefined,
        cron_expression: cronChanged ? body.cron_expression : undefined,
        timezone: zoneChanged ? body.timezone : undefined,
      }) ?? storedSchedule(current.cron_expression);
    const enabled = body.enabled ?? current.enabled;
    const set: Record<string, unknown> = { ...body };
    if (schedule && cronChanged) set.cron_expression = schedule.expression;
    if (!enabled) set.next_run_at = null;
    else if (cronChanged || zoneChanged || !current.enabled || current.next_run_at === null) {
      if (!schedule) throw new AppError(400, "VALIDATION_ERROR", "Validation failed", { field_errors: { cron_expression: ["The stored expression is no longer valid: give a new one"] } });
      set.next_run_at = nextRunAfter(schedule, body.timezone ?? current.timezone, new Date(), current.last_occurrence_at);
    }
    const updated = await this.periodicTasks
      .findOneAndUpdate(brandFilter(brand, { _id: current._id }), { $set: set }, { returnDocument: "after" })
      .lean<PeriodicTask>();
    if (!updated) throw periodicTaskNotFound();
    return this.view(updated);
  }

  /** Deletes the schedule; the tasks it created stay (their `periodic_task` keeps its id). */
  async remove(brand: BrandAccess, id: number): Promise<void> {
    const result = await this.periodicTasks.deleteOne(brandFilter(brand, { id }));
    if (result.deletedCount !== 1) throw periodicTaskNotFound();
  }

  /** Stops firing (idempotent): enabled false, no next run. */
  async pause(brand: BrandAccess, id: number): Promise<PeriodicTaskView> {
    const updated = await this.periodicTasks
      .findOneAndUpdate(brandFilter(brand, { id }), { $set: { enabled: false, next_run_at: null } }, { returnDocument: "after" })
      .lean<PeriodicTask>();
    if (!updated) throw periodicTaskNotFound();
    return this.view(updated);
  }

  /**
   * Fires again from the next occurrence after now (idempotent): what was missed while paused is
   * not made up for.
   */
  async resume(brand: BrandAccess, id: number): Promise<PeriodicTaskView> {
    const current = await this.find(brand, id);
    if (current.enabled && current.next_run_at) return this.view(current);
    const schedule = storedSchedule(current.cron_expression);
    if (!schedule) throw new AppError(400, "INVALID_OPERATION", "The stored cron expression is no longer valid: update it before resuming", { extra: { cron_expression: current.cron_expression } });
    const next = nextRunAfter(schedule, current.timezone, new Date(), current.last_occurrence_at);
    const updated = await this.periodicTasks
      .findOneAndUpdate(
        brandFilter(brand, { _id: current._id, enabled: current.enabled, next_run_at: current.next_run_at }),
        { $set: { enabled: true, next_run_at: next } },
        { returnDocument: "after" },
      )
      .lean<PeriodicTask>();
    // Someone else resumed (or changed) it meanwhile: answer with what is there now.
    return this.view(updated ?? (await this.find(brand, id)));
  }

  // ------------------------------------------------------------------------------------------
  // Validation and the scheduled views
  // ------------------------------------------------------------------------------------------

  /** A validator: a bad expression or zone is `valid: false` with every problem listed (still 200). */
  validateCron(body: ValidateCronBody): ValidateCronResponse {
    const requestedZone = body.timezone ?? "UTC";
    const zone = canonicalTimeZone(requestedZone);
    const errors: string[] = [];
    if (zone === null || !zoneUsableByCronParser(zone)) {
      errors.push(`timezone: unknown time zone '${requestedZone}': use an IANA name such as Europe/Paris, America/New_York or UTC`);
    }
    const check = parseCron(body.cron_expression);
    if (!check.ok) errors.push(...check.errors);
    const answer = { cron_expression: body.cron_expression.trim(), timezone: zone ?? requestedZone };
    if (!check.ok || zone === null || errors.length) {
      return { ...answer, valid: false, errors, warnings: [], description: null, has_seconds: false, next_runs: [], next_runs_local: [] };
    }
    const schedule = check.schedule;
    const after = body.after ? new Date(body.after) : new Date();
    let runs: Date[];
    try {
      // ISO 8601 timestamps end at year 9999.
      runs = nextRuns(schedule, zone, after, Math.max(body.count, 5)).filter((d) => d.getUTCFullYear() <= 9999);
    } catch {
      // cron-parser's own limits (e.g. an 'after' near the end of its calendar).
      return { ...answer, valid: false, errors: [`no run can be computed after ${after.toISOString()}`], warnings: [], description: null, has_seconds: false, next_runs: [], next_runs_local: [] };
    }
    const warnings: string[] = [];
    if (schedule.dayOrRule) {
      warnings.push("Both day-of-month and day-of-week are restricted: it runs on days matching EITHER of them (standard cron rule), not only days matching both");
    }
    const tooFrequent = this.tooFrequent(schedule);
    if (tooFrequent) warnings.push(`${tooFrequent}: it cannot be saved as a periodic task`);
    const shortest = shortestIntervalMs(runs);
    if (shortest !== null && shortest < this.options.tickMs) {
      warnings.push(
        `It runs more often than the scheduler checks (every ${this.options.tickMs / 1000} s): it fires at most once per check, and occurrences in between are skipped`,
      );
    }
    const shown = runs.slice(0, body.count);
    return {
      ...answer,
      valid: true,
      errors: [],
      warnings,
      description: describeCron(schedule),
      has_seconds: schedule.hasSeconds,
      next_runs: shown.map((d) => d.toISOString()),
      next_runs_local: shown.map((d) => toZonedIso(d, zone)),
    };
  }

  /** Enabled and due: what the next scheduler tick fires. */
  async readyForExecution(req: Request, brand: BrandAccess, query: PageQuery): Promise<Page<PeriodicTaskView>> {
    const filter = brandFilter(brand, { enabled: true, next_run_at: { $lte: new Date() } });
    const page = await this.page(req, query, filter, { next_run_at: 1, id: 1 });
    return page.toPage(await this.views(page.rows));
  }

  /** Every enabled schedule, soonest first, with its coming runs. */
  async cronJobs(req: Request, brand: BrandAccess, query: CronJobListQuery): Promise<Page<CronJobView>> {
    const now = new Date();
    const page = await this.page(req, query, brandFilter(brand, { enabled: true }), { next_run_at: 1, id: 1 });
    return page.toPage(
      page.rows.map((p): CronJobView => {
        const schedule = storedSchedule(p.cron_expression);
        const runs: Date[] = [];
        if (schedule && p.next_run_at) {
          // A due run fires at the next tick; after it, the schedule goes on from now (missed ones are skipped).
          runs.push(p.next_run_at);
          const from = p.next_run_at > now ? p.next_run_at : now;
          if (query.next_runs > 1) runs.push(...nextRuns(schedule, p.timezone, from, query.next_runs - 1));
        }
        return {
          id: p.id,
          periodic_task: p.id,
          name: p.name,
          task_type: p.task_type,
          priority: p.priority,
          cron_expression: p.cron_expression,
          timezone: p.timezone,
          cron_description: schedule ? describeCron(schedule) : null,
          enabled: p.enabled,
          is_due: p.next_run_at !== null && p.next_run_at <= now,
          next_run_at: iso(p.next_run_at),
          next_runs: runs.map((d) => d.toISOString()),
          next_runs_local: runs.map((d) => toZonedIso(d, p.timezone)),
          last_run_at: iso(p.last_run_at),
          last_task_id: p.last_task_id ?? null,
          total_run_count: p.total_run_count ?? 0,
        };
      }),
    );
  }
}

function defaultName(taskType: string, schedule: CronSchedule): string {
  return `${taskType}: ${describeCron(schedule) ?? schedule.expression}`.slice(0, 200);
}
