import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MongoClient, ObjectId, type Collection, type Db } from "mongodb";
import { Agenda, type AgendaOptions, type Job } from "agenda";
import { MongoBackend, MongoChangeStreamNotificationChannel } from "@agendajs/mongo-backend";
import { startTestDatabase, type TestDatabase } from "../helpers/mongo.js";
import { WAIT_DEADLINE_MS } from "../tasks/fixtures/tasks.js";

/** Agenda 6 with @agendajs/mongo-backend on the engine (or MONGODB_URI), polling fast. */

const WORKER = fileURLToPath(new URL("./fixtures/agenda-worker.ts", import.meta.url));

let db: TestDatabase;
let client: MongoClient;
let mongoDb: Db;
const agendas: Agenda[] = [];
const children: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, condition: () => unknown | Promise<unknown>, timeoutMs = WAIT_DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Waits until `count()` reaches `target`; fails only when it stops growing for `stallMs`. A long
 * run of work on a loaded machine is slow but keeps moving; a stuck one does not.
 */
async function waitForProgress(what: string, count: () => Promise<number>, target: number, stallMs = WAIT_DEADLINE_MS): Promise<void> {
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const now = await count();
    if (now >= target) return;
    if (now !== last) [last, movedAt] = [now, Date.now()];
    else if (Date.now() - movedAt > stallMs) throw new Error(`no progress for ${stallMs} ms waiting for ${what} (${now}/${target})`);
    await sleep(50);
  }
}

/** An Agenda on its own jobs collection, stopped after each test. */
async function makeAgenda(collection: string, options: Partial<AgendaOptions> = {}): Promise<Agenda> {
  const agenda = new Agenda({ backend: new MongoBackend({ mongo: mongoDb, collection }), processEvery: 100, ...options });
  agendas.push(agenda);
  await agenda.ready;
  return agenda;
}

const idOf = (job: Job<unknown>) => new ObjectId(String(job.attrs._id));

beforeAll(async () => {
  db = await startTestDatabase("agenda");
  client = await MongoClient.connect(db.serverUri);
  mongoDb = client.db(db.dbName);
});

afterEach(async () => {
  await Promise.all(agendas.splice(0).map((a) => a.stop().catch(() => undefined)));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await Promise.all(agendas.splice(0).map((a) => a.stop().catch(() => undefined)));
  await client?.close();
  await db?.close();
});

