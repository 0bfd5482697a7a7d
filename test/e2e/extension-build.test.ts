import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { lintFirefoxBuild } from "../../extension/scripts/build.js";
import { VINTED_MATCH_PATTERNS } from "../../extension/lib/vinted/domains.js";
import { ensureExtensionBuilt } from "./harness/extension-build.js";
import { chromeBuild, extensionOutput, firefoxBuild } from "./harness/paths.js";

interface Manifest {
  manifest_version: number;
  name: string;
  default_locale?: string;
  version: string;
  permissions?: string[];
  host_permissions?: string[];
  optional_host_permissions?: string[];
  background?: { service_worker?: string; scripts?: string[] };
  content_scripts?: Array<{ matches: string[]; js: string[] }>;
  web_accessible_resources?: Array<{ resources: string[]; matches: string[] }>;
  action?: { default_popup?: string };
  options_ui?: { page: string };
  browser_specific_settings?: { gecko?: { id?: string; data_collection_permissions?: { required: string[] } } };
}

const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
const LOCALES = ["en", "fr", "es"];

beforeAll(async () => {
  await ensureExtensionBuilt();
}, 300_000);

describe.each([
  ["chrome", chromeBuild],
  ["firefox", firefoxBuild],
])("production build for %s", (target, dir) => {
  it("is a Manifest V3 extension with the permissions the extension needs and no more", () => {
    const manifest = readManifest(dir);
    expect(manifest.manifest_version).toBe(3);
    expect(manifest.name).toBe("__MSG_extName__");
    expect(manifest.default_locale).toBe("en");
    expect(new Set(manifest.permissions)).toEqual(new Set(["storage", "alarms", "tabs", "scripting"]));
    expect(manifest.host_permissions).toEqual(expect.arrayContaining([...VINTED_MATCH_PATTERNS, "http://localhost/*", "http://127.0.0.1/*"]));
    expect(manifest.host_permissions).not.toContain("<all_urls>");
    expect(manifest.optional_host_permissions).toEqual(expect.arrayContaining(["https://*/*", "http://*/*"]));
  });

  it("declares the Vinted content script and the web-accessible main-world bridge, and ships them", () => {
    const manifest = readManifest(dir);
    const [content] = manifest.content_scripts ?? [];
    expect([...(content?.matches ?? [])].sort()).toEqual([...VINTED_MATCH_PATTERNS].sort());
    for (const file of content?.js ?? []) expect(existsSync(join(dir, file))).toBe(true);
    expect(manifest.web_accessible_resources?.[0]?.resources).toEqual(["vinted-bridge.js"]);
    expect([...(manifest.web_accessible_resources?.[0]?.matches ?? [])].sort()).toEqual([...VINTED_MATCH_PATTERNS].sort());
    expect(existsSync(join(dir, "vinted-bridge.js"))).toBe(true);
    expect(existsSync(join(dir, manifest.action?.default_popup ?? "missing"))).toBe(true);
    expect(existsSync(join(dir, manifest.options_ui?.page ?? "missing"))).toBe(true);
  });

  it("ships English, French and Spanish messages with the same keys", () => {
    const keys = LOCALES.map((locale) => Object.keys(JSON.parse(readFileSync(join(dir, "_locales", locale, "messages.json"), "utf8")) as object).sort());
    expect(keys[0]!.length).toBeGreaterThan(40);
    expect(keys[1]).toEqual(keys[0]);
    expect(keys[2]).toEqual(keys[0]);
  });

  it(`has the ${target} background and browser-specific settings`, () => {
    const manifest = readManifest(dir);
    if (target === "chrome") {
      expect(manifest.background?.service_worker).toBe("background.js");
      expect(manifest.browser_specific_settings).toBeUndefined();
    } else {
      expect(manifest.background?.scripts).toEqual(["background.js"]);
      expect(manifest.browser_specific_settings?.gecko?.id).toBe("markethub@markethub.app");
      expect(manifest.browser_specific_settings?.gecko?.data_collection_permissions?.required.length).toBeGreaterThan(0);
    }
    expect(existsSync(join(dir, "background.js"))).toBe(true);
    expect(existsSync(join(extensionOutput, `markethub-${manifest.version}-${target}.zip`))).toBe(true);
  });
});

describe("web-ext lint", () => {
  it("finds no error in the Firefox build", () => {
    const report = lintFirefoxBuild();
    expect(report.errors).toEqual([]);
    expect(report.summary.errors).toBe(0);
  }, 120_000);
});
