import { z } from "zod";
import {
  CreateProductBodySchema,
  ImportVintedBodySchema,
  ImportVintedResponseSchema,
  ProductIdParamsSchema,
  ProductListQuerySchema,
  ProductListResponseSchema,
  ProductPhotoParamsSchema,
  ProductSchema,
  ReorderPhotosBodySchema,
  UpdateProductBodySchema,
} from "../../../shared/products.js";
import { BinaryContent, defineRoute, type ApiRouter } from "../http/define-route.js";
import type { ProductService } from "./service.js";
import type { VintedImport } from "./vinted-import.js";

const tags = ["products"];
const notFound = { 404: "Product not found (or another brand's)" };
const binary = { type: "string", format: "binary" } as const;
const imageContent = { "image/jpeg": { schema: binary }, "image/png": { schema: binary }, "image/webp": { schema: binary }, "image/gif": { schema: binary } };

/** The catalog (`/api/v1/products/`), brand-scoped. */
export function registerProductRoutes(api: ApiRouter, products: ProductService, vintedImport: VintedImport, uploadLimitBytes: number): void {
  defineRoute(api, {
    method: "get",
    path: "/api/v1/products/",
    summary: "List the brand's products (search, condition, category, ordering, pagination)",
    tags,
    auth: "brand",
    request: { query: ProductListQuerySchema },
    response: ProductListResponseSchema,
    handler: ({ req, brand, query }) => products.list(req, brand, query),
  });

  defineRoute(api, {
    method: "post",
    path: "/api/v1/products/",
    summary: "Create a product (SKU unique in the brand: 409 SKU_TAKEN otherwise; generated when left out)",
    tags,
    auth: "brand",
    request: { body: CreateProductBodySchema },
    status: 201,
    response: ProductSchema,
    errors: { 409: "SKU_TAKEN: the brand already has a product with this SKU" },
    handler: ({ principal, brand, body }) => products.create(principal, brand, body),
  });

  // Fixed path before /:id/, which would read "import" as an id.
  defineRoute(api, {
    method: "post",
    path: "/api/v1/products/import/vinted/",
    summary: "Import your synced Vinted listings as products (all active ones, or the ids given), keeping their Vinted link",
    tags,
    auth: "brand",
    request: { body: ImportVintedBodySchema },
    response: ImportVintedResponseSchema,
    handler: ({ principal, brand, body }) => vintedImport.run(principal, brand, body),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/products/:id/",
    summary: "One product with its photos in order",
    tags,
    auth: "brand",
    request: { params: ProductIdParamsSchema },
    response: ProductSchema,
    errors: notFound,
    handler: ({ brand, params }) => products.get(brand, params.id),
  });

  defineRoute(api, {
    method: "patch",
    path: "/api/v1/products/:id/",
    summary: "Change some fields of a product",
    tags,
    auth: "brand",
    request: { params: ProductIdParamsSchema, body: UpdateProductBodySchema },
    response: ProductSchema,
    errors: { ...notFound, 409: "SKU_TAKEN: the brand already has a product with this SKU" },
    handler: ({ brand, params, body }) => products.update(brand, params.id, body),
  });

  defineRoute(api, {
    method: "delete",
    path: "/api/v1/products/:id/",
    summary: "Delete a product and its photos",
    tags,
    auth: "brand",
    request: { params: ProductIdParamsSchema },
    status: 204,
    response: null,
    errors: notFound,
    handler: ({ brand, params }) => products.remove(brand, params.id),
  });

  defineRoute(api, {
    method: "post",
    path: "/api/v1/products/:id/photos/",
    summary: "Add photos after the existing ones: multipart/form-data (one or more files, in order) or one raw image body",
    description: "JPEG, PNG, WebP or GIF, recognised from the bytes. At most 20 photos per product; all of a request's photos are added, or none.",
    tags,
    auth: "brand",
    request: {
      params: ProductIdParamsSchema,
      body: new BinaryContent(
        {
          "multipart/form-data": { schema: { type: "object", properties: { photos: { type: "array", items: binary } } } },
          ...imageContent,
        },
        String(uploadLimitBytes),
      ),
    },
    status: 201,
    response: ProductSchema,
    errors: { ...notFound, 400: "No file, a malformed multipart body, or more than 20 photos" },
    handler: ({ brand, params, body }) => products.addPhotos(brand, params.id, body),
  });

  defineRoute(api, {
    method: "put",
    path: "/api/v1/products/:id/photos/",
    summary: "Set the photos' order (every photo id exactly once; the first is the cover)",
    tags,
    auth: "brand",
    request: { params: ProductIdParamsSchema, body: ReorderPhotosBodySchema },
    response: ProductSchema,
    errors: notFound,
    handler: ({ brand, params, body }) => products.reorderPhotos(brand, params.id, body.order),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/products/:id/photos/:photo_id/",
    summary: "A photo's bytes (ETag: its SHA-256)",
    tags,
    auth: "brand",
    request: { params: ProductPhotoParamsSchema },
    response: new BinaryContent(imageContent),
    errors: { 404: "No such photo on this product" },
    handler: ({ brand, params }) => products.photo(brand, params.id, params.photo_id),
  });

  defineRoute(api, {
    method: "delete",
    path: "/api/v1/products/:id/photos/:photo_id/",
    summary: "Remove a photo",
    tags,
    auth: "brand",
    request: { params: ProductPhotoParamsSchema },
    status: 204,
    response: null,
    errors: { 404: "No such photo on this product" },
    handler: ({ brand, params }) => products.removePhoto(brand, params.id, params.photo_id),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/product-photos/:token",
    summary: "A photo by signed, expiring link (what marketplaces fetch pictures from; no token needed)",
    tags,
    auth: "none",
    request: { params: z.object({ token: z.string().max(200) }) },
    response: new BinaryContent(imageContent),
    errors: { 404: "Invalid or expired link" },
    handler: ({ params }) => products.linkedPhoto(params.token),
  });
}