describe("scheduling", () => {
  it("the backend creates its index and has no notification channel of its own (polling)", async () => {
    const agenda = await makeAgenda("jobs_index");
    expect(new MongoBackend({ mongo: mongoDb }).notificationChannel).toBeUndefined();
    expect(agenda.hasNotificationChannel()).toBe(false);
    const indexes = await mongoDb.collection("jobs_index").indexes();
    expect(indexes.find((i) => i.name === "findAndLockNextJobIndex")?.key).toEqual({ name: 1, nextRunAt: 1, priority: -1, lockedAt: 1, disabled: 1 });
  });

  it("now: runs the job once with its data and records the run", async () => {
    const agenda = await makeAgenda("jobs_now");
    const runs: unknown[] = [];
    agenda.define("hello", async (job) => {
      runs.push(job.attrs.data);
    });
    await agenda.start();
    const job = await agenda.now("hello", { n: 1 });
    await waitFor("the job to run", () => runs.length === 1);
    const jobs = mongoDb.collection("jobs_now");
    await waitFor("the run to be recorded", async () => (await jobs.findOne({ _id: idOf(job) }))?.lastFinishedAt);
    await sleep(300);
    expect(runs).toEqual([{ n: 1 }]);
    const doc = await jobs.findOne({ _id: idOf(job) });
    expect(doc).toMatchObject({ name: "hello", type: "normal", data: { n: 1 }, nextRunAt: null, lockedAt: null });
    expect(doc!.lastRunAt).toBeInstanceOf(Date);
    expect(doc!.lastFinishedAt).toBeInstanceOf(Date);
    expect(doc!.failCount ?? null).toBeNull();
  });

  it("schedule: runs at the given time, not before", async () => {
    const agenda = await makeAgenda("jobs_schedule");
    const runs: { x: number; at: number }[] = [];
    agenda.define("later", async (job: Job<{ x: number }>) => {
      runs.push({ x: job.attrs.data.x, at: Date.now() });
    });
    const when = new Date(Date.now() + 700);
    await agenda.schedule(when, "later", { x: 1 });
    await agenda.schedule("in 10 minutes", "later", { x: 2 });
    await agenda.start();
    await waitFor("the scheduled run", () => runs.length === 1);
    expect(runs[0].x).toBe(1);
    // Not before its time (a loaded machine can only make it later).
    expect(runs[0].at).toBeGreaterThanOrEqual(when.getTime() - 5);
    await sleep(300);
    expect(runs.map((r) => r.x)).toEqual([1]);
    const pending = await mongoDb.collection("jobs_schedule").find({ nextRunAt: { $ne: null } }).toArray();
    expect(pending.map((j) => j.data.x)).toEqual([2]);
  });

  it("every: repeats on the interval, as one job document", async () => {
    const agenda = await makeAgenda("jobs_every");
    // What Agenda wrote for each run: when it started and when the next one is due.
    const runs: Array<{ lastRunAt: number; nextRunAt: number }> = [];
    agenda.define("tick", async (job) => {
      runs.push({ lastRunAt: job.attrs.lastRunAt!.getTime(), nextRunAt: job.attrs.nextRunAt!.getTime() });
    });
    await agenda.every(250, "tick");
    await agenda.every(250, "tick"); // same name again: still one job
    await agenda.start();
    await waitFor("three runs", () => runs.length >= 3);
    await agenda.stop();
    const count = runs.length;
    for (const run of runs) expect(run.nextRunAt - run.lastRunAt).toBe(250);
    // No run before the previous one said it was due (a loaded machine only makes runs later).
    for (let i = 1; i < runs.length; i++) expect(runs[i].lastRunAt).toBeGreaterThanOrEqual(runs[i - 1].nextRunAt - 5);
    const docs = await mongoDb.collection("jobs_every").find().toArray();
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ name: "tick", type: "single", repeatInterval: 250 });
    expect(docs[0].nextRunAt.getTime()).toBeGreaterThan(docs[0].lastRunAt.getTime());
    await sleep(400);
    expect(runs.length).toBe(count);
  });

  it("unique: saving the same unique job twice keeps one document", async () => {
    const agenda = await makeAgenda("jobs_unique");
    agenda.define("sync", async () => undefined);
    await agenda.create("sync", { shop: 7, v: 1 }).unique({ "data.shop": 7 }).schedule("in 1 hour").save();
    await agenda.create("sync", { shop: 7, v: 2 }).unique({ "data.shop": 7 }).schedule("in 1 hour").save();
    await agenda.create("sync", { shop: 8, v: 1 }).unique({ "data.shop": 8 }).schedule("in 1 hour").save();
    const docs = await mongoDb.collection("jobs_unique").find().sort({ "data.shop": 1 }).toArray();
    expect(docs.map((d) => d.data)).toEqual([{ shop: 7, v: 2 }, { shop: 8, v: 1 }]);
  });
});

