/**
 * The README's curl snippet (register, log in, who am I), run by bash exactly as written against a
 * real server: it works, and when login is refused (429 here, as when a developer retries too often)
 * it stops loudly with the server's answer instead of carrying on with a token of "undefined".
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));

/** The first bash block of "Using the API with curl", up to the refresh example (it needs a real refresh token). */
function loginSnippet(): string {
  const section = readFileSync(README, "utf8").split("## Using the API with curl")[1];
  const block = /```bash\n([\s\S]*?)```/.exec(section ?? "")?.[1];
  if (!block) throw new Error("README: no bash block under 'Using the API with curl'");
  return block.split("\n# refresh")[0];
}

interface ShellRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the snippet against `baseUrl`, then prints what TOKEN holds (never reached when the snippet stops). */
function runSnippet(baseUrl: string): Promise<ShellRun> {
  // The answers end without a newline: the TOKEN line starts on its own.
  const script = `${loginSnippet().replaceAll("localhost:8000", baseUrl)}\necho\necho "TOKEN=$TOKEN"\n`;
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("the README's curl snippet", () => {
  let server: TestServer;
  beforeAll(async () => {
    // Register and login are both rate limited: two requests, then 429.
    server = await startTestServer({ AUTH_RATE_LIMIT: "2" });
  });
  afterAll(() => server?.close());

  // Each run starts bash, curl and node several times: slow on a busy machine, hence the wide timeouts.
  it("registers, logs in and reads the account with the token", { timeout: 120_000 }, async () => {
    const run = await runSnippet(server.baseUrl);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const token = /^TOKEN=(.+)$/m.exec(run.stdout)?.[1];
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(run.stdout).toContain('"email":"me@example.com"');
  });

  it("stops with the server's answer when login is refused, before any call with a bad token", { timeout: 120_000 }, async () => {
    const run = await runSnippet(server.baseUrl);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("login failed:");
    expect(run.stderr).toContain("RATE_LIMITED");
    expect(run.stderr).toContain("no token: see the login error above");
    expect(run.stdout).not.toContain("TOKEN=");
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/undefined|TOKEN_INVALID/);
  });
});
