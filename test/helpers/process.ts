/** Runs `npm start`'s entry point (server/src/main.ts) as a child process, as an operator would. */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MAIN = path.join(ROOT, "server/src/main.ts");

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** Resolves with the port once the server logs that it listens. */
  listening(): Promise<number>;
}

/**
 * Only the variables given (plus PATH/HOME) reach the child, so the developer's env cannot leak in.
 * Password hashing runs at the test-only cost (as in startTestServer) unless `env` says otherwise.
 */
export function startServerProcess(env: Record<string, string>): ServerProcess {
  const testCost = env.NODE_ENV === undefined || env.NODE_ENV === "test" ? { NODE_ENV: "test", AUTH_SCRYPT_COST: "12" } : {};
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...testCost, ...env },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    listening: () =>
      new Promise((resolve, reject) => {
        const check = () => {
          const line = out.split("\n").find((l) => l.includes('"msg":"listening on'));
          if (line) {
            clearInterval(timer);
            resolve((JSON.parse(line) as { port: number }).port);
          }
        };
        const timer = setInterval(check, 50);
        void exited.then((code) => {
          clearInterval(timer);
          reject(new Error(`server exited (${code}) before listening:\n${out}\n${err}`));
        });
      }),
  };
}
