import { parseArgs } from "node:util";
import { startEmbeddedMongo } from "./server.js";

/** `npm run db`: the engine as its own process, so several server processes can share one database. */
const { values } = parseArgs({
  options: {
    port: { type: "string", default: "27017" },
    host: { type: "string", default: "127.0.0.1" },
    "data-dir": { type: "string", default: "./data/db" },
    "in-memory": { type: "boolean", default: false },
    fsync: { type: "boolean", default: false },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}

const db = await startEmbeddedMongo({
  port,
  host: values.host,
  dataDir: values["in-memory"] ? null : values["data-dir"],
  fsync: values.fsync,
});
console.log(JSON.stringify({ msg: "embedded MongoDB-compatible engine listening", uri: db.uri, dataDir: values["in-memory"] ? null : values["data-dir"] }));

// Ctrl-C reaches every process of the group, and npm/tsx relay it once more: a repeated signal
// must not kill the engine half-way through closing (it would leave its lock file behind).
let closing = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    void db.close().then(() => process.exit(0));
  });
}
