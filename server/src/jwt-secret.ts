import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export const JWT_SECRET_MIN_LENGTH = 32;

export interface ResolvedSecret {
  value: string;
  source: "env" | "stored" | "generated";
  file?: string;
}

/**
 * Development convenience: without JWT_SECRET a random secret is generated once and kept (mode 0600)
 * in DATA_DIR, so tokens survive restarts. Production never gets here (config refuses to start).
 */
export function resolveJwtSecret(fromEnv: string | undefined, dataDir: string): ResolvedSecret {
  if (fromEnv) return { value: fromEnv, source: "env" };
  const file = path.resolve(dataDir, "jwt-secret");
  const stored = readStoredSecret(file);
  if (stored) return { value: stored, source: "stored", file };
  const value = randomBytes(48).toString("base64url");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // "wx": if another process wrote it first, fail rather than overwrite its tokens' key.
  try {
    fs.writeFileSync(file, `${value}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    const raced = readStoredSecret(file);
    if (raced) return { value: raced, source: "stored", file };
    throw err;
  }
  return { value, source: "generated", file };
}

function readStoredSecret(file: string): string | null {
  try {
    const value = fs.readFileSync(file, "utf8").trim();
    return value.length >= JWT_SECRET_MIN_LENGTH ? value : null;
  } catch {
    return null;
  }
}
