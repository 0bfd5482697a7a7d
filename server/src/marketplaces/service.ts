/**
 * Marketplaces as a brand sees them, and its connections. Secrets go in sealed and never come out
 * through the API; connectors get them through a ConnectionHandle.
 */
import type { Connection, Model } from "mongoose";
import type { Marketplace } from "../../../shared/marketplaces.js";
import type { Page } from "../../../shared/common.js";
import { brandFilter } from "../brands/scope.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { AppError, invalidOperation } from "../http/errors.js";
import { fieldErrorsOf } from "../http/validation.js";
import type { SecretBox } from "../secrets/index.js";
import { isPublicationError, type ConnectionHandle, type MarketplaceConnector } from "./connector.js";
import { connectionModel, sealingContext, type MarketplaceConnectionDoc } from "./model.js";
import type { Connectors } from "./registry.js";

export const marketplaceNotFound = (id: number) =>
  new AppError(404, "NOT_FOUND", `Marketplace with id ${id} not found`, { extra: { error: `Marketplace with id ${id} not found` } });

export class MarketplaceService {
  readonly Connection: Model<MarketplaceConnectionDoc>;

  constructor(
    connection: Connection,
    readonly connectors: Connectors,
    private readonly secrets: SecretBox,
  ) {
    this.Connection = connectionModel(connection);
  }

  async init(): Promise<void> {
    await this.Connection.init();
  }

  connector(id: number): MarketplaceConnector {
    const connector = this.connectors.byId(id);
    if (!connector) throw marketplaceNotFound(id);
    return connector;
  }

  async list(brand: BrandAccess, principal: Principal): Promise<Page<Marketplace>> {
    const docs = await this.Connection.find(brandFilter(brand)).lean<MarketplaceConnectionDoc[]>();
    const results = await Promise.all(this.connectors.all.map((c) => this.view(c, docs.find((d) => d.marketplace_id === c.id) ?? null, principal)));
    return { count: results.length, next: null, previous: null, results };
  }

  async get(brand: BrandAccess, principal: Principal, id: number): Promise<Marketplace> {
    const connector = this.connector(id);
    const doc = await this.Connection.findOne(brandFilter(brand, { marketplace_id: id })).lean<MarketplaceConnectionDoc>();
    return this.view(connector, doc, principal);
  }

  async connect(brand: BrandAccess, principal: Principal, id: number, body: Record<string, unknown>): Promise<Marketplace> {
    const connector = this.connector(id);
    if (!connector.connectionSchema) {
      throw invalidOperation(`${connector.name} needs no credentials: it is connected when your MarketHub extension is logged in to it.`);
    }
    const parsed = connector.connectionSchema.safeParse(body);
    if (!parsed.success) throw new AppError(400, "VALIDATION_ERROR", "Validation failed", { field_errors: fieldErrorsOf(parsed.error) });
    let credentials = parsed.data;
    const prepared = connector.prepareConnection ? await connector.prepareConnection(credentials) : credentials;
    if (isPublicationError(prepared)) {
      // Refused outright: the seller must fix the credentials. Unreachable: kept, checked when used.
      if (prepared.kind === "final") {
        throw invalidOperation(`${connector.name} refused these credentials: ${prepared.message}`, { marketplace_response: prepared.marketplace_response });
      }
    } else {
      credentials = prepared;
    }
    const now = new Date();
    const doc = await this.Connection.findOneAndUpdate(
      brandFilter(brand, { marketplace_id: id }),
      {
        $set: { sealed: this.secrets.sealJson(credentials, sealingContext(brand.brandId, id)), details: connector.publicDetails(credentials) },
        $inc: { version: 1 },
        $setOnInsert: { connected_at: now },
      },
      { upsert: true, returnDocument: "after", lean: true },
    );
    return this.view(connector, doc as MarketplaceConnectionDoc, principal);
  }

  async disconnect(brand: BrandAccess, id: number): Promise<void> {
    const connector = this.connector(id);
    if (!connector.connectionSchema) throw invalidOperation(`${connector.name} is disconnected by logging the extension out of it.`);
    await this.Connection.deleteOne(brandFilter(brand, { marketplace_id: id }));
  }

  /** The brand's stored connection to a marketplace, for its connector; null when not connected. */
  async handle<C>(brandId: number, marketplaceId: number): Promise<ConnectionHandle<C> | null> {
    const context = sealingContext(brandId, marketplaceId);
    const read = async () => this.Connection.findOne({ brand: brandId, marketplace_id: marketplaceId }).lean<MarketplaceConnectionDoc>();
    const first = await read();
    if (!first) return null;
    let version = first.version;
    let current = this.secrets.openJson(first.sealed, context) as C;
    const connector = this.connector(marketplaceId);
    return {
      brand: brandId,
      credentials: () => current,
      reload: async () => {
        const doc = await read();
        if (!doc) throw new Error(`the ${connector.name} connection of brand ${brandId} was removed`);
        version = doc.version;
        current = this.secrets.openJson(doc.sealed, context) as C;
        return current;
      },
      replace: async (next) => {
        const updated = await this.Connection.updateOne(
          { brand: brandId, marketplace_id: marketplaceId, version },
          { $set: { sealed: this.secrets.sealJson(next, context), details: connector.publicDetails(next) }, $inc: { version: 1 } },
        );
        if (updated.modifiedCount !== 1) return false;
        version += 1;
        current = next;
        return true;
      },
    };
  }

  private async view(connector: MarketplaceConnector, doc: MarketplaceConnectionDoc | null, principal: Principal): Promise<Marketplace> {
    const viaExtension = connector.connectionSchema === null;
    const connected = viaExtension ? ((await connector.isConnectedWithoutCredentials?.(principal.userId)) ?? false) : doc !== null;
    return {
      id: connector.id,
      name: connector.name,
      code: connector.code,
      connected,
      connection_method: viaExtension ? "extension" : "credentials",
      connection: doc ? { details: doc.details ?? {}, connected_at: doc.connected_at.toISOString(), updated_at: doc.updated_at.toISOString() } : null,
      title_max_length: connector.titleMaxLength,
    };
  }
}
