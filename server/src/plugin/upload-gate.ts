/**
 * Large plugin bodies (results, heartbeats carrying wardrobe pages) are read only a few at a time
 * per seller: one seller cannot make the server buffer many PLUGIN_BODY_LIMIT bodies at once. The
 * extension sends one such body at a time, so the limit never touches a well-behaved seller.
 */
import type { RequestHandler } from "express";
import { AppError } from "../http/errors.js";

const RETRY_AFTER_SECONDS = 5;

export class SellerUploadGate {
  private readonly inFlight = new Map<number, number>();

  constructor(private readonly perSeller: number) {}

  /** Admits the request (after authentication) or refuses it with 429 + Retry-After before its body is read. */
  readonly middleware: RequestHandler = (req, res, next) => {
    const userId = req.principal?.userId;
    if (userId === undefined) return next();
    const count = this.inFlight.get(userId) ?? 0;
    if (count >= this.perSeller) {
      throw new AppError(429, "RATE_LIMITED", `At most ${this.perSeller} large uploads (results, sync pages) of one seller are read at a time; send it again shortly.`, {
        headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
      });
    }
    this.inFlight.set(userId, count + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(userId) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(userId);
      else this.inFlight.set(userId, left);
    };
    res.once("finish", release);
    res.once("close", release);
    next();
  };

  inFlightOf(userId: number): number {
    return this.inFlight.get(userId) ?? 0;
  }
}
