import { MongoClient, type Collection, type Document } from "mongodb";
import { medianMs, opsPerSecond, row, startEngineProcess } from "./lib.js";

const LARGE = 100_000;
const SMALL = 1_000;

function makeDoc(i: number): Document {
  return { key: `k${i}`, status: i % 10 === 0 ? "pending" : "done", priority: i % 5, payload: { n: i, tags: ["a", "b"] }, createdAt: new Date(1_700_000_000_000 + i) };
}

async function fill(coll: Collection, count: number): Promise<number> {
  const batch = 1_000;
  const started = performance.now();
  for (let i = 0; i < count; i += batch) {
    await coll.insertMany(Array.from({ length: Math.min(batch, count - i) }, (_, j) => makeDoc(i + j)));
  }
  return count / ((performance.now() - started) / 1000);
}

/** Median time of an indexed findOne on a collection of `size` documents. */
async function lookupMs(coll: Collection, size: number): Promise<number> {
  return medianMs(2_000, (i) => coll.findOne({ key: `k${(i * 7919) % size}` }));
}

export async function runEngineBench(): Promise<void> {
  console.log("\nEmbedded engine (own process, journal on disk, official driver over TCP)");
  const engine = await startEngineProcess();
  const client = await MongoClient.connect(engine.uri, { maxPoolSize: 16 });
  try {
    const db = client.db("bench");
    const big = db.collection("big");
    const small = db.collection("small");
    await big.createIndex({ key: 1 }, { unique: true });
    await big.createIndex({ status: 1, priority: -1 });
    await small.createIndex({ key: 1 }, { unique: true });

    const batchedInserts = await fill(big, LARGE);
    row(`insertMany (batches of 1,000) into ${LARGE.toLocaleString("en-US")} docs`, batchedInserts, "docs/s");
    await fill(small, SMALL);
    const single = await opsPerSecond(5_000, 8, (i) => small.insertOne(makeDoc(SMALL + i)));
    row("insertOne, 8 in flight", single, "ops/s");

    const finds = await opsPerSecond(20_000, 8, (i) => big.findOne({ key: `k${(i * 7919) % LARGE}` }));
    row(`indexed findOne on ${LARGE.toLocaleString("en-US")} docs, 8 in flight`, finds, "ops/s");

    const claims = await opsPerSecond(5_000, 8, () =>
      big.findOneAndUpdate({ status: "pending" }, { $set: { status: "running", claimedAt: new Date() } }, { sort: { priority: -1 } }),
    );
    row(`findOneAndUpdate claims (sorted) on ${LARGE.toLocaleString("en-US")} docs`, claims, "claims/s");

    const smallSingle = await db.collection("small1k").createIndex({ key: 1 }).then(async () => {
      await fill(db.collection("small1k"), SMALL);
      return lookupMs(db.collection("small1k"), SMALL);
    });
    const largeSingle = await lookupMs(big, LARGE);
    row("indexed lookup, median at 1k docs", smallSingle * 1000, "µs");
    row("indexed lookup, median at 100k docs", largeSingle * 1000, "µs");
    row("ratio 100k / 1k (≈1 means the index is used)", largeSingle / smallSingle, "x");

    const scanMs = await medianMs(20, () => big.findOne({ "payload.n": LARGE - 1 }), 2);
    row("unindexed lookup (collection scan) at 100k docs", scanMs * 1000, "µs");
    row("scan / indexed at 100k docs", scanMs / largeSingle, "x");
  } finally {
    await client.close();
    await engine.stop();
  }
}
