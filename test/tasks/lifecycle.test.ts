/**
 * The task state machine, held by one table: every transition the lifecycle allows is listed here,
 * tried from every status against a real database, and every other attempt must change nothing
 * and announce nothing.
 */
import { randomBytes } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TASK_STATUSES, type TaskStatus } from "../../shared/tasks.js";
import { allBrands } from "../../server/src/brands/scope.js";
import { connectDatabase, type Database } from "../../server/src/db/connect.js";
import { ALLOWED_STATUS_CHANGES, TaskLifecycle, type TaskStatusChanged, type TasksBulkStatusChanged } from "../../server/src/tasks/lifecycle/index.js";
import { StatusWriteOutsideLifecycleError } from "../../server/src/tasks/lifecycle/guard.js";
import type { Task } from "../../server/src/tasks/model.js";
import { startTestDatabase, type TestDatabase } from "../helpers/mongo.js";

/** Every allowed move: operation, the statuses it may leave, the status it reaches. */
const TABLE: Array<{ op: OperationName; from: TaskStatus[]; to: TaskStatus }> = [
  { op: "claim", from: ["pending"], to: "running" },
  { op: "claimLease", from: ["pending"], to: "running" },
  { op: "complete", from: ["running"], to: "completed" },
  { op: "fail", from: ["running"], to: "failed" },
  { op: "failOrRetry, attempts left", from: ["running"], to: "pending" },
  { op: "failOrRetry, none left", from: ["running"], to: "failed" },
  { op: "failOrRetry, permanent", from: ["running"], to: "failed" },
  { op: "expireLease, attempts left", from: ["running"], to: "pending" },
  { op: "expireLease, none left", from: ["running"], to: "failed" },
  { op: "requeue", from: ["running"], to: "pending" },
  { op: "release", from: ["running"], to: "pending" },
  { op: "cancel", from: ["pending", "running", "suspended"], to: "cancelled" },
  { op: "suspend", from: ["pending"], to: "suspended" },
  { op: "resume", from: ["suspended"], to: "pending" },
  { op: "wait", from: ["running"], to: "suspended" },
  { op: "resumeWaitersOf", from: ["suspended"], to: "pending" },
  { op: "retryByUser", from: ["failed", "cancelled"], to: "pending" },
  { op: "resumeFromCheckpoint", from: ["failed", "cancelled"], to: "pending" },
];

const TOKEN = "the-run-token";
let owners = 1_000;

interface Seed {
  executor?: "server" | "extension";
  maxRetries?: number;
  /** The task it waits for. */
  waitingFor?: string;
}

type Operation = { seed: Seed; run: (lifecycle: TaskLifecycle, task: Task) => Promise<Task | null> };

const fence = (task: Task) => ({ _id: task._id, brand: task.brand, run_token: TOKEN });
const failure = (kind: "error" | "permanent") => ({ kind, error_message: "boom", error_details: { type: "Error" } });

const OPERATIONS = {
  claim: { seed: {}, run: (l, t) => l.claim(t.task_id, "new-token", "worker-a") },
  claimLease: { seed: { executor: "extension" }, run: (l, t) => l.claimLease(t.owner_user_id!, "new-token") },
  complete: { seed: {}, run: (l, t) => l.complete(fence(t), { result_data: { ok: true } }) },
  fail: { seed: {}, run: (l, t) => l.fail(fence(t), { error_message: "final" }) },
  "failOrRetry, attempts left": { seed: { maxRetries: 3 }, run: async (l, t) => (await l.failOrRetry(t, fence(t), failure("error")))?.task ?? null },
  "failOrRetry, none left": { seed: { maxRetries: 0 }, run: async (l, t) => (await l.failOrRetry(t, fence(t), failure("error")))?.task ?? null },
  "failOrRetry, permanent": { seed: { maxRetries: 3 }, run: async (l, t) => (await l.failOrRetry(t, fence(t), failure("permanent")))?.task ?? null },
  "expireLease, attempts left": { seed: { executor: "extension", maxRetries: 3 }, run: async (l, t) => (await l.expireLease(t))?.task ?? null },
  "expireLease, none left": { seed: { executor: "extension", maxRetries: 0 }, run: async (l, t) => (await l.expireLease(t))?.task ?? null },
  requeue: { seed: {}, run: (l, t) => l.requeue(fence(t), { scheduled_for: null }) },
  release: { seed: { executor: "extension" }, run: (l, t) => l.release(fence(t), { error_message: "logged out" }, null) },
  cancel: { seed: {}, run: (l, t) => l.cancel(t) },
  suspend: { seed: {}, run: (l, t) => l.suspend(t) },
  resume: { seed: {}, run: (l, t) => l.resume(t) },
  // Waiting for a task that has not ended (itself, here): no immediate resumption.
  wait: { seed: {}, run: (l, t) => l.wait(fence(t), t.task_id, {}) },
  resumeWaitersOf: { seed: { waitingFor: "task_awaited" }, run: async (l, t) => ((await l.resumeWaitersOf("task_awaited")) === 1 ? current(t) : null) },
  retryByUser: { seed: { maxRetries: 3 }, run: (l, t) => l.retryByUser(t, {}) },
  resumeFromCheckpoint: { seed: {}, run: (l, t) => l.resumeFromCheckpoint(t) },
} satisfies Record<string, Operation>;
type OperationName = keyof typeof OPERATIONS;

