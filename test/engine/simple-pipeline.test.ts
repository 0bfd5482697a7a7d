/**
 * The engine's own evaluator of one-stage `$set` pipelines against mingo, which applied every
 * pipeline update before it: wherever the evaluator takes an update it must give mingo's document,
 * field order included, and leave the stored version untouched.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Document } from "bson";
import { Aggregator as MingoAggregator } from "mingo/aggregator";
import { Aggregator } from "../../server/src/embedded-mongo/store/matching.js";
import { NOT_A_BATCH_JOB, leaseFields } from "../../server/src/tasks/lifecycle/claim.js";
import { conditionalStage } from "../../server/src/tasks/lifecycle/conditions.js";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { newSeller, resultBody, resultDataFor } from "../plugin/helpers.js";
import { applySimplePipeline } from "../../server/src/embedded-mongo/store/simple-pipeline.js";
import { cloneDocument } from "../../server/src/embedded-mongo/store/values.js";

type Outcome = { doc: unknown } | { error: string };

function byMingo(doc: Document, stages: Document[]): Outcome {
  try {
    return { doc: (new Aggregator(stages).run([cloneDocument(doc)]) as Document[])[0] };
  } catch (err) {
    return { error: String(err) };
  }
}

/** A value with its field order made visible to toEqual (which ignores order and undefined fields). */
function ordered(value: unknown): unknown {
  if (value instanceof Date) return { date: value.getTime() };
  if (Array.isArray(value)) return value.map(ordered);
  if (value !== null && typeof value === "object") return Object.entries(value).map(([k, v]) => [k, ordered(v)]);
  return value;
}

/** Asserts the evaluator's answer, when it gives one, is mingo's; true when it gave one. */
function agreesWithMingo(doc: Document, stages: Document[]): boolean {
  const before = ordered(doc);
  const fast = applySimplePipeline(doc, stages);
  expect(ordered(doc), "the input document was changed").toEqual(before);
  if (fast === undefined) return false;
  const reference = byMingo(doc, stages);
  const context = JSON.stringify({ doc, stages });
  expect("doc" in reference, `mingo refused what the evaluator applied: ${context} ${JSON.stringify(reference)}`).toBe(true);
  expect(ordered(fast), context).toEqual(ordered((reference as { doc: unknown }).doc));
  return true;
}

const NOW = new Date("2026-12-03T12:00:00Z");

/** The stage a conditional lease claim sends (tasks/lifecycle: changeIf over the lease's fields). */
function leaseClaimStage(): Document {
  return conditionalStage({ ...leaseFields("token-1", NOW), status: "running" }, NOT_A_BATCH_JOB);
}

describe("one-stage $set pipelines evaluated by the engine", () => {
  it("applies a lease claim as mingo does, whatever the task holds", () => {
    const tasks: Document[] = [
      { _id: 1, status: "pending", timeout_minutes: 1, attempt: 0, plugin: { handed_back: false, progress_current: 3, sync_total_entries: 10 }, progress_message: "x" },
      { _id: 2, status: "pending", timeout_minutes: 2.5, batch_id: null, attempt: 2, plugin: { handed_back: true } },
      { _id: 3, status: "pending", timeout_minutes: 60, batch_id: "batch_1", attempt: 1, plugin: { handed_back: false }, started_at: null },
      { _id: 4, status: "pending" },
      { _id: 5, status: "pending", batch_id: "batch_2" },
      { _id: 6, status: "pending", plugin: {}, started_at: new Date(0), run_token: "old", lease_expires_at: null },
    ];
    for (const task of tasks) expect(agreesWithMingo(task, [leaseClaimStage()]), JSON.stringify(task)).toBe(true);
  });

  it("leaves to mingo what it does not handle", () => {
    const doc = { _id: 1, a: { b: 1 }, list: [{ x: 1 }], n: 2, s: "x" };
    const unhandled: Document[][] = [
      [{ $set: { a: 1 } }, { $set: { b: 2 } }],
      [{ $project: { a: 1 } }],
      [{ $set: { c: { $concat: ["$s", "y"] } } }],
      [{ $set: { c: "$$NOW" } }],
      [{ $set: { c: "$list.x" } }],
      [{ $set: { "list.x": 1 } }],
      [{ $set: { c: { $cond: ["$n", 1, 0] } } }],
      [{ $set: { c: { $eq: ["$a", { b: 1 }] } } }],
      [{ $set: { c: { nested: 1 } } }],
      [{ $set: { c: [1, 2] } }],
      [{ $set: { "a.b": 2, c: "$a" } }],
      [{ $set: { c: "$a", "c.d": 1 } }],
      [{ $set: { "a.0": 1 } }],
    ];
    for (const stages of unhandled) {
      expect(applySimplePipeline(doc, stages), JSON.stringify(stages)).toBeUndefined();
      expect(byMingo(doc, stages)).toBeDefined();
    }
  });

  it("gives mingo's document for 4,000 generated documents and stages wherever it applies one", () => {
    const random = seeded(20261203);
    let applied = 0;
    const runs = 4_000;
    for (let i = 0; i < runs; i++) {
      const doc = { _id: i, ...randomFields(random, 2) };
      if (agreesWithMingo(doc, [{ [random() < 0.5 ? "$set" : "$addFields"]: randomStage(random) }])) applied++;
    }
    // About a quarter of the generated stages stay within what the evaluator handles (the rest
    // write through scalars, add strings, compare arrays…): enough for the comparison to mean something.
    expect(applied).toBeGreaterThan(runs * 0.2);
  });
});

