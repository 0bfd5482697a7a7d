/**
 * Tasks stored by earlier versions kept an extension task's 0–10 priority and its timeout twice:
 * in `plugin.priority` / `plugin.timeout_seconds` beside the task's own fields, with
 * `priority_rank` on a 0–3 scale. Brought to today's shape once at start-up (idempotent: on an
 * up-to-date collection every write matches nothing).
 */
import { TASK_PRIORITIES } from "../../../shared/tasks.js";
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
}
