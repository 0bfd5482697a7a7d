/**
 * Global setup: the web dashboard is built once per test run (only when its sources changed), so
 * the server under test serves the production bundle a fresh checkout would.
 */
import { ensureDashboardBuilt } from "../../server/src/web/build.js";

export default async function setup(): Promise<void> {
  await ensureDashboardBuilt();
}
