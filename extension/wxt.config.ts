import { defineConfig } from "wxt";
import preact from "@preact/preset-vite";
import { fileURLToPath } from "node:url";
import { VINTED_MATCH_PATTERNS } from "./lib/vinted/domains";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/**
 * The default MarketHub server (localhost, any port) and the hosted one are granted at install so
 * the extension works with no prompt; any other server URL the seller types in the options page is
 * requested at that moment through optional_host_permissions (least privilege instead of <all_urls>).
 */
const SERVER_HOST_PERMISSIONS = ["http://localhost/*", "http://127.0.0.1/*", "https://*.markethub.app/*"];

export default defineConfig({
  srcDir: ".",
  outDir: ".output",
  // One promise-based `browser` API in Chrome and Firefox alike (wxt/browser becomes webextension-polyfill).
  modules: ["@wxt-dev/webextension-polyfill"],
  vite: () => ({ plugins: [preact()] }),
  manifestVersion: 3,
  manifest: ({ browser }) => ({
    name: "__MSG_extName__",
    description: "__MSG_extDescription__",
    default_locale: "en",
    version: "0.1.0",
    // scripting: inject the Vinted content script into tabs that were already open at install time.
    permissions: ["storage", "alarms", "tabs", "scripting"],
    host_permissions: [...VINTED_MATCH_PATTERNS, ...SERVER_HOST_PERMISSIONS],
    optional_host_permissions: ["https://*/*", "http://*/*"],
    web_accessible_resources: [{ resources: ["vinted-bridge.js"], matches: VINTED_MATCH_PATTERNS }],
    action: { default_title: "MarketHub" },
    ...(browser === "firefox"
      ? {
          browser_specific_settings: {
            gecko: {
              id: "markethub@markethub.app",
              strict_min_version: "140.0",
              // The seller's listings and Vinted account data go to the seller's own MarketHub server.
              data_collection_permissions: {
                required: ["personallyIdentifyingInfo", "authenticationInfo", "websiteContent"],
              },
            },
            gecko_android: { strict_min_version: "142.0" },
          },
        }
      : {}),
  }),
  zip: {
    artifactTemplate: "markethub-{{version}}-{{browser}}.zip",
    sourcesTemplate: "markethub-{{version}}-sources.zip",
    // shared/plugin.ts lives outside extension/, so AMO's source archive is taken from the repo root.
    sourcesRoot: repoRoot,
    includeSources: ["extension/**", "shared/**", "package.json", "package-lock.json", "tsconfig.json"],
    excludeSources: ["server/**", "bench/**", "test/**", "extension/.output/**", "extension/.wxt/**", "**/node_modules/**"],
  },
});
