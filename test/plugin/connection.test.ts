/**
 * Whether a seller's extension is connected, over HTTP: polls (with the extension's version and
 * Vinted account) and status reports (paused and why) are read back from GET /api/plugin/connection;
 * the heartbeat is kept in memory and written at most once per PLUGIN_SEEN_WRITE_MS per seller,
 * except for what the seller must see at once; a silent extension turns offline.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXTENSION_CONNECTION_ROUTES, ExtensionConnectionSchema, type ExtensionConnection } from "../../shared/extension-connection.js";
import { PLUGIN_ROUTES } from "../../shared/plugin.js";
import { startTestServer, type RegisteredUser, type TestServer } from "../helpers/app.js";
import { waitFor } from "../tasks/fixtures/tasks.js";

let server: TestServer;
let quickOffline: TestServer;
const warnings: string[] = [];

beforeAll(async () => {
  [server, quickOffline] = await Promise.all([
    // Writes throttled far beyond the test's length: only the writes that must happen at once happen.
    startTestServer({ PLUGIN_POLL_INTERVAL_MS: "0", PLUGIN_SEEN_WRITE_MS: "3600000" }),
    // Offline after a second, and the throttled writes every 100 ms.
    startTestServer(
      { PLUGIN_POLL_INTERVAL_MS: "0", PLUGIN_OFFLINE_AFTER_MS: "1000", PLUGIN_SEEN_WRITE_MS: "100", LOG_LEVEL: "warn" },
      { logStream: new Writable({ write: (chunk: Buffer, _encoding, done) => (warnings.push(chunk.toString()), done()) }) },
    ),
  ]);
});
afterAll(async () => {
  await server?.close();
  await quickOffline?.close();
});

async function connection(on: TestServer, seller: RegisteredUser): Promise<ExtensionConnection> {
  const res = await on.request("GET", EXTENSION_CONNECTION_ROUTES.connection, { token: seller.access_token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return ExtensionConnectionSchema.parse(res.body);
}

async function poll(on: TestServer, seller: RegisteredUser, query = ""): Promise<void> {
  const res = await on.request("GET", `${PLUGIN_ROUTES.tasks}${query}`, { token: seller.access_token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** What the server wrote for this seller (null: nothing yet). */
async function stored(seller: RegisteredUser, on = server): Promise<Record<string, unknown> | null> {
  return on.db.connection.collection("extension_connections").findOne({ user_id: seller.user.id });
}

