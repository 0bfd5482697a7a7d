/**
 * Open/ended state of sessions as this process last read it, for a bounded time.
 *
 * Every authenticated request (an extension polls every few seconds) would otherwise read its
 * session from the database. A session ended in this process (logout, refresh-token reuse) is
 * marked ended here at once; one ended by another process is seen at most `ttlMs` late: through
 * the revocation feed (revocations.ts) while it keeps the cache's trust, else when the entry ages
 * out. ttlMs = 0 turns the cache off.
 */
interface Entry {
  userId: number;
  open: boolean;
  readAt: number;
}

export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  /** Until then every revocation older than `ttlMs` is known here (the feed polls): open entries need no re-read. */
  private trustedUntil = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 200_000,
  ) {}

  /** true/false when known and fresh; undefined when the database must be asked. */
  isOpen(sessionId: string, userId: number, now = Date.now()): boolean | undefined {
    const entry = this.entries.get(sessionId);
    if (!entry) return undefined;
    // An ended session stays ended: its entry is trusted whatever its age.
    if (!entry.open) return false;
    if (now >= this.trustedUntil && now - entry.readAt >= this.ttlMs) {
      this.entries.delete(sessionId);
      return undefined;
    }
    return entry.userId === userId;
  }

  remember(sessionId: string, userId: number, open: boolean, now = Date.now()): void {
    if (this.ttlMs <= 0 && open) return;
    // A read that started before this process ended the session must not reopen it.
    if (open && this.entries.get(sessionId)?.open === false) return;
    // Re-inserting moves the entry to the end, so the oldest read is evicted first.
    this.entries.delete(sessionId);
    this.entries.set(sessionId, { userId, open, readAt: now });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  /** The revocation feed has seen every revocation made before `until` − ttlMs. */
  trustUntil(until: number): void {
    this.trustedUntil = until;
  }

  /** Ended in this process: refused from now on, without asking the database. */
  ended(sessionId: string): void {
    this.remember(sessionId, 0, false);
  }
}
