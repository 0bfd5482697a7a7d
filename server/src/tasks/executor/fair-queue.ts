/**
 * Round-robin between brands at equal priority (start-time fair queuing).
 *
 * Every queued run gets a tag: its brand's next number at that priority, but never less than the
 * priority's clock (the tag of the latest run claimed). A brand queueing 10,000 tasks gets tags
 * 0…9,999; another brand's single task, queued later, gets the clock's value and runs next, not
 * after the 10,000. Agenda orders due runs by one number (highest first), so priority and tag are
 * folded into it: `rank · 10¹² − tag` (priorities never overlap below 10¹² runs).
 *
 * Tags are an ordering, not a guarantee: two processes tagging at once may hand out close numbers;
 * the hard limit of a brand's share is its running slots (the lifecycle's claim).
 */
import type { Connection } from "mongoose";

export const FAIR_QUEUE_COLLECTION = "task_fair_queue";
export const PRIORITY_SPAN = 1e12;

interface CounterDoc {
  _id: string;
  value: number;
}

export class FairQueue {
  constructor(private readonly connection: Connection) {}

  private get counters() {
    return this.connection.collection<CounterDoc>(FAIR_QUEUE_COLLECTION);
  }

  /** `count` consecutive tags of `brand` at priority `rank`: the first is returned. */
  async reserveTags(brand: number, rank: number, count = 1): Promise<number> {
    const clock = (await this.counters.findOne({ _id: clockKey(rank) }))?.value ?? 0;
    const key = `brand:${brand}:${rank}`;
    // A brand idle for a while starts at the clock, not where it stopped (no credit for idleness).
    await this.counters.updateOne({ _id: key }, { $max: { value: clock } }, { upsert: true });
    const after = await this.counters.findOneAndUpdate({ _id: key }, { $inc: { value: count } }, { returnDocument: "after" });
    return (after?.value ?? clock + count) - count;
  }

  /** A run with `tag` was claimed: later tags of every brand start from there. */
  async advance(rank: number, tag: number): Promise<void> {
    await this.counters.updateOne({ _id: clockKey(rank) }, { $max: { value: tag } }, { upsert: true });
  }

  /** Agenda's priority (higher first) for a task priority rank and a tag. */
  static agendaPriority(rank: number, tag: number): number {
    return rank * PRIORITY_SPAN - Math.min(tag, PRIORITY_SPAN - 1);
  }
}

function clockKey(rank: number): string {
  return `clock:${rank}`;
}
