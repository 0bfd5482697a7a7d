/**
 * Production build of the extension: zipped Chrome and Firefox packages under extension/.output/,
 * then `web-ext lint` on the Firefox build. Exits non-zero on any build failure or lint error.
 *
 *   npm run build:ext
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const extensionRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = resolve(extensionRoot, "..");
const bin = (name: string) => join(repoRoot, "node_modules", ".bin", name);

interface LintMessage {
  code: string;
  message: string;
  file?: string;
}
interface LintReport {
  summary: { errors: number; warnings: number; notices: number };
  errors: LintMessage[];
  warnings: LintMessage[];
}

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, NODE_ENV: "production" } });
}

function zip(browser: "chrome" | "firefox"): void {
  console.log(`▶ wxt zip -b ${browser}`);
  process.stdout.write(run(bin("wxt"), ["zip", extensionRoot, "-b", browser]));
}

/** web-ext exits non-zero on lint errors, but its JSON report is what tells us why. */
export function lintFirefoxBuild(sourceDir = join(extensionRoot, ".output", "firefox-mv3")): LintReport {
  let output: string;
  try {
    output = run(bin("web-ext"), ["lint", "--source-dir", sourceDir, "--output", "json", "--no-config-discovery"]);
  } catch (error) {
    output = String((error as { stdout?: unknown }).stdout ?? "");
  }
  const start = output.indexOf("{");
  if (start < 0) throw new Error(`web-ext lint printed no report:\n${output}`);
  return JSON.parse(output.slice(start)) as LintReport;
}

function main(): void {
  zip("chrome");
  zip("firefox");
  for (const dir of ["chrome-mv3", "firefox-mv3"]) {
    if (!existsSync(join(extensionRoot, ".output", dir, "manifest.json"))) throw new Error(`missing build: ${dir}`);
  }
  console.log("▶ web-ext lint (firefox-mv3)");
  const report = lintFirefoxBuild();
  for (const w of report.warnings) console.log(`  warning ${w.code}: ${w.message}${w.file ? ` (${w.file})` : ""}`);
  for (const e of report.errors) console.error(`  ERROR ${e.code}: ${e.message}${e.file ? ` (${e.file})` : ""}`);
  console.log(`  web-ext lint: ${report.summary.errors} errors, ${report.summary.warnings} warnings, ${report.summary.notices} notices`);
  if (report.summary.errors > 0) process.exit(1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