describe("concurrency and locking", () => {
  it("a definition with concurrency 2 never runs more than 2 at once", async () => {
    const agenda = await makeAgenda("jobs_concurrency");
    let running = 0;
    let maxRunning = 0;
    let done = 0;
    agenda.define(
      "conc",
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await sleep(120);
        running--;
        done++;
      },
      { concurrency: 2 },
    );
    await Promise.all(Array.from({ length: 6 }, (_, i) => agenda.now("conc", { i })));
    await agenda.start();
    await waitFor("six runs", () => done === 6);
    expect(maxRunning).toBe(2);
  });

  it("lockLimit: no more jobs of a definition are locked in the database than its limit", async () => {
    const agenda = await makeAgenda("jobs_locklimit");
    const jobs = mongoDb.collection("jobs_locklimit");
    let maxLocked = 0;
    let running = 0;
    let maxRunning = 0;
    let done = 0;
    agenda.define(
      "limited",
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        maxLocked = Math.max(maxLocked, await jobs.countDocuments({ name: "limited", lockedAt: { $ne: null } }));
        await sleep(80);
        running--;
        done++;
      },
      { lockLimit: 2, concurrency: 10 },
    );
    await Promise.all(Array.from({ length: 6 }, (_, i) => agenda.now("limited", { i })));
    await agenda.start();
    await waitFor("six runs", () => done === 6);
    expect(maxLocked).toBeGreaterThanOrEqual(1);
    expect(maxLocked).toBeLessThanOrEqual(2);
    expect(maxRunning).toBe(2);
  });

  it("runs higher priorities first among jobs due at the same time", async () => {
    const agenda = await makeAgenda("jobs_priority");
    const order: string[] = [];
    // lockLimit 1: each job is picked by the database's sort, one at a time.
    agenda.define("prio", async (job: Job<{ label: string }>) => void order.push(job.attrs.data.label), { concurrency: 1, lockLimit: 1 });
    const due = new Date(Date.now() - 1000);
    for (const label of ["low", "highest", "normal", "lowest", "high"] as const) {
      await agenda.create("prio", { label }).schedule(due).priority(label).save();
    }
    await agenda.start();
    await waitFor("five runs", () => order.length === 5);
    expect(order).toEqual(["highest", "high", "normal", "low", "lowest"]);
  });

  it("a job whose worker died holding the lock runs again once lockLifetime has passed", async () => {
    const lockLifetime = 1500;
    const collection = "jobs_lock_lifetime";
    const jobs = mongoDb.collection(collection);
    const creator = await makeAgenda(collection);
    const job = await creator.now("fragile", { attempt: 1 });

    // A worker process locks the job, starts it, and is killed with SIGKILL while it runs.
    const worker = spawn(process.execPath, ["--import", "tsx", WORKER, db.serverUri, db.dbName, collection, String(lockLifetime)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(worker);
    let stderr = "";
    worker.stderr!.on("data", (d) => (stderr += d));
    const lines = createInterface({ input: worker.stdout! });
    const started = new Promise<string>((resolve, reject) => {
      lines.on("line", (line) => {
        const msg = JSON.parse(line) as { started?: string };
        if (msg.started) resolve(msg.started);
      });
      worker.once("exit", (code) => reject(new Error(`worker exited (${code}) before starting the job: ${stderr}`)));
    });
    expect(await started).toBe(String(job.attrs._id));
    const exited = once(worker, "exit");
    worker.kill("SIGKILL");
    await exited;

    const locked = await jobs.findOne({ _id: idOf(job) });
    expect(locked!.lockedAt).toBeInstanceOf(Date);
    expect(locked!.lastModifiedBy).toBe("doomed-worker");
    const lockedAt = (locked!.lockedAt as Date).getTime();

    // A healthy worker does not take the job while the lock is fresh, but does once it expired.
    const rescuer = await makeAgenda(collection, { name: "rescuer" });
    const runs: number[] = [];
    rescuer.define("fragile", async () => void runs.push(Date.now()), { lockLifetime });
    await rescuer.start();
    await waitFor("the rescued run", () => runs.length === 1);
    expect(runs[0] - lockedAt).toBeGreaterThanOrEqual(lockLifetime - 5);
    await waitFor("the run to be recorded", async () => (await jobs.findOne({ _id: idOf(job) }))?.lastFinishedAt);
    await sleep(300);
    expect(runs).toHaveLength(1);
    const after = await jobs.findOne({ _id: idOf(job) });
    expect(after).toMatchObject({ lockedAt: null, nextRunAt: null, lastModifiedBy: "rescuer" });
  });

  it("drain() waits for the running job to finish", async () => {
    const agenda = await makeAgenda("jobs_drain");
    let finished = false;
    let started = false;
    agenda.define("slow", async () => {
      started = true;
      await sleep(300);
      finished = true;
    });
    await agenda.start();
    await agenda.now("slow");
    await waitFor("the job to start", () => started);
    const result = await agenda.drain(WAIT_DEADLINE_MS);
    expect(finished).toBe(true);
    expect(result).toMatchObject({ timedOut: false, running: 0 });
  });
});

describe("cancel and disable", () => {
  it("cancel removes the matching jobs only", async () => {
    const agenda = await makeAgenda("jobs_cancel");
    const a = await Promise.all([1, 2, 3].map((i) => agenda.schedule("in 1 hour", "c1", { i, tag: i === 2 ? "x" : "y" })));
    await agenda.schedule("in 1 hour", "c2", { i: 4 });
    const jobs = mongoDb.collection("jobs_cancel");
    expect(await agenda.cancel({ data: { tag: "x" } })).toBe(1);
    expect(await agenda.cancel({ id: String(a[0].attrs._id) })).toBe(1);
    expect(await jobs.countDocuments()).toBe(2);
    expect(await agenda.cancel({ name: "c1" })).toBe(1);
    expect(await agenda.cancel({ name: "c1" })).toBe(0);
    expect((await jobs.find().toArray()).map((j) => j.name)).toEqual(["c2"]);
  });

  it("a disabled job does not run until enabled again", async () => {
    const agenda = await makeAgenda("jobs_disable");
    const runs: number[] = [];
    agenda.define("d", async (job: Job<{ i: number }>) => void runs.push(job.attrs.data.i));
    await agenda.now("d", { i: 1 });
    await agenda.now("other", { i: 2 });
    expect(await agenda.disable({ name: "d" })).toBe(1);
    const jobs = mongoDb.collection("jobs_disable");
    expect(await jobs.countDocuments({ disabled: true })).toBe(1);
    await agenda.start();
    await sleep(500);
    expect(runs).toEqual([]);
    expect(await agenda.enable({ name: "d" })).toBe(1);
    await waitFor("the enabled job to run", () => runs.length === 1);
    expect(runs).toEqual([1]);
  });
});

