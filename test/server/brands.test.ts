import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Schema } from "mongoose";
import { BrandListResponseSchema, BrandMemberListResponseSchema, BrandSchema } from "../../shared/brands.js";
import { allBrands, brandFilter, brandScoped, MissingBrandFilterError } from "../../server/src/brands/scope.js";
import { bindModel } from "../../server/src/db/models.js";
import { startTestServer, type RegisteredUser, type TestServer } from "../helpers/app.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

type Body = Record<string, unknown>;

async function createBrand(user: RegisteredUser, name: string) {
  const res = await server.request("POST", "/api/v1/brands", { token: user.access_token, body: { name } });
  expect(res.status).toBe(201);
  return BrandSchema.parse(res.body);
}

describe("brands", () => {
  it("a created brand is owned by its creator and listed with the personal one", async () => {
    const user = await server.register();
    const brand = await createBrand(user, "  Humari ");
    expect(brand).toMatchObject({ name: "Humari", personal: false, role: "owner" });

    const list = await server.request("GET", "/api/v1/brands", { token: user.access_token });
    expect(list.status).toBe(200);
    const page = BrandListResponseSchema.parse(list.body);
    expect(page.count).toBe(2);
    expect(page.results.map((b) => b.id)).toEqual([user.user.personal_brand_id, brand.id]);
  });

  it("paginates with page/page_size and links to the neighbour pages", async () => {
    const user = await server.register();
    for (const name of ["a", "b", "c"]) await createBrand(user, name);
    const first = BrandListResponseSchema.parse((await server.request("GET", "/api/v1/brands?page_size=3", { token: user.access_token })).body);
    expect(first).toMatchObject({ count: 4, previous: null, next: "?page_size=3&page=2" });
    const second = BrandListResponseSchema.parse((await server.request("GET", `/api/v1/brands${first.next!}`, { token: user.access_token })).body);
    expect(second.results).toHaveLength(1);
    expect(second.next).toBeNull();
    expect(second.previous).toBe("?page_size=3&page=1");
  });

  it("refuses an invalid page size", async () => {
    const user = await server.register();
    const res = await server.request<Body>("GET", "/api/v1/brands?page_size=1000", { token: user.access_token });
    expect(res.status).toBe(400);
    expect(res.body.field_errors).toHaveProperty("page_size");
  });
});

describe("X-Brand-ID", () => {
  it("defaults to the personal brand", async () => {
    const user = await server.register();
    const res = await server.request<Body>("GET", "/api/v1/brands/current", { token: user.access_token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: user.user.personal_brand_id, personal: true, role: "owner" });
  });

  it("selects another brand of the caller", async () => {
    const user = await server.register();
    const brand = await createBrand(user, "Second");
    const res = await server.request<Body>("GET", "/api/v1/brands/current", { token: user.access_token, headers: { "X-Brand-ID": String(brand.id) } });
    expect(res.body).toMatchObject({ id: brand.id, name: "Second" });
  });

  it("refuses a brand of another user and a brand that does not exist alike (403)", async () => {
    const [alice, bob] = [await server.register(), await server.register()];
    for (const id of [String(bob.user.personal_brand_id), "999999"]) {
      const res = await server.request<Body>("GET", "/api/v1/brands/current", { token: alice.access_token, headers: { "X-Brand-ID": id } });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ detail: "You do not have access to this brand.", error_code: "PERMISSION_DENIED" });
    }
  });

  it("refuses a non-integer or empty header (400)", async () => {
    const user = await server.register();
    for (const id of ["abc", "1.5", "-3", "0", "1e3", ""]) {
      const res = await server.request<Body>("GET", "/api/v1/brands/current", { token: user.access_token, headers: { "X-Brand-ID": id } });
      expect(res.status, id).toBe(400);
      expect(res.body).toMatchObject({ error_code: "VALIDATION_ERROR", field_errors: { "X-Brand-ID": [expect.any(String)] } });
    }
  });
});

