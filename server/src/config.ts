/**
 * The environment, read and validated once at start. Every problem is reported together so a
 * deployment is fixed in one round trip; nothing else in the server reads process.env.
 */
import { z } from "zod";
import { resolveJwtSecret, JWT_SECRET_MIN_LENGTH } from "./jwt-secret.js";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
const DURATION_UNITS_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** "900", "90s", "15m", "12h", "30d" → seconds. */
export function parseDurationSeconds(text: string): number | null {
  const match = /^(\d+)\s*([smhd]?)$/i.exec(text.trim());
  if (!match) return null;
  const unit = (match[2] || "s").toLowerCase() as keyof typeof DURATION_UNITS_SECONDS;
  return Number(match[1]) * DURATION_UNITS_SECONDS[unit];
}

const durationSeconds = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const seconds = parseDurationSeconds(text);
      if (seconds === null || seconds < 1) {
        ctx.addIssue({ code: "custom", message: `expected a duration such as 900, 90s, 15m, 12h or 30d (got "${text}")` });
        return z.NEVER;
      }
      return seconds;
    });

const integerInRange = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .refine((text) => /^\d+$/.test(text.trim()) && Number(text) >= min && Number(text) <= max, {
      message: `expected an integer from ${min} to ${max}`,
    })
    .transform(Number);

const originList = z
  .string()
  .default("")
  .transform((text, ctx) => {
    const origins = text.split(",").map((o) => o.trim()).filter(Boolean);
    for (const origin of origins) {
      if (!isOrigin(origin)) ctx.addIssue({ code: "custom", message: `"${origin}" is not an origin such as https://app.example.com` });
    }
    return origins;
  });

function isOrigin(text: string): boolean {
  try {
    return new URL(text).origin === text;
  } catch {
    return false;
  }
}

/** Express's "trust proxy": unset/false, true, a hop count, or addresses/subnets ("loopback, 10.0.0.0/8"). */
const trustProxy = z
  .string()
  .default("false")
  .transform((text): boolean | number | string => {
    const t = text.trim();
    if (t === "false" || t === "") return false;
    if (t === "true") return true;
    return /^\d+$/.test(t) ? Number(t) : t;
  });

const booleanFlag = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0"], { error: () => "expected true or false" })
    .default(fallback ? "true" : "false")
    .transform((v) => v === "true" || v === "1");

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
  /** Dashboard polling (batch status, overview): requests per minute per caller and URL. */
  POLL_RATE_LIMIT: integerInRange(60, 1, 1_000_000),
  SHUTDOWN_TIMEOUT: durationSeconds("10s"),
  TRUST_PROXY: trustProxy,
  TASK_CONCURRENCY: integerInRange(5, 1, 100),
  TASK_POLL_MS: integerInRange(1_000, 20, 600_000),
  TASK_RETRY_BASE_MS: integerInRange(30_000, 1, 86_400_000),
  TASK_RETRY_MAX_MS: integerInRange(3_600_000, 1, 604_800_000),
  TASK_HEARTBEAT_MS: integerInRange(5_000, 50, 600_000),
  TASK_CANCEL_POLL_MS: integerInRange(500, 20, 60_000),
  TASK_AUTO_RESUME: booleanFlag(true),
  /** How often every server process looks for due periodic tasks (/tasks/scheduled/); a schedule fires at most once per tick. */
  SCHEDULER_TICK_MS: integerInRange(10_000, 20, 3_600_000),
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
});

type Env = z.infer<typeof EnvSchema>;

export interface Config {
  nodeEnv: Env["NODE_ENV"];
  isProduction: boolean;
  port: number;
  host: string;
  dataDir: string;
  mongodbUri: string | undefined;
  logLevel: Env["LOG_LEVEL"];
  /** Allowed browser origins besides the extension's (always allowed). */
  corsOrigins: string[];
  jwtSecret: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  bodyLimit: string;
  authRateLimit: number;
  authRateWindowSeconds: number;
  /** Requests per minute one caller may make to one polled URL (batch status, dashboard). */
  pollRateLimit: number;
  /** How long a shutdown waits for requests in flight before cutting their connections. */
  shutdownTimeoutSeconds: number;
  trustProxy: boolean | number | string;
  tasks: TaskExecutionConfig;
  plugin: PluginConfig;
}

/** Delivery of extension tasks (server/src/plugin). */
export interface PluginConfig {
  /** Least gap between two polls of one seller; 0 disables the limit. */
  pollIntervalMs: number;
  pollToleranceMs: number;
  longPollRecheckMs: number;
  leaseSweepMs: number;
  bodyLimit: string;
}

export interface TaskExecutionConfig {
  concurrency: number;
  pollMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  heartbeatMs: number;
  cancelPollMs: number;
  autoResume: boolean;
  /** Periodic tasks: the scheduler's tick (SCHEDULER_TICK_MS). */
  schedulerTickMs: number;
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
      logLevel: e.LOG_LEVEL,
      corsOrigins: e.CORS_ORIGINS,
      jwtSecret,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL,
      refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL,
      bodyLimit: e.BODY_LIMIT.trim(),
      authRateLimit: e.AUTH_RATE_LIMIT,
      authRateWindowSeconds: e.AUTH_RATE_WINDOW,
      pollRateLimit: e.POLL_RATE_LIMIT,
      shutdownTimeoutSeconds: e.SHUTDOWN_TIMEOUT,
      trustProxy: e.TRUST_PROXY,
      tasks: {
        concurrency: e.TASK_CONCURRENCY,
        pollMs: e.TASK_POLL_MS,
        retryBaseMs: e.TASK_RETRY_BASE_MS,
        retryMaxMs: e.TASK_RETRY_MAX_MS,
        heartbeatMs: e.TASK_HEARTBEAT_MS,
        cancelPollMs: e.TASK_CANCEL_POLL_MS,
        autoResume: e.TASK_AUTO_RESUME,
        schedulerTickMs: e.SCHEDULER_TICK_MS,
        alertEvalMs: e.ALERT_EVAL_MS,
      },
      plugin: {
        pollIntervalMs: e.PLUGIN_POLL_INTERVAL_MS,
        pollToleranceMs: e.PLUGIN_POLL_TOLERANCE_MS,
        longPollRecheckMs: e.PLUGIN_LONG_POLL_RECHECK_MS,
        leaseSweepMs: e.PLUGIN_LEASE_SWEEP_MS,
        bodyLimit: e.PLUGIN_BODY_LIMIT.trim(),
      },
    },
  };
}
