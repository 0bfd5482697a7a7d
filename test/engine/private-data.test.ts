/**
 * The in-process engine keeps every user's password hash and every brand's data: no other local
 * user may connect to it or read its files, and two engines never share a data directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { connectDatabase } from "../../server/src/db/connect.js";
import { Engine, startEmbeddedMongo } from "../../server/src/embedded-mongo/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const LOCK_RACER = fileURLToPath(new URL("./fixtures/lock-racer.ts", import.meta.url));

const tempDirs: string[] = [];
const children: ChildProcess[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mh-private-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

/** Every TCP port this process listens on (Linux: /proc/net/tcp*, state 0A = LISTEN, by socket inode). */
function listeningTcpPorts(): Set<number> {
  const inodes = new Set(
    fs
      .readdirSync("/proc/self/fd")
      .map((fd) => {
        try {
          return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))?.[1];
        } catch {
          return undefined;
        }
      })
      .filter((inode): inode is string => Boolean(inode)),
  );
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[3] === "0A" && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(":")[1], 16));
    }
  }
  return ports;
}

describe("the in-process engine (npm start without MONGODB_URI)", () => {
  it("listens on a Unix socket in its 0700 data directory, opens no TCP port, and writes its files 0600", async () => {
    const dataDir = tempDir();
    const portsBefore = listeningTcpPorts();
    const db = await connectDatabase({ dataDir });
    try {
      const dbDir = path.join(dataDir, "db");
      const socketPath = path.join(dbDir, "engine.sock");
      expect(db.uri).toBe(`mongodb://${encodeURIComponent(socketPath)}/markethub`);
      expect([...listeningTcpPorts()].filter((p) => !portsBefore.has(p))).toEqual([]);
      expect(modeOf(dbDir)).toBe(0o700);
      expect(fs.statSync(socketPath).isSocket()).toBe(true);
      expect(modeOf(socketPath)).toBe(0o600);

      await db.connection.collection("users").insertOne({ email: "a@example.com", password_hash: "scrypt$..." });
      expect(modeOf(path.join(dbDir, "journal.bson"))).toBe(0o600);
      expect(modeOf(path.join(dbDir, "engine.lock"))).toBe(0o600);
      // A compaction writes a new file and renames it over the journal: owner-only as well.
      db.embedded!.engine.storage.compact();
      expect(modeOf(path.join(dbDir, "journal.bson"))).toBe(0o600);
      expect(await db.connection.collection("users").countDocuments()).toBe(1);
    } finally {
      await db.close();
    }
    expect(fs.existsSync(path.join(dataDir, "db", "engine.sock"))).toBe(false);
  });

  it("tightens a data directory and journal left readable by an older version, and replaces a dead engine's socket", async () => {
    const dataDir = tempDir();
    const dbDir = path.join(dataDir, "db");
    fs.mkdirSync(dbDir, { mode: 0o755 });
    fs.chmodSync(dbDir, 0o755);
    fs.writeFileSync(path.join(dbDir, "journal.bson"), Buffer.alloc(0), { mode: 0o644 });
    fs.chmodSync(path.join(dbDir, "journal.bson"), 0o644);
    // What a SIGKILLed engine leaves: its socket file, nobody listening.
    const socketPath = path.join(dbDir, "engine.sock");
    const killed = spawn(process.execPath, ["-e", "require('net').createServer().listen(process.argv[1], () => console.log('up'))", socketPath]);
    children.push(killed);
    await new Promise((resolve) => createInterface({ input: killed.stdout! }).once("line", resolve));
    killed.kill("SIGKILL");
    await new Promise((resolve) => killed.once("exit", resolve));
    expect(fs.statSync(socketPath).isSocket()).toBe(true);

    const db = await connectDatabase({ dataDir });
    try {
      expect(modeOf(dbDir)).toBe(0o700);
      expect(modeOf(path.join(dbDir, "journal.bson"))).toBe(0o600);
      await db.connection.collection("x").insertOne({ ok: true });
    } finally {
      await db.close();
    }
  });

  it("without a data directory (memory only) the socket is in a private temporary directory, removed at close", async () => {
    const db = await connectDatabase({ dataDir: null });
    const socketPath = db.embedded!.host;
    try {
      expect(socketPath.startsWith(os.tmpdir())).toBe(true);
      expect(modeOf(path.dirname(socketPath))).toBe(0o700);
      await db.connection.collection("x").insertOne({ ok: true });
    } finally {
      await db.close();
    }
    expect(fs.existsSync(path.dirname(socketPath))).toBe(false);
  });
});

