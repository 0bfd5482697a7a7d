/**
 * Which sellers may have a task to claim, kept in this process's memory so that an empty poll —
 * what nearly every poll is — is answered without the database.
 *
 * A seller is marked when the lifecycle says one of its extension tasks became pending (created,
 * retried, lease expired, handed back, resumed) and unmarked when a claim in the database found
 * nothing. Work this process was not told about — made by another server process, a scheduled
 * task coming due, a lease ending — is found by one query for every seller at once, made at start
 * and then every `recheckMs`: it is found that late at most. Until start() (and after stop()) every
 * seller counts as marked, so polls go to the database as before.
 *
 * Each mark carries a sequence number: a claim that found nothing clears the mark only if no newer
 * one came meanwhile, and a recheck keeps the marks made while it ran.
 *
 * A mark also counts the tasks this process was told about: each claim takes one off, and the claim
 * that takes the last clears the mark, so a seller's queue emptied here costs no claim that finds
 * nothing. A seller found by a recheck has a count nobody knows: its mark stays until such a claim.
 * Should the count miss a task (another process queued it), the next recheck marks the seller again.
 */
import type { Logger } from "pino";

export interface ClaimHintsOptions {
  recheckMs: number;
  /** Every seller with a task to claim now (one query). */
  findSellersWithWork: () => Promise<number[]>;
  /** These sellers were found with work by a recheck (to wake their held polls). */
  onFound: (userIds: number[]) => void;
  logger: Logger;
}

interface Mark {
  sequence: number;
  /** Tasks to claim this process knows of; Infinity when a recheck found the seller. */
  known: number;
}

export class ClaimHints {
  private readonly marks = new Map<number, Mark>();
  private sequence = 0;
  private active = false;
  private timer: NodeJS.Timeout | null = null;
  private rechecking: Promise<void> | null = null;

  constructor(private readonly options: ClaimHintsOptions) {}

  get isActive(): boolean {
    return this.active;
  }

  /** Sellers currently marked (for tests and metrics). */
  get size(): number {
    return this.marks.size;
  }

  /** The mark to hand back to clear(), or null: nothing to claim, answer without the database. */
  markOf(userId: number): number | null {
    if (!this.active) return -1;
    return this.marks.get(userId)?.sequence ?? null;
  }

  /** One more task of the seller to claim; `many`: some, how many is not known. */
  mark(userId: number, many = false): void {
    const known = many ? Infinity : (this.marks.get(userId)?.known ?? 0) + 1;
    this.marks.set(userId, { sequence: ++this.sequence, known });
  }

  /** A claim took one of the seller's tasks: the last one known clears the mark. */
  claimed(userId: number): void {
    const mark = this.marks.get(userId);
    if (!mark) return;
    mark.known -= 1;
    if (mark.known <= 0) this.marks.delete(userId);
  }

  /** A claim that started while `seen` was the seller's mark found nothing. */
  clear(userId: number, seen: number): void {
    if (this.marks.get(userId)?.sequence === seen) this.marks.delete(userId);
  }

  async start(): Promise<void> {
    if (this.active) return;
    await this.recheck();
    this.active = true;
    this.timer = setInterval(() => void this.recheck(), this.options.recheckMs);
    this.timer.unref();
  }

  stop(): void {
    this.active = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One query for every seller; marks made while it ran are kept. */
  recheck(): Promise<void> {
    if (this.rechecking) return this.rechecking;
    this.rechecking = this.replaceMarks().finally(() => {
      this.rechecking = null;
    });
    return this.rechecking;
  }

  private async replaceMarks(): Promise<void> {
    const before = this.sequence;
    let found: number[];
    try {
      found = await this.options.findSellersWithWork();
    } catch (err) {
      this.options.logger.warn({ err }, "claimable-work recheck failed");
      return;
    }
    const withWork = new Set(found);
    // A mark older than the query whose seller has nothing to claim any more goes; one whose seller
    // still has work keeps its count and takes a new sequence, so a claim that found nothing before
    // the query cannot clear it.
    for (const [userId, mark] of this.marks) if (mark.sequence <= before && !withWork.has(userId)) this.marks.delete(userId);
    for (const userId of found) {
      const mark = this.marks.get(userId);
      if (!mark) this.marks.set(userId, { sequence: ++this.sequence, known: Infinity });
      else if (mark.sequence <= before) mark.sequence = ++this.sequence;
    }
    if (found.length) this.options.onFound(found);
  }
}
