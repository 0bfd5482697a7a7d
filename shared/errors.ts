/**
 * The one error body of the MarketHub API (spec/tasks-infrastructure-overview.md, "Format d'Erreurs"):
 * `{detail, error_code, field_errors?}`, plus business keys such as `current_status` /
 * `allowed_statuses` where an operation is refused for the state a resource is in.
 */
import { z } from "zod";

export const ERROR_CODES = [
  "VALIDATION_ERROR",
  "MALFORMED_JSON",
  /** The body is not what its Content-Encoding (gzip, br, deflate) says. */
  "MALFORMED_BODY",
  "UNSUPPORTED_MEDIA_TYPE",
  "NOT_AUTHENTICATED",
  "TOKEN_INVALID",
  "TOKEN_EXPIRED",
  /** The session (refresh family) behind the token was logged out or revoked after a reuse. */
  "TOKEN_REVOKED",
  "INVALID_CREDENTIALS",
  "PERMISSION_DENIED",
  "NOT_FOUND",
  /** spec/task-core-api.md: a task that does not exist or belongs to another brand. */
  "TASK_NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "EMAIL_TAKEN",
  /** Catalog (409): the brand already has a product with this SKU. */
  "SKU_TAKEN",
  /** Publication (409): the product is already live, or being published, on that marketplace. */
  "ALREADY_PUBLISHED",
  "ALREADY_MEMBER",
  /** A business rule refuses the operation in the resource's current state. */
  "INVALID_OPERATION",
  /** 409: the action makes no sense in the resource's state (pause a finished batch…), or the id is taken. */
  "CONFLICT",
  /** Plugin delivery (409): the lease token is not the task's current one (expired, re-queued, cancelled). */
  "LEASE_EXPIRED",
  /** Plugin delivery (409): the task already has its result; a different or later one never replaces it. */
  "RESULT_ALREADY_RECEIVED",
  /** Plugin delivery (409): a result without lease_token, for a task one of whose earlier leases expired. */
  "LEASE_TOKEN_REQUIRED",
  "PAYLOAD_TOO_LARGE",
  "RATE_LIMITED",
  "SERVICE_UNAVAILABLE",
  "INTERNAL_ERROR",
] as const;
export const ErrorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

/** `{"field.path": ["message", ...]}`; errors about the whole body are under `non_field_errors`. */
export const FieldErrorsSchema = z.record(z.string(), z.array(z.string()));
export type FieldErrors = z.infer<typeof FieldErrorsSchema>;

export const NON_FIELD_ERRORS = "non_field_errors";

/** The error body as a client reads it: an `error_code` it does not know yet is still an error. */
export const ErrorBodySchema = z.looseObject({
  detail: z.string(),
  error_code: z.string().optional(),
  field_errors: FieldErrorsSchema.optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** What the server answers (every code is one of ERROR_CODES). */
export const ErrorResponseSchema = ErrorBodySchema.extend({ error_code: ErrorCodeSchema }).meta({
  id: "Error",
  description: "Every error answer; business errors may carry extra keys.",
});
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;
