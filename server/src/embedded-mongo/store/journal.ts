import fs from "node:fs";
import path from "node:path";
import { BSON, type Document } from "bson";
import { DESERIALIZE_OPTIONS } from "../wire.js";

export type JournalRecord =
  | { o: "put"; d: string; c: string; doc: Document }
  | { o: "del"; d: string; c: string; id: unknown }
  | { o: "createCollection"; d: string; c: string; options: Document }
  | { o: "dropCollection"; d: string; c: string }
  | { o: "dropDatabase"; d: string }
  | { o: "createIndex"; d: string; c: string; spec: Document }
  | { o: "dropIndex"; d: string; c: string; name: string }
  | { o: "rename"; d: string; c: string; toDb: string; toC: string };

const JOURNAL_FILE = "journal.bson";
const LOCK_FILE = "engine.lock";

/**
 * Append-only log of every change, as BSON documents back to back. A write is acknowledged only
 * after its records reached the file (write(2)), so a SIGKILL loses nothing acknowledged; a torn
 * record at the end (power loss mid-write) is cut off at replay.
 */
export class Journal {
  private fd: number;
  private pending: Uint8Array[] = [];
  private bytes = 0;
  private recordsSinceCompaction = 0;
  readonly file: string;

  private constructor(
    readonly dir: string,
    private readonly fsyncEachCommit: boolean,
  ) {
    this.file = path.join(dir, JOURNAL_FILE);
    this.fd = fs.openSync(this.file, "a");
    this.bytes = fs.fstatSync(this.fd).size;
  }

  /**
   * Takes the directory's lock, then replays the journal into `apply` (if given) and opens it for
   * appending. The lock comes first: a refused engine must not read, let alone truncate, a journal
   * that another engine is writing.
   */
  static open(dir: string, options: { fsync?: boolean } = {}, apply?: (record: JournalRecord) => void): Journal {
    fs.mkdirSync(dir, { recursive: true });
    acquireLock(dir);
    try {
      if (apply) Journal.replay(dir, apply);
      return new Journal(dir, options.fsync ?? false);
    } catch (err) {
      releaseLock(dir);
      throw err;
    }
  }

  /** Reads every whole record; a torn tail is truncated so later appends start clean. */
  static replay(dir: string, apply: (record: JournalRecord) => void): number {
    const file = path.join(dir, JOURNAL_FILE);
    if (!fs.existsSync(file)) return 0;
    const data = fs.readFileSync(file);
    let offset = 0;
    let count = 0;
    while (offset + 4 <= data.length) {
      const size = data.readInt32LE(offset);
      if (size < 5 || offset + size > data.length) break;
      let record: JournalRecord;
      try {
        record = BSON.deserialize(data.subarray(offset, offset + size), DESERIALIZE_OPTIONS) as JournalRecord;
      } catch {
        break;
      }
      apply(record);
      offset += size;
      count++;
    }
    if (offset < data.length) fs.truncateSync(file, offset);
    return count;
  }

  append(record: JournalRecord): void {
    const buf = BSON.serialize(record);
    this.pending.push(buf);
    this.recordsSinceCompaction++;
  }

  /** Writes what the current command changed; called before its reply is sent. */
  commit(): void {
    if (this.pending.length === 0) return;
    const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    let written = 0;
    while (written < buf.length) written += fs.writeSync(this.fd, buf, written);
    this.bytes += buf.length;
    if (this.fsyncEachCommit) fs.fsyncSync(this.fd);
  }

  get size(): number {
    return this.bytes;
  }

  get records(): number {
    return this.recordsSinceCompaction;
  }

  /** Replaces the log with a snapshot of the live state, atomically (write, fsync, rename). */
  rewrite(snapshot: Iterable<JournalRecord>): void {
    this.commit();
    const tmp = this.file + ".compact";
    const fd = fs.openSync(tmp, "w");
    let size = 0;
    let chunk: Uint8Array[] = [];
    let chunkBytes = 0;
    const flush = () => {
      const buf = Buffer.concat(chunk, chunkBytes);
      let written = 0;
      while (written < buf.length) written += fs.writeSync(fd, buf, written);
      size += buf.length;
      chunk = [];
      chunkBytes = 0;
    };
    let count = 0;
    for (const record of snapshot) {
      const buf = BSON.serialize(record);
      chunk.push(buf);
      chunkBytes += buf.length;
      count++;
      if (chunkBytes > 1 << 20) flush();
    }
    flush();
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, this.file);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, "a");
    this.bytes = size;
    this.recordsSinceCompaction = count;
  }

  close(): void {
    this.commit();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    releaseLock(this.dir);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** One engine per data directory: a second would interleave two journals into one file. */
const openInThisProcess = new Set<string>();

function acquireLock(dir: string): void {
  const resolved = path.resolve(dir);
  if (openInThisProcess.has(resolved)) throw new Error(`data directory ${dir} is already open in this process`);
  const lock = path.join(dir, LOCK_FILE);
  if (fs.existsSync(lock)) {
    const pid = Number(fs.readFileSync(lock, "utf8").trim());
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new Error(`data directory ${dir} is in use by process ${pid}`);
    }
  }
  fs.writeFileSync(lock, String(process.pid));
  openInThisProcess.add(resolved);
}

function releaseLock(dir: string): void {
  openInThisProcess.delete(path.resolve(dir));
  fs.rmSync(path.join(dir, LOCK_FILE), { force: true });
}
