import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const extensionRoot = join(repoRoot, "extension");
export const extensionOutput = join(extensionRoot, ".output");
export const chromeBuild = join(extensionOutput, "chrome-mv3");
export const firefoxBuild = join(extensionOutput, "firefox-mv3");
export const artifactsDir = join(repoRoot, "test-artifacts");
