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
