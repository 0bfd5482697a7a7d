import type { Connection } from "mongoose";
import type { Logger } from "pino";
import type { AuthTokensResponse, LoginBody, MeResponse, RegisterBody, User } from "../../../shared/auth.js";
import { nextSequence } from "../db/counters.js";
import type { BrandService } from "../brands/service.js";
import type { Principal } from "../http/context.js";
import { AppError } from "../http/errors.js";
import { authModels, type AuthModels, type UserDoc } from "./model.js";
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword, type ScryptParams } from "./passwords.js";
import { RevocationFeed } from "./revocations.js";
import { SessionCache } from "./session-cache.js";
import { AccountLockout, throttleModel, type LockoutSettings } from "./throttle.js";
import {
  hashRefreshToken,
  newRefreshToken,
  newSessionId,
  signAccessToken,
  tokenError,
  VerifiedTokens,
  type TokenSettings,
} from "./tokens.js";

const DUPLICATE_KEY = 11000;

export interface AuthSettings extends TokenSettings {
  refreshTokenTtlSeconds: number;
  /** Parameters of new hashes; a stored hash with others is replaced at its next successful login. */
  scrypt: ScryptParams;
  lockout: LockoutSettings;
  /** How long a session read as open is trusted without asking the database (0 = always ask). */
  sessionCacheMs?: number;
}

export function toUserDto(user: UserDoc): User {
  return {
    id: user._id,
    email: user.email,
    username: user.username,
    personal_brand_id: user.personal_brand_id,
    created_at: user.created_at.toISOString(),
  };
}

const invalidCredentials = () => new AppError(401, "INVALID_CREDENTIALS", "Invalid email or password.");

export class AuthService {
  readonly models: AuthModels;
  private readonly lockout: AccountLockout;
  private readonly sessions: SessionCache;
  /** Revocations made by other processes, polled (run by main.ts beside the HTTP server). */
  readonly revocations: RevocationFeed;
  private readonly verifiedTokens: VerifiedTokens;

  constructor(
    private readonly connection: Connection,
    private readonly settings: AuthSettings,
    private readonly brands: BrandService,
    private readonly logger: Logger,
  ) {
    this.models = authModels(connection);
    this.lockout = new AccountLockout(throttleModel(connection), settings.lockout);
    this.sessions = new SessionCache(settings.sessionCacheMs ?? 0);
    this.revocations = new RevocationFeed(this.models.Session, this.sessions, settings.sessionCacheMs ?? 0, logger);
    this.verifiedTokens = new VerifiedTokens(settings);
  }

  async init(): Promise<void> {
    await Promise.all([this.models.User.init(), this.models.Session.init(), this.models.RefreshToken.init(), throttleModel(this.connection).init()]);
  }

  /** Creates the account and its personal brand, then opens a session. */
  async register(body: RegisterBody): Promise<AuthTokensResponse> {
    const username = body.username ?? body.email.split("@")[0];
    const [password_hash, userId, brandId] = await Promise.all([
      hashPassword(body.password, this.settings.scrypt),
      nextSequence(this.connection, "users"),
      this.brands.newBrandId(),
    ]);
    let user: UserDoc;
    try {
      const created = await this.models.User.create({ _id: userId, email: body.email, username, password_hash, personal_brand_id: brandId });
      user = created.toObject();
    } catch (err) {
      if ((err as { code?: number }).code === DUPLICATE_KEY) {
        throw new AppError(409, "EMAIL_TAKEN", "An account with this email already exists.", { field_errors: { email: ["already registered"] } });
      }
      throw err;
    }
    try {
      await this.brands.createPersonalBrand(brandId, userId, username);
    } catch (err) {
      await this.brands.discardPersonalBrand(brandId);
      await this.models.User.deleteOne({ _id: userId });
      throw err;
    }
    return this.openSession(user);
  }

  /**
   * Same answer, in about the same time, for an unknown email and a wrong password. An account
   * locked by too many failures answers 429 before any password is checked.
   */
  async login(body: LoginBody): Promise<AuthTokensResponse> {
    const email = body.email.trim().toLowerCase();
    await this.lockout.assertNotLocked(email);
    const user = await this.models.User.findOne({ email }).lean();
    const matches = await verifyPassword(body.password, user?.password_hash ?? (await dummyPasswordHash(this.settings.scrypt)));
    if (!user || !matches) {
      await this.lockout.recordFailure(email);
      throw invalidCredentials();
    }
    await this.lockout.recordSuccess(email);
    if (needsRehash(user.password_hash, this.settings.scrypt)) await this.rehash(user, body.password);
    return this.openSession(user);
  }

  /** The password is known right now: store it again with today's parameters. */
  private async rehash(user: UserDoc, password: string): Promise<void> {
    const password_hash = await hashPassword(password, this.settings.scrypt);
    // Conditioned on the old hash: a password changed meanwhile is not overwritten.
    await this.models.User.updateOne({ _id: user._id, password_hash: user.password_hash }, { $set: { password_hash } });
    this.logger.info({ userId: user._id }, "password hash upgraded to the current scrypt parameters");
  }

