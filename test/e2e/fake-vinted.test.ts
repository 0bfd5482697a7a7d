import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakeVinted, type FakeVinted } from "../fixtures/fake-vinted/index.js";
import { FakeVintedClient, encodeMultipart } from "./harness/https-client.js";

interface WardrobeAnswer {
  items: Array<{ id: number; title: string; price: { amount: string }; view_count: number }>;
  pagination: { current_page: number; total_pages: number; total_entries: number };
}

let vinted: FakeVinted;
let client: FakeVintedClient;
let csrf: string;
let anonId: string;

async function openHomePage(): Promise<string> {
  const home = await client.send("GET", "/");
  const token = /\\"CSRF_TOKEN\\":\\"([^"\\]+)\\"/.exec(home.text)?.[1];
  if (!token) throw new Error("no CSRF_TOKEN in the home page");
  return token;
}

function writeHeaders(): Record<string, string> {
  return { "x-csrf-token": csrf, "x-anon-id": anonId };
}

const NEW_ITEM = { id: null, title: "T-shirt Nike Noir", description: "Très bon état", price: "15.00", brand_id: 53, size_id: 206, catalog_id: 5, status_id: 6, color_ids: [1], assigned_photos: [] };

beforeEach(async () => {
  vinted = await startFakeVinted({ totalItems: 1595 });
  client = new FakeVintedClient(vinted.host, vinted.port, vinted.certificate);
  csrf = await openHomePage();
  anonId = client.cookies.get("anon_id") ?? "";
});

afterEach(async () => {
  await vinted.close();
});

describe("fake Vinted: session and pages", () => {
  it("sets the session and anon_id cookies and embeds the CSRF token in an inline script", () => {
    expect(client.cookies.get("_vinted_fr_session")).toBe(vinted.state.sessionId);
    expect(anonId).toBe(vinted.state.anonId);
    expect(csrf).toBe(vinted.state.csrfToken);
  });

  it("answers users/current only with a valid session", async () => {
    const anonymous = new FakeVintedClient(vinted.host, vinted.port, vinted.certificate);
    expect((await anonymous.send("GET", "/api/v2/users/current")).status).toBe(401);
    const me = await client.send("GET", "/api/v2/users/current");
    expect(me.status).toBe(200);
    expect(me.json<{ user: { id: number; login: string; item_count: number } }>().user).toMatchObject({ id: 29535217, login: "shop.ton.outfit", item_count: 1595 });
  });
});

describe("fake Vinted: wardrobe", () => {
  it("paginates 1,595 items over 17 pages of at most 96", async () => {
    const ids = new Set<number>();
    let pages = 0;
    for (let page = 1; ; page++) {
      const answer = (await client.send("GET", `/api/v2/wardrobe/29535217/items?page=${page}&per_page=500&order=relevance`)).json<WardrobeAnswer>();
      pages = answer.pagination.total_pages;
      expect(answer.pagination.total_entries).toBe(1595);
      expect(answer.items.length).toBe(page < 17 ? 96 : 1595 - 16 * 96);
      for (const item of answer.items) ids.add(item.id);
      if (page >= pages) break;
    }
    expect(pages).toBe(17);
    expect(ids.size).toBe(1595);
  });
});

