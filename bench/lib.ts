import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Throughput of `op` run `count` times with `concurrency` calls in flight. */
export async function opsPerSecond(count: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return count / ((performance.now() - started) / 1000);
}

/** Median duration in ms of `op` over `runs` sequential calls (after `warmup` unmeasured ones). */
export async function medianMs(runs: number, op: (i: number) => Promise<unknown>, warmup = 50): Promise<number> {
  for (let i = 0; i < warmup; i++) await op(i);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await op(i);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export interface EngineProcess {
  uri: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** The embedded engine as its own process (`npm run db`), journaling to a temp directory. */
export async function startEngineProcess(): Promise<EngineProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mh-bench-"));
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "server/src/embedded-mongo/cli.ts"), "--port", "0", "--data-dir", dataDir],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, "line")) as [string];
  const { uri } = JSON.parse(line) as { uri: string };
  return {
    uri,
    dataDir,
    async stop() {
      child.kill("SIGTERM");
      await once(child, "exit");
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function row(label: string, value: number | string, unit = ""): void {
  const shown = typeof value === "number" ? value.toLocaleString("en-US", { maximumFractionDigits: value < 10 ? 3 : 0 }) : value;
  console.log(`  ${label.padEnd(52)} ${String(shown).padStart(12)} ${unit}`);
}
