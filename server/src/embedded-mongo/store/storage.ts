import { BSON, type Document } from "bson";
import { MongoCommandError } from "../errors.js";
import { Collection, ID_INDEX } from "./collection.js";
import type { IndexSpec } from "./index-spec.js";
import { Journal, type JournalRecord } from "./journal.js";

/** mongod's limit on one stored document (a bigger one could never be sent back in a reply). */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
/** `{}` in BSON: its length and its terminating byte. */
const EMPTY_DOCUMENT_BYTES = 5;

export interface StorageOptions {
  /** Directory of the journal; null keeps everything in memory only. */
  dataDir: string | null;
  /** fsync after every acknowledged write (survives power loss, not only process death). */
  fsync?: boolean;
  /** Compact once the journal holds this many records more than the live data needs. */
  compactionSlack?: number;
}

/**
 * Every database and collection, and the only way to change them: each change is applied in memory
 * and appended to the journal, so replaying the journal rebuilds exactly this state.
 */
export class Storage {
  private readonly databases = new Map<string, Map<string, Collection>>();
  private readonly journal: Journal | null;
  private readonly compactionSlack: number;

  constructor(options: StorageOptions) {
    this.compactionSlack = options.compactionSlack ?? 50_000;
    if (options.dataDir) {
      this.journal = Journal.open(options.dataDir, { fsync: options.fsync }, (record) => this.apply(record));
    } else {
      this.journal = null;
    }
  }

  databaseNames(): string[] {
    return [...this.databases.keys()];
  }

  collections(db: string): Collection[] {
    return [...(this.databases.get(db)?.values() ?? [])];
  }

  get(db: string, name: string): Collection | undefined {
    return this.databases.get(db)?.get(name);
  }

  /** The collection, created implicitly as MongoDB does on first write. */
  ensure(db: string, name: string): Collection {
    return this.get(db, name) ?? this.createCollection(db, name, {});
  }

  createCollection(db: string, name: string, options: Document): Collection {
    if (this.get(db, name)) throw new MongoCommandError("NamespaceExists", `Collection ${db}.${name} already exists.`);
    validateName(name);
    return this.record({ o: "createCollection", d: db, c: name, options }) as Collection;
  }

  dropCollection(db: string, name: string): boolean {
    if (!this.get(db, name)) return false;
    this.record({ o: "dropCollection", d: db, c: name });
    return true;
  }

  dropDatabase(db: string): void {
    if (this.databases.has(db)) this.record({ o: "dropDatabase", d: db });
  }

  renameCollection(db: string, name: string, toDb: string, toName: string): void {
    validateName(toName);
    this.record({ o: "rename", d: db, c: name, toDb, toC: toName });
  }

  insert(coll: Collection, doc: Document): void {
    const { size, record } = this.putRecord(coll, doc);
    if (size > MAX_DOCUMENT_BYTES) {
      throw new MongoCommandError("BadValue", `object to insert too large. size in bytes: ${size}, max size: ${MAX_DOCUMENT_BYTES}`);
    }
    coll.insert(doc);
    if (record) this.journal?.appendSerialized(record);
  }

  replace(coll: Collection, oldDoc: Document, newDoc: Document): void {
    const { size, record } = this.putRecord(coll, newDoc);
    if (size > MAX_DOCUMENT_BYTES) {
      throw new MongoCommandError("BSONObjectTooLarge", `Resulting document after update is larger than ${MAX_DOCUMENT_BYTES}`);
    }
    coll.replace(oldDoc, newDoc);
    if (record) this.journal?.appendSerialized(record);
  }

  /**
   * The journal record that stores `doc`, serialized once, and the document's own BSON size (the
   * record's size less its fixed envelope); with no journal, only the size.
   */
  private putRecord(coll: Collection, doc: Document): { size: number; record: Uint8Array | null } {
    if (!this.journal) return { size: BSON.calculateObjectSize(doc), record: null };
    let record: Uint8Array;
    try {
      record = BSON.serialize({ o: "put", d: coll.db, c: coll.name, doc });
    } catch (err) {
      // bson's serializer stops short of a document far over the limit: that is the answer.
      const size = BSON.calculateObjectSize(doc);
      if (size > MAX_DOCUMENT_BYTES) return { size, record: null };
      throw err;
    }
    const envelope = BSON.calculateObjectSize({ o: "put", d: coll.db, c: coll.name, doc: {} }) - EMPTY_DOCUMENT_BYTES;
    return { size: record.length - envelope, record };
  }

