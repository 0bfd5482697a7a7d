import type { ErrorRequestHandler, RequestHandler } from "express";
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

export function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  if (isBodyParserError(err)) return fromBodyParser(err);
  return null;
}

/** The one place where errors become answers: `{detail, error_code, field_errors?, ...extra}`. */
export const errorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) {
    // Too late to answer with an error body; let Node cut the connection.
    next(err);
    return;
  }
  const appError = toAppError(err);
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
