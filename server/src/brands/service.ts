import type { Request } from "express";
import type { Connection, Model } from "mongoose";
import type { AddBrandMemberBody, Brand, BrandMember, BrandRole } from "../../../shared/brands.js";
import type { Page, PageQuery } from "../../../shared/common.js";
import type { UserDoc } from "../auth/model.js";
import { nextSequence } from "../db/counters.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { AppError, invalidOperation, notFound, permissionDenied } from "../http/errors.js";
import { skipOf, toPage } from "../http/pagination.js";
import { MembershipCache, type CachedMembership } from "./membership-cache.js";
import { brandModels, type BrandDoc, type BrandMemberDoc, type BrandModels } from "./model.js";

const DUPLICATE_KEY = 11000;

export function toBrandDto(brand: BrandDoc, role: BrandRole): Brand {
  return { id: brand._id, name: brand.name, personal: brand.personal, role, created_at: brand.created_at.toISOString() };
}

export class BrandService {
  private readonly models: BrandModels;
  private readonly memberships: MembershipCache;

  /** `membershipCacheMs`: how long memberships read are trusted (a change made by another process is seen that late). */
  constructor(
    private readonly connection: Connection,
    private readonly users: Model<UserDoc>,
    membershipCacheMs = 0,
  ) {
    this.models = brandModels(connection);
    this.memberships = new MembershipCache(membershipCacheMs);
  }

  async init(): Promise<void> {
    await Promise.all([this.models.Brand.init(), this.models.BrandMember.init()]);
  }

  newBrandId(): Promise<number> {
    return nextSequence(this.connection, "brands");
  }

  /** The brand every account gets; its id is allocated before the user is stored. */
  async createPersonalBrand(brandId: number, userId: number, name: string): Promise<void> {
    await this.models.Brand.create({ _id: brandId, name, personal: true, created_by: userId });
    await this.models.BrandMember.create({ brand_id: brandId, user_id: userId, role: "owner", personal: true });
    this.memberships.forget(userId);
  }

  /** Undoes createPersonalBrand when registration fails half-way (there are no transactions to lean on). */
  async discardPersonalBrand(brandId: number): Promise<void> {
    const members = await this.models.BrandMember.find({ brand_id: brandId }, { user_id: 1 }).lean();
    await this.models.BrandMember.deleteMany({ brand_id: brandId });
    for (const m of members) this.memberships.forget(m.user_id);
    await this.models.Brand.deleteOne({ _id: brandId, personal: true });
  }

  async createBrand(principal: Principal, name: string): Promise<Brand> {
    const brandId = await this.newBrandId();
    const brand = await this.models.Brand.create({ _id: brandId, name, personal: false, created_by: principal.userId });
    await this.models.BrandMember.create({ brand_id: brandId, user_id: principal.userId, role: "owner" });
    this.memberships.forget(principal.userId);
    return toBrandDto(brand.toObject(), "owner");
  }

  /**
   * The membership behind X-Brand-ID (or, without it, the personal brand). null when the user is not
   * a member — also when the brand does not exist, so the answer does not reveal which ids exist.
   */
  async accessFor(userId: number, brandId: number | null): Promise<BrandAccess | null> {
    const memberships = await this.membershipsOf(userId);
    const membership = memberships.find((m) => (brandId === null ? m.personal : m.brand_id === brandId));
    return membership ? { brandId: membership.brand_id, role: membership.role } : null;
  }

  /** The user's memberships (cached for the membership cache's time; changes made here are seen at once). */
  private membershipsOf(userId: number): Promise<readonly CachedMembership[]> {
    return this.memberships.get(userId, async () => {
      const rows = await this.models.BrandMember.find({ user_id: userId }, { _id: 0, brand_id: 1, role: 1, personal: 1 }).lean();
      return rows.map((m) => ({ brand_id: m.brand_id, role: m.role, personal: m.personal === true }));
    });
  }

  async listForUser(req: Request, userId: number, query: PageQuery): Promise<Page<Brand>> {
    const filter = { user_id: userId };
    const [count, memberships] = await Promise.all([
      this.models.BrandMember.countDocuments(filter),
      this.models.BrandMember.find(filter).sort({ brand_id: 1 }).skip(skipOf(query)).limit(query.page_size).lean(),
    ]);
    return toPage(req, query, count, await this.brandsOf(memberships));
  }