/** mulberry32: the same sequence on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIELDS = ["a", "b", "c", "p"];
const pick = <T,>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];

function randomScalar(random: () => number): unknown {
  return pick(random, [null, true, false, true, false, 0, 1, -2.5, "x", "", new Date(1_700_000_000_000), Number.NaN, undefined]);
}

function randomFields(random: () => number, depth: number): Document {
  const doc: Document = {};
  for (const field of FIELDS) {
    const roll = random();
    if (roll < 0.3) continue;
    if (roll < 0.5 && depth > 0) doc[field] = randomFields(random, depth - 1);
    else if (roll < 0.53) doc[field] = [randomScalar(random), randomScalar(random)];
    else {
      const value = randomScalar(random);
      if (value !== undefined) doc[field] = value;
    }
  }
  return doc;
}

function randomPath(random: () => number): string {
  const length = 1 + Math.floor(random() * 3);
  return Array.from({ length }, () => pick(random, FIELDS)).join(".");
}

function randomExpression(random: () => number, depth: number): unknown {
  const roll = random();
  if (depth <= 0 || roll < 0.25) return randomScalar(random) ?? null;
  if (roll < 0.5) return `$${randomPath(random)}`;
  const operand = () => randomExpression(random, depth - 1);
  return pick(random, [
    () => ({ $cond: [pick(random, [true, false, null, `$${randomPath(random)}`, { $eq: [operand(), operand()] }]), operand(), operand()] }),
    () => ({ $cond: { if: { $eq: [operand(), operand()] }, then: operand(), else: operand() } }),
    () => ({ $ifNull: [operand(), operand()] }),
    () => ({ $ifNull: [operand(), operand(), operand()] }),
    () => ({ $eq: [operand(), operand()] }),
    () => ({ $add: [operand(), operand()] }),
    () => ({ $add: [operand(), 1, 2] }),
    () => ({ $multiply: [operand(), operand()] }),
    () => ({ $multiply: [pick(random, [2, -3, 0.5]), { $round: [operand(), pick(random, [0, 1, undefined])] }] }),
  ])();
}

function randomStage(random: () => number): Document {
  const stage: Document = {};
  const fields = 1 + Math.floor(random() * 4);
  for (let i = 0; i < fields; i++) stage[randomPath(random)] = randomExpression(random, 3);
  return stage;
}

describe("the claims and results of extension tasks", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0" });
  });
  afterAll(() => server?.close());

  it("run no mingo pipeline: every update they send is one the engine evaluates itself", async () => {
    const seller = await newSeller(server);
    const task = await seller.create("get_stats");
    const pipelines = vi.spyOn(MingoAggregator.prototype, "run");
    try {
      const claimed = await seller.claim();
      await seller.heartbeat(task.task_id, { lease_token: claimed.lease_token, progress: { current: 1, total: 2, message: "half" } });
      expect((await seller.result(task.task_id, resultBody(claimed.lease_token, true, resultDataFor("get_stats")))).status).toBe(200);
      expect(await seller.view(task.task_id)).toMatchObject({ status: "completed", attempt: 1 });
      expect(pipelines).not.toHaveBeenCalled();
    } finally {
      pipelines.mockRestore();
    }
  });
});
