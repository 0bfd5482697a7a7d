/**
 * Builds the web dashboard (server/web, Preact + Vite) into server/web/dist when its sources changed
 * since the last build. `npm start` and the test suite call it, so a fresh checkout needs no extra
 * step. The build goes to a private directory first and is swapped in whole, so two processes
 * building at once never serve a half-written bundle.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { BUILD_STAMP, SHARED_ROOT, WEB_DIST, WEB_ROOT } from "./paths.js";

const SKIPPED = new Set(["dist", "node_modules"]);

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => !SKIPPED.has(entry.name) && !entry.name.startsWith(".dist-"))
    .flatMap((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)]))
    .sort();
}

/** Content hash of everything the bundle is made of (mtimes are not reliable after a checkout). */
export function dashboardSourceHash(): string {
  const hash = createHash("sha256");
  for (const root of [WEB_ROOT, SHARED_ROOT]) {
    for (const file of listFiles(root)) hash.update(relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

export function builtHash(): string | null {
  const stamp = join(WEB_DIST, BUILD_STAMP);
  return existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : null;
}

export interface BuildOutcome {
  built: boolean;
  hash: string;
}

export async function ensureDashboardBuilt(options: { force?: boolean } = {}): Promise<BuildOutcome> {
  const hash = dashboardSourceHash();
  if (!options.force && builtHash() === hash) return { built: false, hash };

  // Build-time tools only: a server started without them still serves an existing build.
  const [{ build }, { default: preact }] = await Promise.all([import("vite"), import("@preact/preset-vite")]);
  const staging = join(WEB_ROOT, `.dist-${process.pid}-${Date.now()}`);
  try {
    await build({
      root: WEB_ROOT,
      configFile: false,
      logLevel: "warn",
      base: "/",
      plugins: [preact()],
      build: { outDir: staging, emptyOutDir: true, chunkSizeWarningLimit: 1024 },
    });
    writeFileSync(join(staging, BUILD_STAMP), hash);
    if (builtHash() !== hash) {
      rmSync(WEB_DIST, { recursive: true, force: true });
      renameSync(staging, WEB_DIST);
    }
  } catch (error) {
    // Another process swapped in the same build first: that one is as good as ours.
    if (builtHash() !== hash) throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { built: true, hash };
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntryPoint) {
  const force = process.argv.includes("--force");
  ensureDashboardBuilt({ force }).then(
    ({ built }) => process.stdout.write(built ? "dashboard built into server/web/dist\n" : "dashboard up to date\n"),
    (error: unknown) => {
      process.stderr.write(`dashboard build failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
