import { z } from "zod";
import { AUTH_ROUTES, TokenPairSchema, type TokenPair } from "../../../shared/auth";
import { sessionItem, settingsItem, type AuthSession } from "../storage";
import { ServerError, joinUrl, requestServerJson } from "./http";

/** Refresh this long before expiry so no request leaves with a token about to lapse. */
const REFRESH_MARGIN_MS = 60_000;

export class NotLoggedInError extends Error {
  constructor(message = "Not logged in to MarketHub") {
    super(message);
    this.name = "NotLoggedInError";
  }
}

function toSession(serverUrl: string, pair: TokenPair, previous: AuthSession | null): AuthSession {
  const user = pair.user ? { id: String(pair.user.id), email: pair.user.email } : (previous?.user ?? null);
  return { serverUrl, accessToken: pair.access_token, refreshToken: pair.refresh_token, expiresAt: Date.now() + pair.expires_in * 1000, user };
}

/**
 * The only holder of MarketHub tokens. Refresh tokens rotate, so refreshes are single-flight and
 * the new pair is stored before anyone uses it.
 */
export class AuthManager {
  private refreshing: Promise<AuthSession> | null = null;

  async login(serverUrl: string, email: string, password: string): Promise<AuthSession> {
    const pair = await requestServerJson(joinUrl(serverUrl, AUTH_ROUTES.login), { method: "POST", body: { email, password } }, TokenPairSchema);
    const session = toSession(serverUrl, pair, null);
    await settingsItem.setValue({ ...(await settingsItem.getValue()), serverUrl });
    await sessionItem.setValue(session);
    return session;
  }

  /** Forgets the tokens at once, then asks the server to end the session (offline: they just expire). */
  async logout(): Promise<void> {
    const session = await sessionItem.getValue();
    await sessionItem.setValue(null);
    if (!session) return;
    await requestServerJson(
      joinUrl(session.serverUrl, AUTH_ROUTES.logout),
      { method: "POST", body: { refresh_token: session.refreshToken }, timeoutMs: 5_000 },
      z.unknown(),
    ).catch(() => undefined);
  }

  /** A session whose access token is valid for at least the refresh margin. */
  async session(): Promise<AuthSession> {
    const session = await sessionItem.getValue();
    if (!session) throw new NotLoggedInError();
    if (session.expiresAt - Date.now() > REFRESH_MARGIN_MS) return session;
    return this.refresh(session);
  }

  /** After a 401 with a token that looked valid: the server may have revoked it. */
  async forceRefresh(staleAccessToken: string): Promise<AuthSession> {
    const session = await sessionItem.getValue();
    if (!session) throw new NotLoggedInError();
    if (session.accessToken !== staleAccessToken) return session;
    return this.refresh(session);
  }

  private refresh(session: AuthSession): Promise<AuthSession> {
    this.refreshing ??= this.doRefresh(session).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(session: AuthSession): Promise<AuthSession> {
    try {
      const pair = await requestServerJson(
        joinUrl(session.serverUrl, AUTH_ROUTES.refresh),
        { method: "POST", body: { refresh_token: session.refreshToken } },
        TokenPairSchema,
      );
      const next = toSession(session.serverUrl, pair, session);
      await sessionItem.setValue(next);
      return next;
    } catch (error) {
      if (error instanceof ServerError && !error.isTransient) {
        await sessionItem.setValue(null);
        throw new NotLoggedInError("MarketHub session expired: log in again");
      }
      throw error;
    }
  }
}
