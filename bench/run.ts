import { runBatchesBench } from "./batches.bench.js";
import { runEngineCommandsBench } from "./engine-commands.bench.js";
import { runEngineBench } from "./engine.bench.js";
import { runClaimsBench } from "./claims.bench.js";
import { runPluginBench } from "./plugin.bench.js";
import { runPublicationBench } from "./publication.bench.js";
import { runSoakBench } from "./soak.bench.js";
import { runTasksBench } from "./tasks.bench.js";

/** `npm run bench [name…]`: every benchmark, or only the named ones. Figures are measured in this run. */
const benches: Record<string, () => Promise<void>> = {
  engine: runEngineBench,
  "engine-commands": runEngineCommandsBench,
  plugin: runPluginBench,
  claims: runClaimsBench,
  tasks: runTasksBench,
  batches: runBatchesBench,
  publication: runPublicationBench,
  soak: runSoakBench,
};

const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(benches)) {
  if (wanted.length && !wanted.includes(name)) continue;
  await run();
}
