import http from "node:http";
import type { AddressInfo } from "node:net";
import type { RequestListener, ServerResponse } from "node:http";

interface Tracking {
  inFlight: Set<ServerResponse>;
  closing: boolean;
}
const tracking = new WeakMap<http.Server, Tracking>();

/** An HTTP server that knows its requests in flight, so that closeGracefully can wind them down. */
export async function listen(handler: RequestListener, port: number, host: string): Promise<http.Server> {
  const server = http.createServer(handler);
  const state: Tracking = { inFlight: new Set(), closing: false };
  tracking.set(server, state);
  server.on("request", (_req, res: ServerResponse) => {
    state.inFlight.add(res);
    if (state.closing) markLast(res);
    res.once("close", () => state.inFlight.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

export function addressOf(server: http.Server): { host: string; port: number } {
  const address = server.address() as AddressInfo;
  return { host: address.address, port: address.port };
}

/** The answer tells the client not to reuse the connection, and Node closes it after the answer. */
function markLast(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader("Connection", "close");
}

const IDLE_SWEEP_MS = 50;

/**
 * Stops accepting connections and resolves once requests in flight have been answered: their
 * answers carry `Connection: close`, and keep-alive connections are closed as soon as they are
 * idle. After `timeoutMs` the remaining connections are cut, so a stuck request cannot hold a
 * deployment hostage. Resolves to false when it had to cut.
 */
export function closeGracefully(server: http.Server, timeoutMs: number): Promise<boolean> {
  const state = tracking.get(server);
  if (state) {
    state.closing = true;
    state.inFlight.forEach(markLast);
  }
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    const deadline = setTimeout(() => {
      clearInterval(sweep);
      server.closeAllConnections();
      resolve(false);
    }, timeoutMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve(true);
    });
    server.closeIdleConnections();
  });
}