describe("fake Vinted: writes", () => {
  it("refuses writes without the page's CSRF token or anon id", async () => {
    const noCsrf = await client.sendJson("POST", "/api/v2/item_upload/items", { item: NEW_ITEM }, { "x-anon-id": anonId });
    expect(noCsrf.status).toBe(401);
    expect(noCsrf.json()).toMatchObject({ code: 106 });
    const noAnon = await client.sendJson("POST", "/api/v2/item_upload/items", { item: NEW_ITEM }, { "x-csrf-token": csrf });
    expect(noAnon.status).toBe(400);
    expect(vinted.state.items.length).toBe(1595);
  });

  it("creates, edits and deletes a listing, and refuses an identical live listing", async () => {
    const created = await client.sendJson("POST", "/api/v2/item_upload/items", { item: NEW_ITEM }, writeHeaders());
    expect(created.status).toBe(200);
    const id = created.json<{ item: { id: number } }>().item.id;
    const newest = (await client.send("GET", "/api/v2/wardrobe/29535217/items?page=1&per_page=96&order=newest_first")).json<WardrobeAnswer>();
    expect(newest.items[0]).toMatchObject({ id, title: "T-shirt Nike Noir", price: { amount: "15.00" } });

    const twin = await client.sendJson("POST", "/api/v2/item_upload/items", { item: NEW_ITEM }, writeHeaders());
    expect(twin.status).toBe(422);

    const editable = (await client.send("GET", `/api/v2/item_upload/items/${id}`)).json<{ item: Record<string, unknown> }>().item;
    expect(editable).toMatchObject({ id, description: "Très bon état", brand_id: 53, status_id: 6, color1_id: 1 });
    const updated = await client.sendJson("PUT", `/api/v2/item_upload/items/${id}`, { item: { ...NEW_ITEM, id, price: "12.00" } }, writeHeaders());
    expect(updated.status).toBe(200);
    expect(vinted.state.findItem(id)?.price).toBe("12.00");

    expect((await client.sendJson("POST", `/api/v2/items/${id}/delete`, {}, writeHeaders())).status).toBe(200);
    expect(vinted.state.findItem(id)).toBeUndefined();
    expect((await client.send("GET", `/api/v2/item_upload/items/${id}`)).status).toBe(404);
  });

  it("stores multipart photo uploads and lets a listing use them", async () => {
    const bytes = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);
    const form = new FormData();
    form.append("photo[type]", "item");
    form.append("photo[temp_uuid]", "uuid-1");
    form.append("photo[file]", new Blob([bytes], { type: "image/jpeg" }), "shirt.jpg");
    const { body, contentType } = await encodeMultipart(form);
    const answer = await client.send("POST", "/api/v2/photos", { body, headers: { "content-type": contentType, ...writeHeaders() } });
    expect(answer.status).toBe(200);
    const photoId = answer.json<{ id: number }>().id;
    expect(vinted.state.photos.get(photoId)).toMatchObject({ temp_uuid: "uuid-1", contentType: "image/jpeg", filename: "shirt.jpg" });
    expect(vinted.state.photos.get(photoId)?.bytes.equals(bytes)).toBe(true);

    const created = await client.sendJson("POST", "/api/v2/item_upload/items", { item: { ...NEW_ITEM, assigned_photos: [{ id: photoId, orientation: 0 }] } }, writeHeaders());
    expect(created.status).toBe(200);
    expect(vinted.state.items[0]?.photo_ids).toEqual([photoId]);
    const unknownPhoto = await client.sendJson("POST", "/api/v2/item_upload/items", { item: { ...NEW_ITEM, title: "Other", assigned_photos: [{ id: 1 }] } }, writeHeaders());
    expect(unknownPhoto.status).toBe(422);
  });
});

