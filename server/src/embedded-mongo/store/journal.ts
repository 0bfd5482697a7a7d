import fs from "node:fs";
import path from "node:path";
import { BSON, type Document } from "bson";
import { DESERIALIZE_OPTIONS } from "../wire.js";
import { acquireLock, releaseLock } from "./lock.js";

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
/** The data is every user's password hash and every brand's data: readable by its owner only. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

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
    this.fd = openForAppend(this.file);
    this.bytes = fs.fstatSync(this.fd).size;
  }

  /**
   * Takes the directory's lock, then replays the journal into `apply` (if given) and opens it for
   * appending. The lock comes first: a refused engine must not read, let alone truncate, a journal
   * that another engine is writing.
   */
  static open(dir: string, options: { fsync?: boolean } = {}, apply?: (record: JournalRecord) => void): Journal {
    makePrivateDirectory(dir);
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
    this.appendSerialized(BSON.serialize(record));
  }

  /** A record already serialized (by `serializeRecord`). */
  appendSerialized(buf: Uint8Array): void {
    this.pending.push(buf);
    this.recordsSinceCompaction++;
  }

  /** Writes what the current command changed; called before its reply is sent. False: nothing to write. */
  commit(): boolean {
    if (this.pending.length === 0) return false;
    const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    let written = 0;
    while (written < buf.length) written += fs.writeSync(this.fd, buf, written);
    this.bytes += buf.length;
    if (this.fsyncEachCommit) fs.fsyncSync(this.fd);
    return true;
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
    const fd = fs.openSync(tmp, "w", FILE_MODE);
    fs.fchmodSync(fd, FILE_MODE);
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
    this.fd = openForAppend(this.file);
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

/** Opens the journal for appending, owner-only (a journal written before that rule is tightened). */
function openForAppend(file: string): number {
  const fd = fs.openSync(file, "a", FILE_MODE);
  fs.fchmodSync(fd, FILE_MODE);
  return fd;
}

/** The data directory, created (or tightened) to owner-only: nobody else may list, read or connect. */
export function makePrivateDirectory(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  fs.chmodSync(dir, DIR_MODE);
}
