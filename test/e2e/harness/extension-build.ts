import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { chromeBuild, extensionRoot, firefoxBuild, repoRoot } from "./paths.js";

const SOURCE_DIRS = [join(extensionRoot, "entrypoints"), join(extensionRoot, "lib"), join(extensionRoot, "public")];
/** Only the shared files the extension imports: others in shared/ belong to the server. */
const SHARED_FILES = ["plugin.ts", "plugin-actions.ts", "publications.ts", "common.ts", "extension-connection.ts", "auth.ts", "errors.ts", "vinted.ts"].map((file) => join(repoRoot, "shared", file));
const SOURCE_FILES = [join(extensionRoot, "wxt.config.ts"), join(extensionRoot, "tsconfig.json"), ...SHARED_FILES];
const LOCK_DIR = join(extensionRoot, ".output", ".build.lock");
const LOCK_STALE_MS = 5 * 60_000;

function newestMtime(path: string): number {
  const stat = statSync(path);
  // Files only: a directory's mtime also moves when unrelated entries come and go.
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

function buildTime(): number {
  const manifests = [join(chromeBuild, "manifest.json"), join(firefoxBuild, "manifest.json")];
  if (!manifests.every(existsSync)) return 0;
  return Math.min(...manifests.map((m) => statSync(m).mtimeMs));
}

function isStale(): boolean {
  const newestSource = Math.max(...SOURCE_DIRS.filter(existsSync).map(newestMtime), ...SOURCE_FILES.map(newestMtime));
  return buildTime() < newestSource;
}

async function withLock<T>(run: () => T): Promise<T> {
  mkdirSync(dirname(LOCK_DIR), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch {
      const lock = statSync(LOCK_DIR, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > LOCK_STALE_MS) rmSync(LOCK_DIR, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return run();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/**
 * Makes sure extension/.output holds production builds of both targets that are newer than the
 * sources (the same `npm run build:ext` a developer runs). Test files running in parallel share
 * one build through a lock directory.
 */
export async function ensureExtensionBuilt(): Promise<void> {
  if (!isStale()) return;
  await withLock(() => {
    if (!isStale()) return;
    execFileSync(process.execPath, [join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs"), join(extensionRoot, "scripts", "build.ts")], {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "inherit"],
    });
  });
}
