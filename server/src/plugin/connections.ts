/**
 * Whether each seller's extension is connected. Every poll (and heartbeat, result, status report)
 * notes the extension in memory — a map write, so the poll path stays as fast as it was — and
 * a repeating flush writes the sellers noted since, at most once per PLUGIN_SEEN_WRITE_MS each.
 * A change the seller must see at once (paused, resumed, another Vinted account, first contact) is
 * written straight away. Reads merge this process's memory with what every process wrote.
 */
import { Schema, type Connection, type Model } from "mongoose";
import type { Logger } from "pino";
import type { ExtensionConnection, ExtensionPauseReason, ExtensionReportQuery, ExtensionStatusBody } from "../../../shared/extension-connection.js";
import { RepeatingWork } from "../lifecycle/repeating.js";

interface Seen {
  user_id: number;
  last_poll_at: Date | null;
  last_seen_at: Date;
  client_version: string | null;
  vinted_user_id: number | null;
  vinted_login: string | null;
  pause_reason: ExtensionPauseReason | null;
  pause_message: string | null;
  paused_until: Date | null;
}

const seenSchema = new Schema<Seen>(
  {
    user_id: { type: Number, required: true },
    last_poll_at: { type: Date, default: null },
    last_seen_at: { type: Date, required: true },
    client_version: { type: String, default: null },
    vinted_user_id: { type: Number, default: null },
    vinted_login: { type: String, default: null },
    pause_reason: { type: String, default: null },
    pause_message: { type: String, default: null },
    paused_until: { type: Date, default: null },
  },
  { collection: "extension_connections", versionKey: false },
);
seenSchema.index({ user_id: 1 }, { unique: true });

const DUPLICATE_KEY = 11000;
/** Sellers written per flush command. */
const FLUSH_BATCH = 1_000;

/** The per-write failures of an unordered batch (a lone write fails with its own code); null for any other error. */
function writeErrorsOf(err: unknown): Array<{ code?: number }> | null {
  if (typeof err !== "object" || err === null) return null;
  const { writeErrors, code } = err as { writeErrors?: unknown; code?: unknown };
  if (Array.isArray(writeErrors) && writeErrors.length > 0) return writeErrors as Array<{ code?: number }>;
  return typeof code === "number" ? [{ code }] : null;
}

export interface ConnectionSettings {
  seenWriteMs: number;
  offlineAfterMs: number;
}

export class ExtensionConnections {
  private readonly model: Model<Seen>;
  private readonly seen = new Map<number, Seen>();
  private readonly unwritten = new Set<number>();
  private readonly flushLoop: RepeatingWork;

  constructor(
    connection: Connection,
    private readonly settings: ConnectionSettings,
    private readonly logger: Logger,
  ) {
    this.model = connection.models.ExtensionConnection ?? connection.model<Seen>("ExtensionConnection", seenSchema);
    this.flushLoop = new RepeatingWork("extension heartbeat writes", settings.seenWriteMs, () => this.flush(), logger);
  }

  /** A poll for tasks; a poll means the extension is not paused. */
  notePoll(userId: number, report: ExtensionReportQuery, now = new Date()): void {
    const before = this.seen.get(userId);
    const next: Seen = {
      ...(before ?? blank(userId, now)),
      last_poll_at: now,
      last_seen_at: now,
      ...(report.client_version ? { client_version: report.client_version } : {}),
      ...(report.vinted_user_id !== undefined || report.vinted_login ? { vinted_user_id: report.vinted_user_id ?? null, vinted_login: report.vinted_login ?? null } : {}),
      pause_reason: null,
      pause_message: null,
      paused_until: null,
    };
    this.store(next, before);
  }

  /** Any other call of the extension (lease heartbeat, result): it is alive, nothing more. */
  noteAlive(userId: number, now = new Date()): void {
    const before = this.seen.get(userId);
    this.store({ ...(before ?? blank(userId, now)), last_seen_at: now }, before);
  }

  /** The extension's own report, sent while it does not poll (paused) or when its state changes. */
  noteStatus(userId: number, body: ExtensionStatusBody, now = new Date()): void {
    const before = this.seen.get(userId);
    const next: Seen = {
      ...(before ?? blank(userId, now)),
      last_seen_at: now,
      ...(body.client_version ? { client_version: body.client_version } : {}),
      ...(body.vinted !== undefined ? { vinted_user_id: body.vinted?.user_id ?? null, vinted_login: body.vinted?.login ?? null } : {}),
      pause_reason: body.paused?.reason ?? null,
      pause_message: body.paused ? body.paused.message : null,
      paused_until: body.paused?.until ? new Date(body.paused.until) : null,
    };
    this.store(next, before);
  }