let testDatabase: TestDatabase;
let db: Database;
let lifecycle: TaskLifecycle;
const events: TaskStatusChanged[] = [];

beforeAll(async () => {
  testDatabase = await startTestDatabase("lifecycle");
  db = await connectDatabase({ mongodbUri: testDatabase.uri, dataDir: null });
  lifecycle = new TaskLifecycle(db.connection, pino({ level: "silent" }), { retry: { retryBaseDelayMs: 1_000, retryMaxDelayMs: 1_000 } });
  await lifecycle.tasks.init();
  lifecycle.events.on("task.status_changed", (event) => void events.push(event));
});

afterAll(async () => {
  await db?.close();
  await testDatabase?.close();
});

/**
 * A task put straight into `status` (a fixture: the test stands in for the history that led
 * there), as a run holding TOKEN would have left it, with an ended lease and an interrupted
 * checkpoint, so that only the status decides whether an operation applies.
 */
async function seed(status: TaskStatus, options: Seed): Promise<Task> {
  const created = await lifecycle.create({
    task_id: `task_${randomBytes(6).toString("hex")}`,
    brand: 1,
    created_by: 1,
    task_type: options.executor === "extension" ? "vinted.get_stats" : "simulated",
    executor: options.executor ?? "server",
    owner_user_id: options.executor === "extension" ? ++owners : null,
    ...(options.executor === "extension" ? { plugin: { progress_current: null, progress_total: null, error_code: null, executed_at: null, result_digest: null, sync_total_entries: null, handed_back: false } } : {}),
    priority: "normal",
    context_data: {},
    max_retries: options.maxRetries ?? 3,
  });
  const set = {
    status,
    ...(options.waitingFor ? { waiting_for: options.waitingFor } : {}),
    run_token: TOKEN,
    attempt: 1,
    lease_expires_at: new Date(Date.now() - 60_000),
    persistent_job: {
      state: "interrupted",
      can_resume: true,
      checkpoint_count: 1,
      last_checkpoint_at: new Date(),
      progress_percentage: 40,
      interrupted_at: new Date(),
      resumed_at: null,
      resume_count: 0,
    },
  };
  // Through the driver: the model refuses status writes that do not come from the lifecycle.
  await lifecycle.tasks.collection.updateOne({ _id: created._id }, { $set: set });
  return (await current(created))!;
}

const current = async (task: Task) => allBrands(lifecycle.tasks.findOne({ _id: task._id }).lean<Task>());