  /** The ids of the brands a user is a member of now (extension claims and results are held to them). */
  async brandIdsOf(userId: number): Promise<number[]> {
    return (await this.membershipsOf(userId)).map((m) => m.brand_id);
  }

  /** Every brand of a user, for /auth/me (a user belongs to a handful of brands). */
  async allForUser(userId: number): Promise<Brand[]> {
    const memberships = await this.models.BrandMember.find({ user_id: userId }).sort({ brand_id: 1 }).lean();
    return this.brandsOf(memberships);
  }

  async get(access: BrandAccess): Promise<Brand> {
    const brand = await this.models.Brand.findById(access.brandId).lean();
    if (!brand) throw notFound("Brand not found.");
    return toBrandDto(brand, access.role);
  }

  async listMembers(req: Request, access: BrandAccess, query: PageQuery): Promise<Page<BrandMember>> {
    const filter = { brand_id: access.brandId };
    const [count, memberships] = await Promise.all([
      this.models.BrandMember.countDocuments(filter),
      this.models.BrandMember.find(filter).sort({ created_at: 1, user_id: 1 }).skip(skipOf(query)).limit(query.page_size).lean(),
    ]);
    return toPage(req, query, count, await this.membersOf(memberships));
  }

  async addMember(access: BrandAccess, body: AddBrandMemberBody): Promise<BrandMember> {
    const user = await this.users.findOne(body.email !== undefined ? { email: body.email } : { _id: body.user_id }).lean();
    if (!user) throw notFound("No user with this email or id.");
    try {
      const membership = await this.models.BrandMember.create({ brand_id: access.brandId, user_id: user._id, role: body.role });
      this.memberships.forget(user._id);
      return memberDto(membership.toObject(), user);
    } catch (err) {
      if ((err as { code?: number }).code === DUPLICATE_KEY) {
        throw new AppError(409, "ALREADY_MEMBER", "This user is already a member of the brand.");
      }
      throw err;
    }
  }

  /** Owners remove anyone; a member may remove themselves (leave). The last owner stays. */
  async removeMember(principal: Principal, access: BrandAccess, userId: number): Promise<void> {
    const leaving = userId === principal.userId;
    if (access.role !== "owner" && !leaving) throw permissionDenied("Only brand owners can manage members.");
    const membership = await this.models.BrandMember.findOne({ brand_id: access.brandId, user_id: userId }).lean();
    if (!membership) throw notFound("This user is not a member of the brand.");
    if (membership.personal) throw invalidOperation("The owner of a personal brand cannot be removed from it.");
    if (membership.role === "owner") {
      const owners = await this.models.BrandMember.countDocuments({ brand_id: access.brandId, role: "owner" });
      if (owners <= 1) throw invalidOperation("A brand must keep at least one owner.");
    }
    await this.models.BrandMember.deleteOne({ brand_id: access.brandId, user_id: userId });
    this.memberships.forget(userId);
  }

  private async brandsOf(memberships: BrandMemberDoc[]): Promise<Brand[]> {
    const brands = await this.models.Brand.find({ _id: { $in: memberships.map((m) => m.brand_id) } }).lean();
    const byId = new Map(brands.map((b) => [b._id, b]));
    return memberships.flatMap((m) => {
      const brand = byId.get(m.brand_id);
      return brand ? [toBrandDto(brand, m.role)] : [];
    });
  }

  private async membersOf(memberships: BrandMemberDoc[]): Promise<BrandMember[]> {
    const users = await this.users.find({ _id: { $in: memberships.map((m) => m.user_id) } }, { email: 1, username: 1 }).lean();
    const byId = new Map(users.map((u) => [u._id, u]));
    return memberships.flatMap((m) => {
      const user = byId.get(m.user_id);
      return user ? [memberDto(m, user)] : [];
    });
  }
}

function memberDto(membership: BrandMemberDoc, user: Pick<UserDoc, "_id" | "email" | "username">): BrandMember {
  return {
    user: { id: user._id, username: user.username, email: user.email },
    role: membership.role,
    joined_at: membership.created_at.toISOString(),
  };
}
