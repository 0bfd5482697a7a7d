/**
 * AES-256-GCM sealing of small secrets. Each sealed value carries its own random 96-bit IV and its
 * tag; `context` (e.g. "marketplace-connection:9:2") is bound as additional data, so a sealed value
 * copied onto another row does not open there.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

export interface SealedValue {
  /** Format version. */
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error("AES-256-GCM needs a 32-byte key");
  }

  seal(plaintext: string, context: string): SealedValue {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return { v: 1, iv: iv.toString("base64"), tag: cipher.getAuthTag().toString("base64"), data: data.toString("base64") };
  }

  /** Throws when the value was altered, sealed with another key, or for another context. */
  open(sealed: SealedValue, context: string): string {
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(sealed.iv, "base64"));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64")), decipher.final()]).toString("utf8");
  }

  sealJson(value: unknown, context: string): SealedValue {
    return this.seal(JSON.stringify(value), context);
  }

  openJson(sealed: SealedValue, context: string): unknown {
    return JSON.parse(this.open(sealed, context));
  }

  /** A key for another purpose (e.g. signing photo links), derived so it never equals this one. */
  derive(purpose: string): Buffer {
    return createHmac("sha256", this.key).update(`markethub:${purpose}`).digest();
  }
}
