/**
 * The environment, read and validated once at start. Every problem is reported together so a
 * deployment is fixed in one round trip; nothing else in the server reads process.env.
 */
import { z } from "zod";
import { OWASP_SCRYPT_COST } from "./auth/passwords.js";
import { resolveJwtSecret, JWT_SECRET_MIN_LENGTH } from "./jwt-secret.js";
import { booleanFlag, byteSize, durationSeconds, httpUrl, integerInRange, optionalIntegerInRange, originList, parseDurationSeconds, trustProxy, usdPrice } from "./env-values.js";

export { parseDurationSeconds } from "./env-values.js";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: integerInRange(8000, 0, 65_535),
  /** Loopback by default: the development server (embedded database, generated secret) stays local. */
  HOST: z.string().min(1).default("127.0.0.1"),
  DATA_DIR: z.string().min(1).default("./data"),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, "must start with mongodb:// or mongodb+srv://")
    .optional(),
  /** How long a database operation waits for an unreachable database before the request gets 503. */
  MONGODB_TIMEOUT_MS: integerInRange(10_000, 100, 600_000),
  /** How the app reaches an embedded engine running in its own process (never a separate one). */
  EMBEDDED_ENGINE_TRANSPORT: z.enum(["in-process", "socket"]).default("in-process"),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  CORS_ORIGINS: originList,
  JWT_SECRET: z.string().min(JWT_SECRET_MIN_LENGTH, `must be at least ${JWT_SECRET_MIN_LENGTH} characters`).optional(),
  ACCESS_TOKEN_TTL: durationSeconds("15m"),
  REFRESH_TOKEN_TTL: durationSeconds("30d"),
  BODY_LIMIT: z
    .string()
    .default("1mb")
    .refine((text) => /^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i.test(text.trim()), { message: "expected a size such as 100kb or 1mb" }),
  AUTH_RATE_LIMIT: integerInRange(30, 1, 1_000_000),
  AUTH_RATE_WINDOW: durationSeconds("15m"),
  /** Failed logins of one account within AUTH_LOCKOUT_WINDOW that lock it for AUTH_LOCKOUT_DURATION. */
  AUTH_LOCKOUT_ATTEMPTS: integerInRange(10, 1, 1_000_000),
  AUTH_LOCKOUT_WINDOW: durationSeconds("15m"),
  AUTH_LOCKOUT_DURATION: durationSeconds("15m"),
  /** scrypt's N as a power of two. OWASP's minimum (17) is enforced unless NODE_ENV=test (fast test suites). */
  AUTH_SCRYPT_COST: integerInRange(OWASP_SCRYPT_COST, 10, 20),
  /** How long a session read as open is trusted without the database (a logout in another process is seen that late). */
  AUTH_SESSION_CACHE_MS: integerInRange(30_000, 0, 3_600_000),
  /** How long a user's brand memberships read are trusted without the database (a change in another process is seen that late). */
  BRAND_MEMBERSHIP_CACHE_MS: integerInRange(30_000, 0, 3_600_000),
  /** Dashboard polling (batch status, overview): requests per minute per caller and URL. */
  POLL_RATE_LIMIT: integerInRange(60, 1, 1_000_000),
  /** A batch whose counters have not moved for this long is checked against a count of its jobs. */
  BATCH_COUNTS_QUIET_MS: integerInRange(30_000, 100, 86_400_000),
  SHUTDOWN_TIMEOUT: durationSeconds("10s"),
  /** Finished tasks (with their metrics and checkpoints) and finished batches are kept this long; "off" keeps them. */
  TASK_RETENTION: z
    .string()
    .default("30d")
    .transform((text, ctx) => {
      if (text.trim().toLowerCase() === "off") return null;
      const seconds = parseDurationSeconds(text);
      if (seconds === null || seconds < 1) {
        ctx.addIssue({ code: "custom", message: `expected "off" or a duration such as 12h or 30d (got "${text}")` });
        return z.NEVER;
      }
      return seconds;
    }),
  /** Vinted stats snapshots older than this are thinned to the last one per listing and day. */
  VINTED_SNAPSHOT_DAILY_AFTER: durationSeconds("7d"),
  /** How often the retention sweep runs. */
  RETENTION_SWEEP_INTERVAL: durationSeconds("1h"),
  TRUST_PROXY: trustProxy,
  TASK_CONCURRENCY: integerInRange(5, 1, 100),
  TASK_POLL_MS: integerInRange(1_000, 20, 600_000),
  /** How often running slots freed without a word (a process that died meanwhile) are offered; TASK_POLL_MS when unset. */
  TASK_SLOT_SWEEP_MS: optionalIntegerInRange(20, 3_600_000),
  TASK_RETRY_BASE_MS: integerInRange(30_000, 1, 86_400_000),
  TASK_RETRY_MAX_MS: integerInRange(3_600_000, 1, 604_800_000),
  TASK_HEARTBEAT_MS: integerInRange(5_000, 50, 600_000),
  TASK_CANCEL_POLL_MS: integerInRange(500, 20, 60_000),
  TASK_AUTO_RESUME: booleanFlag(true),
  /** Server tasks one brand may have running at once, across every process (the rest of its queue waits its turn). */
  TASK_RUNNING_LIMIT_PER_BRAND: integerInRange(4, 1, 10_000),
  /** Pending tasks one brand may have queued; creating more is refused with 429. */
  TASK_QUEUED_LIMIT_PER_BRAND: integerInRange(100_000, 1, 10_000_000),
  /** A brand's count of queued tasks that has not moved for this long is checked against a count of its pending tasks. */
  TASK_QUEUED_COUNT_QUIET_MS: integerInRange(30_000, 100, 86_400_000),
  /** Tasks taken off a brand's queue are written to its count at most this late (0 = at once). */
  TASK_QUEUED_COUNT_FLUSH_MS: integerInRange(200, 0, 60_000),
  /** How often every server process looks for due periodic tasks (/tasks/scheduled/); a schedule fires at most once per tick. */
  SCHEDULER_TICK_MS: integerInRange(10_000, 20, 3_600_000),
  /** Periodic tasks may fire at most once every this many seconds (a seconds field finer than that is refused). */
  CRON_MIN_INTERVAL_SECONDS: integerInRange(60, 1, 86_400),
  /** How often every server process evaluates the alert rules of /tasks/monitoring/alert-rules/ (one open alert per rule, whatever the number of processes). */
  ALERT_EVAL_MS: integerInRange(60_000, 50, 86_400_000),
  /** Plugin delivery: a seller's extension may poll GET /api/plugin/tasks no faster than this (0 = no limit). */
  PLUGIN_POLL_INTERVAL_MS: integerInRange(5_000, 0, 600_000),
  /** Slack on that interval (network jitter) before a poll is refused with 429 + Retry-After. */
  PLUGIN_POLL_TOLERANCE_MS: integerInRange(500, 0, 60_000),
  /** Held long-polls (?wait=N) look in the database this often, for tasks created by other processes. */
  PLUGIN_LONG_POLL_RECHECK_MS: integerInRange(1_000, 20, 60_000),
  /** How often expired extension leases go back to the queue (or fail after their last attempt). */
  PLUGIN_LEASE_SWEEP_MS: integerInRange(1_000, 20, 600_000),
  /** Body limit of /api/plugin/*: a complete wardrobe sync result carries every listing. */
  PLUGIN_BODY_LIMIT: z
    .string()
    .default("25mb")
    .refine((text) => /^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i.test(text.trim()), { message: "expected a size such as 100kb or 25mb" }),
  /** Large plugin bodies (results, heartbeats with pages) one seller may have read at the same time; more get 429. */
  PLUGIN_UPLOADS_PER_SELLER: integerInRange(2, 1, 100),
  /** A seller's extension heartbeat (last poll, version, Vinted account) is kept in memory and written at most this often per seller. */
  PLUGIN_SEEN_WRITE_MS: integerInRange(15_000, 20, 3_600_000),
  /** An extension not heard from for this long is shown as disconnected. */
  PLUGIN_OFFLINE_AFTER_MS: integerInRange(90_000, 1_000, 86_400_000),
  /** Base URL the outside world reaches this server at (signed photo links given to marketplaces). */
  PUBLIC_URL: httpUrl().optional(),
  /** Largest photo kept for a product (stored in the database: at most 15mb, below MongoDB's document limit). */
  PHOTO_MAX_BYTES: byteSize("10mb", 15 * 1024 ** 2),
  /** Largest photo upload request (several photos in one multipart body). */
  PHOTO_UPLOAD_LIMIT: byteSize("40mb", 512 * 1024 ** 2),
  /** AES-256-GCM key for marketplace credentials and webhook secrets: 32 bytes as 64 hex or base64. */
  CREDENTIALS_KEY: z
    .string()
    .trim()
    .refine((text) => decodeCredentialsKey(text) !== null, { message: "expected 32 random bytes as 64 hex characters or base64" })
    .optional(),
  MERCADOLIBRE_API_URL: httpUrl().default("https://api.mercadolibre.com"),
  MERCADOLIBRE_TIMEOUT_MS: integerInRange(15_000, 100, 600_000),
  /** OpenAI-compatible chat-completions API root (…/v1); unset: the built-in enhancer. */
  ENHANCER_URL: httpUrl().optional(),
  ENHANCER_API_KEY: z.string().min(1).optional(),
  ENHANCER_MODEL: z.string().min(1).default("gpt-4o-mini"),
  ENHANCER_TIMEOUT_MS: integerInRange(30_000, 100, 600_000),
  /** What the provider charges per 1,000 prompt / completion tokens (USD): the cost of a task that uses it. */
  ENHANCER_PRICE_PROMPT_PER_1K: usdPrice,
  ENHANCER_PRICE_COMPLETION_PER_1K: usdPrice,
  /** Webhook deliveries to private, loopback and link-local addresses are refused unless true. */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: booleanFlag(false),
  WEBHOOK_TIMEOUT_MS: integerInRange(10_000, 100, 120_000),
  WEBHOOK_MAX_ATTEMPTS: integerInRange(5, 1, 20),
  WEBHOOK_RETRY_BASE_MS: integerInRange(1_000, 1, 3_600_000),
});