describe("the task state machine", () => {
  it("the table above is exactly the lifecycle's: the same (from → to) pairs", () => {
    const pairs = (list: ReadonlyArray<readonly [TaskStatus, TaskStatus]>) => [...new Set(list.map(([f, t]) => `${f} → ${t}`))].sort();
    expect(pairs(TABLE.flatMap((row) => row.from.map((from) => [from, row.to] as const)))).toEqual(pairs(ALLOWED_STATUS_CHANGES));
  });

  for (const [op, operation] of Object.entries(OPERATIONS) as Array<[OperationName, Operation]>) {
    const row = TABLE.find((r) => r.op === op)!;
    it(`${op}: ${row.from.join(" | ")} → ${row.to}; refused from every other status`, async () => {
      for (const from of TASK_STATUSES) {
        const task = await seed(from, operation.seed);
        events.length = 0;
        const result = await operation.run(lifecycle, task);
        const after = await current(task);
        if (row.from.includes(from)) {
          expect(result?.status, `${op} from ${from}`).toBe(row.to);
          expect(after?.status, `${op} from ${from}`).toBe(row.to);
          expect(events.map((e) => [e.from, e.to, e.task.task_id, e.task.status]), `${op} from ${from}`).toEqual([[from, row.to, task.task_id, row.to]]);
        } else {
          expect(result, `${op} from ${from} must be refused`).toBeNull();
          expect(after, `${op} from ${from} must change nothing`).toEqual(task);
          expect(events, `${op} from ${from} must announce nothing`).toEqual([]);
        }
      }
    });
  }

  it("a wait on a task already ended is resumed at once; a wait whose task's end went unheard is resumed by the sweep", async () => {
    const ended = await seed("completed", {});
    const waiter = await seed("running", {});
    events.length = 0;
    expect((await lifecycle.wait(fence(waiter), ended.task_id, {}))?.status).toBe("suspended");
    expect((await current(waiter))?.status).toBe("pending");
    expect(events.map((e) => [e.transition, e.from, e.to])).toEqual([
      ["wait", "running", "suspended"],
      ["resume", "suspended", "pending"],
    ]);

    const awaited = await seed("running", {});
    const sleeper = await seed("running", {});
    await lifecycle.wait(fence(sleeper), awaited.task_id, {});
    await lifecycle.resumeEndedWaits();
    expect((await current(sleeper))?.status).toBe("suspended");
    // No listener here resumes it: the end goes unheard, as when the process that made it died.
    await lifecycle.complete(fence(awaited), {});
    expect((await current(sleeper))?.status).toBe("suspended");
    await lifecycle.resumeEndedWaits();
    expect(await current(sleeper)).toMatchObject({ status: "pending", waiting_for: null });
  });

  it("a stale writer changes nothing: another run's token, or a status read before it changed", async () => {
    const running = await seed("running", {});
    events.length = 0;
    expect(await lifecycle.complete({ ...fence(running), run_token: "an-older-run" }, {})).toBeNull();
    expect(await lifecycle.failOrRetry(running, { ...fence(running), run_token: "an-older-run" }, failure("error"))).toBeNull();

    const pending = await seed("pending", {});
    await lifecycle.claim(pending.task_id, "new-token", "worker-a");
    events.length = 0;
    // Read as pending, running by now: cancel is allowed from both, yet this one decided on "pending".
    expect(await lifecycle.cancel(pending)).toBeNull();
    expect((await current(pending))?.status).toBe("running");
    expect(await current(running)).toEqual(running);
    expect(events).toEqual([]);
  });

  it("a lease result is refused once the lease has ended, and expiry is refused while it lasts", async () => {
    const ended = await seed("running", { executor: "extension" });
    expect(await lifecycle.complete(fence(ended), {}, { aliveAt: new Date() })).toBeNull();
    const live = await seed("running", { executor: "extension" });
    await lifecycle.renewLease(fence(live), {}).then((t) => expect(t).toBeNull()); // its lease had ended already
    const fresh = (await lifecycle.tasks
      .findOneAndUpdate({ _id: live._id, brand: 1 }, { $set: { lease_expires_at: new Date(Date.now() + 60_000) } }, { returnDocument: "after" })
      .lean<Task>())!;
    expect(await lifecycle.expireLease(fresh)).toBeNull();
    expect((await lifecycle.renewLease(fence(fresh), {}))?.status).toBe("running");
    expect((await lifecycle.complete(fence(fresh), {}, { aliveAt: new Date() }))?.status).toBe("completed");
  });

  it("one retry rule: each retry counts, an error waits the backoff, a lost run is retried at once", async () => {
    const errored = await seed("running", { maxRetries: 2 });
    const retried = await lifecycle.failOrRetry(errored, fence(errored), failure("error"));
    expect(retried?.outcome).toBe("retried");
    expect(retried?.task.retry_count).toBe(1);
    expect(retried?.task.scheduled_for?.getTime()).toBeGreaterThan(Date.now());
    const lost = await seed("running", { executor: "extension", maxRetries: 2 });
    const expired = await lifecycle.expireLease(lost);
    expect(expired).toMatchObject({ outcome: "retried", task: { retry_count: 1, scheduled_for: null, run_token: null, lease_expires_at: null } });
    expect(expired?.task.error_details).toMatchObject({ error_code: "LEASE_EXPIRED" });
  });

  it("the task model refuses a status write that does not come from the lifecycle", async () => {
    const task = await seed("pending", {});
    await expect(lifecycle.tasks.updateOne({ _id: task._id, brand: 1 }, { $set: { status: "running" } })).rejects.toThrow(StatusWriteOutsideLifecycleError);
    await expect(
      lifecycle.tasks.findOneAndUpdate({ _id: task._id, brand: 1 }, [{ $set: { status: "completed" } }], { updatePipeline: true }),
    ).rejects.toThrow(StatusWriteOutsideLifecycleError);
    await expect(lifecycle.tasks.updateMany({ brand: 1 }, { status: "failed" })).rejects.toThrow(StatusWriteOutsideLifecycleError);
    const doc = await lifecycle.tasks.findOne({ _id: task._id, brand: 1 });
    doc!.status = "cancelled";
    await expect(doc!.save()).rejects.toThrow(StatusWriteOutsideLifecycleError);
    expect(await current(task)).toEqual(task);
  });

  it("listeners subscribe and unsubscribe; one that throws does not undo the change", async () => {
    const seen: string[] = [];
    const off = lifecycle.events.on("task.status_changed", ({ task, to }) => void seen.push(`${task.task_id}:${to}`));
    const failing = lifecycle.events.on("task.status_changed", () => {
      throw new Error("a listener's bug");
    });
    const task = await seed("pending", {});
    expect((await lifecycle.suspend(task))?.status).toBe("suspended");
    off();
    failing();
    expect((await lifecycle.resume({ ...task, status: "suspended" }))?.status).toBe("pending");
    expect(seen).toEqual([`${task.task_id}:suspended`]);
  });

  it("suspend and resume over many tasks (a batch): each one changes once, and only from its from-state", async () => {
    const batch = `batch_${randomBytes(4).toString("hex")}`;
    const tasks = [await seed("pending", {}), await seed("pending", {}), await seed("running", {})];
    for (const t of tasks) await lifecycle.tasks.updateOne({ _id: t._id, brand: 1 }, { $set: { batch_id: batch } });
    events.length = 0;
    expect(await lifecycle.forEachMatching({ batch_id: batch }, (t) => lifecycle.suspend(t))).toBe(2);
    expect(events.map((e) => e.to)).toEqual(["suspended", "suspended"]);
    expect(await lifecycle.forEachMatching({ batch_id: batch, status: "suspended" }, (t) => lifecycle.resume(t))).toBe(2);
    expect((await current(tasks[2]))?.status).toBe("running");
  });

  it("bulk transitions over a batch: one write per from-state, one event with exact counts per from-state", async () => {
    const batch = `batch_${randomBytes(4).toString("hex")}`;
    const seeded = [
      await seed("pending", {}),
      await seed("pending", {}),
      await seed("suspended", {}),
      await seed("running", {}),
      await seed("completed", {}),
      await seed("failed", {}),
    ];
    for (const t of seeded) await lifecycle.tasks.collection.updateOne({ _id: t._id }, { $set: { batch_id: batch } });
    const outsider = await seed("pending", {});
    const bulk: TasksBulkStatusChanged[] = [];
    const off = lifecycle.events.on("tasks.bulk_status_changed", (e) => void bulk.push(e));
    events.length = 0;
    const scope = { brand: 1, batch_id: batch };
    expect(await lifecycle.transitionMany("suspend", scope, ["pending"], "suspended")).toEqual({ pending: 2 });
    expect(await lifecycle.transitionMany("resume", scope, ["suspended"], "pending")).toEqual({ suspended: 3 });
    expect(await lifecycle.transitionMany("cancel", scope, ["pending", "suspended", "running"], "cancelled")).toEqual({ pending: 3, running: 1 });
    // Nothing left to move: no event.
    expect(await lifecycle.transitionMany("cancel", scope, ["pending", "suspended", "running"], "cancelled")).toEqual({});
    await expect(lifecycle.transitionMany("cancel", scope, ["completed"], "cancelled")).rejects.toThrow(/cannot take a task from completed/);
    await expect(lifecycle.transitionMany("suspend", scope, ["running"], "suspended")).rejects.toThrow(/cannot take a task from running/);
    off();
    expect(bulk.map((e) => [e.transition, e.to, e.counts])).toEqual([
      ["suspend", "suspended", { pending: 2 }],
      ["resume", "pending", { suspended: 3 }],
      ["cancel", "cancelled", { pending: 3, running: 1 }],
    ]);
    expect(events).toEqual([]);
    const statuses = await Promise.all(seeded.map(async (t) => (await current(t))?.status));
    expect(statuses).toEqual(["cancelled", "cancelled", "cancelled", "cancelled", "completed", "failed"]);
    expect((await current(outsider))?.status).toBe("pending");
  });

  it("createMany stores pending tasks in chunks with consecutive ids, one tasks.created event per chunk", async () => {
    const created: number[] = [];
    const off = lifecycle.events.on("tasks.created", ({ tasks }) => void created.push(tasks.length));
    const inputs = Array.from({ length: 7 }, () => ({
      task_id: `task_${randomBytes(6).toString("hex")}`,
      brand: 1,
      created_by: 1,
      task_type: "simulated",
      priority: "high" as const,
      context_data: {},
      batch_id: "batch-x",
    }));
    expect(await lifecycle.createMany(inputs, 3)).toBe(7);
    off();
    expect(created).toEqual([3, 3, 1]);
    const rows = await allBrands(lifecycle.tasks.find({ task_id: { $in: inputs.map((i) => i.task_id) } }).sort({ id: 1 }).lean<Task[]>());
    expect(rows.map((r) => r.status)).toEqual(Array(7).fill("pending"));
    expect(rows.every((r) => r.priority_rank === 5)).toBe(true);
    expect(new Set(rows.map((r) => r.id)).size).toBe(7);
  });

  it("tasks created one at a time that differ only in task_id and context_data are stored as validating each would store it", async () => {
    const kind = (overrides: Record<string, unknown> = {}) => ({
      task_id: `task_${randomBytes(6).toString("hex")}`,
      brand: 1,
      created_by: 7,
      task_type: "simulated",
      priority: "low" as const,
      context_data: { n: randomBytes(2).toString("hex") },
      scheduled_for: new Date("2030-01-01T00:00:00Z"),
      plugin: { progress_current: null, progress_total: null, error_code: null, executed_at: null, result_digest: null, sync_total_entries: null, handed_back: false },
      ...overrides,
    });
    const first = await lifecycle.create(kind());
    const second = await lifecycle.create(kind({ context_data: { other: [1, 2] } }));
    const noData = await lifecycle.create({ ...kind(), context_data: undefined as unknown as Record<string, unknown> });
    const critical = await lifecycle.create(kind({ priority: "critical" }));
    // A caller changing what it got back does not reach the next task of that kind.
    second.plugin!.handed_back = true;
    (second.context_data as Record<string, unknown>).changed = true;
    const third = await lifecycle.create(kind());

    const stored = async (task: Task) => (await lifecycle.tasks.collection.findOne({ _id: task._id })) as unknown as Record<string, unknown>;
    const perTask = ["_id", "id", "task_id", "context_data", "created_at", "updated_at"];
    const shared = (doc: Record<string, unknown>) => Object.fromEntries(Object.entries(doc).filter(([key]) => !perTask.includes(key)));
    const [a, b, c, d, e] = await Promise.all([first, second, noData, critical, third].map(stored));
    for (const doc of [b, c, e]) {
      expect(Object.keys(doc)).toEqual(Object.keys(a));
      expect(shared(doc)).toEqual(shared(a));
    }
    expect(a).toMatchObject({ priority_rank: 0, scheduled_for: new Date("2030-01-01T00:00:00Z"), status: "pending", executor: "server", max_retries: 3 });
    expect(b.context_data).toEqual({ other: [1, 2] });
    expect(c.context_data).toEqual({});
    expect(d).toMatchObject({ priority: "critical", priority_rank: 9 });
    expect(new Set([a, b, c, d, e].map((doc) => String(doc._id))).size).toBe(5);
    expect(new Set([a, b, c, d, e].map((doc) => doc.id)).size).toBe(5);
    expect(e.plugin).toEqual(a.plugin);
    expect(e.plugin).toMatchObject({ handed_back: false });
    await expect(lifecycle.create(kind({ priority: "low", priority_rank: 9 }))).rejects.toThrow(/Priority level 9/);
    await expect(lifecycle.create(kind({ executor: "elsewhere" }))).rejects.toThrow(/executor/);
  });
});
