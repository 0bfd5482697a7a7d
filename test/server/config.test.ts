import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig, parseDurationSeconds } from "../../server/src/config.js";
import { startServerProcess } from "../helpers/process.js";

const tmpDirs: string[] = [];
const tmpDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "markethub-config-"));
  tmpDirs.push(dir);
  return dir;
};
afterAll(() => tmpDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

const SECRET = "s".repeat(32);

describe("loadConfig", () => {
  it("has working defaults", () => {
    const result = loadConfig({ JWT_SECRET: SECRET });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({
      nodeEnv: "development",
      port: 8000,
      host: "127.0.0.1",
      dataDir: "./data",
      mongodbUri: undefined,
      logLevel: "info",
      corsOrigins: [],
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 30 * 86_400,
      bodyLimit: "1mb",
      authRateLimit: 30,
      authRateWindowSeconds: 900,
      authLockout: { attempts: 10, windowSeconds: 900, durationSeconds: 900 },
      authScryptCost: 17,
      mongodbTimeoutMs: 10_000,
      trustProxy: false,
    });
    expect(result.warnings).toEqual([]);
  });

  it("keeps scrypt at OWASP's cost (2^17) or above unless NODE_ENV=test", () => {
    const CREDENTIALS_KEY = "ab".repeat(32);
    for (const NODE_ENV of ["production", "development"]) {
      const result = loadConfig({ NODE_ENV, JWT_SECRET: SECRET, CREDENTIALS_KEY, AUTH_SCRYPT_COST: "12" });
      expect(!result.ok && result.problems).toEqual([expect.stringMatching(/^AUTH_SCRYPT_COST: below 17/)]);
    }
    const test = loadConfig({ NODE_ENV: "test", JWT_SECRET: SECRET, AUTH_SCRYPT_COST: "12" });
    expect(test.ok && test.config.authScryptCost).toBe(12);
    const higher = loadConfig({ NODE_ENV: "production", JWT_SECRET: SECRET, CREDENTIALS_KEY, AUTH_SCRYPT_COST: "18" });
    expect(higher.ok && higher.config.authScryptCost).toBe(18);
  });

  it("parses durations, origin lists and proxy settings", () => {
    expect(["900", "90s", "15m", "12h", "30d", "1 h"].map(parseDurationSeconds)).toEqual([900, 90, 900, 43_200, 2_592_000, 3600]);
    expect(parseDurationSeconds("soon")).toBeNull();
    const result = loadConfig({ JWT_SECRET: SECRET, CORS_ORIGINS: "https://a.example.com, http://localhost:5173", TRUST_PROXY: "1" });
    expect(result.ok && result.config.corsOrigins).toEqual(["https://a.example.com", "http://localhost:5173"]);
    expect(result.ok && result.config.trustProxy).toBe(1);
  });

  it("reports every problem at once", () => {
    const result = loadConfig({
      PORT: "eighty",
      LOG_LEVEL: "loud",
      ACCESS_TOKEN_TTL: "forever",
      CORS_ORIGINS: "https://ok.example.com,not an origin",
      JWT_SECRET: "too-short",
      MONGODB_URI: "http://db",
      BODY_LIMIT: "huge",
      NODE_ENV: "staging",
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const named = result.problems.map((p) => p.split(":")[0]).sort();
    expect(named).toEqual(["ACCESS_TOKEN_TTL", "BODY_LIMIT", "CORS_ORIGINS", "JWT_SECRET", "LOG_LEVEL", "MONGODB_URI", "NODE_ENV", "PORT"]);
    expect(result.problems.join("\n")).not.toContain("too-short");
  });

  it("in production, requires JWT_SECRET and CREDENTIALS_KEY", () => {
    const result = loadConfig({ NODE_ENV: "production" });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([
      expect.stringMatching(/^JWT_SECRET: required in production/),
      expect.stringMatching(/^CREDENTIALS_KEY: required in production/),
    ]);
  });

  it("outside production, generates a secret once, keeps it 0600 in DATA_DIR, never logs it", () => {
    const dataDir = tmpDir();
    const first = loadConfig({ DATA_DIR: dataDir });
    const second = loadConfig({ DATA_DIR: dataDir });
    if (!first.ok || !second.ok) throw new Error("config refused");
    const file = path.join(dataDir, "jwt-secret");
    expect(first.config.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(second.config.jwtSecret).toBe(first.config.jwtSecret);
    expect(fs.readFileSync(file, "utf8").trim()).toBe(first.config.jwtSecret);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(first.warnings).toHaveLength(1);
    expect(first.warnings[0]).toContain("JWT_SECRET is not set");
    expect(first.warnings.join()).not.toContain(first.config.jwtSecret);
  });
});

describe("the server process", () => {
  it("exits 1 and prints every problem of a bad environment", async () => {
    const proc = startServerProcess({ PORT: "-1", LOG_LEVEL: "chatty", REFRESH_TOKEN_TTL: "0", AUTH_RATE_LIMIT: "many", DATA_DIR: tmpDir() });
    expect(await proc.exited).toBe(1);
    for (const name of ["PORT", "LOG_LEVEL", "REFRESH_TOKEN_TTL", "AUTH_RATE_LIMIT"]) expect(proc.stderr()).toContain(`- ${name}:`);
  });

  it("refuses to start in production without JWT_SECRET, or with a short one", async () => {
    const missing = startServerProcess({ NODE_ENV: "production", DATA_DIR: tmpDir() });
    expect(await missing.exited).toBe(1);
    expect(missing.stderr()).toContain("JWT_SECRET: required in production");
    const short = startServerProcess({ NODE_ENV: "production", JWT_SECRET: "abc", DATA_DIR: tmpDir() });
    expect(await short.exited).toBe(1);
    expect(short.stderr()).toContain("JWT_SECRET: must be at least 32 characters");
  });
});
