import { BSON, Long, type Document } from "bson";
import { MongoCommandError } from "./errors.js";

const DEFAULT_FIRST_BATCH = 101;
/** Replies stay under MongoDB's 16 MiB document limit, with room for the envelope. */
const MAX_BATCH_BYTES = 15 * 1024 * 1024;
const IDLE_TIMEOUT_MS = 10 * 60 * 1000;

interface OpenCursor {
  ns: string;
  docs: Document[];
  position: number;
  lastUsed: number;
}

/** Server-side cursors over materialised results, served in batches by getMore. */
export class CursorStore {
  private readonly open = new Map<bigint, OpenCursor>();
  private nextId = 1n;

  /** The `cursor` field of a find/aggregate/list reply; a cursor stays open only if documents remain. */
  first(ns: string, docs: Document[], batchSize?: number, singleBatch = false): Document {
    const cursor: OpenCursor = { ns, docs, position: 0, lastUsed: Date.now() };
    // batchSize 0 asks for an open cursor and no documents yet (getMore fetches them).
    const firstBatch = batchSize === 0 && !singleBatch ? [] : this.takeBatch(cursor, batchSize ?? DEFAULT_FIRST_BATCH);
    let id = 0n;
    if (!singleBatch && cursor.position < docs.length) {
      id = this.nextId++;
      this.open.set(id, cursor);
    }
    return { firstBatch, id: Long.fromBigInt(id), ns };
  }

  more(id: bigint, ns: string, batchSize?: number): Document {
    this.sweep();
    const cursor = this.open.get(id);
    if (!cursor) throw new MongoCommandError("CursorNotFound", `cursor id ${id} not found`);
    if (cursor.ns !== ns) throw new MongoCommandError("BadValue", `cursor ${id} belongs to ${cursor.ns}, not ${ns}`);
    cursor.lastUsed = Date.now();
    const nextBatch = this.takeBatch(cursor, batchSize ?? Infinity);
    const done = cursor.position >= cursor.docs.length;
    if (done) this.open.delete(id);
    return { nextBatch, id: Long.fromBigInt(done ? 0n : id), ns };
  }

  kill(ids: bigint[]): { killed: bigint[]; notFound: bigint[] } {
    const killed: bigint[] = [];
    const notFound: bigint[] = [];
    for (const id of ids) (this.open.delete(id) ? killed : notFound).push(id);
    return { killed, notFound };
  }

  get size(): number {
    return this.open.size;
  }

  private takeBatch(cursor: OpenCursor, batchSize: number): Document[] {
    const batch: Document[] = [];
    let bytes = 0;
    const limit = batchSize > 0 ? batchSize : Infinity;
    while (cursor.position < cursor.docs.length && batch.length < limit) {
      const doc = cursor.docs[cursor.position];
      bytes += BSON.calculateObjectSize(doc);
      if (bytes > MAX_BATCH_BYTES && batch.length > 0) break;
      batch.push(doc);
      cursor.position++;
    }
    return batch;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, cursor] of this.open) if (now - cursor.lastUsed > IDLE_TIMEOUT_MS) this.open.delete(id);
  }
}
