/**
 * Each user's brand memberships as this process last read them, for a bounded time.
 *
 * Every brand-scoped request, every extension claim and every result checks the caller's
 * memberships; reading them from the database each time was a third of an extension task's round
 * trips. A membership added or removed in this process is seen at once (the user's entry is
 * dropped, and a read that began before the change is not kept); one changed by another server
 * process is seen when the entry ages out, so at most `ttlMs` late. ttlMs = 0 turns the cache off.
 */
import type { BrandRole } from "../../../shared/brands.js";

export interface CachedMembership {
  brand_id: number;
  role: BrandRole;
  personal: boolean;
}

interface Entry {
  memberships: readonly CachedMembership[];
  readAt: number;
}

export class MembershipCache {
  private readonly entries = new Map<number, Entry>();
  /** Moves on every change made in this process: a read that saw an older one is not kept. */
  private generation = 0;
  private readonly inFlight = new Map<number, { generation: number; read: Promise<readonly CachedMembership[]> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 200_000,
  ) {}

  /** The user's memberships: from memory while fresh, else from `read` (concurrent misses share one read). */
  async get(userId: number, read: () => Promise<CachedMembership[]>, now = Date.now()): Promise<readonly CachedMembership[]> {
    if (this.ttlMs <= 0) return read();
    const entry = this.entries.get(userId);
    if (entry && now - entry.readAt < this.ttlMs) return entry.memberships;
    const pending = this.inFlight.get(userId);
    if (pending && pending.generation === this.generation) return pending.read;
    const generation = this.generation;
    const reading = read().then((memberships) => {
      if (generation === this.generation) this.remember(userId, memberships, now);
      return memberships;
    });
    const flight = { generation, read: reading };
    this.inFlight.set(userId, flight);
    try {
      return await reading;
    } finally {
      if (this.inFlight.get(userId) === flight) this.inFlight.delete(userId);
    }
  }

  /** A membership of the user changed in this process: read again on the next check. */
  forget(userId: number): void {
    this.generation++;
    this.entries.delete(userId);
    this.inFlight.delete(userId);
  }

  private remember(userId: number, memberships: readonly CachedMembership[], now: number): void {
    // Re-inserting moves the entry to the end, so the oldest read is evicted first.
    this.entries.delete(userId);
    this.entries.set(userId, { memberships, readAt: now });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }
}
