/**
 * Password hashing with node's scrypt (memory-hard). The parameters travel inside each hash
 * ("scrypt$N$r$p$salt$hash"), so they can be raised later: a hash made with other parameters still
 * verifies, and is replaced at the next successful login (see needsRehash).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

const KEY_LENGTH = 64;
const SALT_LENGTH = 16;
/** OWASP's scrypt minimum: N=2^17, r=8, p=1 (128 MiB, ~100-300 ms per hash on one core). */
export const OWASP_SCRYPT_COST = 17;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
/**
 * Hashes computed at once. Each takes 128 MiB and a libuv thread (shared with file I/O), so a burst
 * of logins waits its turn instead of taking the process's memory and every pool thread.
 */
const MAX_CONCURRENT_HASHES = 2;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** The parameters for a cost of 2^cost (AUTH_SCRYPT_COST; only tests go below OWASP's 17). */
export function scryptParams(cost = OWASP_SCRYPT_COST): ScryptParams {
  return { N: 2 ** cost, r: BLOCK_SIZE, p: PARALLELISM };
}

let running = 0;
const waiting: (() => void)[] = [];

async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

function deriveKey(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; node refuses anything over maxmem (32 MiB by default).
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return withHashSlot(
    () =>
      new Promise((resolve, reject) => {
        scrypt(password.normalize("NFKC"), salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key)));
      }),
  );
}

export async function hashPassword(password: string, params: ScryptParams = scryptParams()): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await deriveKey(password, salt, params);
  return ["scrypt", params.N, params.r, params.p, salt.toString("base64"), key.toString("base64")].join("$");
}

function parseHash(stored: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | null {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (scheme !== "scrypt" || !salt || !hash || ![params.N, params.r, params.p].every((x) => Number.isInteger(x) && x > 0)) return null;
  return { params, salt: Buffer.from(salt, "base64"), hash: Buffer.from(hash, "base64") };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const actual = await deriveKey(password, parsed.salt, parsed.params);
  return actual.length === parsed.hash.length && timingSafeEqual(actual, parsed.hash);
}

/** A stored hash made with other parameters than today's: rehash it once the password is known. */
export function needsRehash(stored: string, params: ScryptParams): boolean {
  const parsed = parseHash(stored);
  return !parsed || parsed.params.N !== params.N || parsed.params.r !== params.r || parsed.params.p !== params.p;
}

const dummyHashes = new Map<number, Promise<string>>();

/**
 * A hash of nothing anyone knows, checked when a login names an unknown email, so that answer
 * costs the same time as a wrong password and does not reveal which emails have accounts.
 */
export function dummyPasswordHash(params: ScryptParams = scryptParams()): Promise<string> {
  let hash = dummyHashes.get(params.N);
  if (!hash) dummyHashes.set(params.N, (hash = hashPassword(randomBytes(32).toString("base64"), params)));
  return hash;
}
