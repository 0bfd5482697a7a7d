import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { pinoHttp } from "pino-http";

export const REQUEST_ID_HEADER = "X-Request-ID";
/** A caller's id is kept only if it is short and plain, so it cannot forge log lines or bloat them. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers["x-request-id"];
  const id = typeof incoming === "string" && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/**
 * Responses routine enough to be counted rather than logged at info (an empty poll: every extension
 * makes one every few seconds); they appear at debug. Only a 200 is ever demoted.
 */
const demoted = new WeakSet<ServerResponse>();
export function demoteInAccessLog(res: ServerResponse): void {
  demoted.add(res);
}

/** One log line per request with its id; errors are logged by the error middleware with the same id. */
export function requestLogging(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: requestIdOf,
    // req.log carries only the id (as reqId); the full request is logged once, on completion.
    quietReqLogger: true,
    // 503 is a known, temporary state (database down, draining), not a failure of this request.
    customLogLevel: (_req, res, err) =>
      err || (res.statusCode >= 500 && res.statusCode !== 503)
        ? "error"
        : res.statusCode >= 400
          ? "warn"
          : res.statusCode === 200 && demoted.has(res)
            ? "debug"
            : "info",
    // The error middleware logs the real error once; pino-http would add a made-up one (with a
    // stack pointing at itself) to the completion line of every 5xx.
    customErrorObject: (_req, _res, _err, val: Record<string, unknown>) => ({ res: val.res, responseTime: val.responseTime }),
    // Query strings are left out of the logged URL: they may one day carry something private.
    serializers: {
      req: (req: { id: unknown; method: string; url: string; headers: Record<string, unknown>; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        url: req.url.split("?")[0],
        headers: req.headers,
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
}
