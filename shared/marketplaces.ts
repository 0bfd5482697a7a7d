/**
 * Marketplaces a brand publishes to (`/api/v1/marketplaces/`) and their connections. Secrets sent
 * in a connection are stored sealed and never come back: a connection shows only what identifies it.
 */
import { z } from "zod";
import { IntegerIdSchema, IntegerIdStringSchema, TimestampSchema, paginated } from "./common.js";

export const MARKETPLACE_CODES = ["vinted", "mercadolibre"] as const;
export const MarketplaceCodeSchema = z.enum(MARKETPLACE_CODES);
export type MarketplaceCode = z.infer<typeof MarketplaceCodeSchema>;

/** What the API shows of a stored connection (never a token or a secret). */
export const MarketplaceConnectionViewSchema = z
  .object({
    /** Non-secret identifiers, e.g. MercadoLibre's site_id and user_id. */
    details: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
    connected_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: "MarketplaceConnection" });
export type MarketplaceConnectionView = z.infer<typeof MarketplaceConnectionViewSchema>;

export const MarketplaceSchema = z
  .object({
    id: IntegerIdSchema,
    name: z.string(),
    code: MarketplaceCodeSchema,
    connected: z.boolean(),
    /** How a brand connects it: `credentials` (PUT …/connection) or `extension` (the seller's extension, logged in to it). */
    connection_method: z.enum(["credentials", "extension"]),
    connection: MarketplaceConnectionViewSchema.nullable(),
    /** Longest title the marketplace accepts. */
    title_max_length: z.number().int(),
  })
  .meta({ id: "Marketplace" });
export type Marketplace = z.infer<typeof MarketplaceSchema>;

export const MarketplaceListResponseSchema = paginated(MarketplaceSchema).meta({ id: "MarketplaceList" });

export const MarketplaceIdParamsSchema = z.object({ id: IntegerIdStringSchema });

/** MercadoLibre: the OAuth pair of the seller's authorisation of your MercadoLibre application. */
export const MercadoLibreConnectionBodySchema = z
  .object({
    access_token: z.string().trim().min(10).max(500),
    refresh_token: z.string().trim().min(5).max(500),
    client_id: z.string().trim().min(1).max(100),
    client_secret: z.string().trim().min(1).max(200),
    /** MLA (Argentina), MLM (Mexico), MLB (Brazil)… */
    site_id: z.string().trim().toUpperCase().regex(/^M[A-Z]{2}$/, "A MercadoLibre site id such as MLA, MLM, MLB"),
    /** The seller's MercadoLibre user id (the OAuth answer's user_id); looked up with the token when left out. */
    user_id: z.number().int().positive().optional(),
  })
  .strict()
  .meta({ id: "MercadoLibreConnectionRequest" });
export type MercadoLibreConnectionBody = z.infer<typeof MercadoLibreConnectionBodySchema>;

/** The body of PUT …/connection depends on the marketplace (see MercadoLibreConnectionRequest); validated by its connector. */
export const ConnectionBodySchema = z
  .record(z.string(), z.unknown())
  .meta({ id: "MarketplaceConnectionRequest", description: "MercadoLibre: access_token, refresh_token, client_id, client_secret, site_id (user_id optional). Vinted needs none." });
