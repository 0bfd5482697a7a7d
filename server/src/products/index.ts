/**
 * The catalog feature: products, their photos (kept in the database), signed photo links for
 * marketplaces, and the import of synced Vinted listings.
 */
import type { Connection } from "mongoose";
import type { CatalogConfig } from "../config.js";
import type { ApiRouter } from "../http/define-route.js";
import type { SecretBox } from "../secrets/sealing.js";
import { PhotoLinks } from "./photo-links.js";
import { registerProductRoutes } from "./routes.js";
import { ProductService } from "./service.js";
import { VintedImport } from "./vinted-import.js";

export { ProductService, type PublishableProduct } from "./service.js";

export interface ProductsModule {
  products: ProductService;
  photoLinks: PhotoLinks;
  init(): Promise<void>;
  registerRoutes(api: ApiRouter): void;
}

export function createProductsModule(connection: Connection, config: CatalogConfig, secrets: SecretBox): ProductsModule {
  const photoLinks = new PhotoLinks(secrets.derive("photo-links"), config.publicUrl);
  const products = new ProductService(connection, { photoMaxBytes: config.photoMaxBytes }, photoLinks);
  const vintedImport = new VintedImport(connection, products);
  return {
    products,
    photoLinks,
    init: () => products.init(),
    registerRoutes: (api) => registerProductRoutes(api, products, vintedImport, config.photoUploadLimitBytes),
  };
}
