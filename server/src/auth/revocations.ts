/**
 * Sessions ended by any server process, learned by one small query per interval instead of a read
 * of each session when its cached state ages out. With 10,000 extensions polling, that is one
 * query every AUTH_SESSION_CACHE_MS / 2 instead of 10,000 session reads per AUTH_SESSION_CACHE_MS.
 *
 * Each poll asks for the sessions revoked since a while before the previous poll (the margin covers
 * clocks of other hosts running behind), marks them ended in the cache, and extends the cache's
 * trust until one interval after the poll started. A poll that fails or comes late lets that trust
 * lapse: the cache then falls back to reading sessions whose entry aged out.
 */
import type { Logger } from "pino";
import type { BackgroundService } from "../lifecycle/services.js";
import { RepeatingWork } from "../lifecycle/repeating.js";
import type { AuthModels } from "./model.js";
import type { SessionCache } from "./session-cache.js";

/** How far behind this host's clock another host's revoked_at may be, and still be seen. */
const CLOCK_MARGIN_MS = 60_000;

export class RevocationFeed implements BackgroundService {
  readonly name = "session-revocations";
  private readonly loop: RepeatingWork;

  constructor(
    private readonly sessions: AuthModels["Session"],
    private readonly cache: SessionCache,
    /** AUTH_SESSION_CACHE_MS: the longest a revocation by another process may go unseen. */
    private readonly delayMs: number,
    logger: Logger,
  ) {
    this.loop = new RepeatingWork("session revocations", Math.max(50, Math.floor(delayMs / 2)), () => this.poll(), logger);
  }

  async start(): Promise<void> {
    if (this.delayMs > 0) this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    this.cache.trustUntil(0);
  }

  /** One query: the sessions revoked lately are ended here; open entries are trusted until the next poll is due. */
  async poll(now = Date.now()): Promise<number> {
    const since = new Date(now - this.delayMs - CLOCK_MARGIN_MS);
    const revoked = await this.sessions.find({ revoked_at: { $gte: since } }, { _id: 1 }).lean<Array<{ _id: string }>>();
    for (const session of revoked) this.cache.ended(session._id);
    this.cache.trustUntil(now + this.delayMs);
    return revoked.length;
  }
}
