import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { MEMORY_REQUEST, type EngineMemory } from "./engine-probe.js";

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
  pid: number;
  /** The engine process's memory right after a full garbage collection in it. */
  memoryAfterGc(): Promise<EngineMemory>;
  stop(): Promise<void>;
}

/**
 * The embedded engine as its own process (`npm run db`), journaling to a temp directory.
 * BENCH_PROFILE=dir writes its CPU profile to dir/engine (profile the app with `node --cpu-prof`).
 * It runs with the bench's memory probe (engine-probe.ts), asked over the IPC channel.
 */
export async function startEngineProcess(): Promise<EngineProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mh-bench-"));
  const profile = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}/engine`] : [];
  const child: ChildProcess = spawn(
    process.execPath,
    [...profile, "--expose-gc", "--import", "tsx", "--import", path.join(ROOT, "bench/engine-probe.ts"), path.join(ROOT, "server/src/embedded-mongo/cli.ts"), "--port", "0", "--data-dir", dataDir],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit", "ipc"] },
  );
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, "line")) as [string];
  const { uri } = JSON.parse(line) as { uri: string };
  return {
    uri,
    dataDir,
    pid: child.pid!,
    async memoryAfterGc() {
      const replied = new Promise<EngineMemory>((resolve) => {
        const onMessage = (message: unknown) => {
          const memory = (message as Record<string, EngineMemory> | null)?.[MEMORY_REQUEST];
          if (!memory) return;
          child.off("message", onMessage);
          resolve(memory);
        };
        child.on("message", onMessage);
      });
      child.send(MEMORY_REQUEST);
      return replied;
    },
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

/**
 * CPU seconds used so far by this process and by another one (Linux /proc; null elsewhere). On a
 * shared machine wall time also counts waiting for a core; CPU time is the steadier figure.
 */
export function cpuSeconds(otherPid: number): { self: number; other: number | null } {
  const usage = process.cpuUsage();
  let other: number | null = null;
  try {
    const fields = fs.readFileSync(`/proc/${otherPid}/stat`, "utf8").split(") ")[1].split(" ");
    other = (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    other = null;
  }
  return { self: (usage.user + usage.system) / 1e6, other };
}