describe("members", () => {
  it("owners add members by email or id; members then see the brand", async () => {
    const [owner, ann, ben] = [await server.register(), await server.register(), await server.register()];
    const brand = await createBrand(owner, "Shop");
    const path = `/api/v1/brands/${brand.id}/members`;

    const byEmail = await server.request<Body>("POST", path, { token: owner.access_token, body: { email: ann.email.toUpperCase() } });
    expect(byEmail.status).toBe(201);
    expect(byEmail.body).toMatchObject({ user: { id: ann.user.id, email: ann.email }, role: "member" });
    const byId = await server.request<Body>("POST", path, { token: owner.access_token, body: { user_id: ben.user.id, role: "owner" } });
    expect(byId.status).toBe(201);

    const list = BrandMemberListResponseSchema.parse((await server.request("GET", path, { token: ann.access_token })).body);
    expect(list.results.map((m) => [m.user.id, m.role])).toEqual([
      [owner.user.id, "owner"],
      [ann.user.id, "member"],
      [ben.user.id, "owner"],
    ]);
    const annBrand = await server.request<Body>("GET", "/api/v1/brands/current", { token: ann.access_token, headers: { "X-Brand-ID": String(brand.id) } });
    expect(annBrand.body).toMatchObject({ id: brand.id, role: "member" });
  });

  it("only owners manage members", async () => {
    const [owner, member, outsider] = [await server.register(), await server.register(), await server.register()];
    const brand = await createBrand(owner, "Owned");
    await server.request("POST", `/api/v1/brands/${brand.id}/members`, { token: owner.access_token, body: { user_id: member.user.id } });

    const add = await server.request<Body>("POST", `/api/v1/brands/${brand.id}/members`, { token: member.access_token, body: { user_id: outsider.user.id } });
    expect(add.status).toBe(403);
    expect(add.body.error_code).toBe("PERMISSION_DENIED");
    const remove = await server.request<Body>("DELETE", `/api/v1/brands/${brand.id}/members/${owner.user.id}`, { token: member.access_token });
    expect(remove.status).toBe(403);
    const peek = await server.request<Body>("GET", `/api/v1/brands/${brand.id}/members`, { token: outsider.access_token });
    expect(peek.status).toBe(403);
  });

  it("refuses duplicates, unknown users and an ambiguous body", async () => {
    const [owner, other] = [await server.register(), await server.register()];
    const path = `/api/v1/brands/${owner.user.personal_brand_id}/members`;
    expect((await server.request("POST", path, { token: owner.access_token, body: { user_id: other.user.id } })).status).toBe(201);
    const dup = await server.request<Body>("POST", path, { token: owner.access_token, body: { email: other.email } });
    expect(dup.status).toBe(409);
    expect(dup.body.error_code).toBe("ALREADY_MEMBER");
    const unknown = await server.request<Body>("POST", path, { token: owner.access_token, body: { email: "ghost@example.com" } });
    expect(unknown.status).toBe(404);
    const both = await server.request<Body>("POST", path, { token: owner.access_token, body: { email: other.email, user_id: other.user.id } });
    expect(both.status).toBe(400);
    expect(both.body.field_errors).toEqual({ non_field_errors: ["give exactly one of email and user_id"] });
  });

  it("owners remove members, members may leave, the last owner and a personal owner stay", async () => {
    const [owner, ann, ben] = [await server.register(), await server.register(), await server.register()];
    const brand = await createBrand(owner, "Team");
    const members = `/api/v1/brands/${brand.id}/members`;
    for (const u of [ann, ben]) await server.request("POST", members, { token: owner.access_token, body: { user_id: u.user.id } });

    expect((await server.request("DELETE", `${members}/${ann.user.id}`, { token: owner.access_token })).status).toBe(204);
    expect((await server.request("DELETE", `${members}/${ben.user.id}`, { token: ben.access_token })).status).toBe(204);
    const gone = await server.request("GET", "/api/v1/brands/current", { token: ann.access_token, headers: { "X-Brand-ID": String(brand.id) } });
    expect(gone.status).toBe(403);

    const last = await server.request<Body>("DELETE", `${members}/${owner.user.id}`, { token: owner.access_token });
    expect(last.status).toBe(400);
    expect(last.body).toMatchObject({ error_code: "INVALID_OPERATION", detail: "A brand must keep at least one owner." });

    const personal = `/api/v1/brands/${owner.user.personal_brand_id}/members`;
    await server.request("POST", personal, { token: owner.access_token, body: { user_id: ann.user.id, role: "owner" } });
    const removeFounder = await server.request<Body>("DELETE", `${personal}/${owner.user.id}`, { token: ann.access_token });
    expect(removeFounder.status).toBe(400);
    expect(removeFounder.body.error_code).toBe("INVALID_OPERATION");

    expect((await server.request("DELETE", `${members}/${ann.user.id}`, { token: owner.access_token })).status).toBe(404);
  });
});

describe("brand-scoped collections", () => {
  interface NoteDoc {
    brand: number;
    text: string;
  }
  const NoteSchema = new Schema<NoteDoc>({ text: String });
  NoteSchema.plugin(brandScoped);

  it("every query must filter by brand; brandFilter and allBrands are the ways to do it", async () => {
    const Note = bindModel(server.db.connection, "ScopeTestNote", NoteSchema);
    await Note.create([{ brand: 1, text: "one" }, { brand: 2, text: "two" }]);

    await expect(Note.find({ text: "one" })).rejects.toBeInstanceOf(MissingBrandFilterError);
    await expect(Note.countDocuments()).rejects.toBeInstanceOf(MissingBrandFilterError);
    await expect(Note.updateMany({}, { $set: { text: "x" } })).rejects.toBeInstanceOf(MissingBrandFilterError);
    await expect(Note.deleteOne({ text: "two" })).rejects.toBeInstanceOf(MissingBrandFilterError);
    await expect(Note.aggregate([{ $group: { _id: null, n: { $sum: 1 } } }]).exec()).rejects.toBeInstanceOf(MissingBrandFilterError);
    await expect(Note.create({ text: "no brand" })).rejects.toThrow(/brand/);
    await expect(Note.updateOne({ brand: 1 }, { $set: { brand: 2 } })).rejects.toThrow(/another brand/);

    const scoped = await Note.find(brandFilter({ brandId: 1, role: "member" })).lean();
    expect(scoped.map((n) => n.text)).toEqual(["one"]);
    const everything = await allBrands(Note.find({})).lean();
    expect(everything).toHaveLength(2);
    const grouped = await Note.aggregate([{ $match: { brand: 2 } }, { $count: "n" }]);
    expect(grouped).toEqual([{ n: 1 }]);
  });
});
