/**
 * Puppeteer's configuration, read by its install script and by every launch. The project drives
 * the browsers the system provides (Debian's Chromium and Firefox ESR) and never downloads one:
 * the download servers are unreachable here, and a second Chromium would only hide which browser
 * the end-to-end tests really ran.
 *
 * The e2e harness (test/e2e/harness/browsers.ts) takes both executables from this file, so there
 * is one place to change them; CHROMIUM_PATH / FIREFOX_PATH override them for one run.
 */
module.exports = {
  skipDownload: true,
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  // Not a puppeteer setting: puppeteer has one executablePath, the harness needs Firefox's too.
  firefoxExecutablePath: process.env.FIREFOX_PATH || "/usr/bin/firefox-esr",
};
