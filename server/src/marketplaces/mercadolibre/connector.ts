import type { ConnectionHandle, MarketplaceConnector, PublishedListing, PublicationError, PublishOutcome, PublishRequest } from "../connector.js";
import { finalError, isPublicationError, transientError } from "../connector.js";
import { MercadoLibreClient, type MercadoLibreClientSettings } from "./client.js";
import { MercadoLibreCredentialsSchema, type MercadoLibreCredentials } from "./credentials.js";
import { MERCADOLIBRE_TITLE_MAX, mercadoLibreItem } from "./item.js";

export const MERCADOLIBRE_ID = 2;

type Handle = ConnectionHandle<MercadoLibreCredentials>;

function listingOf(body: Record<string, unknown>): PublishedListing | null {
  const id = body.id;
  const permalink = body.permalink;
  if (typeof id !== "string" || typeof permalink !== "string") return null;
  return { marketplace_id: id, listing_url: permalink, status: typeof body.status === "string" ? body.status : null };
}

/** MercadoLibre through its public Items API, with the seller's OAuth tokens. */
export class MercadoLibreConnector implements MarketplaceConnector<MercadoLibreCredentials> {
  readonly id = MERCADOLIBRE_ID;
  readonly code = "mercadolibre" as const;
  readonly name = "MercadoLibre";
  readonly titleMaxLength = MERCADOLIBRE_TITLE_MAX;
  readonly connectionSchema = MercadoLibreCredentialsSchema;
  private readonly client: MercadoLibreClient;

  constructor(settings: MercadoLibreClientSettings) {
    this.client = new MercadoLibreClient(settings);
  }

  publicDetails(credentials: MercadoLibreCredentials): Record<string, string | number | null> {
    return { site_id: credentials.site_id, user_id: credentials.user_id ?? null };
  }

  async publish(request: PublishRequest, connection: Handle | null): Promise<PublishOutcome> {
    if (!connection) return { outcome: "failed", error: finalError("MercadoLibre is not connected for this brand", { error_code: "NOT_CONNECTED" }) };
    const item = mercadoLibreItem(request);
    if (isPublicationError(item)) return { outcome: "failed", error: item };
    const answer = await this.client.call(connection, "POST", "/items", item);
    if (!answer.ok) return { outcome: "failed", error: answer.error };
    const listing = listingOf(answer.body);
    if (!listing) return { outcome: "failed", error: transientError("MercadoLibre accepted the item but its answer has no id/permalink", answer.body, answer.status) };
    return { outcome: "published", listing };
  }

  async findByReference(reference: string, connection: Handle | null): Promise<PublishedListing | null | PublicationError> {
    if (!connection) return finalError("MercadoLibre is not connected for this brand", { error_code: "NOT_CONNECTED" });
    const userId = connection.credentials().user_id ?? (await this.userId(connection));
    if (typeof userId !== "number") return userId;
    const search = await this.client.call(connection, "GET", `/users/${userId}/items/search?seller_sku=${encodeURIComponent(reference)}`);
    if (!search.ok) return search.error;
    const ids = Array.isArray(search.body.results) ? search.body.results.filter((r): r is string => typeof r === "string") : [];
    if (ids.length === 0) return null;
    const item = await this.client.call(connection, "GET", `/items/${encodeURIComponent(ids[0])}`);
    if (!item.ok) return item.error;
    return listingOf(item.body) ?? transientError("MercadoLibre's item answer has no id/permalink", item.body, item.status);
  }

  /** On connect: the seller's user id, read with the token (which also proves the token works). */
  async prepareConnection(credentials: MercadoLibreCredentials): Promise<MercadoLibreCredentials | PublicationError> {
    if (credentials.user_id !== undefined) return credentials;
    let current = credentials;
    const handle: Handle = {
      brand: 0,
      credentials: () => current,
      reload: async () => current,
      replace: async (next) => {
        current = next;
        return true;
      },
    };
    const userId = await this.userId(handle);
    return typeof userId === "number" ? { ...current, user_id: userId } : userId;
  }

  private async userId(connection: Handle): Promise<number | PublicationError> {
    const me = await this.client.call(connection, "GET", "/users/me");
    if (!me.ok) return me.error;
    return typeof me.body.id === "number" ? me.body.id : transientError("MercadoLibre's /users/me answer has no id", me.body, me.status);
  }
}
