/**
 * The scheduler: every `tickMs`, in every server process, due periodic tasks fire.
 *
 * Exactly once per occurrence, with any number of processes: a process that finds a due schedule
 * claims it with one conditional update — `{_id, enabled: true, next_run_at: <the due value it
 * read>, cron_expression, timezone}` → `next_run_at: <next occurrence after now>` — and only the
 * process whose update matched creates the task. The others' updates match nothing (next_run_at
 * has moved on), so they do nothing. A pause or an edit in between also makes the claim miss.
 *
 * Missed runs (server down, or a tick slower than the schedule): a schedule whose next_run_at is
 * in the past fires once, for that occurrence, and its next run is the first occurrence after now —
 * occurrences in between are skipped, never fired in a burst.
 *
 * At most once: the claim comes first, then the task is created. A crash between the two loses that
 * one run (logged when it is an error rather than a crash); a duplicate run is never possible.
 *
 * The task is created for the schedule's brand and creator, `is_periodic: true`,
 * `periodic_task: <id>`, `scheduled_for: <the occurrence>`, and queued like any other task.
 */
import type { Logger } from "pino";
import { allBrands } from "../brands/scope.js";
import type { BackgroundService } from "../lifecycle/services.js";
import { RepeatingWork } from "../lifecycle/repeating.js";
import type { Task } from "../tasks/model.js";
import { nextRunAfter } from "./cron.js";
import type { PeriodicTask, PeriodicTaskModel } from "./model.js";
import { storedSchedule } from "./service.js";

/** Creates and queues the task of one occurrence. */
export type CreatePeriodicRun = (periodic: PeriodicTask, occurrence: Date) => Promise<Pick<Task, "task_id">>;

export interface TickerOptions {
  tickMs: number;
  /** Due schedules read per query; a tick goes on until none is left. */
  batchSize?: number;
}

export interface TickResult {
  /** Schedules this process fired. */
  fired: number;
  /** Due schedules another process (or an edit) got first. */
  lost: number;
}

export class SchedulerTicker implements BackgroundService {
  readonly name = "scheduler";
  private readonly loop: RepeatingWork;

  constructor(
    private readonly periodicTasks: PeriodicTaskModel,
    private readonly createRun: CreatePeriodicRun,
    private readonly logger: Logger,
    private readonly options: TickerOptions,
  ) {
    this.loop = new RepeatingWork("scheduler tick", options.tickMs, () => this.tick(), logger);
  }

  get started(): boolean {
    return this.loop.started;
  }

  /** Ticks at once (runs missed while the server was down fire now), then every tickMs. */
  async start(): Promise<void> {
    this.loop.start();
  }

  /** Stops ticking; a tick in progress finishes first. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** One pass: fires every schedule due at `now`. Public so a test or an admin tool can tick by hand. */
  async tick(now = new Date()): Promise<TickResult> {
    const batchSize = this.options.batchSize ?? 100;
    const result: TickResult = { fired: 0, lost: 0 };
    const seen = new Set<string>();
    for (;;) {
      // Across brands: the scheduler serves every brand.
      const due = await allBrands(
        this.periodicTasks
          .find({ enabled: true, next_run_at: { $lte: now } })
          .sort({ next_run_at: 1, id: 1 })
          .limit(batchSize)
          .lean<PeriodicTask[]>(),
      );
      const fresh = due.filter((p) => !seen.has(String(p._id)));
      if (fresh.length === 0) break;
      for (const periodic of fresh) {
        seen.add(String(periodic._id));
        if (await this.fire(periodic, now)) result.fired++;
        else result.lost++;
      }
      if (due.length < batchSize) break;
    }
    return result;
  }

  /** Claims one due occurrence and creates its task; false when another process claimed it first. */
  private async fire(periodic: PeriodicTask, now: Date): Promise<boolean> {
    const occurrence = periodic.next_run_at!;
    const log = this.logger.child({ periodic_task: periodic.id, brand: periodic.brand });
    const schedule = storedSchedule(periodic.cron_expression);
    if (!schedule) {
      // Cannot happen for expressions checked on write; pause rather than retry it every tick.
      log.error({ cron_expression: periodic.cron_expression }, "periodic task has an invalid cron expression: paused");
      await allBrands(this.periodicTasks.updateOne({ _id: periodic._id, next_run_at: occurrence }, { $set: { enabled: false, next_run_at: null } }));
      return false;
    }
    const next = nextRunAfter(schedule, periodic.timezone, now, occurrence);
    const claimed = await allBrands(
      this.periodicTasks
        .findOneAndUpdate(
          {
            _id: periodic._id,
            enabled: true,
            next_run_at: occurrence,
            cron_expression: periodic.cron_expression,
            timezone: periodic.timezone,
          },
          { $set: { next_run_at: next, last_run_at: now, last_occurrence_at: occurrence }, $inc: { total_run_count: 1 } },
          { returnDocument: "after" },
        )
        .lean<PeriodicTask>(),
    );
    if (!claimed) return false;
    try {
      const task = await this.createRun(claimed, occurrence);
      // Conditioned on the occurrence: a later run fired meanwhile (by another process) keeps its own task id.
      await this.periodicTasks.updateOne({ _id: claimed._id, brand: claimed.brand, last_occurrence_at: occurrence }, { $set: { last_task_id: task.task_id } });
      log.info({ task_id: task.task_id, occurrence: occurrence.toISOString(), next_run_at: next.toISOString() }, "periodic task fired");
    } catch (err) {
      log.error({ err, occurrence: occurrence.toISOString() }, "periodic task claimed its run but could not create the task: this run is lost");
    }
    return true;
  }
}
