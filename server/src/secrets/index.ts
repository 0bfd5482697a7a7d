import type { Logger } from "pino";
import type { Config } from "../config.js";
import { resolveCredentialsKey } from "./key.js";
import { SecretBox } from "./sealing.js";

export { SecretBox, type SealedValue } from "./sealing.js";

/** The app's sealing box, from CREDENTIALS_KEY or (outside production) the key kept in DATA_DIR. */
export function createSecretBox(config: Pick<Config, "credentialsKey" | "dataDir">, logger: Logger): SecretBox {
  const resolved = resolveCredentialsKey(config.credentialsKey, config.dataDir);
  if (resolved.source !== "env") {
    logger.warn(`CREDENTIALS_KEY is not set: using the ${resolved.source === "generated" ? "newly generated" : "stored"} development key in ${resolved.file}; set CREDENTIALS_KEY in production`);
  }
  return new SecretBox(resolved.key);
}
