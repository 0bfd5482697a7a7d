/**
 * Signed, expiring links to one photo. A marketplace fetches pictures by URL
 * (MercadoLibre's `pictures[].source`) and cannot send our bearer token; the link carries a
 * signature over the photo id and expiry instead, so it opens that photo only, and only until then.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export class PhotoLinks {
  constructor(
    private readonly key: Buffer,
    private readonly publicUrl: string,
  ) {}

  token(photoId: string, expiresAt: Date): string {
    const expiry = Math.floor(expiresAt.getTime() / 1000);
    return `${photoId}.${expiry}.${this.sign(photoId, expiry)}`;
  }

  url(photoId: string, expiresAt: Date): string {
    return `${this.publicUrl}/api/v1/product-photos/${this.token(photoId, expiresAt)}`;
  }

  /** The photo id a token opens, or null when it is forged, altered or expired. */
  verify(token: string, now = new Date()): string | null {
    const match = /^([a-f0-9]{24})\.(\d{1,12})\.([a-f0-9]{32})$/.exec(token);
    if (!match) return null;
    const [, photoId, expiryText, signature] = match;
    const expiry = Number(expiryText);
    if (expiry * 1000 < now.getTime()) return null;
    const expected = Buffer.from(this.sign(photoId, expiry));
    return timingSafeEqual(expected, Buffer.from(signature)) ? photoId : null;
  }

  private sign(photoId: string, expiry: number): string {
    return createHmac("sha256", this.key).update(`${photoId}.${expiry}`).digest("hex").slice(0, 32);
  }
}
