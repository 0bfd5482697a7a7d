/** The claim's copy of a task is handed to its result only while it still speaks for that lease. */
import { describe, expect, it } from "vitest";
import { LeasedCopies } from "../../server/src/plugin/leased-copies.js";
import type { Task } from "../../server/src/tasks/model.js";

const NOW = Date.parse("2026-12-03T12:00:00Z");

function leased(taskId: string, fields: Partial<Task> = {}): Task {
  return {
    task_id: taskId,
    status: "running",
    executor: "extension",
    owner_user_id: 7,
    run_token: "lease-1",
    lease_expires_at: new Date(NOW + 60_000),
    ...fields,
  } as Task;
}

describe("leased copies", () => {
  it("hands a copy to its seller's result once, with or without the lease token", () => {
    const copies = new LeasedCopies();
    copies.keep(leased("task_a"));
    copies.keep(leased("task_b"));
    expect(copies.take(7, "task_a", "lease-1", NOW)?.task_id).toBe("task_a");
    expect(copies.take(7, "task_a", "lease-1", NOW)).toBeNull();
    expect(copies.take(7, "task_b", undefined, NOW)?.task_id).toBe("task_b");
  });

  it("gives nothing for another seller, another lease's token, an ended lease or a task no longer running", () => {
    const copies = new LeasedCopies();
    const cases: [Task, number, string | undefined][] = [
      [leased("task_other_seller"), 8, "lease-1"],
      [leased("task_other_token"), 7, "lease-0"],
      [leased("task_ended", { lease_expires_at: new Date(NOW - 1) }), 7, "lease-1"],
      [leased("task_pending", { status: "pending" }), 7, "lease-1"],
      [leased("task_server", { executor: "server" }), 7, "lease-1"],
    ];
    for (const [task] of cases) copies.keep(task);
    for (const [task, userId, token] of cases) expect(copies.take(userId, task.task_id, token, NOW), task.task_id).toBeNull();
    // A refused copy is gone as well: the next result reads the task.
    expect(copies.size).toBe(0);
  });

  it("keeps the newest copies only, and a dropped or replaced copy is not handed out", () => {
    const copies = new LeasedCopies(2);
    copies.keep(leased("task_1"));
    copies.keep(leased("task_2"));
    copies.keep(leased("task_3"));
    expect(copies.size).toBe(2);
    expect(copies.take(7, "task_1", undefined, NOW)).toBeNull();
    copies.drop("task_2");
    expect(copies.take(7, "task_2", undefined, NOW)).toBeNull();
    copies.keep(leased("task_3", { run_token: "lease-2" }));
    expect(copies.take(7, "task_3", "lease-1", NOW)).toBeNull();
  });
});