  async get(userId: number, now = new Date()): Promise<ExtensionConnection> {
    const stored = await this.model.findOne({ user_id: userId }).lean<Seen>();
    const mine = this.seen.get(userId);
    const latest = mine && (!stored || mine.last_seen_at >= stored.last_seen_at) ? mine : stored;
    return this.view(latest ?? null, now);
  }

  /**
   * Writes every seller noted since the last flush, once each, in one unordered batch per
   * FLUSH_BATCH sellers: a round trip per seller cost more than the polls it records.
   */
  async flush(): Promise<void> {
    const users = [...this.unwritten];
    this.unwritten.clear();
    for (let from = 0; from < users.length; from += FLUSH_BATCH) await this.writeMany(users.slice(from, from + FLUSH_BATCH));
  }

  start(): void {
    this.flushLoop.start();
  }

  /** Stops the flushes, writing what is still unwritten. */
  async stop(): Promise<void> {
    await this.flushLoop.stop();
    await this.flush();
  }

  private store(next: Seen, before: Seen | undefined): void {
    this.seen.set(next.user_id, next);
    if (before && !mustShowAtOnce(before, next)) {
      this.unwritten.add(next.user_id);
      return;
    }
    this.unwritten.delete(next.user_id);
    void this.write(next.user_id);
  }

  /** The newest report wins: a slower process never writes an older one over it. */
  private async write(userId: number): Promise<void> {
    await this.writeMany([userId]);
  }

  private async writeMany(userIds: number[]): Promise<void> {
    const writes = userIds.flatMap((userId) => {
      const seen = this.seen.get(userId);
      return seen ? [{ updateOne: { filter: { user_id: userId, last_seen_at: { $lte: seen.last_seen_at } }, update: { $set: { ...seen } }, upsert: true } }] : [];
    });
    if (writes.length === 0) return;
    try {
      // The driver's own bulkWrite: these are whole, typed documents, and mongoose's per-write casting
      // cost more than the write when a flush carries thousands of sellers.
      await this.model.collection.bulkWrite(writes, { ordered: false });
    } catch (err) {
      // An upsert that met a newer document of another process fails on the unique user_id: that one stands.
      const failures = writeErrorsOf(err);
      if (failures !== null && failures.every((failure) => failure.code === DUPLICATE_KEY)) return;
      this.logger.warn({ err, userIds: userIds.length === 1 ? userIds[0] : userIds.length }, "could not record the extension's heartbeat");
    }
  }

  private view(seen: Seen | null, now: Date): ExtensionConnection {
    const offlineAfterSeconds = this.settings.offlineAfterMs / 1000;
    if (!seen) {
      return {
        state: "never_seen",
        connected: false,
        last_poll_at: null,
        last_seen_at: null,
        client_version: null,
        vinted_account: null,
        paused: false,
        pause_reason: null,
        pause_message: null,
        paused_until: null,
        offline_after_seconds: offlineAfterSeconds,
      };
    }
    const timedPauseOver = seen.paused_until !== null && seen.paused_until <= now;
    const paused = seen.pause_reason !== null && !timedPauseOver;
    const connected = now.getTime() - seen.last_seen_at.getTime() <= this.settings.offlineAfterMs;
    return {
      state: !connected ? "offline" : paused ? "paused" : "online",
      connected,
      last_poll_at: seen.last_poll_at?.toISOString() ?? null,
      last_seen_at: seen.last_seen_at.toISOString(),
      client_version: seen.client_version,
      vinted_account: seen.vinted_user_id !== null || seen.vinted_login !== null ? { user_id: seen.vinted_user_id, login: seen.vinted_login } : null,
      paused,
      pause_reason: paused ? seen.pause_reason : null,
      pause_message: paused ? seen.pause_message : null,
      paused_until: paused ? (seen.paused_until?.toISOString() ?? null) : null,
      offline_after_seconds: offlineAfterSeconds,
    };
  }
}

function blank(userId: number, now: Date): Seen {
  return { user_id: userId, last_poll_at: null, last_seen_at: now, client_version: null, vinted_user_id: null, vinted_login: null, pause_reason: null, pause_message: null, paused_until: null };
}

/** What the seller must see without waiting for the next flush. */
function mustShowAtOnce(before: Seen, next: Seen): boolean {
  return (
    before.pause_reason !== next.pause_reason ||
    before.paused_until?.getTime() !== next.paused_until?.getTime() ||
    before.vinted_user_id !== next.vinted_user_id ||
    before.vinted_login !== next.vinted_login ||
    before.client_version !== next.client_version ||
    (before.last_poll_at === null && next.last_poll_at !== null)
  );
}
