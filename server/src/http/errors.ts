import type { ErrorCode, ErrorResponse, FieldErrors } from "../../../shared/errors.js";

export interface AppErrorOptions {
  field_errors?: FieldErrors;
  /** Extra body keys, e.g. `current_status` / `allowed_statuses`, or `error` where a spec shows it. */
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
  cause?: unknown;
}

/** The one error type of the API: the error middleware turns it into `{detail, error_code, ...}`. */
export class AppError extends Error {
  readonly fieldErrors: FieldErrors | undefined;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly errorCode: ErrorCode,
    readonly detail: string,
    options: AppErrorOptions = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = "AppError";
    this.fieldErrors = options.field_errors;
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }

  toBody(): ErrorResponse {
    return {
      ...this.extra,
      detail: this.detail,
      error_code: this.errorCode,
      ...(this.fieldErrors ? { field_errors: this.fieldErrors } : {}),
    };
  }
}

export const validationError = (fieldErrors: FieldErrors) =>
  new AppError(400, "VALIDATION_ERROR", "Validation failed", { field_errors: fieldErrors });

export const notFound = (detail = "Not found.") => new AppError(404, "NOT_FOUND", detail);

export const permissionDenied = (detail = "You do not have permission to perform this action.") =>
  new AppError(403, "PERMISSION_DENIED", detail);

export const invalidOperation = (detail: string, extra?: Record<string, unknown>) =>
  new AppError(400, "INVALID_OPERATION", detail, { extra });
