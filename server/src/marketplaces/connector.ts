/**
 * The one small interface every marketplace implements; a new marketplace is one folder with a
 * connector, plus a line in registry.ts. The publication pipeline only ever talks to this.
 */
import type { z } from "zod";
import type { MarketplaceCode } from "../../../shared/marketplaces.js";
import type { PublishableProduct } from "../products/index.js";

/** What the publication step writes into publication_result on success. */
export interface PublishedListing {
  /** The marketplace's id of the new listing (e.g. "MLA1234567890", a Vinted item id). */
  marketplace_id: string;
  listing_url: string;
  /** The marketplace's status word for it (e.g. "active"), when it says one. */
  status: string | null;
}

/**
 * A refusal or failure, classified. `transient`: worth retrying later (network, timeout, 5xx,
 * 429, an expired token whose refresh failed for a transient reason); `final`: the marketplace
 * refused this product as it is (validation), retrying the same request cannot succeed.
 */
export interface PublicationError {
  kind: "transient" | "final";
  /** One line for error_details.error. */
  message: string;
  /** The marketplace's own answer (its JSON error body), for error_details.marketplace_response. */
  marketplace_response: Record<string, unknown>;
  /** The HTTP status it answered; null when no answer came (network, timeout) or for local checks. */
  status: number | null;
  /** From its Retry-After (429/503), in milliseconds; null when it gave none. */
  retry_after_ms: number | null;
}

/** The outcome of one publish attempt. */
export type PublishOutcome =
  | { outcome: "published"; listing: PublishedListing }
  | { outcome: "failed"; error: PublicationError }
  /** The listing is being created elsewhere (Vinted: by the seller's extension, as task `task_id`); the pipeline waits for that task's result. */
  | { outcome: "handed_off"; task_id: string };

/** Where a publication handed off (as task `task_id`) stands. */
export type HandedOffOutcome =
  | { state: "waiting" }
  | { state: "published"; listing: PublishedListing }
  /** It ended without a listing; a retry of the publication hands it off anew. */
  | { state: "failed"; error: PublicationError };

/** The enhancement step's output, when it ran (the product itself is never overwritten). */
export interface EnhancedCopy {
  title: string;
  description: string;
  keywords: string[];
}

export interface PublishRequest {
  product: PublishableProduct;
  enhancement: EnhancedCopy | null;
  /** Marketplace-specific options of the publish call (MercadoLibre: category_id, listing_type_id, available_quantity…). */
  options: Record<string, unknown>;
  /**
   * Stable for one publication (its task_id) across retries and restarts. The listing carries it, so
   * that after a crash between "the marketplace accepted" and "we saved it", findByReference finds
   * the listing instead of a second publish creating another.
   */
  reference: string;
  brand: number;
  /** The user the publication acts for (Vinted: whose extension publishes). */
  user: number;
}

/** The stored connection of one brand to one marketplace, as a connector uses it. */
export interface ConnectionHandle<C> {
  readonly brand: number;
  /** The credentials as last read or stored. */
  credentials(): C;
  /** Reads them again (another process may have refreshed the token meanwhile). */
  reload(): Promise<C>;
  /** Stores refreshed credentials, unless they changed since last read (then false: reload and use those). */
  replace(next: C): Promise<boolean>;
}

export interface MarketplaceConnector<C = unknown> {
  readonly id: number;
  readonly code: MarketplaceCode;
  readonly name: string;
  readonly titleMaxLength: number;
  /** How its PUT …/connection body is validated; null: it has no credentials (Vinted). */
  readonly connectionSchema: z.ZodType<C> | null;
  /** Completes credentials on connect (e.g. looks up the seller's user id); may answer a refusal. */
  prepareConnection?(credentials: C): Promise<C | PublicationError>;
  /** The non-secret part of the credentials the API may show. */
  publicDetails(credentials: C): Record<string, string | number | null>;
  /** Connected without stored credentials (Vinted: the user's extension is logged in to it). */
  isConnectedWithoutCredentials?(user: number): Promise<boolean>;
  publish(request: PublishRequest, connection: ConnectionHandle<C> | null): Promise<PublishOutcome>;
  /** Connectors that hand off (handed_off): where the handed-off task stands. */
  handedOffOutcome?(taskId: string): Promise<HandedOffOutcome>;
  /** A listing created earlier for `reference`, if the marketplace has one. */
  findByReference(reference: string, connection: ConnectionHandle<C> | null): Promise<PublishedListing | null | PublicationError>;
}

export function finalError(message: string, marketplace_response: Record<string, unknown> = {}, status: number | null = null): PublicationError {
  return { kind: "final", message, marketplace_response, status, retry_after_ms: null };
}

export function transientError(message: string, marketplace_response: Record<string, unknown> = {}, status: number | null = null, retry_after_ms: number | null = null): PublicationError {
  return { kind: "transient", message, marketplace_response, status, retry_after_ms };
}

export function isPublicationError(value: unknown): value is PublicationError {
  return typeof value === "object" && value !== null && "kind" in value && "marketplace_response" in value;
}