  remove(coll: Collection, doc: Document): void {
    coll.remove(doc);
    this.journal?.append({ o: "del", d: coll.db, c: coll.name, id: doc._id });
  }

  createIndex(coll: Collection, spec: IndexSpec): void {
    coll.addIndex(spec);
    this.journal?.append({ o: "createIndex", d: coll.db, c: coll.name, spec });
  }

  dropIndex(coll: Collection, name: string): void {
    coll.dropIndex(name);
    this.journal?.append({ o: "dropIndex", d: coll.db, c: coll.name, name });
  }

  /** Makes this command's changes durable; compacts the journal when it has grown well past the data. */
  commit(): void {
    // Reads write nothing, and only a write can take the journal past its compaction threshold
    // (counting the live records walks every collection: not for every command).
    if (!this.journal?.commit()) return;
    const records = this.journal.records;
    if (records > this.compactionSlack && records > this.liveRecordCount() * 2 + this.compactionSlack) this.compact();
  }

  compact(): void {
    this.journal?.rewrite(this.snapshot());
  }

  close(): void {
    this.journal?.close();
  }

  get journalBytes(): number {
    return this.journal?.size ?? 0;
  }

  private liveRecordCount(): number {
    let n = 0;
    for (const colls of this.databases.values()) for (const c of colls.values()) n += c.docs.size + c.indexSpecs.length + 1;
    return n;
  }

  private *snapshot(): Generator<JournalRecord> {
    for (const [d, colls] of this.databases) {
      for (const coll of colls.values()) {
        yield { o: "createCollection", d, c: coll.name, options: coll.options };
        for (const spec of coll.indexSpecs) yield { o: "createIndex", d, c: coll.name, spec };
        for (const doc of coll.docs.values()) yield { o: "put", d, c: coll.name, doc };
      }
    }
  }

  /** Applies a DDL record (journaled first so it is replayed in order with the document writes). */
  private record(rec: JournalRecord): Collection | undefined {
    const result = this.apply(rec);
    this.journal?.append(rec);
    return result;
  }

  private apply(rec: JournalRecord): Collection | undefined {
    switch (rec.o) {
      case "put": {
        const coll = this.get(rec.d, rec.c) ?? this.apply({ o: "createCollection", d: rec.d, c: rec.c, options: {} })!;
        const old = coll.getById(rec.doc._id);
        if (old) coll.replace(old, rec.doc);
        else coll.insert(rec.doc);
        return coll;
      }
      case "del": {
        const coll = this.get(rec.d, rec.c);
        const old = coll?.getById(rec.id);
        if (coll && old) coll.remove(old);
        return coll;
      }
      case "createCollection": {
        let colls = this.databases.get(rec.d);
        if (!colls) this.databases.set(rec.d, (colls = new Map()));
        const coll = new Collection(rec.d, rec.c, rec.options);
        colls.set(rec.c, coll);
        return coll;
      }
      case "dropCollection":
        this.databases.get(rec.d)?.delete(rec.c);
        if (this.databases.get(rec.d)?.size === 0) this.databases.delete(rec.d);
        return undefined;
      case "dropDatabase":
        this.databases.delete(rec.d);
        return undefined;
      case "createIndex": {
        const coll = this.get(rec.d, rec.c) ?? this.apply({ o: "createCollection", d: rec.d, c: rec.c, options: {} })!;
        if (!coll.findIndexSpec(rec.spec.name as string)) coll.addIndex(rec.spec as IndexSpec);
        return coll;
      }
      case "dropIndex":
        this.get(rec.d, rec.c)?.dropIndex(rec.name);
        return undefined;
      case "rename": {
        const coll = this.get(rec.d, rec.c);
        if (!coll) return undefined;
        this.databases.get(rec.d)!.delete(rec.c);
        if (this.databases.get(rec.d)!.size === 0) this.databases.delete(rec.d);
        const moved = new Collection(rec.toDb, rec.toC, coll.options);
        for (const spec of coll.indexSpecs) moved.addIndex(spec);
        for (const doc of coll.docs.values()) moved.insert(doc);
        let target = this.databases.get(rec.toDb);
        if (!target) this.databases.set(rec.toDb, (target = new Map()));
        target.set(rec.toC, moved);
        return moved;
      }
    }
  }
}

function validateName(name: string): void {
  if (!name || name.includes("\0") || name.startsWith("$") || name.startsWith(".") || name.endsWith(".")) {
    throw new MongoCommandError("InvalidNamespace", `Invalid collection name: '${name}'`);
  }
}

export { ID_INDEX };
