/**
 * A claim that finds its brand's running slots taken puts its task in line; a run that ends in
 * another process between that claim's look at the slots and its task joining the line offers the
 * freed slot to a line without it. The task must still get the slot at once, not at the next
 * periodic sweep (set to an hour here, so only the immediate offer can run it).
 *
 * The other process is played inside the engine: when the claim reads the brand's running tasks,
 * the running task is ended right after that read (its answer still shows it running), as a
 * process that finished it at that moment would have.
 */
import type { Document } from "bson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { onRealMongo } from "../helpers/mongo.js";
import { rawTasks, TaskApi } from "./fixtures/tasks.js";

const LONG = { steps: 600, step_ms: 100, checkpoint_every: 0 };
const QUICK = { steps: 1, step_ms: 1, checkpoint_every: 0 };

/** Whether `cmd` is a claim's read of the brand's running server tasks (which slots are taken). */
function isSlotRead(cmd: Document, brand: number): boolean {
  const filter = cmd.filter as Document | undefined;
  return cmd.find === "tasks" && filter?.status === "running" && filter.executor === "server" && filter.brand === brand;
}

// The engine is observed in this process; a real MongoDB cannot be.
describe.skipIf(onRealMongo)("a slot freed while a claim was looking", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ TASK_RUNNING_LIMIT_PER_BRAND: "1", TASK_CONCURRENCY: "2", TASK_SLOT_SWEEP_MS: "3600000" });
  }, 60_000);

  afterAll(async () => {
    await server?.description.services.execution.stop();
    await server?.close();
  });

  it("goes to the task the claim put in line, without waiting for the sweep", async () => {
    const api = new TaskApi(server.request, (await server.register()).access_token);
    const holder = await api.create({ task_type: "simulated", context_data: LONG });
    await api.waitForStatus(holder.id, "running");
    const stored = await rawTasks(server.db.connection).findOne({ id: holder.id });
    const brand = stored!.brand as number;

    const engine = server.testDatabase.embedded!.engine;
    const run = engine.run.bind(engine);
    let endedMeanwhile = false;
    engine.run = (cmd, connectionId) => {
      const reply = run(cmd, connectionId);
      if (!endedMeanwhile && isSlotRead(cmd, brand)) {
        endedMeanwhile = true;
        run({ update: "tasks", updates: [{ q: { id: holder.id }, u: { $set: { status: "cancelled", completed_at: new Date() } } }], $db: cmd.$db }, connectionId);
      }
      return reply;
    };
    try {
      const next = await api.create({ task_type: "simulated", context_data: QUICK });
      const done = await api.waitForStatus(next.id, ["completed", "failed"]);
      expect(endedMeanwhile).toBe(true);
      expect(done.status).toBe("completed");
      expect((await api.get(holder.id)).status).toBe("cancelled");
    } finally {
      engine.run = run;
    }
  });
});
