import { Schema, type Connection, type Model } from "mongoose";
import { bindModel } from "../db/models.js";

export interface UserDoc {
  /** Integer id from the "users" counter. */
  _id: number;
  /** Lower-cased, trimmed; unique. */
  email: string;
  username: string;
  password_hash: string;
  personal_brand_id: number;
  created_at: Date;
  updated_at: Date;
}

/** One login = one session = one refresh-token family. Revoking it ends every token of the family. */
export interface SessionDoc {
  _id: string;
  user_id: number;
  created_at: Date;
  /** Slides forward on every refresh; the session is deleted (TTL) once past it. */
  expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: "logout" | "refresh_token_reuse" | null;
}

/** Stored as a SHA-256 of the token (high-entropy, so a fast hash is enough); single use. */
export interface RefreshTokenDoc {
  token_hash: string;
  session_id: string;
  user_id: number;
  created_at: Date;
  expires_at: Date;
  /** Set when the token is exchanged; a second exchange is a reuse and revokes the session. */
  used_at: Date | null;
}

const timestamps = { createdAt: "created_at", updatedAt: "updated_at" } as const;

const UserSchema = new Schema<UserDoc>(
  {
    _id: { type: Number, required: true },
    email: { type: String, required: true, unique: true },
    username: { type: String, required: true },
    password_hash: { type: String, required: true },
    personal_brand_id: { type: Number, required: true },
  },
  { collection: "users", timestamps, versionKey: false },
);

const SessionSchema = new Schema<SessionDoc>(
  {
    _id: { type: String, required: true },
    user_id: { type: Number, required: true, index: true },
    expires_at: { type: Date, required: true, expires: 0 },
    revoked_at: { type: Date, default: null },
    revoked_reason: { type: String, default: null },
  },
  { collection: "auth_sessions", timestamps: { createdAt: "created_at", updatedAt: false }, versionKey: false },
);
// The revocation feed asks for the sessions revoked lately: only those are in this index.
SessionSchema.index({ revoked_at: 1 }, { partialFilterExpression: { revoked_at: { $type: "date" } } });

const RefreshTokenSchema = new Schema<RefreshTokenDoc>(
  {
    token_hash: { type: String, required: true, unique: true },
    session_id: { type: String, required: true, index: true },
    user_id: { type: Number, required: true },
    // Used tokens are kept until they expire: that is how a replay is recognised as one.
    expires_at: { type: Date, required: true, expires: 0 },
    used_at: { type: Date, default: null },
  },
  { collection: "refresh_tokens", timestamps: { createdAt: "created_at", updatedAt: false }, versionKey: false },
);

export interface AuthModels {
  User: Model<UserDoc>;
  Session: Model<SessionDoc>;
  RefreshToken: Model<RefreshTokenDoc>;
}

export function authModels(connection: Connection): AuthModels {
  return {
    User: bindModel(connection, "User", UserSchema),
    Session: bindModel(connection, "Session", SessionSchema),
    RefreshToken: bindModel(connection, "RefreshToken", RefreshTokenSchema),
  };
}
