/**
 * Only the lifecycle writes a task's `status`. This reads the server's source and fails on any
 * write to the task collection, outside server/src/tasks/lifecycle/, whose update (or new
 * document) names `status`. A filter may name it (that is how a read or a fence says which
 * status it expects); an update may not.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SERVER = path.join(ROOT, "server/src");
const LIFECYCLE = path.join(SERVER, "tasks/lifecycle");
const ENGINE = path.join(SERVER, "embedded-mongo");

/** Writes whose first argument is the filter and the rest the update (and options). */
const UPDATE_METHODS = ["updateOne", "updateMany", "findOneAndUpdate", "findByIdAndUpdate", "replaceOne", "findOneAndReplace"];
/** Writes whose arguments are new documents (or bulk operations). */
const INSERT_METHODS = ["create", "insertMany", "insertOne", "bulkWrite"];

/** A receiver that is the task collection: `this.tasks`, `deps.tasks`, `taskModel(c)`, `db.collection("tasks")`, `lifecycle.tasks`… */
const TASK_RECEIVER = /(?:\btasks|taskModel\([^()]*\)|collection\(\s*["'`]tasks["'`]\s*\))\s*$/;
const STATUS_KEY = /(?:^|[{,\s])["'`]?status["'`]?\s*:/;

export interface Violation {
  file: string;
  line: number;
  call: string;
}

/** The text of the call's arguments (from just after `(` to its matching `)`), split at top-level commas. */
function callArguments(source: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = open + 1;
  for (let i = open; i < source.length; i++) {
    const c = source[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      depth--;
      if (depth === 0) {
        args.push(source.slice(start, i));
        return args;
      }
    } else if (c === "," && depth === 1) {
      args.push(source.slice(start, i));
      start = i + 1;
    }
  }
  return args;
}

/** Names an update is built from: `{ $set: set }`, `update`, `{ ...fields }`. */
function identifiersIn(arg: string): string[] {
  const names = new Set<string>();
  for (const m of arg.matchAll(/(?:\$\w+\s*:\s*|\.\.\.)([A-Za-z_]\w*)\b(?!\s*[.(])/g)) names.add(m[1]);
  const bare = /^\s*([A-Za-z_]\w*)\s*$/.exec(arg);
  if (bare) names.add(bare[1]);
  return [...names];
}

/** Whether `name` is given a `status` anywhere in the file: its initialiser, `name.status = …`, `Object.assign(name, {status…})`. */
function builtWithStatus(source: string, name: string): boolean {
  for (const m of source.matchAll(new RegExp(`\\b(?:const|let|var)\\s+${name}\\b[^=;]*=`, "g"))) {
    const rest = source.slice(m.index + m[0].length);
    const end = rest.search(/;\s*(?:\n|$)/);
    if (STATUS_KEY.test(rest.slice(0, end < 0 ? undefined : end))) return true;
  }
  if (new RegExp(`\\b${name}\\s*(?:\\.\\s*status|\\[\\s*["'\`]status["'\`]\\s*\\])\\s*=[^=]`).test(source)) return true;
  for (const m of source.matchAll(new RegExp(`Object\\.assign\\(\\s*${name}\\s*,`, "g"))) {
    if (callArguments(source, m.index + "Object.assign".length).slice(1).some((arg) => STATUS_KEY.test(arg))) return true;
  }
  return false;
}

export function findStatusWrites(file: string, source: string): Violation[] {
  const violations: Violation[] = [];
  const call = new RegExp(`\\.\\s*(${[...UPDATE_METHODS, ...INSERT_METHODS].join("|")})\\s*(?:<[^()]*>)?\\s*\\(`, "g");
  for (const match of source.matchAll(call)) {
    const receiver = source.slice(Math.max(0, match.index - 200), match.index);
    if (!TASK_RECEIVER.test(receiver)) continue;
    const args = callArguments(source, match.index + match[0].length - 1);
    const written = UPDATE_METHODS.includes(match[1]) ? args.slice(1) : args;
    if (written.some((arg) => STATUS_KEY.test(arg) || identifiersIn(arg).some((name) => builtWithStatus(source, name)))) {
      violations.push({ file: path.relative(ROOT, file), line: source.slice(0, match.index).split("\n").length, call: match[1] });
    }
  }
  return violations;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return full === LIFECYCLE || full === ENGINE ? [] : sourceFiles(full);
    return /\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

describe("only the lifecycle writes a task's status", () => {
  it("the detector finds the writes the lifecycle replaced, and leaves status in filters alone", () => {
    const offending = `
      await this.tasks.updateOne({ ...this.fence(run), status: "running" }, { $set: { status: "completed", result_data: result } });
      const updated = await this.tasks
        .findOneAndUpdate(
          brandFilter(brand, { _id: task._id, status: task.status }),
          { $set: { "status": "pending" }, $inc: { retry_count: 1 } },
          { returnDocument: "after" },
        )
        .lean<Task>();
      await taskModel(connection).updateMany({}, [{ $set: { status: { $literal: "failed" } } }]);
      await db.collection("tasks").insertOne({ task_id: "x", status: "running" });
      await this.tasks.create({ id: 1, status: "running" });
      const set: Json = retry ? { status: "pending", run_token: null } : { status: "failed" };
      await this.tasks.updateOne(fence, retry ? { $set: set, $inc: { retry_count: 1 } } : { $set: set });
      const fields: Record<string, unknown> = { result_data: r };
      fields.status = "completed";
      await this.tasks.updateOne(fence, { $set: { ...fields, progress_percentage: 100 } });
      const update = { $set: {} as Record<string, unknown> };
      Object.assign(update.$set, { error_message: null });
      const later = {};
      Object.assign(later, { status: "cancelled" });
      await this.tasks.findOneAndUpdate(fence, later);`;
    expect(findStatusWrites("example.ts", offending).map((v) => `${v.line}:${v.call}`)).toEqual([
      "2:updateOne",
      "4:findOneAndUpdate",
      "10:updateMany",
      "11:insertOne",
      "12:create",
      "14:updateOne",
      "17:updateOne",
      "22:findOneAndUpdate",
    ]);
    const fine = `
      await this.tasks.updateOne({ _id: task._id, status: "running", run_token: token }, { $set: { progress_percentage: 50 } });
      await this.tasks.find({ status: "pending" }).lean();
      await this.alerts.updateOne({ _id: id }, { $set: { status: "resolved" } });
      await this.tasks.create({ id: 1, task_type: "x", context_data: {} });
      const set: Record<string, unknown> = { progress_message: message };
      await this.tasks.updateOne({ ...fence, status: "running" }, { $set: set });`;
    expect(findStatusWrites("example.ts", fine)).toEqual([]);
  });

  it("no file of the server outside server/src/tasks/lifecycle/ writes status on tasks", () => {
    const files = sourceFiles(SERVER);
    expect(files.length).toBeGreaterThan(50);
    const violations = files.flatMap((file) => findStatusWrites(file, fs.readFileSync(file, "utf8")));
    expect(violations).toEqual([]);
  });
});