/** The credentials key as 32 bytes, from 64 hex characters or base64(url); null if it is not that. */
export function decodeCredentialsKey(text: string): Buffer | null {
  const t = text.trim();
  const bytes = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, "hex") : /^[A-Za-z0-9+/_-]{43}=?$/.test(t) ? Buffer.from(t, "base64url") : null;
  return bytes?.length === 32 ? bytes : null;
}

type Env = z.infer<typeof EnvSchema>;

export interface Config {
  nodeEnv: Env["NODE_ENV"];
  isProduction: boolean;
  port: number;
  host: string;
  dataDir: string;
  mongodbUri: string | undefined;
  /** Server selection and mongoose buffering timeout: past it, a request answers 503. */
  mongodbTimeoutMs: number;
  /** "in-process": commands go straight to the engine in this process; "socket": through its Unix socket. */
  embeddedEngineTransport: Env["EMBEDDED_ENGINE_TRANSPORT"];
  logLevel: Env["LOG_LEVEL"];
  /** Allowed browser origins besides the extension's (always allowed). */
  corsOrigins: string[];
  jwtSecret: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  bodyLimit: string;
  /** Requests per client address to register, login and refresh, counted across all processes. */
  authRateLimit: number;
  authRateWindowSeconds: number;
  /** Per-account lockout after failed logins (counted across all processes). */
  authLockout: { attempts: number; windowSeconds: number; durationSeconds: number };
  /** Password hashing: scrypt N = 2^authScryptCost, r=8, p=1. */
  authScryptCost: number;
  /** A session read as open is trusted this long; a logout elsewhere is seen at most this late (0 = always read). */
  authSessionCacheMs: number;
  /** A user's brand memberships read are trusted this long; a change made elsewhere is seen at most this late (0 = always read). */
  brandMembershipCacheMs: number;
  /** Requests per minute one caller may make to one polled URL (batch status, dashboard). */
  pollRateLimit: number;
  /** Quiet time after which a batch's counters are checked against (and repaired from) a count of its jobs. */
  batchCountsQuietMs: number;
  /** How long a shutdown waits for requests in flight before cutting their connections. */
  shutdownTimeoutSeconds: number;
  /** What is kept and for how long (retention/service.ts). */
  retention: { taskRetentionSeconds: number | null; snapshotDailyAfterSeconds: number; sweepIntervalSeconds: number };
  trustProxy: boolean | number | string;
  tasks: TaskExecutionConfig;
  plugin: PluginConfig;
  catalog: CatalogConfig;
  /** CREDENTIALS_KEY as given; unset outside production, a key is kept in DATA_DIR (credentials-key.ts). */
  credentialsKey: string | undefined;
  marketplaces: MarketplacesConfig;
  enhancer: EnhancerConfig;
  webhooks: WebhooksConfig;
}

