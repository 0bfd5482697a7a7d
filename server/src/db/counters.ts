/**
 * Integer ids (`{"id": 9, "name": "Humari"}`) from a `counters` collection: one document per
 * sequence, incremented atomically. Ids are never reused; a failed insert just leaves a gap.
 */
import { Schema, type Connection, type Model } from "mongoose";

interface CounterDoc {
  _id: string;
  seq: number;
}

const CounterSchema = new Schema<CounterDoc>({ _id: { type: String, required: true }, seq: { type: Number, required: true } }, {
  collection: "counters",
  versionKey: false,
});

function counterModel(connection: Connection): Model<CounterDoc> {
  return (connection.models.Counter as Model<CounterDoc> | undefined) ?? connection.model<CounterDoc>("Counter", CounterSchema);
}

const DUPLICATE_KEY = 11000;

/**
 * The next value of `sequence` (1, 2, 3…). Safe under concurrency, across processes too. With
 * `count` > 1 it reserves that many values at once and returns the last of them.
 */
export async function nextSequence(connection: Connection, sequence: string, count = 1): Promise<number> {
  const Counter = counterModel(connection);
  // Two first-ever upserts can race to insert the same _id; the loser retries and increments.
  for (let attempt = 0; ; attempt++) {
    try {
      const doc = await Counter.findOneAndUpdate(
        { _id: sequence },
        { $inc: { seq: count } },
        { upsert: true, returnDocument: "after", lean: true },
      );
      if (!doc) throw new Error(`counter ${sequence} was not returned`);
      return doc.seq;
    } catch (err) {
      if (attempt < 3 && (err as { code?: number }).code === DUPLICATE_KEY) continue;
      throw err;
    }
  }
}

/**
 * Values of `sequence` handed out from blocks this process reserves with one counter step each
 * (`blockSize` at a time), instead of one round trip per value. Values stay unique across processes
 * and increase within one process; across processes they are not in creation order, and a process
 * that stops (or crashes) leaves the rest of its block unused: a gap of fewer than `blockSize`.
 */
export class SequenceBlocks {
  private next = 0;
  private last = -1;
  private refill: Promise<void> | null = null;

  constructor(
    private readonly connection: Connection,
    private readonly sequence: string,
    private readonly blockSize = 64,
  ) {}

  async take(): Promise<number> {
    while (this.next > this.last) {
      // Concurrent takers share one reservation; whoever finds the block used up again refills.
      this.refill ??= this.reserve().finally(() => {
        this.refill = null;
      });
      await this.refill;
    }
    return this.next++;
  }

  private async reserve(): Promise<void> {
    const last = await nextSequence(this.connection, this.sequence, this.blockSize);
    this.next = last - this.blockSize + 1;
    this.last = last;
  }
}
