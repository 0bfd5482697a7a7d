/**
 * The engine's own CPU per command, for the commands one extension task costs in the claims round
 * (create, lease, read back, post its result), run straight on an `Engine` in this process: no
 * socket, no driver, no BSON — only what the engine itself spends. Journal on disk as in production.
 * The command documents are those the app sends (as recorded from the claims round), with new
 * values each time, against the app's indexes and a backlog of finished tasks.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ObjectId, type Document } from "bson";
import { Engine } from "../server/src/embedded-mongo/engine.js";
import { row } from "./lib.js";

const DB = "markethub";
const SELLERS = 50;
const BACKLOG = 5_000;
const TASKS = 3_000;
const WARMUP_TASKS = 300;

const TASK_INDEXES: Document[] = [
  { key: { id: 1 }, unique: true },
  { key: { task_id: 1 }, unique: true },
  { key: { brand: 1 } },
  { key: { brand: 1, created_at: -1 } },
  { key: { brand: 1, status: 1 } },
  { key: { status: 1, worker_id: 1 } },
  { key: { batch_id: 1 } },
  { key: { exclusive_slot: 1 }, unique: true, partialFilterExpression: { exclusive_slot: { $type: "string" } } },
  { key: { waiting_for: 1 }, partialFilterExpression: { waiting_for: { $type: "string" } } },
  { key: { owner_user_id: 1, status: 1 } },
  { key: { executor: 1, status: 1, lease_expires_at: 1 } },
  { key: { brand: 1, brand_slot: 1 }, unique: true, partialFilterExpression: { status: "running", executor: "server", brand_slot: { $gte: 0 } } },
  { key: { awaiting_slot: 1, brand: 1, priority_rank: -1, fair_tag: 1, id: 1 } },
  { key: { brand: 1, "metrics.recorded_at": -1 } },
  { key: { brand: 1, status: 1, completed_at: -1 } },
].map((spec) => ({ ...spec, name: Object.entries(spec.key as Document).map(([f, d]) => `${f}_${String(d)}`).join("_") }));

const LEASE_ORDER = { priority_rank: -1, created_at: 1, id: 1 };

function taskDocument(seq: number, seller: number, now: Date): Document {
  return {
    id: seq, task_id: `task_${seq.toString(16).padStart(12, "0")}`, created_by: seller, task_type: "vinted.get_user_data",
    executor: "extension", status: "pending", priority: "normal", priority_rank: 1, description: "", progress_percentage: 0,
    progress_message: null, context_data: {}, result_data: null, error_message: null, error_details: null, publication: null,
    exclusive_key: null, exclusive_slot: null, waiting_for: null, retry_count: 0, max_retries: 3, scheduled_for: null,
    timeout_minutes: 1, started_at: null, completed_at: null, cancelled_at: null, is_periodic: false, periodic_task: null,
    batch_id: null, account_id: null, attempt: 0, run_token: null, worker_id: null, owner_user_id: seller, lease_expires_at: null,
    plugin: { progress_current: null, progress_total: null, error_code: null, executed_at: null, result_digest: null, sync_total_entries: null, handed_back: false, claim_by: null },
    metrics: null, persistent_job: null, _id: new ObjectId(), brand: seller - 10_000, created_at: now, updated_at: now,
  };
}

function dueFilter(seller: number, now: Date): Document {
  return {
    $and: [{ $or: [{ scheduled_for: null }, { scheduled_for: { $lte: now } }] }, { $or: [{ "plugin.claim_by": null }, { "plugin.claim_by": { $gt: now } }] }],
    owner_user_id: seller, executor: "extension", brand: { $in: [seller - 10_000] },
  };
}

/** The extension lease: an aggregation-pipeline update computing the lease end and the attempt. */
function leaseUpdate(now: Date): Document[] {
  return [{
    $set: {
      started_at: now, updated_at: now, run_token: new ObjectId().toHexString(),
      lease_expires_at: { $add: [now, { $multiply: [{ $round: [{ $multiply: ["$timeout_minutes", 60] }, 0] }, 1000] }] },
      attempt: { $add: [{ $ifNull: ["$attempt", 0] }, { $cond: [{ $eq: ["$plugin.handed_back", true] }, 0, 1] }] },
      "plugin.handed_back": false, progress_message: null, "plugin.progress_current": null, "plugin.progress_total": null,
      "plugin.sync_total_entries": null, status: "running",
    },
  }];
}

function resultUpdate(now: Date): Document {
  return {
    $set: {
      completed_at: now, result_data: { user_id: 29535217, login: "bench.shop", email: "bench@example.com", origin: "https://www.vinted.fr", item_count: 3 },
      progress_percentage: 100, error_message: null, error_details: null, "plugin.error_code": null, lease_expires_at: null,
      metrics: { execution_time_ms: 5, memory_usage_mb: 0, cost_usd: 0, recorded_at: now },
      "plugin.executed_at": now, "plugin.result_digest": "bf200560c0fca7d72d3a80abfccf5df4d8ed8b645e6c6a70bfc05a767f240e3e",
      status: "completed", updated_at: now,
    },
  };
}

type Step = [label: string, command: (now: Date) => Document];

