import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { startEmbeddedMongo } from "./server.js";

/** `npm run db`: the engine as its own process, so several server processes can share one database. */
const { values } = parseArgs({
  options: {
    port: { type: "string", default: "27017" },
    host: { type: "string", default: "127.0.0.1" },
    "data-dir": { type: "string", default: "./data/db" },
    /** A Unix socket instead of TCP: only its owner can connect (it is created 0600 in a 0700 directory). */
    socket: { type: "string" },
    "in-memory": { type: "boolean", default: false },
    fsync: { type: "boolean", default: false },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}

const socketPath = values.socket ? path.resolve(values.socket) : undefined;
if (socketPath) {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  if ((fs.statSync(path.dirname(socketPath)).mode & 0o077) !== 0) {
    console.error(`--socket: ${path.dirname(socketPath)} is open to other users; put the socket in a directory only you can enter (chmod 700)`);
    process.exit(2);
  }
}

const db = await startEmbeddedMongo({
  port,
  host: values.host,
  socketPath,
  dataDir: values["in-memory"] ? null : values["data-dir"],
  fsync: values.fsync,
});
console.log(JSON.stringify({ msg: "embedded MongoDB-compatible engine listening", uri: db.uri, dataDir: values["in-memory"] ? null : values["data-dir"] }));
if (!socketPath) {
  // The engine has no authentication: on TCP, every local user (and, off loopback, the network) can read and write everything.
  console.error(
    `warning: the engine has no authentication and listens on TCP ${db.host}:${db.port}: any local user can connect to it. ` +
      "Use --socket <path in a private directory> unless every user of this machine is trusted; never bind it beyond loopback.",
  );
}

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
