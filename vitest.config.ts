import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["./test/setup/dashboard-build.ts"],
    // Upper bounds for a hung test, not expectations of speed: tests wait for conditions, and on a
    // machine whose cores are all busy (scripts/cpu-hog.mjs) a test of twenty HTTP calls and a
    // few task runs can take a minute.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
    reporters: ["default", "./test/reporters/summary.ts"],
  },
});