/** One task's commands, in the order the app sends them; `seq` numbers the task, `seller` owns it. */
function taskSteps(seq: number, seller: number): Step[] {
  const brand = seller - 10_000;
  let doc: Document | null = null;
  let token = "";
  const steps: Step[] = [
    ["find brand_members (seller's brand)", () => ({ find: "brand_members", filter: { user_id: seller, personal: true }, projection: { brand_id: 1, role: 1 }, limit: 1, singleBatch: true })],
    ["findAndModify counters ($inc, upsert)", () => ({ findAndModify: "counters", query: { _id: "tasks" }, new: true, upsert: true, update: { $inc: { seq: 1 } } })],
    ["insert tasks", (now) => ((doc = taskDocument(seq, seller, now)), { insert: "tasks", documents: [doc], ordered: true })],
    ["update queued_task_counts ($inc, upsert)", (now) => ({ update: "queued_task_counts", updates: [{ q: { _id: brand }, u: { $inc: { pending: 1 }, $set: { verified: false, updated_at: now } }, upsert: true }], ordered: true })],
    ["find queued_task_counts (by _id)", () => ({ find: "queued_task_counts", filter: { _id: brand }, projection: { pending: 1 }, limit: 1, singleBatch: true })],
    ["find tasks (best due, sorted)", (now) => ({ find: "tasks", filter: { ...dueFilter(seller, now), status: "pending" }, sort: LEASE_ORDER, projection: { _id: 1, brand: 1, batch_id: 1 }, limit: 1, singleBatch: true })],
    ["findAndModify tasks (lease, pipeline update)", (now) => {
      const update = leaseUpdate(now);
      token = (update[0].$set as Document).run_token as string;
      return { findAndModify: "tasks", query: { ...dueFilter(seller, now), _id: doc!._id, status: "pending" }, new: true, sort: LEASE_ORDER, update };
    }],
    ["find tasks (by task_id)", () => ({ find: "tasks", filter: { task_id: doc!.task_id, owner_user_id: seller, executor: "extension" }, limit: 1, singleBatch: true })],
    ["findAndModify tasks (result, $set)", (now) => ({ findAndModify: "tasks", query: { _id: doc!._id, brand, run_token: token, lease_expires_at: { $gte: now }, status: "running" }, new: true, update: resultUpdate(now) })],
    ["update queued_task_counts ($inc -1)", (now) => ({ update: "queued_task_counts", updates: [{ q: { _id: brand }, u: { $inc: { pending: -1 }, $set: { updated_at: now } } }], ordered: true })],
  ];
  return steps.map(([label, make]) => [label, (now: Date) => ({ ...make(now), $db: DB })]);
}

function run(engine: Engine, cmd: Document): Document {
  const reply = engine.run(cmd, 1);
  if (reply.ok !== 1 || (reply.writeErrors as unknown[] | undefined)?.length) throw new Error(`engine bench: ${JSON.stringify(reply).slice(0, 300)}`);
  return reply;
}

function setUp(engine: Engine): void {
  run(engine, { createIndexes: "tasks", indexes: TASK_INDEXES, $db: DB });
  run(engine, { createIndexes: "brand_members", indexes: [{ key: { brand_id: 1, user_id: 1 }, name: "brand_id_1_user_id_1", unique: true }, { key: { user_id: 1, brand_id: 1 }, name: "user_id_1_brand_id_1" }], $db: DB });
  for (let s = 1; s <= SELLERS; s++) {
    run(engine, { insert: "brand_members", documents: [{ brand_id: s, user_id: 10_000 + s, role: "owner", personal: true, _id: new ObjectId(), created_at: new Date() }], $db: DB });
  }
  // Finished tasks the indexes hold, as after earlier rounds (retention keeps them a while).
  for (let i = 0; i < BACKLOG; i += 500) {
    const docs = Array.from({ length: 500 }, (_, j) => ({ ...taskDocument(1_000_000 + i + j, 10_001 + ((i + j) % SELLERS), new Date()), status: "completed" }));
    run(engine, { insert: "tasks", documents: docs, $db: DB });
  }
}

/**
 * What reading the CPU clock around nothing costs (getrusage is slow on some VMs): subtracted from
 * each command's reading.
 */
function clockOverheadMicros(): number {
  const runs = 20_000;
  let total = 0;
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    const used = process.cpuUsage(before);
    total += used.user + used.system;
  }
  return total / runs;
}

/** CPU µs per command kind over `count` tasks (task numbers from `first`). */
function measure(engine: Engine, first: number, count: number, overhead = 0): Map<string, { micros: number; calls: number }> {
  const spent = new Map<string, { micros: number; calls: number }>();
  for (let t = 0; t < count; t++) {
    const seller = 10_001 + (t % SELLERS);
    for (const [label, make] of taskSteps(first + t, seller)) {
      const cmd = make(new Date());
      const before = process.cpuUsage();
      run(engine, cmd);
      const used = process.cpuUsage(before);
      const entry = spent.get(label) ?? { micros: 0, calls: 0 };
      entry.micros += used.user + used.system - overhead;
      entry.calls++;
      spent.set(label, entry);
    }
  }
  return spent;
}

export async function runEngineCommandsBench(): Promise<void> {
  console.log(`\nEngine CPU per command: one extension task's commands (claims round), ${TASKS.toLocaleString("en-US")} tasks, ${SELLERS} sellers, ${BACKLOG.toLocaleString("en-US")} finished tasks indexed; Engine.run in this process, journal on disk`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mh-bench-engine-"));
  const engine = new Engine({ dataDir });
  try {
    setUp(engine);
    measure(engine, 1, WARMUP_TASKS);
    const spent = measure(engine, 1 + WARMUP_TASKS, TASKS, clockOverheadMicros());
    let total = 0;
    for (const [label, { micros, calls }] of spent) {
      row(label, micros / calls, "µs CPU");
      total += micros / calls;
    }
    row("one task's engine commands (sum)", total, "µs CPU");
    const lease = spent.get("findAndModify tasks (lease, pipeline update)")!;
    const result = spent.get("findAndModify tasks (result, $set)")!;
    row("lease (pipeline update) / result ($set update)", lease.micros / lease.calls / (result.micros / result.calls), "x");
  } finally {
    engine.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
