/**
 * The dashboard's one door to the API: bearer tokens (the same pair the extension uses), refreshed
 * before they lapse and once more after a 401, single-flight because refresh tokens rotate; the
 * chosen brand goes in X-Brand-ID; every error becomes an ApiError carrying the server's body.
 */
import { AUTH_ROUTES, type AuthTokensResponse } from "../../../../shared/auth";
import { BRAND_ID_HEADER } from "../../../../shared/brands";
import type { ErrorBody } from "../../../../shared/errors";

const SESSION_KEY = "markethub.session";
const BRAND_KEY = "markethub.brand";
/** Refresh this long before expiry so no request leaves with a token about to lapse. */
const REFRESH_MARGIN_MS = 30_000;

export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  email: string;
  userId: number;
  personalBrandId: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | null,
  ) {
    super(body?.detail ?? `HTTP ${status}`);
    this.name = "ApiError";
  }
  get code(): string | undefined {
    return this.body?.error_code;
  }
}

export class NetworkError extends Error {
  constructor(cause: unknown) {
    super("network error", { cause });
    this.name = "NetworkError";
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}${path.includes("?") ? "&" : "?"}${text}` : path;
}

function readSession(): Session | null {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

function toSession(pair: AuthTokensResponse): Session {
  return {
    accessToken: pair.access_token,
    refreshToken: pair.refresh_token,
    expiresAt: Date.now() + pair.expires_in * 1000,
    email: pair.user.email,
    userId: pair.user.id,
    personalBrandId: pair.user.personal_brand_id,
  };
}

async function parseBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function asErrorBody(value: unknown): ErrorBody | null {
  return value !== null && typeof value === "object" && typeof (value as { detail?: unknown }).detail === "string" ? (value as ErrorBody) : null;
}

async function send(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, init);
  } catch (error) {
    throw new NetworkError(error);
  }
}

type Listener = () => void;

export class ApiClient {
  private session: Session | null = readSession();
  private brandId: number | null = Number(localStorage.getItem(BRAND_KEY)) || null;
  private refreshing: Promise<Session> | null = null;
  /** The server ended the session (refresh refused): the login form says so. */
  sessionExpired = false;
  private listeners = new Set<Listener>();

  get current(): Session | null {
    return this.session;
  }
  get brand(): number | null {
    return this.brandId;
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setBrand(id: number | null): void {
    this.brandId = id;
    if (id === null) localStorage.removeItem(BRAND_KEY);
    else localStorage.setItem(BRAND_KEY, String(id));
    this.emit();
  }

  async login(email: string, password: string): Promise<void> {
    this.store(toSession(await this.post<AuthTokensResponse>(AUTH_ROUTES.login, { email, password }, { anonymous: true })));
  }

  async register(email: string, password: string, username?: string): Promise<void> {
    const body = username ? { email, password, username } : { email, password };
    this.store(toSession(await this.post<AuthTokensResponse>(AUTH_ROUTES.register, body, { anonymous: true })));
  }

  /** Forgets the tokens at once, then ends the session on the server (offline: they just expire). */
  async logout(): Promise<void> {
    const session = this.session;
    this.sessionExpired = false;
    this.store(null);
    this.setBrand(null);
    if (session) await send(AUTH_ROUTES.logout, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: session.refreshToken }) }).catch(() => undefined);
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("GET", withQuery(path, query));
  }
  post<T>(path: string, body?: unknown, options: { anonymous?: boolean } = {}): Promise<T> {
    return this.request<T>("POST", path, body, options);
  }
  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("PUT", path, body);
  }
  patch<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("PATCH", path, body);
  }
  delete<T>(path: string): Promise<T> {
    return this.request<T>("DELETE", path);
  }
  /** Multipart upload (photos): the browser sets the boundary. */
  upload<T>(path: string, form: FormData): Promise<T> {
    return this.request<T>("POST", path, form);
  }

  /** An authenticated image as a data: URL (the page's CSP allows data: images, not blob:). */
  async imageDataUrl(path: string): Promise<string> {
    const session = await this.freshSession();
    const headers: Record<string, string> = { Authorization: `Bearer ${session.accessToken}` };
    if (this.brandId !== null) headers[BRAND_ID_HEADER] = String(this.brandId);
    const res = await send(path, { headers });
    if (!res.ok) throw new ApiError(res.status, asErrorBody(await parseBody(res)));
    const blob = await res.blob();
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => reject(reader.error ?? new Error("unreadable image"));
      reader.readAsDataURL(blob);
    });
  }

  async request<T>(method: string, path: string, body?: unknown, options: { anonymous?: boolean } = {}): Promise<T> {
    const attempt = async (token: string | null): Promise<Response> => {
      const headers: Record<string, string> = {};
      if (token) headers.Authorization = `Bearer ${token}`;
      if (this.brandId !== null && !options.anonymous) headers[BRAND_ID_HEADER] = String(this.brandId);
      let payload: BodyInit | undefined;
      if (body instanceof FormData) payload = body;
      else if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        payload = JSON.stringify(body);
      }
      return send(path, { method, headers, body: payload });
    };
    let res: Response;
    if (options.anonymous) res = await attempt(null);
    else {
      const session = await this.freshSession();
      res = await attempt(session.accessToken);
      // Revoked or expired early (clock skew): one refresh, one retry.
      if (res.status === 401) res = await attempt((await this.refresh(session)).accessToken);
    }
    const parsed = await parseBody(res);
    if (!res.ok) {
      if (res.status === 401 && !options.anonymous) this.expire();
      throw new ApiError(res.status, asErrorBody(parsed));
    }
    return parsed as T;
  }

  private async freshSession(): Promise<Session> {
    const session = this.session;
    if (!session) throw new ApiError(401, { detail: "Not logged in", error_code: "NOT_AUTHENTICATED" });
    return session.expiresAt - Date.now() > REFRESH_MARGIN_MS ? session : this.refresh(session);
  }

  private refresh(stale: Session): Promise<Session> {
    if (this.session && this.session.accessToken !== stale.accessToken) return Promise.resolve(this.session);
    this.refreshing ??= this.doRefresh(stale).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(stale: Session): Promise<Session> {
    const res = await send(AUTH_ROUTES.refresh, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: stale.refreshToken }) });
    const parsed = await parseBody(res);
    if (!res.ok) {
      if (res.status < 500) this.expire();
      throw new ApiError(res.status, asErrorBody(parsed));
    }
    const next = toSession(parsed as AuthTokensResponse);
    this.store(next);
    return next;
  }

  private expire(): void {
    this.sessionExpired = true;
    this.store(null);
  }

  private store(session: Session | null): void {
    if (session) this.sessionExpired = false;
    this.session = session;
    if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session));
    else localStorage.removeItem(SESSION_KEY);
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

export const api = new ApiClient();
