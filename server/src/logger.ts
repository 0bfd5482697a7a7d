import { pino, type DestinationStream, type Logger } from "pino";
import type { Config } from "./config.js";

/**
 * Anything that could let a log reader act as a user never reaches the log: credentials in headers,
 * and passwords / tokens / secrets in any object logged at the top level or one or two levels down.
 */
const SENSITIVE_KEYS = ["password", "access_token", "refresh_token", "token", "lease_token", "jwtSecret", "secret"];
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  ...SENSITIVE_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
];

export function createLogger(config: Pick<Config, "logLevel">, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    base: { service: "markethub" },
  };
  return destination ? pino(options, destination) : pino(options);
}