  /**
   * Exchanges a refresh token for a new pair. Each refresh token works once: presenting one that was
   * already exchanged means it was copied, so the whole session (family) is revoked.
   */
  async refresh(refreshToken: string): Promise<AuthTokensResponse> {
    const { RefreshToken, Session, User } = this.models;
    const stored = await RefreshToken.findOne({ token_hash: hashRefreshToken(refreshToken) }).lean();
    if (!stored) throw tokenError.invalid("Refresh token is invalid.");
    const session = await Session.findById(stored.session_id).lean();
    if (!session || session.revoked_at) throw tokenError.revoked("This session has ended; log in again.");
    if (stored.expires_at.getTime() <= Date.now()) throw tokenError.expired("Refresh token has expired.");

    // The conditional update is the single-use guarantee: of two concurrent exchanges, one wins.
    const claimed = await RefreshToken.findOneAndUpdate({ _id: stored._id, used_at: null }, { $set: { used_at: new Date() } }).lean();
    if (!claimed) {
      await this.revokeSession(stored.session_id, "refresh_token_reuse");
      this.logger.warn({ userId: stored.user_id, sessionId: stored.session_id }, "refresh token reused: session revoked");
      throw tokenError.revoked("Refresh token was already used; the session has been revoked.");
    }
    const user = await User.findById(stored.user_id).lean();
    if (!user) throw tokenError.revoked("This account no longer exists.");
    return this.issueTokens(user, stored.session_id);
  }

  /** With a refresh token: ends its session. Without: ends the caller's session. Idempotent. */
  async logout(refreshToken: string | undefined, principal: Principal | null): Promise<void> {
    if (refreshToken !== undefined) {
      const stored = await this.models.RefreshToken.findOne({ token_hash: hashRefreshToken(refreshToken) }, { session_id: 1 }).lean();
      // An unknown token changes nothing and is not reported: logout must not become a token oracle.
      if (stored) await this.revokeSession(stored.session_id, "logout");
      return;
    }
    if (!principal) throw tokenError.missing();
    await this.revokeSession(principal.sessionId, "logout");
  }

  /** A valid access token whose session is still open. */
  async authenticate(accessToken: string): Promise<Principal> {
    const principal = this.verifiedTokens.verify(accessToken);
    if (!(await this.isSessionOpen(principal))) throw tokenError.revoked();
    return principal;
  }

  /**
   * Still logged in: a request held open (a long-poll) checks this again before acting. A session
   * ended in this process is refused at once; one ended elsewhere once its cached read ages out.
   */
  async isSessionOpen(principal: Principal): Promise<boolean> {
    const known = this.sessions.isOpen(principal.sessionId, principal.userId);
    if (known !== undefined) return known;
    const session = await this.models.Session.findById(principal.sessionId, { user_id: 1, revoked_at: 1 }).lean();
    const open = Boolean(session && !session.revoked_at && session.user_id === principal.userId);
    // A session that does not match this user is not remembered under that user's id.
    if (session && session.user_id === principal.userId) this.sessions.remember(principal.sessionId, principal.userId, open);
    return open;
  }

  async me(principal: Principal): Promise<MeResponse> {
    const user = await this.models.User.findById(principal.userId).lean();
    if (!user) throw tokenError.revoked("This account no longer exists.");
    return { user: toUserDto(user), brands: await this.brands.allForUser(user._id) };
  }

  private async openSession(user: UserDoc): Promise<AuthTokensResponse> {
    const sessionId = newSessionId();
    await this.models.Session.create({ _id: sessionId, user_id: user._id, expires_at: this.refreshExpiry() });
    return this.issueTokens(user, sessionId);
  }

  private async issueTokens(user: UserDoc, sessionId: string): Promise<AuthTokensResponse> {
    const refreshToken = newRefreshToken();
    const expiresAt = this.refreshExpiry();
    await this.models.RefreshToken.create({
      token_hash: hashRefreshToken(refreshToken),
      session_id: sessionId,
      user_id: user._id,
      expires_at: expiresAt,
    });
    await this.models.Session.updateOne({ _id: sessionId }, { $max: { expires_at: expiresAt } });
    return {
      user: toUserDto(user),
      access_token: signAccessToken(this.settings, { userId: user._id, sessionId }),
      refresh_token: refreshToken,
      token_type: "Bearer",
      expires_in: this.settings.accessTokenTtlSeconds,
    };
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.settings.refreshTokenTtlSeconds * 1000);
  }

  private async revokeSession(sessionId: string, reason: "logout" | "refresh_token_reuse"): Promise<void> {
    this.sessions.ended(sessionId);
    await this.models.Session.updateOne({ _id: sessionId, revoked_at: null }, { $set: { revoked_at: new Date(), revoked_reason: reason } });
  }
}
