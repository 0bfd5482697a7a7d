/**
 * Tasks stored by earlier versions kept an extension task's 0–10 priority and its timeout twice:
 * in `plugin.priority` / `plugin.timeout_seconds` beside the task's own fields, with
 * `priority_rank` on a 0–3 scale. Brought to today's shape once at start-up (idempotent: on an
 * up-to-date collection every write matches nothing).
 */
import { TASK_PRIORITIES, type TaskPriority } from "../../../shared/tasks.js";
import { FAIR_QUEUE_COLLECTION, PRIORITY_SPAN } from "./executor/fair-queue.js";
import { AGENDA_COLLECTION, RUN_TASK_JOB } from "./executor/runner.js";
import { PRIORITY_RANK, priorityWord, type TaskModel } from "./model.js";

const LEVELS = Array.from({ length: 11 }, (_, level) => level);

export async function upgradeStoredTasks(tasks: TaskModel): Promise<void> {
  // Through the driver: the schema no longer knows these paths, so mongoose would drop them from the update.
  await tasks.collection.updateMany({ "plugin.priority": { $exists: true } }, [
    { $set: { priority_rank: "$plugin.priority" } },
    { $unset: ["plugin.priority", "plugin.timeout_seconds"] },
  ]);
  await tasks.collection.updateMany({ "plugin.timeout_seconds": { $exists: true } }, { $unset: { "plugin.timeout_seconds": "" } });
  // A level outside its word (the old 0–3 scale, or a word changed since the plugin's level was
  // set) becomes the word's own level: the word is what the user last chose.
  for (const word of TASK_PRIORITIES) {
    const levels = LEVELS.filter((level) => priorityWord(level) === word);
    await tasks.collection.updateMany({ priority: word, priority_rank: { $nin: levels } }, { $set: { priority_rank: PRIORITY_RANK[word] } });
  }
  await upgradeQueuedRuns(tasks);
}

/** The 0–3 levels earlier versions queued runs with; a word's level today is never 2 or 3, so these are unambiguous. */
const OLD_RANK: Partial<Record<TaskPriority, number>> = { high: 2, critical: 3 };

/**
 * Runs queued by earlier versions carry their level in the queue entry (its data and Agenda's
 * priority, `rank · 10¹² − tag`) and in the round-robin counters (`clock:<rank>`,
 * `brand:<id>:<rank>`): moved to today's level, so a run queued before the upgrade keeps its place
 * among those queued after.
 */
async function upgradeQueuedRuns(tasks: TaskModel): Promise<void> {
  const jobs = tasks.db.collection(AGENDA_COLLECTION);
  const counters = tasks.db.collection<{ _id: string; value: number }>(FAIR_QUEUE_COLLECTION);
  for (const [word, old] of Object.entries(OLD_RANK) as Array<[TaskPriority, number]>) {
    const rank = PRIORITY_RANK[word];
    await jobs.updateMany({ name: RUN_TASK_JOB, "data.rank": old }, [
      { $set: { "data.rank": rank, priority: { $subtract: [rank * PRIORITY_SPAN, { $min: [{ $ifNull: ["$data.tag", 0] }, PRIORITY_SPAN - 1] }] } } },
    ]);
    const suffix = `:${old}`;
    for (const counter of await counters.find({}).toArray()) {
      if (!counter._id.endsWith(suffix)) continue;
      await counters.updateOne({ _id: `${counter._id.slice(0, -suffix.length)}:${rank}` }, { $max: { value: counter.value } }, { upsert: true });
      await counters.deleteOne({ _id: counter._id });
    }
  }
}
