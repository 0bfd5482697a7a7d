/**
 * Login throttling kept in the database, so that it holds across every server process: a fixed
 * window counter per key (`auth_throttle`), used both for the per-address rate limit of the auth
 * endpoints (an express-rate-limit store) and for the per-account lockout after failed logins.
 */
import type { Store, Options as RateLimitOptions, IncrementResponse } from "express-rate-limit";
import { Schema, type Connection, type Model } from "mongoose";
import { bindModel } from "../db/models.js";
import { AppError } from "../http/errors.js";

const DUPLICATE_KEY = 11000;
/** Each round loses only to a concurrent writer that made progress, so a few always suffice. */
const MAX_ROUNDS = 5;

interface ThrottleDoc {
  /** "ip:<address>", "fail:<email>" (failed logins in the window), "lock:<email>" (locked until reset_at). */
  _id: string;
  count: number;
  /** End of the window (or of the lockout); the document is useless, and deleted, after it. */
  reset_at: Date;
}

const ThrottleSchema = new Schema<ThrottleDoc>(
  {
    _id: { type: String, required: true },
    count: { type: Number, required: true },
    reset_at: { type: Date, required: true, expires: 0 },
  },
  { collection: "auth_throttle", versionKey: false },
);

export function throttleModel(connection: Connection): Model<ThrottleDoc> {
  return bindModel(connection, "AuthThrottle", ThrottleSchema);
}

export interface WindowCount {
  count: number;
  resetAt: Date;
}

/** Counts one more hit in the key's current window (starting a new window if there is none). */
export async function hit(Throttle: Model<ThrottleDoc>, key: string, windowMs: number): Promise<WindowCount> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const now = new Date();
    const live = await Throttle.findOneAndUpdate({ _id: key, reset_at: { $gt: now } }, { $inc: { count: 1 } }, { returnDocument: "after" }).lean();
    if (live) return { count: live.count, resetAt: live.reset_at };
    const resetAt = new Date(now.getTime() + windowMs);
    // No live window: replace an expired one, or create it. Of two processes starting the same
    // window, one wins and the other goes round again to count itself into the winner's window.
    const restarted = await Throttle.findOneAndUpdate({ _id: key, reset_at: { $lte: now } }, { $set: { count: 1, reset_at: resetAt } }, { returnDocument: "after" }).lean();
    if (restarted) return { count: 1, resetAt };
    try {
      await Throttle.create({ _id: key, count: 1, reset_at: resetAt });
      return { count: 1, resetAt };
    } catch (err) {
      if ((err as { code?: number }).code !== DUPLICATE_KEY) throw err;
    }
  }
  throw new Error(`throttle counter ${key}: no stable window after ${MAX_ROUNDS} rounds`);
}

/** express-rate-limit's store on the database: the limit is one for all processes, not one each. */
export class DatabaseRateLimitStore implements Store {
  private windowMs = 60_000;
  readonly prefix: string;

  constructor(
    private readonly Throttle: Model<ThrottleDoc>,
    prefix = "ip:",
  ) {
    this.prefix = prefix;
  }

  init(options: RateLimitOptions): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<IncrementResponse> {
    const { count, resetAt } = await hit(this.Throttle, this.prefix + key, this.windowMs);
    return { totalHits: count, resetTime: resetAt };
  }

  async decrement(key: string): Promise<void> {
    await this.Throttle.updateOne({ _id: this.prefix + key, reset_at: { $gt: new Date() }, count: { $gt: 0 } }, { $inc: { count: -1 } });
  }

  async resetKey(key: string): Promise<void> {
    await this.Throttle.deleteOne({ _id: this.prefix + key });
  }
}

export interface LockoutSettings {
  /** Failed logins of one account within `windowSeconds` that lock it. */
  attempts: number;
  windowSeconds: number;
  /** How long the account then refuses every login, right password or not. */
  durationSeconds: number;
}

/**
 * Per-account lockout: after `attempts` failed logins within the window the account answers 429
 * (with Retry-After) to every login until the lockout ends. Unknown emails are counted the same
 * way, so the answer says nothing about which accounts exist.
 */
export class AccountLockout {
  constructor(
    private readonly Throttle: Model<ThrottleDoc>,
    private readonly settings: LockoutSettings,
  ) {}

  async assertNotLocked(email: string): Promise<void> {
    const lock = await this.Throttle.findById(`lock:${email}`, { reset_at: 1 }).lean();
    const remainingMs = lock ? lock.reset_at.getTime() - Date.now() : 0;
    if (remainingMs > 0) {
      throw new AppError(429, "RATE_LIMITED", "Too many failed logins for this account; retry later.", {
        headers: { "Retry-After": String(Math.ceil(remainingMs / 1000)) },
      });
    }
  }

  async recordFailure(email: string): Promise<void> {
    const { count } = await hit(this.Throttle, `fail:${email}`, this.settings.windowSeconds * 1000);
    if (count < this.settings.attempts) return;
    const until = new Date(Date.now() + this.settings.durationSeconds * 1000);
    await this.Throttle.updateOne({ _id: `lock:${email}` }, { $set: { count, reset_at: until } }, { upsert: true });
    // Counting starts afresh once the lockout is over.
    await this.Throttle.deleteOne({ _id: `fail:${email}` });
  }

  async recordSuccess(email: string): Promise<void> {
    await this.Throttle.deleteOne({ _id: `fail:${email}` });
  }
}