/** Products and their photos (server/src/products). */
export interface CatalogConfig {
  /** Base URL of signed photo links; default http://localhost:PORT. */
  publicUrl: string;
  photoMaxBytes: number;
  photoUploadLimitBytes: number;
}

export interface MarketplacesConfig {
  mercadolibreApiUrl: string;
  mercadolibreTimeoutMs: number;
}

/** ENHANCER_URL unset: the built-in enhancer (no network). */
export interface EnhancerConfig {
  url: string | undefined;
  apiKey: string | undefined;
  model: string;
  timeoutMs: number;
  /** USD per 1,000 tokens; 0 when the provider's price is not configured. */
  pricePer1k: { prompt: number; completion: number };
}

export interface WebhooksConfig {
  allowPrivateNetworks: boolean;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
}

/** Delivery of extension tasks (server/src/plugin). */
export interface PluginConfig {
  /** Least gap between two polls of one seller; 0 disables the limit. */
  pollIntervalMs: number;
  pollToleranceMs: number;
  longPollRecheckMs: number;
  leaseSweepMs: number;
  bodyLimit: string;
  uploadsPerSeller: number;
  /** Least gap between two writes of one seller's extension heartbeat. */
  seenWriteMs: number;
  offlineAfterMs: number;
}

export interface TaskExecutionConfig {
  concurrency: number;
  pollMs: number;
  /** How often slots freed without a word are offered (the run-end and parking offers are immediate). */
  slotSweepMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  heartbeatMs: number;
  cancelPollMs: number;
  autoResume: boolean;
  /** Fair share: running server tasks per brand (TASK_RUNNING_LIMIT_PER_BRAND). */
  runningLimitPerBrand: number;
  /** Fair share: pending tasks per brand (TASK_QUEUED_LIMIT_PER_BRAND). */
  queuedLimitPerBrand: number;
  /** How long a brand's queued count must be still before it is recounted (TASK_QUEUED_COUNT_QUIET_MS). */
  queuedCountQuietMs: number;
  /** Decrements of the queued counts are gathered and written this often (TASK_QUEUED_COUNT_FLUSH_MS). */
  queuedCountFlushMs: number;
  /** Periodic tasks: the scheduler's tick (SCHEDULER_TICK_MS). */
  schedulerTickMs: number;
  /** Periodic tasks: the shortest gap allowed between two runs of a schedule (CRON_MIN_INTERVAL_SECONDS). */
  cronMinIntervalSeconds: number;
  /** Monitoring: how often alert rules are evaluated (ALERT_EVAL_MS). */
  alertEvalMs: number;
}

