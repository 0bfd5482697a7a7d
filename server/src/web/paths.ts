/** Where the dashboard's sources live and where its production build goes. */
import { fileURLToPath } from "node:url";

export const WEB_ROOT = fileURLToPath(new URL("../../web/", import.meta.url));
export const WEB_DIST = fileURLToPath(new URL("../../web/dist/", import.meta.url));
/** The shared zod contracts are part of the bundle, so a change there rebuilds it. */
export const SHARED_ROOT = fileURLToPath(new URL("../../../shared/", import.meta.url));
/** Written last into a finished build: the hash of the sources it was built from. */
export const BUILD_STAMP = ".source-hash";
