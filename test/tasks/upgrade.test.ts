/**
 * Tasks stored by an earlier version (the plugin's 0–10 priority and timeout kept in the `plugin`
 * sub-document, `priority_rank` on a 0–3 scale) read the same through the plugin view once the
 * start-up upgrade has folded them into the task's own fields.
 */
import { ObjectId } from "bson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allBrands } from "../../server/src/brands/scope.js";
import { connectDatabase, type Database } from "../../server/src/db/connect.js";
import { toPluginView } from "../../server/src/plugin/view.js";
import { FAIR_QUEUE_COLLECTION, FairQueue } from "../../server/src/tasks/executor/fair-queue.js";
import { AGENDA_COLLECTION, RUN_TASK_JOB } from "../../server/src/tasks/executor/runner.js";
import { taskModel, type Task, type TaskModel } from "../../server/src/tasks/model.js";
import { upgradeStoredTasks } from "../../server/src/tasks/upgrade.js";
import { startTestDatabase, type TestDatabase } from "../helpers/mongo.js";

let testDatabase: TestDatabase;
let db: Database;
let tasks: TaskModel;

beforeAll(async () => {
  testDatabase = await startTestDatabase("upgrade");
  db = await connectDatabase({ mongodbUri: testDatabase.uri, dataDir: null });
  tasks = taskModel(db.connection);
});

afterAll(async () => {
  await db?.close();
  await testDatabase?.close();
});

let nextId = 1;

/** A task document as the earlier version wrote it. */
function legacyTask(fields: { priority: string; priority_rank: number; timeout_minutes: number; plugin?: { priority: number; timeout_seconds: number } }) {
  const id = nextId++;
  const now = new Date();
  return {
    _id: new ObjectId(),
    id,
    task_id: `task_legacy${id}`,
    brand: 1,
    created_by: 1,
    task_type: fields.plugin ? "vinted.get_stats" : "simulated",
    executor: fields.plugin ? "extension" : "server",
    status: "pending",
    priority: fields.priority,
    priority_rank: fields.priority_rank,
    timeout_minutes: fields.timeout_minutes,
    context_data: {},
    attempt: 0,
    created_at: now,
    updated_at: now,
    plugin: fields.plugin ? { ...fields.plugin, progress_current: null, progress_total: null, error_code: null, executed_at: null, result_digest: null, sync_total_entries: null, handed_back: false } : null,
  };
}

const read = async (taskId: string) => (await allBrands(tasks.findOne({ task_id: taskId }).lean<Task>()))!;

describe("the start-up upgrade of stored tasks", () => {
  it("folds plugin.priority and plugin.timeout_seconds into the task's level and timeout, and rescales old levels", async () => {
    const docs = {
      plugin7: legacyTask({ priority: "high", priority_rank: 2, timeout_minutes: 0.5, plugin: { priority: 7, timeout_seconds: 30 } }),
      // The word was changed through /tasks/ after the plugin's level was set: the word wins.
      pluginRenamed: legacyTask({ priority: "low", priority_rank: 0, timeout_minutes: 2, plugin: { priority: 6, timeout_seconds: 120 } }),
      serverHigh: legacyTask({ priority: "high", priority_rank: 2, timeout_minutes: 60 }),
      serverCritical: legacyTask({ priority: "critical", priority_rank: 3, timeout_minutes: 60 }),
      serverNormal: legacyTask({ priority: "normal", priority_rank: 1, timeout_minutes: 60 }),
    };
    await tasks.collection.insertMany(Object.values(docs));

    await upgradeStoredTasks(tasks);
    await upgradeStoredTasks(tasks); // a second start changes nothing more

    const levels = Object.fromEntries(await Promise.all(Object.entries(docs).map(async ([name, doc]) => [name, (await read(doc.task_id)).priority_rank])));
    expect(levels).toEqual({ plugin7: 7, pluginRenamed: 0, serverHigh: 5, serverCritical: 9, serverNormal: 1 });

    const raw = await tasks.collection.findOne({ task_id: docs.plugin7.task_id });
    expect(raw?.plugin).not.toHaveProperty("priority");
    expect(raw?.plugin).not.toHaveProperty("timeout_seconds");
    expect(toPluginView(await read(docs.plugin7.task_id))).toMatchObject({ priority: 7, timeout: 30 });
    expect(toPluginView(await read(docs.pluginRenamed.task_id))).toMatchObject({ priority: 0, timeout: 120 });
  });

  it("moves runs queued on the old scale, and their round-robin counters, to today's levels", async () => {
    const jobs = db.connection.collection(AGENDA_COLLECTION);
    const counters = db.connection.collection<{ _id: string; value: number }>(FAIR_QUEUE_COLLECTION);
    const queued = (task_id: string, rank: number, tag: number) => ({ name: RUN_TASK_JOB, data: { task_id, rank, tag }, priority: rank * 1e12 - tag, nextRunAt: new Date() });
    await jobs.insertMany([queued("old-high", 2, 7), queued("old-critical", 3, 0), queued("normal", 1, 4), queued("new-high", 5, 9)]);
    await counters.insertMany([
      { _id: "clock:2", value: 7 },
      { _id: "brand:4:2", value: 8 },
      { _id: "brand:4:5", value: 3 },
      { _id: "clock:3", value: 1 },
      { _id: "clock:1", value: 4 },
    ]);

    await upgradeStoredTasks(tasks);
    await upgradeStoredTasks(tasks);

    const byTask = Object.fromEntries((await jobs.find({ name: RUN_TASK_JOB }).toArray()).map((j) => [j.data.task_id, { rank: j.data.rank, priority: j.priority }]));
    expect(byTask).toEqual({
      "old-high": { rank: 5, priority: FairQueue.agendaPriority(5, 7) },
      "old-critical": { rank: 9, priority: FairQueue.agendaPriority(9, 0) },
      normal: { rank: 1, priority: FairQueue.agendaPriority(1, 4) },
      "new-high": { rank: 5, priority: FairQueue.agendaPriority(5, 9) },
    });
    // Queued before the upgrade, still ahead of a later run of its priority and behind any of a higher one.
    expect(byTask["old-high"].priority).toBeGreaterThan(byTask["new-high"].priority);
    expect(byTask["old-critical"].priority).toBeGreaterThan(byTask["new-high"].priority);
    const values = Object.fromEntries((await counters.find({}).toArray()).map((c) => [c._id, c.value]));
    expect(values).toEqual({ "clock:5": 7, "brand:4:5": 8, "clock:9": 1, "clock:1": 4 });
  });
});
