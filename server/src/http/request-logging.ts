import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import type { Level, Logger } from "pino";

declare module "http" {
  interface IncomingMessage {
    /** The request's id (X-Request-ID), set by requestLogging. */
    id: string;
    /** The app's logger with this request's id (as reqId), set by requestLogging. */
    log: Logger;
  }
}

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

/** 503 is a known, temporary state (database down, draining), not a failure of this request. */
function levelOf(res: ServerResponse, err: Error | undefined): Level {
  if (err || (res.statusCode >= 500 && res.statusCode !== 503)) return "error";
  if (res.statusCode >= 400) return "warn";
  return res.statusCode === 200 && demoted.has(res) ? "debug" : "info";
}

/** Query strings are left out of the logged URL: they may one day carry something private. */
function requestView(req: IncomingMessage & { originalUrl?: string }, remoteAddress: string | undefined) {
  return {
    id: req.id,
    method: req.method,
    url: (req.originalUrl ?? req.url ?? "").split("?")[0],
    headers: req.headers,
    remoteAddress,
  };
}

/**
 * `req.log`, made on first use: a pino child serialises its bindings when made, and most requests
 * (an empty poll) never log a line.
 */
function withLazyLog(req: IncomingMessage, logger: Logger): void {
  let log: Logger | undefined;
  Object.defineProperty(req, "log", {
    configurable: true,
    enumerable: true,
    get: () => (log ??= logger.child({ reqId: req.id })),
  });
}

/**
 * One log line per request, on completion, with its id; errors are logged by the error middleware
 * with the same id. The line is built only when its level is logged: an empty poll (debug) costs
 * no serialising or redaction at info.
 */
export function requestLogging(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = Date.now();
    req.id = requestIdOf(req, res);
    withLazyLog(req, logger);
    const remoteAddress = req.socket.remoteAddress;
    const complete = (err?: Error) => {
      res.off("close", complete);
      res.off("error", complete);
      const level = levelOf(res, err);
      if (!logger.isLevelEnabled(level)) return;
      const responseTime = Date.now() - started;
      // Headers never sent (the client left first): no status to report.
      const statusCode = res.headersSent ? res.statusCode : null;
      const line = { req: requestView(req, remoteAddress), res: { statusCode }, responseTime };
      if (err || res.statusCode >= 500) req.log[level](line, "request errored");
      else req.log[level](line, !req.readableAborted && res.writableEnded ? "request completed" : "request aborted");
    };
    res.on("close", complete);
    res.on("error", complete);
    next();
  };
}
