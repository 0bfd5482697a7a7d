import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { BSON } from "bson";
import { MongoClient, MongoServerError } from "mongodb";
import { startEmbeddedMongo, type EmbeddedMongo } from "../../server/src/embedded-mongo/index.js";
import { onRealMongo } from "../helpers/mongo.js";

/**
 * The engine's journal across crashes and restarts, driven through the driver. Everything here is
 * about the embedded engine itself, so the file is skipped against a real MongoDB (MONGODB_URI).
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CRASH_WRITER = fileURLToPath(new URL("./fixtures/crash-writer.ts", import.meta.url));
const JOURNAL = "journal.bson";

/** Documents whose `_id` is not an ObjectId. */
type Loose = { _id: number | string; [key: string]: unknown };

const tempDirs: string[] = [];
const children: ChildProcess[] = [];
const engines: EmbeddedMongo[] = [];
const clients: MongoClient[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "markethub-durability-"));
  tempDirs.push(dir);
  return dir;
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** A child in its own process group (npm → sh → tsx → node), so the whole group can be signalled by its id. */
function spawnChild(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  children.push(child);
  return child;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/** Resolves with the first stdout JSON line that satisfies `accept`; rejects if the child exits first. */
function waitForLine<T>(child: ChildProcess, accept: (msg: any) => T | undefined, timeoutMs = 20_000): Promise<T> {
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for the child: ${stderr}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        return; // npm's own output
      }
      const value = accept(msg);
      if (value !== undefined) {
        clearTimeout(timer);
        resolve(value);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code ?? signal}) early: ${stderr}`));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function start(dataDir: string, port?: number): Promise<{ server: EmbeddedMongo; client: MongoClient }> {
  const server = await startEmbeddedMongo({ dataDir, port });
  engines.push(server);
  const client = await MongoClient.connect(server.uri, { serverSelectionTimeoutMS: 5000 });
  clients.push(client);
  return { server, client };
}

async function stop(handle: { server: EmbeddedMongo; client: MongoClient }): Promise<void> {
  await handle.client.close();
  await handle.server.close();
}

const journalSize = (dir: string) => fs.statSync(path.join(dir, JOURNAL)).size;

afterAll(async () => {
  for (const child of children) if (isRunning(child)) signalGroup(child, "SIGKILL");
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await Promise.all(engines.map((e) => e.close().catch(() => undefined)));
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(onRealMongo)("crash safety", () => {
  it("a SIGKILLed engine loses no acknowledged write, and its journal keeps working", async () => {
    const dir = tempDir();
    const writer = spawnChild(process.execPath, ["--import", "tsx", CRASH_WRITER, dir]);
    const acked = new Set<number>();
    const updated = new Set<number>();
    let counter = 0;
    const enough = waitForLine(writer, (msg) => {
      if (typeof msg.ack === "number") acked.add(msg.ack);
      if (typeof msg.updated === "number") updated.add(msg.updated);
      if (typeof msg.counter === "number") counter = Math.max(counter, msg.counter);
      return acked.size >= 600 ? true : undefined;
    });
    await enough;
    const exited = once(writer, "exit");
    writer.kill("SIGKILL"); // mid-stream: four writers have requests in flight
    const [, signal] = await exited;
    expect(signal).toBe("SIGKILL");
    // Lines already in the pipe were acknowledged before the kill too.
    await new Promise((r) => setImmediate(r));

    const first = await start(dir);
    const items = first.client.db("crash").collection<{ _id: number; email: string; payload: string; updated?: boolean }>("items");
    const docs = await items.find().toArray();
    const ids = new Set(docs.map((d) => d._id));
    expect(docs.length).toBeGreaterThanOrEqual(acked.size);
    expect([...acked].filter((id) => !ids.has(id))).toEqual([]);
    for (const doc of docs) {
      expect(doc.email).toBe(`user${doc._id}@example.com`);
      expect(doc.payload).toHaveLength(200 + (doc._id % 50));
    }
    const notUpdated = [...updated].filter((id) => !docs.find((d) => d._id === id)?.updated);
    expect(notUpdated).toEqual([]);
    const c = await first.client.db("crash").collection<{ _id: string; n: number }>("counters").findOne({ _id: "c" });
    expect(c!.n).toBeGreaterThanOrEqual(counter);

    // The unique index came back with the data, consistent with it.
    const indexes = await items.indexes();
    expect(indexes.find((i) => i.name === "email_1")).toMatchObject({ key: { email: 1 }, unique: true });
    const someId = [...acked][Math.floor(acked.size / 2)];
    expect(await items.countDocuments({ email: { $in: docs.map((d) => d.email) } })).toBe(docs.length);
    expect((await items.findOne({ email: `user${someId}@example.com` }))?._id).toBe(someId);
    const dup = await items.insertOne({ _id: -1, email: `user${someId}@example.com`, payload: "" }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(MongoServerError);
    expect((dup as MongoServerError).code).toBe(11000);

    // The journal can be appended to and replayed again.
    await items.insertMany(Array.from({ length: 20 }, (_, k) => ({ _id: 1_000_000 + k, email: `after${k}@example.com`, payload: "y" })));
    await items.deleteOne({ _id: someId });
    await stop(first);
    const second = await start(dir);
    const items2 = second.client.db("crash").collection<Loose>("items");
    expect(await items2.countDocuments()).toBe(docs.length + 20 - 1);
    expect(await items2.findOne({ _id: someId })).toBeNull();
    expect(await items2.countDocuments({ email: /^after/ })).toBe(20);
    // The deleted document's unique key is free again; the others are still taken.
    await items2.insertOne({ _id: someId, email: `user${someId}@example.com`, payload: "again" });
    expect((await items2.insertOne({ _id: -2, email: "after3@example.com" }).catch((e: MongoServerError) => e))).toMatchObject({ code: 11000 });
    await stop(second);
  });

  it("a torn or garbage tail of the journal is cut off at restart, losing nothing acknowledged", async () => {
    const dir = tempDir();
    const first = await start(dir);
    const coll = first.client.db("torn").collection<{ _id: number; v: string }>("docs");
    await coll.createIndex({ v: 1 }, { unique: true });
    await coll.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: i, v: `v${i}` })));
    await stop(first);
    const cleanSize = journalSize(dir);

    // A record cut in half, as a power loss mid-write leaves it.
    const record = BSON.serialize({ o: "put", d: "torn", c: "docs", doc: { _id: 999, v: "v999" } });
    fs.appendFileSync(path.join(dir, JOURNAL), record.subarray(0, Math.floor(record.length / 2)));
    const second = await start(dir);
    const coll2 = second.client.db("torn").collection<{ _id: number; v: string }>("docs");
    expect(await coll2.countDocuments()).toBe(100);
    expect(await coll2.findOne({ _id: 999 })).toBeNull();
    expect(journalSize(dir)).toBe(cleanSize);
    await coll2.insertOne({ _id: 100, v: "v100" });
    await stop(second);

    // Plain garbage: an absurd length, then a plausible length over bytes that are not BSON.
    fs.appendFileSync(path.join(dir, JOURNAL), Buffer.from([0x20, 0, 0, 0, ...Array(27).fill(0xab), 0]));
    fs.appendFileSync(path.join(dir, JOURNAL), Buffer.from([0xff, 0xff, 0xff, 0x7f, 0xde, 0xad, 0xbe, 0xef]));
    const third = await start(dir);
    const coll3 = third.client.db("torn").collection<{ _id: number; v: string }>("docs");
    expect(await coll3.countDocuments()).toBe(101);
    expect((await coll3.find({ v: { $in: ["v0", "v50", "v100"] } }).toArray()).map((d) => d._id).sort((a, b) => a - b)).toEqual([0, 50, 100]);
    expect(await coll3.insertOne({ _id: 500, v: "v7" }).catch((e: MongoServerError) => e.code)).toBe(11000);
    await coll3.insertOne({ _id: 101, v: "v101" });
    await stop(third);
    const fourth = await start(dir);
    expect(await fourth.client.db("torn").collection("docs").countDocuments()).toBe(102);
    await stop(fourth);
  });
});

describe.skipIf(onRealMongo)("compaction", () => {
  it("many updates of few documents: compact shrinks the journal and the data survives a restart", async () => {
    const dir = tempDir();
    const first = await start(dir);
    const db = first.client.db("compaction");
    const coll = db.collection<{ _id: string; n: number; history: number[] }>("hot");
    await coll.createIndex({ n: -1 });
    await coll.insertMany(["a", "b", "c", "d", "e"].map((_id) => ({ _id, n: 0, history: [] })));
    for (let round = 0; round < 10; round++) {
      await coll.bulkWrite(
        Array.from({ length: 200 }, (_, k) => ({
          updateOne: { filter: { _id: ["a", "b", "c", "d", "e"][k % 5] }, update: { $inc: { n: 1 }, $set: { last: round * 200 + k } } },
        })),
      );
    }
    await coll.updateOne({ _id: "a" }, { $push: { history: { $each: [1, 2, 3] } } });
    const before = journalSize(dir);
    expect(before).toBeGreaterThan(100_000);
    await db.command({ compact: "hot" });
    const after = journalSize(dir);
    expect(after).toBeLessThan(before / 20);
    // Writes after the compaction go to the new journal.
    await coll.updateOne({ _id: "e" }, { $inc: { n: 1000 } });
    const expected = await coll.find().sort({ _id: 1 }).toArray();
    expect(expected.map((d) => d.n)).toEqual([400, 400, 400, 400, 1400]);
    await stop(first);

    const second = await start(dir);
    const coll2 = second.client.db("compaction").collection("hot");
    expect(await coll2.find().sort({ _id: 1 }).toArray()).toEqual(expected);
    expect((await coll2.indexes()).map((i) => i.name)).toEqual(["_id_", "n_-1"]);
    expect((await coll2.find({ n: { $gt: 500 } }).toArray()).map((d) => d._id)).toEqual(["e"]);
    await stop(second);
  });

  it("the journal compacts itself once it is far larger than the data", async () => {
    const dir = tempDir();
    const first = await start(dir);
    const coll = first.client.db("autocompact").collection<{ _id: number; n: number }>("c");
    await coll.insertMany([{ _id: 1, n: 0 }, { _id: 2, n: 0 }]);
    // Just past the default slack of 50 000 superfluous records, in one batch.
    const ops = Array.from({ length: 50_100 }, (_, k) => ({ updateOne: { filter: { _id: 1 + (k % 2) }, update: { $inc: { n: 1 } } } }));
    const res = await coll.bulkWrite(ops, { ordered: true });
    expect(res.modifiedCount).toBe(50_100);
    expect(journalSize(dir)).toBeLessThan(10_000);
    await stop(first);
    const second = await start(dir);
    expect(await second.client.db("autocompact").collection("c").find().toArray()).toEqual([{ _id: 1, n: 25_050 }, { _id: 2, n: 25_050 }]);
    await stop(second);
  });
});

describe.skipIf(onRealMongo)("one engine per data directory", () => {
  it("a second engine in the same process is refused and the first keeps working", async () => {
    const dir = tempDir();
    const first = await start(dir);
    await first.client.db("lock").collection<Loose>("x").insertOne({ _id: 1 });
    const size = journalSize(dir);
    await expect(startEmbeddedMongo({ dataDir: dir })).rejects.toThrow(/already open|in use/);
    expect(journalSize(dir)).toBe(size);
    await first.client.db("lock").collection<Loose>("x").insertOne({ _id: 2 });
    expect(await first.client.db("lock").collection<Loose>("x").countDocuments()).toBe(2);
    await stop(first);
    // Closed: the directory is free again.
    const again = await start(dir);
    expect(await again.client.db("lock").collection<Loose>("x").countDocuments()).toBe(2);
    await stop(again);
  });

  it("an engine that cannot listen releases its data directory", async () => {
    const dir = tempDir();
    const blocker = await startEmbeddedMongo();
    engines.push(blocker);
    await expect(startEmbeddedMongo({ dataDir: dir, port: blocker.port })).rejects.toThrow(/EADDRINUSE/);
    const ok = await start(dir);
    await ok.client.db("x").command({ ping: 1 });
    await stop(ok);
    await blocker.close();
  });

  it("npm run db listens on --port with --data-dir, holds the directory against others, and stops cleanly", async () => {
    const dir = tempDir();
    const port = await freePort();
    const db = spawnChild("npm", ["run", "--silent", "db", "--", "--port", String(port), "--data-dir", dir]);
    const uri = await waitForLine(db, (msg) => (typeof msg.uri === "string" ? (msg.uri as string) : undefined));
    expect(uri).toBe(`mongodb://127.0.0.1:${port}`);
    const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 5000 });
    clients.push(client);
    expect(await client.db("admin").command({ ping: 1 })).toMatchObject({ ok: 1 });
    await client.db("cli").collection<Loose>("x").insertOne({ _id: "kept", at: new Date(0) });

    // Another process's engine may not open the directory while the CLI holds it, nor touch its
    // journal: bytes past the last whole record (as a write in progress leaves them) stay put.
    fs.appendFileSync(path.join(dir, JOURNAL), Buffer.from([0x40, 0, 0]));
    const size = journalSize(dir);
    await expect(startEmbeddedMongo({ dataDir: dir })).rejects.toThrow(/in use by process/);
    expect(journalSize(dir)).toBe(size);

    // Ctrl-C in a terminal: SIGINT to the whole group (npm, sh, tsx and the engine's node).
    const enginePid = Number(fs.readFileSync(path.join(dir, "engine.lock"), "utf8"));
    expect(enginePid).toBeGreaterThan(0);
    await client.close();
    signalGroup(db, "SIGINT");
    const deadline = Date.now() + 10_000;
    while (isAlive(enginePid)) {
      if (Date.now() > deadline) throw new Error("the engine did not stop on SIGINT");
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(fs.existsSync(path.join(dir, "engine.lock"))).toBe(false);
    const after = await start(dir);
    expect(await after.client.db("cli").collection<Loose>("x").findOne({ _id: "kept" })).toEqual({ _id: "kept", at: new Date(0) });
    await stop(after);
  });
});
