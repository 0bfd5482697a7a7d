import type { ErrorRequestHandler, Request, RequestHandler } from "express";
import { AppError, notFound } from "./errors.js";

/** Errors raised by body-parser carry a `type`; these are the client's fault and are answered as such. */
interface BodyParserError extends Error {
  type: string;
  status?: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return err instanceof Error && typeof (err as Partial<BodyParserError>).type === "string" && "status" in err;
}

function fromBodyParser(err: BodyParserError): AppError | null {
  switch (err.type) {
    case "entity.parse.failed":
      return new AppError(400, "MALFORMED_JSON", "Malformed JSON in request body.");
    case "entity.too.large":
      return new AppError(413, "PAYLOAD_TOO_LARGE", "Request body is too large.");
    case "charset.unsupported":
    case "encoding.unsupported":
      return new AppError(415, "UNSUPPORTED_MEDIA_TYPE", err.message);
    case "request.aborted":
    case "request.size.invalid":
    case "stream.encoding.set":
      return new AppError(400, "VALIDATION_ERROR", err.message);
    default:
      return null;
  }
}

/**
 * body-parser hands on zlib's own error when a body is not the gzip/br/deflate its Content-Encoding
 * claims (or is cut short): it has zlib's `code` and no body-parser `type`.
 */
function isDecompressionError(err: unknown): err is Error & { code: string } {
  if (!(err instanceof Error)) return false;
  const { code, errno } = err as NodeJS.ErrnoException;
  return typeof errno === "number" && typeof code === "string" && /^(Z_|ERR__ERROR_|ERR_BROTLI|ERR_ZSTD)/.test(code);
}

/** Driver and mongoose errors that mean "no database right now", not "this request is wrong". */
const UNREACHABLE_DATABASE_ERRORS = new Set([
  "MongoServerSelectionError",
  "MongooseServerSelectionError",
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoNotConnectedError",
  "MongoTopologyClosedError",
  "MongoPoolClearedError",
  "MongoServerClosedError",
]);
const DATABASE_RETRY_AFTER_SECONDS = 5;

/** The error (or one of its causes) says the database cannot be reached. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (UNREACHABLE_DATABASE_ERRORS.has(e.name)) return true;
    // mongoose queues operations while disconnected and gives up after bufferTimeoutMS.
    if (e.name === "MongooseError" && /buffering timed out/.test(e.message)) return true;
  }
  return false;
}

const databaseUnavailable = () =>
  new AppError(503, "SERVICE_UNAVAILABLE", "The database is unreachable; retry later.", {
    headers: { "Retry-After": String(DATABASE_RETRY_AFTER_SECONDS) },
  });

export function toAppError(err: unknown, req?: Request): AppError | null {
  if (err instanceof AppError) return err;
  if (isDatabaseUnavailable(err)) return databaseUnavailable();
  if (isBodyParserError(err)) return fromBodyParser(err);
  if (isDecompressionError(err)) {
    const encoding = String(req?.headers["content-encoding"] ?? "compressed").toLowerCase();
    return new AppError(400, "MALFORMED_BODY", `Request body is not valid ${encoding} data.`);
  }
  return null;
}

/** The one place where errors become answers: `{detail, error_code, field_errors?, ...extra}`. */
export const errorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) {
    // Too late to answer with an error body; let Node cut the connection.
    next(err);
    return;
  }
  const appError = toAppError(err, req);
  // An outage is logged once per call, as one line: a stack trace per request would drown the log.
  if (appError?.errorCode === "SERVICE_UNAVAILABLE" && isDatabaseUnavailable(err)) {
    req.log.warn({ reason: (err as Error).name }, "database unavailable");
  }
  if (!appError) {
    req.log.error({ err }, "unhandled error");
    res.status(500).json({ detail: "Internal server error.", error_code: "INTERNAL_ERROR", request_id: String(req.id) });
    return;
  }
  if (appError.status === 401 && !appError.headers["WWW-Authenticate"]) res.setHeader("WWW-Authenticate", "Bearer");
  for (const [name, value] of Object.entries(appError.headers)) res.setHeader(name, value);
  res.status(appError.status).json(appError.toBody());
};

export const unknownRoute: RequestHandler = (_req, _res, next) => {
  next(notFound("Not found."));
};
