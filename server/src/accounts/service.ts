import { randomBytes } from "node:crypto";
import type { Request } from "express";
import type { Connection } from "mongoose";
import type {
  AccountListQuery,
  AccountView,
  CreateAccountBody,
  UpdateAccountBody,
} from "../../../shared/accounts.js";
import type { Page } from "../../../shared/common.js";
import { brandFilter } from "../brands/scope.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { AppError, notFound } from "../http/errors.js";
import { skipOf, toPage } from "../http/pagination.js";
import { accountModel, type Account, type AccountModel } from "./model.js";

const DUPLICATE_KEY = 11000;

export const accountNotFound = () => notFound("Account not found");

export function toAccountView(a: Account): AccountView {
  return {
    account_id: a.account_id,
    name: a.name,
    status: a.status,
    balance: a.balance,
    billing_type: a.billing_type,
    marketplace_connection: a.marketplace_connection ?? null,
    created_at: a.created_at.toISOString(),
    updated_at: a.updated_at.toISOString(),
  };
}

/** Whether an account still has work that needs it (asked before it is deleted). */
export type AccountInUse = (brand: number, accountId: string) => Promise<boolean>;

/** A top-up or a suspension lifted: the account's held jobs may run again. */
export type AccountListener = (account: Account) => Promise<void>;

export class AccountService {
  readonly accounts: AccountModel;
  private inUse: AccountInUse = async () => false;
  private readonly reactivated: AccountListener[] = [];

  constructor(connection: Connection) {
    this.accounts = accountModel(connection);
  }

  async init(): Promise<void> {
    await this.accounts.init();
  }

  useInUseCheck(check: AccountInUse): void {
    this.inUse = check;
  }

  /** Called after a top-up, or when the account becomes active again. */
  onReactivated(listener: AccountListener): void {
    this.reactivated.push(listener);
  }

  async find(brand: BrandAccess | number, accountId: string): Promise<Account> {
    const brandId = typeof brand === "number" ? brand : brand.brandId;
    const account = await this.accounts.findOne({ brand: brandId, account_id: accountId }).lean<Account>();
    if (!account) throw accountNotFound();
    return account;
  }

  async list(req: Request, brand: BrandAccess, query: AccountListQuery): Promise<Page<AccountView>> {
    const filter = brandFilter(brand, {
      ...(query.status ? { status: query.status } : {}),
      ...(query.billing_type ? { billing_type: query.billing_type } : {}),
    });
    const [count, rows] = await Promise.all([
      this.accounts.countDocuments(filter),
      this.accounts.find(filter).sort({ created_at: -1, _id: -1 }).skip(skipOf(query)).limit(query.page_size).lean<Account[]>(),
    ]);
    return toPage(req, query, count, rows.map(toAccountView));
  }

  async create(principal: Principal, brand: BrandAccess, body: CreateAccountBody): Promise<AccountView> {
    const accountId = body.account_id ?? `acc-${randomBytes(4).toString("hex")}`;
    try {
      const created = await this.accounts.create({ ...body, account_id: accountId, brand: brand.brandId, created_by: principal.userId });
      return toAccountView(created.toObject() as Account);
    } catch (err) {
      if ((err as { code?: number }).code === DUPLICATE_KEY) {
        throw new AppError(409, "CONFLICT", `An account '${accountId}' already exists`, { field_errors: { account_id: ["already exists"] } });
      }
      throw err;
    }
  }

  async update(brand: BrandAccess, accountId: string, body: UpdateAccountBody): Promise<AccountView> {
    const before = await this.find(brand, accountId);
    const updated = await this.accounts
      .findOneAndUpdate(brandFilter(brand, { account_id: accountId }), { $set: body }, { returnDocument: "after" })
      .lean<Account>();
    if (!updated) throw accountNotFound();
    if (this.canRunMore(updated) && !this.canRunMore(before)) await this.notifyReactivated(updated);
    return toAccountView(updated);
  }

  async remove(brand: BrandAccess, accountId: string): Promise<void> {
    await this.find(brand, accountId);
    if (await this.inUse(brand.brandId, accountId)) {
      throw new AppError(409, "CONFLICT", "The account has active batches: cancel them first");
    }
    await this.accounts.deleteOne(brandFilter(brand, { account_id: accountId }));
  }

  /** Adds credits; jobs held because the balance could not pay may run again. */
  async topUp(brand: BrandAccess, accountId: string, amount: number): Promise<AccountView> {
    const updated = await this.accounts
      .findOneAndUpdate(brandFilter(brand, { account_id: accountId }), { $inc: { balance: amount } }, { returnDocument: "after" })
      .lean<Account>();
    if (!updated) throw accountNotFound();
    await this.notifyReactivated(updated);
    return toAccountView(updated);
  }

  /**
   * Takes `cost` from a credits account's balance, atomically and only if it covers it: the balance
   * never goes negative. A postpaid account's balance records what it owes (added). False when a
   * credits account cannot pay.
   */
  async charge(brand: number, accountId: string, cost: number): Promise<boolean> {
    if (cost <= 0) return true;
    const paid = await this.accounts.updateOne(
      { brand, account_id: accountId, $or: [{ billing_type: "postpaid" }, { billing_type: "credits", balance: { $gte: cost } }] },
      [{ $set: { balance: { $cond: [{ $eq: ["$billing_type", "credits"] }, { $subtract: ["$balance", cost] }, { $add: ["$balance", cost] }] } } }],
      { updatePipeline: true },
    );
    return paid.matchedCount === 1;
  }

  /** Whether a job of this account may start now. */
  canRunMore(account: Pick<Account, "status" | "billing_type" | "balance">, cost = 0): boolean {
    if (account.status !== "active") return false;
    return account.billing_type !== "credits" || account.balance >= Math.max(cost, Number.MIN_VALUE);
  }

  private async notifyReactivated(account: Account): Promise<void> {
    for (const listener of this.reactivated) await listener(account);
  }
}
