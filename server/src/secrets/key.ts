/**
 * The key that seals credentials at rest (marketplace tokens, webhook signing secrets).
 * CREDENTIALS_KEY in production (config refuses to start without it); elsewhere a random key is
 * generated once and kept (mode 0600) in DATA_DIR, like the development JWT secret, so sealed
 * values survive restarts.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { decodeCredentialsKey } from "../config.js";

export interface ResolvedKey {
  key: Buffer;
  source: "env" | "stored" | "generated";
  file?: string;
}

export const CREDENTIALS_KEY_FILE = "credentials-key";

export function resolveCredentialsKey(fromEnv: string | undefined, dataDir: string): ResolvedKey {
  if (fromEnv) {
    const key = decodeCredentialsKey(fromEnv);
    if (!key) throw new Error("CREDENTIALS_KEY is not 32 bytes of hex or base64");
    return { key, source: "env" };
  }
  const file = path.resolve(dataDir, CREDENTIALS_KEY_FILE);
  const stored = readStoredKey(file);
  if (stored) return { key: stored, source: "stored", file };
  const key = randomBytes(32);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    // "wx": another process that wrote it first wins; its key is read back instead.
    fs.writeFileSync(file, `${key.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    const raced = readStoredKey(file);
    if (raced) return { key: raced, source: "stored", file };
    throw err;
  }
  return { key, source: "generated", file };
}

function readStoredKey(file: string): Buffer | null {
  try {
    return decodeCredentialsKey(fs.readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}