describe("the data directory's lock", () => {
  it("engines of several processes opening one directory over and over never hold it at the same time", async () => {
    const dir = tempDir();
    const contenders = 4;
    const go = path.join(tempDir(), "go");
    const contending = Array.from({ length: contenders }, () => {
      const child = spawn(process.execPath, ["--import", "tsx", LOCK_RACER, dir, go, "1500"], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
      children.push(child);
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      const next = async () => {
        const { value, done } = await lines.next();
        if (done) throw new Error("contender exited before answering");
        return JSON.parse(value as string) as { ready?: true; held: number; refused: number; overlaps: number; errors: string[] };
      };
      return { ready: next(), next };
    });
    // Every contender is up and spinning before any starts.
    await Promise.all(contending.map((c) => c.ready));
    fs.writeFileSync(go, "");
    const outcomes = await Promise.all(contending.map((c) => c.next()));
    expect(outcomes.map((o) => o.overlaps)).toEqual(Array(contenders).fill(0));
    // They did contend: the lock was taken many times and refused many times.
    expect(outcomes.reduce((n, o) => n + o.held, 0)).toBeGreaterThan(contenders);
    expect(outcomes.reduce((n, o) => n + o.refused, 0)).toBeGreaterThan(0);
    for (const o of outcomes) for (const error of o.errors) expect(error).toMatch(/in use by process|being opened/);
    expect(fs.existsSync(path.join(dir, "engine.lock"))).toBe(false);
  }, 60_000);

  it("a lock left by a dead process is taken over; a live owner's, or one being written, is respected", async () => {
    const dir = tempDir();
    const lock = path.join(dir, "engine.lock");
    // A pid that surely is not running: a child that has exited.
    const gone = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => gone.once("exit", resolve));
    fs.writeFileSync(lock, String(gone.pid));
    const engine = new Engine({ dataDir: dir });
    expect(fs.readFileSync(lock, "utf8")).toBe(String(process.pid));
    engine.close();

    fs.writeFileSync(lock, String(process.ppid));
    expect(() => new Engine({ dataDir: dir })).toThrow(`in use by process ${process.ppid}`);
    expect(fs.readFileSync(lock, "utf8")).toBe(String(process.ppid));

    // Created, pid not written yet: another engine is opening the directory right now.
    fs.writeFileSync(lock, "");
    expect(() => new Engine({ dataDir: dir })).toThrow(/being opened/);
    fs.rmSync(lock);
    await expect(startEmbeddedMongo({ dataDir: dir }).then((db) => db.close())).resolves.toBeUndefined();
  });
});

describe("npm run db", () => {
  it("--socket listens on a 0600 Unix socket in a 0700 directory, without warning; on TCP it warns that anyone local can connect", async () => {
    const dir = tempDir();
    const socketPath = path.join(dir, "private", "engine.sock");
    const run = (args: string[]) => {
      const child = spawn("npm", ["run", "--silent", "db", "--", "--in-memory", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
      children.push(child);
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      const uri = new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on("line", (line) => {
          if (line.startsWith("{")) resolve((JSON.parse(line) as { uri: string }).uri);
        });
        child.once("exit", (code) => reject(new Error(`npm run db exited (${code}): ${stderr}`)));
      });
      const stop = async () => {
        process.kill(-child.pid!, "SIGINT");
        if (child.exitCode === null) await new Promise((resolve) => child.once("exit", resolve));
      };
      return { uri, stderr: () => stderr, stop };
    };

    const onSocket = run(["--socket", socketPath]);
    try {
      expect(await onSocket.uri).toBe(`mongodb://${encodeURIComponent(socketPath)}`);
      expect(modeOf(path.dirname(socketPath))).toBe(0o700);
      expect(modeOf(socketPath)).toBe(0o600);
      const client = await MongoClient.connect(`mongodb://${encodeURIComponent(socketPath)}`, { serverSelectionTimeoutMS: 5000 });
      expect(await client.db("admin").command({ ping: 1 })).toMatchObject({ ok: 1 });
      await client.close();
      expect(onSocket.stderr()).not.toContain("warning");
    } finally {
      await onSocket.stop();
    }

    const onTcp = run(["--port", "0"]);
    try {
      expect(await onTcp.uri).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+$/);
      const deadline = Date.now() + 10_000;
      while (!onTcp.stderr().includes("no authentication") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(onTcp.stderr()).toContain("any local user can connect");
    } finally {
      await onTcp.stop();
    }
  }, 60_000);
});
