import type { Connection, Types } from "mongoose";
import { WORKER_STATUSES, type PluginPollCounters, type WorkerStatus, type WorkersOverview, type WorkersOverviewQuery, type WorkerView } from "../../../shared/monitoring.js";
import { brandFilter } from "../brands/scope.js";
import type { BrandAccess } from "../http/context.js";
import { isWorkerAlive } from "../tasks/executor/heartbeat.js";
import { taskModel, type TaskModel } from "../tasks/model.js";
import { workerModel, type Worker, type WorkerModel } from "../tasks/executor/worker-model.js";

export interface WorkersServiceOptions {
  /** A worker silent for this long is stale (3 × TASK_HEARTBEAT_MS, as recovery uses). */
  staleAfterMs: number;
  /** This process's worker id, to mark it in the overview. */
  currentWorkerId: () => string;
  /** This process's extension poll counters. */
  pluginPolls?: () => PluginPollCounters;
}

const NO_POLLS: PluginPollCounters = { empty: 0, without_database: 0, database_claims: 0, claimed: 0 };

const STATUS_ORDER: Record<WorkerStatus, number> = { alive: 0, stale: 1, stopped: 2 };

/**
 * Worker processes are shared infrastructure, not brand data: every caller sees every process and
 * how many tasks it runs, but only the task ids of its own brand, and never where a process runs
 * (host, pid, or the internal worker id that spells them): each is shown by its document's id.
 */
export class WorkersService {
  private readonly workers: WorkerModel;
  private readonly tasks: TaskModel;

  constructor(
    connection: Connection,
    private readonly options: WorkersServiceOptions,
  ) {
    this.workers = workerModel(connection);
    this.tasks = taskModel(connection);
  }

  async init(): Promise<void> {
    await this.workers.init();
  }

  statusOf(worker: Worker, now: number): WorkerStatus {
    if (worker.stopped_at) return "stopped";
    return isWorkerAlive(worker, this.options.staleAfterMs, now) ? "alive" : "stale";
  }

  async overview(brand: BrandAccess, query: WorkersOverviewQuery, nowDate = new Date()): Promise<WorkersOverview> {
    const now = nowDate.getTime();
    const cutoff = new Date(now - query.inactive_within_hours * 3_600_000);
    // Alive workers beat often, so a recent heartbeat or a recent stop covers everything worth showing.
    const rows = await this.workers
      .find({ $or: [{ last_heartbeat: { $gte: cutoff } }, { stopped_at: { $gte: cutoff } }] })
      .lean<(Worker & { _id: Types.ObjectId })[]>();
    const wanted = new Set(query.status ?? WORKER_STATUSES);
    const listed = rows
      .map((worker) => ({ worker, status: this.statusOf(worker, now) }))
      .filter(({ status }) => wanted.has(status))
      .sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || b.worker.started_at.getTime() - a.worker.started_at.getTime());

    const running = listed.flatMap(({ worker }) => worker.running_jobs ?? []);
    const own = running.length
      ? new Set((await this.tasks.find(brandFilter(brand, { task_id: { $in: running } }), { task_id: 1 }).lean()).map((t) => t.task_id))
      : new Set<string>();

    const currentWorkerId = this.options.currentWorkerId();
    const workers: WorkerView[] = listed.map(({ worker, status }) => {
      const jobs = status === "stopped" ? [] : (worker.running_jobs ?? []);
      return {
        worker_id: String(worker._id),
        started_at: worker.started_at.toISOString(),
        last_heartbeat: worker.last_heartbeat.toISOString(),
        stopped_at: worker.stopped_at ? worker.stopped_at.toISOString() : null,
        status,
        heartbeat_age_ms: Math.max(0, now - worker.last_heartbeat.getTime()),
        is_current_process: worker.worker_id === currentWorkerId,
        running_jobs: { count: jobs.length, task_ids: jobs.filter((id) => own.has(id)) },
      };
    });

    const count = (s: WorkerStatus) => workers.filter((w) => w.status === s).length;
    return {
      generated_at: nowDate.toISOString(),
      stale_after_ms: this.options.staleAfterMs,
      totals: {
        workers: workers.length,
        alive: count("alive"),
        stale: count("stale"),
        stopped: count("stopped"),
        running_jobs: workers.reduce((n, w) => n + w.running_jobs.count, 0),
        running_jobs_in_brand: workers.reduce((n, w) => n + w.running_jobs.task_ids.length, 0),
      },
      workers,
      plugin_polls: { ...(this.options.pluginPolls?.() ?? NO_POLLS) },
    };
  }
}