describe("fake Vinted: fault injection", () => {
  it("answers a burst of 429s with Retry-After, then recovers", async () => {
    vinted.inject({ kind: "rateLimit", count: 2, retryAfterSeconds: 3 });
    const first = await client.send("GET", "/api/v2/users/current");
    expect(first.status).toBe(429);
    expect(first.headers["retry-after"]).toBe("3");
    expect((await client.send("GET", "/api/v2/users/current")).status).toBe(429);
    expect((await client.send("GET", "/api/v2/users/current")).status).toBe(200);
  });

  it("serves a DataDome challenge (403 HTML) on every request while the captcha is on", async () => {
    vinted.inject({ kind: "captcha" });
    for (const path of ["/", "/api/v2/users/current"]) {
      const answer = await client.send("GET", path);
      expect(answer.status).toBe(403);
      expect(String(answer.headers["content-type"])).toContain("text/html");
      expect(answer.text).toContain("captcha-delivery");
      expect(answer.text).toContain("datadome");
    }
    vinted.clearFaults();
    expect((await client.send("GET", "/api/v2/users/current")).status).toBe(200);
  });

  it("expires the session until /web/api/auth/refresh renews the cookie", async () => {
    vinted.inject({ kind: "sessionExpired" });
    expect((await client.send("GET", "/api/v2/users/current")).status).toBe(401);
    const refreshed = await client.send("POST", "/web/api/auth/refresh");
    expect(refreshed.status).toBe(200);
    expect(client.cookies.get("_vinted_fr_session")).toBe(vinted.state.sessionId);
    expect((await client.send("GET", "/api/v2/users/current")).status).toBe(200);
  });

  it("logs the seller out: API 401 and the refresh refused", async () => {
    vinted.inject({ kind: "loggedOut" });
    expect((await client.send("GET", "/api/v2/users/current")).status).toBe(401);
    expect((await client.send("POST", "/web/api/auth/refresh")).status).toBe(401);
  });

  it("ends the session silently after a number of API requests, until the seller logs in again", async () => {
    vinted.inject({ kind: "silentLogout", afterRequests: 2 });
    expect((await client.send("GET", "/api/v2/users/current")).status).toBe(200);
    expect((await client.send("GET", "/api/v2/users/current")).status).toBe(200);
    expect((await client.send("GET", "/api/v2/users/current")).status).toBe(401);
    expect((await client.send("POST", "/web/api/auth/refresh")).status).toBe(401);
    // The same cookie works again once the seller has logged in.
    vinted.clearFaults();
    expect((await client.send("GET", "/api/v2/users/current")).status).toBe(200);
  });

  it("serves the challenge from a given API request on", async () => {
    vinted.inject({ kind: "captcha", afterRequests: 1 });
    expect((await client.send("GET", "/api/v2/users/current")).status).toBe(200);
    expect((await client.send("GET", "/api/v2/users/current")).status).toBe(403);
    expect((await client.send("GET", "/")).status).toBe(403);
  });

  it("sells a listing right after a wardrobe page is served: later pages shift and total_entries drops", async () => {
    const path = (page: number) => `/api/v2/wardrobe/${vinted.state.user.id}/items?page=${page}&per_page=96`;
    const firstOfPage2 = vinted.state.items[96]!;
    const sold = vinted.state.items[10]!;
    vinted.inject({ kind: "sellDuringSync", afterPage: 1, itemIndex: 10 });
    const page1 = JSON.parse((await client.send("GET", path(1))).text) as WardrobeAnswer;
    const page2 = JSON.parse((await client.send("GET", path(2))).text) as WardrobeAnswer;
    expect(page1.pagination.total_entries).toBe(1595);
    expect(page1.items.map((i) => i.id)).toContain(sold.id);
    expect(page2.pagination.total_entries).toBe(1594);
    // The listing that opened page 2 moved to page 1, which was already read: a one-pass walk misses it.
    expect([...page1.items, ...page2.items].map((i) => i.id)).not.toContain(firstOfPage2.id);
    expect(vinted.state.sold.map((i) => i.id)).toEqual([sold.id]);
    // Once only.
    const again = JSON.parse((await client.send("GET", path(1))).text) as WardrobeAnswer;
    expect(again.pagination.total_entries).toBe(1594);
    expect(again.items.map((i) => i.id)).toContain(firstOfPage2.id);
  });

  it("expires the CSRF token: the stale one is refused, a freshly loaded page's one works", async () => {
    vinted.inject({ kind: "csrfExpired" });
    expect((await client.sendJson("POST", "/api/v2/item_upload/items", { item: NEW_ITEM }, writeHeaders())).status).toBe(401);
    csrf = await openHomePage();
    expect((await client.sendJson("POST", "/api/v2/item_upload/items", { item: NEW_ITEM }, writeHeaders())).status).toBe(200);
  });

  it("adds latency and records every request", async () => {
    vinted.inject({ kind: "latency", ms: 250 });
    const started = Date.now();
    await client.send("GET", "/api/v2/users/current?x=1");
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    const last = vinted.state.requests.at(-1);
    expect(last).toMatchObject({ method: "GET", path: "/api/v2/users/current", query: { x: "1" }, status: 200, hasSession: true });
    expect(vinted.state.requests.filter((r) => r.path === "/").length).toBe(1);
  });
});
