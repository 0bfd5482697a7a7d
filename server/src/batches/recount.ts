/**
 * Counter repair. A job's status write and the batch counter update that follows it are two
 * writes; a process killed between them leaves the counters one transition behind, for good. Once
 * a batch has been quiet for a while (no counter change), every status write of a live process has
 * long had its counter update, so a count of the jobs by status is the truth: the counters are set
 * to it, on the condition that nothing moved them meanwhile (else the next sweep tries again).
 */
import type { Logger } from "pino";
import { TASK_STATUSES, type TaskStatus } from "../../../shared/tasks.js";
import { allBrands } from "../brands/scope.js";
import type { TaskModel } from "../tasks/model.js";
import { derivedStages } from "./counters.js";
import { COUNTER_OF, type Batch, type BatchCounters, type BatchModel } from "./model.js";

/** Batches recounted per sweep: a sweep stays short, the next one takes the rest. */
const SWEEP_LIMIT = 50;

type Unverified = Pick<Batch, "_id" | "brand" | "batch_id" | "updated_at"> & BatchCounters;

export class CounterRecount {
  constructor(
    private readonly batches: BatchModel,
    private readonly tasks: TaskModel,
    private readonly quietMs: number,
    private readonly logger: Logger,
  ) {}

  /** Recounts the batches quiet for `quietMs` whose counters are unverified; returns how many were repaired. */
  async sweep(now = new Date()): Promise<number> {
    const quiet = await allBrands(
      this.batches.find({ counts_verified: false, updated_at: { $lt: new Date(now.getTime() - this.quietMs) } }).limit(SWEEP_LIMIT),
    ).lean<Unverified[]>();
    let repaired = 0;
    for (const batch of quiet) if (await this.recount(batch, now)) repaired++;
    return repaired;
  }

  private async recount(batch: Unverified, now: Date): Promise<boolean> {
    const counted = await this.countJobs(batch.brand, batch.batch_id);
    const drift = driftOf(batch, counted);
    const result = await allBrands(
      this.batches.updateOne({ _id: batch._id, updated_at: batch.updated_at, counts_verified: false }, [{ $set: { ...counted, counts_verified: true } }, ...derivedStages(now)], {
        updatePipeline: true,
        timestamps: false,
      }),
    );
    const repaired = result.modifiedCount > 0 && Object.keys(drift).length > 0;
    if (repaired) this.logger.warn({ batch_id: batch.batch_id, drift }, "batch counters repaired from a count of the jobs");
    return repaired;
  }

  private async countJobs(brand: number, batchId: string): Promise<BatchCounters> {
    const groups = await this.tasks.aggregate<{ _id: TaskStatus; n: number }>([{ $match: { brand, batch_id: batchId } }, { $group: { _id: "$status", n: { $sum: 1 } } }]);
    const counters = Object.fromEntries(TASK_STATUSES.map((s) => [COUNTER_OF[s], 0])) as unknown as BatchCounters;
    for (const g of groups) counters[COUNTER_OF[g._id]] = g.n;
    counters.total_jobs = groups.reduce((n, g) => n + g.n, 0);
    return counters;
  }
}

/** Counter → (counted − stored), for the counters that differ. */
function driftOf(stored: BatchCounters, counted: BatchCounters): Record<string, number> {
  const drift: Record<string, number> = {};
  for (const key of Object.keys(counted) as Array<keyof BatchCounters>) {
    if (stored[key] !== counted[key]) drift[key] = counted[key] - stored[key];
  }
  return drift;
}
