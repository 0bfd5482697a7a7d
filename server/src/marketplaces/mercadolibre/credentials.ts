import { MercadoLibreConnectionBodySchema, type MercadoLibreConnectionBody } from "../../../../shared/marketplaces.js";

/** What is stored (sealed) for a brand's MercadoLibre connection. */
export type MercadoLibreCredentials = MercadoLibreConnectionBody;
export const MercadoLibreCredentialsSchema = MercadoLibreConnectionBodySchema;
