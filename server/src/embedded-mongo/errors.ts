import type { Document } from "bson";

/** MongoDB server error codes this engine answers with (names as the server spells them). */
export const ErrorCodes = {
  InternalError: 1,
  BadValue: 2,
  NoSuchKey: 4,
  FailedToParse: 9,
  TypeMismatch: 14,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  CursorNotFound: 43,
  NamespaceExists: 48,
  CommandNotFound: 59,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  CommandNotSupported: 115,
  Location40324: 40324,
  DuplicateKey: 11000,
  Location40573: 40573,
  ImmutableField: 66,
  ConflictingUpdateOperators: 40,
  NoReplicationEnabled: 76,
  InvalidIdField: 53,
  BSONObjectTooLarge: 10334,
  Location40414: 40414,
  Location40415: 40415,
  DocumentValidationFailure: 121,
  NoQueryExecutionPlans: 291,
  Location17276: 17276,
  OptionNotSupportedOnView: 167,
  CommandNotSupportedOnView: 166,
  Location51183: 51183,
  Location51132: 51132,
  Location40601: 40601,
  Location13113: 13113,
  Location31254: 31254,
  InvalidPipelineOperator: 168,
  DollarPrefixedFieldName: 52,
  PathNotViable: 28,
} as const;

export type ErrorCodeName = keyof typeof ErrorCodes;

/** An error the engine reports to the client as `{ok: 0, errmsg, code, codeName, ...extra}`. */
export class MongoCommandError extends Error {
  readonly code: number;
  readonly codeName: string;
  readonly extra: Document;

  constructor(codeName: ErrorCodeName, message: string, extra: Document = {}) {
    super(message);
    this.code = ErrorCodes[codeName];
    this.codeName = codeName.startsWith("Location") ? "Location" + this.code : codeName;
    this.extra = extra;
  }

  toReply(): Document {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }
}

/** Converts anything thrown while running a command into a MongoDB error reply. */
export function errorReply(err: unknown): Document {
  if (err instanceof MongoCommandError) return err.toReply();
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith("Use of undefined variable")) return new MongoCommandError("Location17276", message).toReply();
  // mingo reports unsupported operators/stages as plain errors: they are bad input, not crashes.
  const code = /operator|unknown|invalid|not supported|unrecognized/i.test(message)
    ? ErrorCodes.BadValue
    : ErrorCodes.InternalError;
  return { ok: 0, errmsg: message, code, codeName: code === ErrorCodes.BadValue ? "BadValue" : "InternalError" };
}
