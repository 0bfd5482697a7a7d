import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/src/config.js";
import { resolveCredentialsKey } from "../../server/src/secrets/key.js";
import { SecretBox } from "../../server/src/secrets/sealing.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe("credentials sealing (AES-256-GCM)", () => {
  const box = new SecretBox(randomBytes(32));

  it("opens what it sealed, for the same context only", () => {
    const sealed = box.sealJson({ access_token: "APP_USR-secret" }, "marketplace-connection:1:2");
    expect(JSON.stringify(sealed)).not.toContain("APP_USR-secret");
    expect(box.openJson(sealed, "marketplace-connection:1:2")).toEqual({ access_token: "APP_USR-secret" });
    expect(() => box.open(sealed, "marketplace-connection:9:2")).toThrow();
  });

  it("a fresh IV each time; a flipped bit or another key opens nothing", () => {
    const a = box.seal("same", "ctx");
    const b = box.seal("same", "ctx");
    expect(a.iv).not.toBe(b.iv);
    expect(a.data).not.toBe(b.data);
    const data = Buffer.from(a.data, "base64");
    data[0] ^= 1;
    expect(() => box.open({ ...a, data: data.toString("base64") }, "ctx")).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(a, "ctx")).toThrow();
  });
});

describe("CREDENTIALS_KEY", () => {
  it("is validated: 64 hex characters or 32 bytes of base64", () => {
    expect(loadConfig({ JWT_SECRET: "s".repeat(32), CREDENTIALS_KEY: randomBytes(32).toString("hex") }).ok).toBe(true);
    expect(loadConfig({ JWT_SECRET: "s".repeat(32), CREDENTIALS_KEY: randomBytes(32).toString("base64") }).ok).toBe(true);
    const bad = loadConfig({ JWT_SECRET: "s".repeat(32), CREDENTIALS_KEY: "short" });
    expect(!bad.ok && bad.problems).toEqual([expect.stringMatching(/^CREDENTIALS_KEY: expected 32 random bytes/)]);
  });

  it("outside production, is generated once and kept 0600 in DATA_DIR", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "markethub-key-"));
    dirs.push(dir);
    const first = resolveCredentialsKey(undefined, dir);
    const second = resolveCredentialsKey(undefined, dir);
    expect(first.source).toBe("generated");
    expect(second.source).toBe("stored");
    expect(second.key.equals(first.key)).toBe(true);
    expect(fs.statSync(path.join(dir, "credentials-key")).mode & 0o777).toBe(0o600);
    const fromEnv = randomBytes(32);
    expect(resolveCredentialsKey(fromEnv.toString("hex"), dir).key.equals(fromEnv)).toBe(true);
  });
});