describe("several workers", () => {
  it("two Agenda instances on one database never run the same job twice", async () => {
    const collection = "jobs_shared";
    const counters: Collection<{ _id: string; n: number; by: string[] }> = mongoDb.collection("job_runs");
    const perInstance: Record<string, number> = { a: 0, b: 0 };
    const workers = await Promise.all(
      ["a", "b"].map(async (name) => {
        const agenda = await makeAgenda(collection, { name, lockLimit: 20, defaultConcurrency: 10, maxConcurrency: 10 });
        agenda.define("count", async (job) => {
          perInstance[name]++;
          await counters.updateOne({ _id: String(job.attrs._id) }, { $inc: { n: 1 }, $push: { by: name } }, { upsert: true });
          await sleep(5);
        });
        return agenda;
      }),
    );
    const producer = await makeAgenda(collection);
    await Promise.all(workers.map((w) => w.start()));
    const created = await Promise.all(Array.from({ length: 200 }, (_, i) => producer.now("count", { i })));
    const ids = created.map((j) => String(j.attrs._id));
    expect(new Set(ids).size).toBe(200);

    const jobs = mongoDb.collection(collection);
    await waitForProgress("all 200 runs", () => counters.countDocuments(), 200);
    await waitForProgress("every job to be finished", () => jobs.countDocuments({ lastFinishedAt: { $ne: null } }), 200);
    await sleep(400); // room for a late duplicate run to show up
    const all = await counters.find().toArray();
    expect(all).toHaveLength(200);
    expect(all.filter((c) => c.n !== 1)).toEqual([]);
    expect(new Set(all.map((c) => c._id))).toEqual(new Set(ids));
    expect(perInstance.a + perInstance.b).toBe(200);
    expect(perInstance.a).toBeGreaterThan(0);
    expect(perInstance.b).toBeGreaterThan(0);
  });
});

describe("change streams", () => {
  it("watch() on the engine fails with the standalone error 40573", async () => {
    if (!db.embedded) return; // a real replica set supports change streams
    const stream = mongoDb.collection("jobs_watch").watch();
    const err = await stream.next().then(
      () => null,
      (e: unknown) => e,
    );
    await stream.close();
    expect(err).toMatchObject({ code: 40573, codeName: "Location40573" });
  });

  it("with a change-stream notification channel that cannot start, jobs still run by polling", async () => {
    const channel = new MongoChangeStreamNotificationChannel({ db: mongoDb, collection: "jobs_changestream" });
    const channelErrors: unknown[] = [];
    const states: string[] = [];
    channel.on("error", (e: unknown) => channelErrors.push(e));
    channel.on("stateChange", (state: string) => states.push(state));
    const agenda = await makeAgenda("jobs_changestream", { notificationChannel: channel });
    const runs: number[] = [];
    agenda.define("cs", async (job: Job<{ i: number }>) => void runs.push(job.attrs.data.i));
    await agenda.start();
    await agenda.now("cs", { i: 1 });
    await agenda.now("cs", { i: 2 });
    await waitFor("both jobs to run", () => runs.length === 2);
    expect(runs.sort()).toEqual([1, 2]);
    if (db.embedded) {
      // The stream's aggregate was refused (40573): the channel gave up its connection and retries,
      // while Agenda kept polling.
      expect(states.slice(0, 2)).toEqual(["connecting", "connected"]);
      await waitFor("the channel to notice its stream failed", () => states.includes("reconnecting"));
      expect(channelErrors.filter((e) => (e as { code?: number }).code !== 40573)).toEqual([]);
    }
  });
});