describe("the extension's connection", () => {
  it("is never_seen before the first poll, then online with the version and Vinted account it reported", async () => {
    const seller = await server.register();
    expect(await connection(server, seller)).toMatchObject({ state: "never_seen", connected: false, last_poll_at: null, vinted_account: null, paused: false });

    const before = Date.now();
    await poll(server, seller, "?client_version=0.4.2&vinted_user_id=29535217&vinted_login=shop.ton.outfit");
    const seen = await connection(server, seller);
    expect(seen).toMatchObject({
      state: "online",
      connected: true,
      client_version: "0.4.2",
      vinted_account: { user_id: 29535217, login: "shop.ton.outfit" },
      paused: false,
      pause_reason: null,
    });
    expect(Date.parse(seen.last_poll_at!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(seen.last_poll_at!)).toBeLessThanOrEqual(Date.now());

    // Another seller's extension is not this one.
    expect((await connection(server, await server.register())).state).toBe("never_seen");
  });

  it("keeps polls in memory: the first contact is written, later polls wait for the throttled write", async () => {
    const seller = await server.register();
    await poll(server, seller, "?client_version=0.4.2");
    const first = await waitFor(() => stored(seller), (doc) => doc !== null, { what: "the first contact to be written" });
    const firstPoll = (first!.last_poll_at as Date).getTime();

    await waitFor(async () => Date.now(), (now) => now > firstPoll, { what: "the clock to move" });
    await poll(server, seller, "?client_version=0.4.2");
    const shown = await connection(server, seller);
    expect(Date.parse(shown.last_poll_at!)).toBeGreaterThan(firstPoll);
    expect(((await stored(seller))!.last_poll_at as Date).getTime()).toBe(firstPoll);
  });

  it("shows a pause and why at once, and a poll (or a resume report) ends it", async () => {
    const seller = await server.register();
    await poll(server, seller, "?client_version=0.4.2&vinted_login=shop.ton.outfit");
    const polledAt = (await connection(server, seller)).last_poll_at;
    const until = new Date(Date.now() + 30 * 60_000).toISOString();
    const report = await server.request("POST", EXTENSION_CONNECTION_ROUTES.status, {
      token: seller.access_token,
      body: { client_version: "0.4.2", paused: { reason: "captcha", message: "Vinted asked for a challenge", until } },
    });
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    expect(report.body).toEqual({ status: "received" });
    expect(await connection(server, seller)).toMatchObject({
      state: "paused",
      connected: true,
      paused: true,
      pause_reason: "captcha",
      pause_message: "Vinted asked for a challenge",
      paused_until: until,
      last_poll_at: polledAt,
      vinted_account: { user_id: null, login: "shop.ton.outfit" },
    });
    // Written at once, whatever the throttle.
    expect(await stored(seller)).toMatchObject({ pause_reason: "captcha" });

    await poll(server, seller);
    expect(await connection(server, seller)).toMatchObject({ state: "online", paused: false, pause_reason: null });

    await server.request("POST", EXTENSION_CONNECTION_ROUTES.status, { token: seller.access_token, body: { paused: { reason: "user" } } });
    expect(await connection(server, seller)).toMatchObject({ state: "paused", pause_reason: "user", paused_until: null });
    await server.request("POST", EXTENSION_CONNECTION_ROUTES.status, { token: seller.access_token, body: { paused: null } });
    expect(await connection(server, seller)).toMatchObject({ state: "online", paused: false });
  });

  it("refuses a bad report and needs a token", async () => {
    const seller = await server.register();
    const bad = await server.request("POST", EXTENSION_CONNECTION_ROUTES.status, { token: seller.access_token, body: { paused: { reason: "bored" } } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error_code: "VALIDATION_ERROR", field_errors: { "paused.reason": expect.any(Array) } });
    expect((await server.request("GET", EXTENSION_CONNECTION_ROUTES.connection)).status).toBe(401);
    const badPoll = await server.request("GET", `${PLUGIN_ROUTES.tasks}?vinted_user_id=abc`, { token: seller.access_token });
    expect(badPoll.status).toBe(400);
  });

  it("turns offline when the extension falls silent", async () => {
    const seller = await quickOffline.register();
    await poll(quickOffline, seller, "?client_version=0.4.2");
    const offline = await waitFor(() => connection(quickOffline, seller), (c) => c.state === "offline", { timeoutMs: 20_000, intervalMs: 200, what: "the extension to turn offline" });
    expect(offline).toMatchObject({ connected: false, client_version: "0.4.2", offline_after_seconds: 1 });
  });

  it("writes the sellers polled since the last write together, never an older report over another process's newer one", async () => {
    const writes = quickOffline.description.services.plugin.connections;
    writes.start();
    try {
      await heartbeatWrites();
    } finally {
      await writes.stop();
    }
  });

  async function heartbeatWrites(): Promise<void> {
    const sellers = await Promise.all([quickOffline.register(), quickOffline.register(), quickOffline.register()]);
    for (const seller of sellers) await poll(quickOffline, seller, "?client_version=0.4.2");
    const firstPolls = await Promise.all(
      sellers.map(async (seller) => (await waitFor(() => stored(seller, quickOffline), (doc) => doc !== null, { what: "the first contact" }))!.last_poll_at as Date),
    );
    // Another process saw the first seller's extension later, in another version: the batch goes on past it.
    const [elsewhere] = sellers;
    const later = new Date(Date.now() + 60_000);
    await quickOffline.db.connection.collection("extension_connections").updateOne({ user_id: elsewhere.user.id }, { $set: { last_seen_at: later, client_version: "0.5.0" } });

    await waitFor(async () => Date.now(), (now) => firstPolls.every((at) => now > at.getTime()), { what: "the clock to move" });
    for (const seller of sellers) await poll(quickOffline, seller, "?client_version=0.4.2");
    for (const [i, seller] of sellers.entries()) {
      if (seller === elsewhere) continue;
      await waitFor(() => stored(seller, quickOffline), (doc) => (doc!.last_poll_at as Date).getTime() > firstPolls[i].getTime(), { what: "the throttled write" });
    }
    expect(await stored(elsewhere, quickOffline)).toMatchObject({ last_seen_at: later, client_version: "0.5.0", last_poll_at: firstPolls[0] });
    expect(warnings.join("")).not.toContain("could not record");
  }

  it("is in the OpenAPI document", async () => {
    const doc = await server.request<{ paths: Record<string, Record<string, unknown>> }>("GET", "/api/openapi.json");
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths[EXTENSION_CONNECTION_ROUTES.connection] ?? {})).toContain("get");
    expect(Object.keys(doc.body.paths[EXTENSION_CONNECTION_ROUTES.status] ?? {})).toContain("post");
  });
});