export type ConfigResult =
  | { ok: true; config: Config; warnings: string[] }
  | { ok: false; problems: string[] };

/** Parses the environment; in development a missing JWT_SECRET is generated and kept in DATA_DIR. */
export function loadConfig(env: NodeJS.ProcessEnv): ConfigResult {
  const parsed = EnvSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  if (env.NODE_ENV === "production" && !env.JWT_SECRET) {
    problems.push(`JWT_SECRET: required in production (at least ${JWT_SECRET_MIN_LENGTH} random characters)`);
  }
  if (parsed.success && parsed.data.AUTH_SCRYPT_COST < OWASP_SCRYPT_COST && parsed.data.NODE_ENV !== "test") {
    problems.push(`AUTH_SCRYPT_COST: below ${OWASP_SCRYPT_COST} (OWASP's minimum) is only for NODE_ENV=test`);
  }
  if (env.NODE_ENV === "production" && !env.CREDENTIALS_KEY) {
    problems.push("CREDENTIALS_KEY: required in production (32 random bytes as 64 hex characters, e.g. `openssl rand -hex 32`)");
  }
  if (!parsed.success || problems.length > 0) return { ok: false, problems };

  const e = parsed.data;
  const warnings: string[] = [];
  let jwtSecret: string;
  try {
    const secret = resolveJwtSecret(e.JWT_SECRET, e.DATA_DIR);
    jwtSecret = secret.value;
    if (secret.source !== "env") {
      warnings.push(`JWT_SECRET is not set: using the ${secret.source === "generated" ? "newly generated" : "stored"} development secret in ${secret.file}; set JWT_SECRET in production`);
    }
  } catch (err) {
    return { ok: false, problems: [`JWT_SECRET: not set and no development secret could be kept in DATA_DIR (${(err as Error).message})`] };
  }

  return {
    ok: true,
    warnings,
    config: {
      nodeEnv: e.NODE_ENV,
      isProduction: e.NODE_ENV === "production",
      port: e.PORT,
      host: e.HOST,
      dataDir: e.DATA_DIR,
      mongodbUri: e.MONGODB_URI,
      mongodbTimeoutMs: e.MONGODB_TIMEOUT_MS,
      embeddedEngineTransport: e.EMBEDDED_ENGINE_TRANSPORT,
      logLevel: e.LOG_LEVEL,
      corsOrigins: e.CORS_ORIGINS,
      jwtSecret,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL,
      refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL,
      bodyLimit: e.BODY_LIMIT.trim(),
      authRateLimit: e.AUTH_RATE_LIMIT,
      authRateWindowSeconds: e.AUTH_RATE_WINDOW,
      authLockout: { attempts: e.AUTH_LOCKOUT_ATTEMPTS, windowSeconds: e.AUTH_LOCKOUT_WINDOW, durationSeconds: e.AUTH_LOCKOUT_DURATION },
      authScryptCost: e.AUTH_SCRYPT_COST,
      authSessionCacheMs: e.AUTH_SESSION_CACHE_MS,
      brandMembershipCacheMs: e.BRAND_MEMBERSHIP_CACHE_MS,
      pollRateLimit: e.POLL_RATE_LIMIT,
      batchCountsQuietMs: e.BATCH_COUNTS_QUIET_MS,
      shutdownTimeoutSeconds: e.SHUTDOWN_TIMEOUT,
      retention: {
        taskRetentionSeconds: e.TASK_RETENTION,
        snapshotDailyAfterSeconds: e.VINTED_SNAPSHOT_DAILY_AFTER,
        sweepIntervalSeconds: e.RETENTION_SWEEP_INTERVAL,
      },
      trustProxy: e.TRUST_PROXY,
      tasks: {
        concurrency: e.TASK_CONCURRENCY,
        pollMs: e.TASK_POLL_MS,
        slotSweepMs: e.TASK_SLOT_SWEEP_MS ?? e.TASK_POLL_MS,
        retryBaseMs: e.TASK_RETRY_BASE_MS,
        retryMaxMs: e.TASK_RETRY_MAX_MS,
        heartbeatMs: e.TASK_HEARTBEAT_MS,
        cancelPollMs: e.TASK_CANCEL_POLL_MS,
        autoResume: e.TASK_AUTO_RESUME,
        runningLimitPerBrand: e.TASK_RUNNING_LIMIT_PER_BRAND,
        queuedLimitPerBrand: e.TASK_QUEUED_LIMIT_PER_BRAND,
        queuedCountQuietMs: e.TASK_QUEUED_COUNT_QUIET_MS,
        queuedCountFlushMs: e.TASK_QUEUED_COUNT_FLUSH_MS,
        schedulerTickMs: e.SCHEDULER_TICK_MS,
        cronMinIntervalSeconds: e.CRON_MIN_INTERVAL_SECONDS,
        alertEvalMs: e.ALERT_EVAL_MS,
      },
      plugin: {
        pollIntervalMs: e.PLUGIN_POLL_INTERVAL_MS,
        pollToleranceMs: e.PLUGIN_POLL_TOLERANCE_MS,
        longPollRecheckMs: e.PLUGIN_LONG_POLL_RECHECK_MS,
        leaseSweepMs: e.PLUGIN_LEASE_SWEEP_MS,
        bodyLimit: e.PLUGIN_BODY_LIMIT.trim(),
        uploadsPerSeller: e.PLUGIN_UPLOADS_PER_SELLER,
        seenWriteMs: e.PLUGIN_SEEN_WRITE_MS,
        offlineAfterMs: e.PLUGIN_OFFLINE_AFTER_MS,
      },
      catalog: {
        publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
        photoMaxBytes: e.PHOTO_MAX_BYTES,
        photoUploadLimitBytes: e.PHOTO_UPLOAD_LIMIT,
      },
      credentialsKey: e.CREDENTIALS_KEY,
      marketplaces: { mercadolibreApiUrl: e.MERCADOLIBRE_API_URL, mercadolibreTimeoutMs: e.MERCADOLIBRE_TIMEOUT_MS },
      enhancer: {
        url: e.ENHANCER_URL,
        apiKey: e.ENHANCER_API_KEY,
        model: e.ENHANCER_MODEL,
        timeoutMs: e.ENHANCER_TIMEOUT_MS,
        pricePer1k: { prompt: e.ENHANCER_PRICE_PROMPT_PER_1K, completion: e.ENHANCER_PRICE_COMPLETION_PER_1K },
      },
      webhooks: {
        allowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
        timeoutMs: e.WEBHOOK_TIMEOUT_MS,
        maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
        retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      },
    },
  };
}
