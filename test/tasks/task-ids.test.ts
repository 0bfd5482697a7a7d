/**
 * Task ids come from blocks each process reserves in the `counters` document: two servers on one
 * database creating at the same moment never hand out the same id, each server's ids grow with its
 * creations, and a server started later (or after a crash) never reuses an id — it leaves gaps.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { TaskApi } from "./fixtures/tasks.js";

let first: TestServer;
let second: TestServer;
beforeAll(async () => {
  first = await startTestServer({}, { taskExecution: false });
  second = await startTestServer({ JWT_SECRET: first.config.jwtSecret }, { database: first.testDatabase, taskExecution: false });
});
afterAll(async () => {
  await second?.close();
  await first?.close();
});

describe("task ids across processes", () => {
  it("are unique when two servers create at once, grow within each server, and are never reused by a later one", async () => {
    const user = await first.register();
    const onFirst = new TaskApi(first.request, user.access_token);
    const onSecond = new TaskApi(second.request, user.access_token);
    const rounds = 5;
    const byServer = new Map<TaskApi, number[]>([
      [onFirst, []],
      [onSecond, []],
    ]);
    for (let round = 0; round < rounds; round++) {
      const created = await Promise.all([onFirst, onSecond, onFirst, onSecond].map(async (api) => ({ api, task: await api.pending() })));
      for (const { api, task } of created) byServer.get(api)!.push(task.id);
    }
    const all = [...byServer.values()].flat();
    expect(new Set(all).size).toBe(all.length);
    // Concurrent creations in one server may finish in any order: their ids grow from round to round.
    for (const ids of byServer.values()) {
      for (let round = 1; round < rounds; round++) {
        expect(Math.min(ids[2 * round], ids[2 * round + 1])).toBeGreaterThan(Math.max(ids[2 * round - 2], ids[2 * round - 1]));
      }
    }

    const later = await startTestServer({ JWT_SECRET: first.config.jwtSecret }, { database: first.testDatabase, taskExecution: false });
    try {
      const next = await new TaskApi(later.request, user.access_token).pending();
      expect(next.id).toBeGreaterThan(Math.max(...all));
    } finally {
      await later.close();
    }
  });
});
