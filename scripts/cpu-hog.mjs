#!/usr/bin/env node
/**
 * Runs a command while every core is kept busy, to prove a test suite does not depend on timing:
 *
 *   node scripts/cpu-hog.mjs -- npm test
 *   node scripts/cpu-hog.mjs --hogs 4 -- npx vitest run test/tasks
 *
 * One spinning process per core (or --hogs N) starts before the command and is stopped when it
 * ends, however it ends; the exit code is the command's. The hogs also stop by themselves if this
 * script dies, because each one watches its IPC channel to the parent.
 */
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";

const HOG_SOURCE = `
process.on("disconnect", () => process.exit(0));
// Spin in slices so the disconnect event still gets a turn.
const spin = () => { const end = Date.now() + 50; while (Date.now() < end); setImmediate(spin); };
spin();
`;

function parseArgs(argv) {
  const separator = argv.indexOf("--");
  if (separator === -1 || separator === argv.length - 1) {
    throw new Error("usage: node scripts/cpu-hog.mjs [--hogs N] -- <command> [args…]");
  }
  const options = argv.slice(0, separator);
  let hogs = availableParallelism();
  for (let i = 0; i < options.length; i++) {
    if (options[i] === "--hogs") hogs = Number(options[++i]);
    else throw new Error(`unknown option ${options[i]}`);
  }
  if (!Number.isInteger(hogs) || hogs < 0) throw new Error("--hogs needs a whole number ≥ 0");
  return { hogs, command: argv.slice(separator + 1) };
}

function startHogs(count) {
  return Array.from({ length: count }, () => spawn(process.execPath, ["-e", HOG_SOURCE], { stdio: ["ignore", "ignore", "inherit", "ipc"] }));
}

function stopHogs(hogs) {
  for (const hog of hogs) if (hog.exitCode === null && hog.signalCode === null) hog.kill("SIGKILL");
}

function main() {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }
  const hogs = startHogs(parsed.hogs);
  console.error(`cpu-hog: ${hogs.length} busy process(es) while running: ${parsed.command.join(" ")}`);
  const started = Date.now();
  const [file, ...args] = parsed.command;
  const child = spawn(file, args, { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("error", (error) => {
    stopHogs(hogs);
    console.error(`cpu-hog: cannot run ${file}: ${error.message}`);
    process.exit(127);
  });
  child.on("exit", (code, signal) => {
    stopHogs(hogs);
    console.error(`cpu-hog: command ended (${signal ?? code}) after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.exit(code ?? 1);
  });
}

main();
