import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * One engine per data directory: a second would interleave two journals into one file. The lock
 * file holds the owner's pid and is created atomically (O_CREAT|O_EXCL), so of two engines starting
 * at once exactly one gets it; a lock left by a dead process (SIGKILL) is taken over.
 */
export const LOCK_FILE = "engine.lock";

/** A lock file without a pid yet is being written by its creator, unless it is older than this. */
const UNWRITTEN_LOCK_GRACE_MS = 5_000;
const MAX_TAKEOVER_ROUNDS = 10;

const openInThisProcess = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid in a lock file; null when the file is gone; NaN when it holds no pid (yet). */
function readOwner(file: string): number | null {
  try {
    const text = fs.readFileSync(file, "utf8").trim();
    return /^\d+$/.test(text) ? Number(text) : Number.NaN;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

function tryCreate(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    fs.writeSync(fd, String(process.pid));
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

function isStale(file: string, owner: number): boolean {
  if (Number.isNaN(owner)) {
    try {
      return Date.now() - fs.statSync(file).mtimeMs > UNWRITTEN_LOCK_GRACE_MS;
    } catch {
      return false;
    }
  }
  // Our own pid in a lock of a directory we do not hold: a previous life of this pid (a container's
  // pid 1 restarted after a kill), so stale too.
  return owner === process.pid || !isAlive(owner);
}

/**
 * Removes a stale lock without ever removing a live one: the file is first renamed to a name of our
 * own (atomic, one winner), then checked again; a lock that turns out to be fresh is put back.
 */
function takeOverStale(file: string, owner: number): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const moved = readOwner(aside);
  if (moved === owner || (moved !== null && Number.isNaN(moved) && Number.isNaN(owner))) {
    fs.rmSync(aside, { force: true });
    return;
  }
  // Another engine created its lock between our read and our rename: give it back (link fails,
  // harmlessly, if yet another lock appeared meanwhile; that one's owner then wins).
  try {
    fs.linkSync(aside, file);
  } catch {
    // someone else's lock is in place
  }
  fs.rmSync(aside, { force: true });
}

export function acquireLock(dir: string): void {
  const resolved = path.resolve(dir);
  if (openInThisProcess.has(resolved)) throw new Error(`data directory ${dir} is already open in this process`);
  const file = path.join(dir, LOCK_FILE);
  for (let round = 0; round < MAX_TAKEOVER_ROUNDS; round++) {
    if (tryCreate(file)) {
      openInThisProcess.add(resolved);
      return;
    }
    const owner = readOwner(file);
    if (owner === null) continue;
    if (!isStale(file, owner)) {
      throw new Error(Number.isNaN(owner) ? `data directory ${dir} is being opened by another process` : `data directory ${dir} is in use by process ${owner}`);
    }
    takeOverStale(file, owner);
  }
  throw new Error(`data directory ${dir}: could not take its lock (${LOCK_FILE}) after ${MAX_TAKEOVER_ROUNDS} attempts`);
}

export function releaseLock(dir: string): void {
  const resolved = path.resolve(dir);
  if (!openInThisProcess.delete(resolved)) return;
  const file = path.join(dir, LOCK_FILE);
  // Only our own lock: never one another process took over after ours was (wrongly) judged stale.
  if (readOwner(file) === process.pid) fs.rmSync(file, { force: true });
}
