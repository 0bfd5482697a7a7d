import type { Document } from "bson";
import { CursorStore } from "./cursors.js";
import { MongoCommandError, errorReply } from "./errors.js";
import { Storage, type StorageOptions } from "./store/storage.js";
import { adminCommands } from "./commands/admin.js";
import { ddlCommands } from "./commands/ddl.js";
import { readCommands } from "./commands/read.js";
import { writeCommands } from "./commands/write.js";

export interface CommandContext {
  engine: Engine;
  cmd: Document;
  db: string;
  /** The command's first key's value (collection name for most commands). */
  target: unknown;
  connectionId: number;
}

export type CommandHandler = (ctx: CommandContext) => Document;

const HANDLERS: Record<string, CommandHandler> = {
  ...adminCommands,
  ...ddlCommands,
  ...readCommands,
  ...writeCommands,
};

/** Names are matched without regard to case, as mongod does for its legacy spellings (isMaster, ismaster). */
const BY_LOWER_NAME = new Map(Object.entries(HANDLERS).map(([name, h]) => [name.toLowerCase(), h]));

/** The database engine: storage plus cursors, answering one command document at a time. */
export class Engine {
  readonly storage: Storage;
  readonly cursors = new CursorStore();
  readonly startedAt = new Date();

  constructor(options: StorageOptions) {
    this.storage = new Storage(options);
  }

  /** Runs a command synchronously, so each command is atomic with respect to every other one. */
  run(cmd: Document, connectionId: number): Document {
    const name = Object.keys(cmd)[0];
    try {
      if (!name) throw new MongoCommandError("BadValue", "empty command");
      rejectTransactions(cmd);
      const handler = BY_LOWER_NAME.get(name.toLowerCase());
      if (!handler) throw new MongoCommandError("CommandNotFound", `no such command: '${name}'`);
      const db = typeof cmd.$db === "string" ? cmd.$db : "admin";
      const reply = handler({ engine: this, cmd, db, target: cmd[name], connectionId });
      return { ...reply, ok: 1 };
    } catch (err) {
      return errorReply(err);
    } finally {
      this.storage.commit();
    }
  }

  /** Deletes documents whose TTL index says they expired. */
  expireDocuments(now = new Date()): number {
    let removed = 0;
    for (const db of this.storage.databaseNames()) {
      for (const coll of this.storage.collections(db)) {
        for (const doc of coll.expired(now)) {
          this.storage.remove(coll, doc);
          removed++;
        }
      }
    }
    this.storage.commit();
    return removed;
  }

  close(): void {
    this.storage.close();
  }
}

/** A standalone mongod refuses transactions with exactly this error; drivers rely on it. */
function rejectTransactions(cmd: Document): void {
  if (cmd.startTransaction || cmd.autocommit === false) {
    throw new MongoCommandError(
      "IllegalOperation",
      "Transaction numbers are only allowed on a replica set member or mongos",
    );
  }
}
