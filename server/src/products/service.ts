/**
 * The catalog: products of a brand, their photos, and what publication needs to read of them.
 * Every query goes through brandFilter (brandScoped refuses one that does not), so another brand's
 * product is simply not found.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Request } from "express";
import type { Connection } from "mongoose";
import type { Page } from "../../../shared/common.js";
import {
  MAX_PHOTOS_PER_PRODUCT,
  type CreateProductBody,
  type Product,
  type ProductListQuery,
  type ProductPhoto,
  type UpdateProductBody,
} from "../../../shared/products.js";
import { allBrands, brandFilter } from "../brands/scope.js";
import { nextSequence } from "../db/counters.js";
import type { RawUpload, BinaryReply } from "../http/define-route.js";
import type { BrandAccess, Principal } from "../http/context.js";
import { AppError, invalidOperation } from "../http/errors.js";
import { skipOf, toPage } from "../http/pagination.js";
import { sniffImageType } from "./images.js";
import { productModels, type PhotoMeta, type ProductDoc, type ProductModels, type ProductPhotoDoc } from "./model.js";
import type { PhotoLinks } from "./photo-links.js";
import { filesOf } from "./uploads.js";

const DUPLICATE_KEY = 11000;
const PRODUCT_SEQUENCE = "products";

export interface ProductsSettings {
  photoMaxBytes: number;
}

/** A product as a marketplace connector reads it: photos as signed links it can fetch. */
export type PublishableProduct = Omit<ProductDoc, "photos" | "created_by" | "created_at" | "updated_at"> & {
  photos: Array<{ id: string; content_type: string; url: string }>;
};

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export const productNotFound = (id: number) =>
  new AppError(404, "NOT_FOUND", `Product with id ${id} not found`, { extra: { error: `Product with id ${id} not found` } });

export function skuTaken(sku: string): AppError {
  const message = `A product with SKU "${sku}" already exists in this brand.`;
  return new AppError(409, "SKU_TAKEN", message, { field_errors: { sku: [message] } });
}

function isDuplicateOf(err: unknown, field: string): boolean {
  const e = err as { code?: number; keyPattern?: Record<string, unknown>; message?: string };
  return e.code === DUPLICATE_KEY && (e.keyPattern ? field in e.keyPattern : String(e.message).includes(field));
}

export class ProductService {
  readonly models: ProductModels;

  constructor(
    private readonly connection: Connection,
    private readonly settings: ProductsSettings,
    private readonly links: PhotoLinks,
  ) {
    this.models = productModels(connection);
  }

  async init(): Promise<void> {
    await Promise.all([this.models.Product.init(), this.models.Photo.init()]);
  }

  // -------------------------------------------------------------------------------------------
  // Products
  // -------------------------------------------------------------------------------------------

  async create(principal: Principal, brand: BrandAccess, body: CreateProductBody): Promise<Product> {
    const id = await nextSequence(this.connection, PRODUCT_SEQUENCE);
    const sku = body.sku ?? `MH-${id}`;
    try {
      const doc = await this.models.Product.create({ ...body, sku, id, brand: brand.brandId, created_by: principal.userId, photos: [], source: null });
      return productView(doc.toObject());
    } catch (err) {
      if (isDuplicateOf(err, "sku")) throw skuTaken(sku);
      throw err;
    }
  }

  /** Inserts a prepared document (imports); the caller handles duplicate keys. */
  async insertDoc(doc: Omit<ProductDoc, "created_at" | "updated_at" | "id">): Promise<ProductDoc> {
    const id = await nextSequence(this.connection, PRODUCT_SEQUENCE);
    const created = await this.models.Product.create({ ...doc, id });
    return created.toObject();
  }

  async list(req: Request, brand: BrandAccess, q: ProductListQuery): Promise<Page<Product>> {
    const filter: Record<string, unknown> = brandFilter(brand);
    if (q.search) {
      const pattern = { $regex: escapeRegex(q.search), $options: "i" };
      filter.$or = [{ title: pattern }, { sku: pattern }, { brand_name: pattern }, { description: pattern }];
    }
    if (q.condition) filter.condition = q.condition;
    if (q.category) filter.category = q.category;
    const field = q.ordering.replace(/^-/, "");
    const direction = q.ordering.startsWith("-") ? -1 : 1;
    const sort: Record<string, 1 | -1> = { [field]: direction };
    if (field !== "id") sort.id = direction;
    const [count, rows] = await Promise.all([
      this.models.Product.countDocuments(filter),
      this.models.Product.find(filter).sort(sort).skip(skipOf(q)).limit(q.page_size).lean<ProductDoc[]>(),
    ]);
    return toPage(req, q, count, rows.map(productView));
  }

  async get(brand: BrandAccess, id: number): Promise<Product> {
    return productView(await this.doc(brand, id));
  }

  async doc(brand: BrandAccess | number, id: number): Promise<ProductDoc> {
    const brandId = typeof brand === "number" ? brand : brand.brandId;
    const doc = await this.models.Product.findOne({ brand: brandId, id }).lean<ProductDoc>();
    if (!doc) throw productNotFound(id);
    return doc;
  }

  async update(brand: BrandAccess, id: number, body: UpdateProductBody): Promise<Product> {
    try {
      const doc = await this.models.Product.findOneAndUpdate(brandFilter(brand, { id }), { $set: body }, { returnDocument: "after", lean: true });
      if (!doc) throw productNotFound(id);
      return productView(doc as ProductDoc);
    } catch (err) {
      if (body.sku !== undefined && isDuplicateOf(err, "sku")) throw skuTaken(body.sku);
      throw err;
    }
  }

  async remove(brand: BrandAccess, id: number): Promise<void> {
    const deleted = await this.models.Product.deleteOne(brandFilter(brand, { id }));
    if (deleted.deletedCount === 0) throw productNotFound(id);
    await this.models.Photo.deleteMany(brandFilter(brand, { product_id: id }));
  }

  // -------------------------------------------------------------------------------------------
  // Photos
  // -------------------------------------------------------------------------------------------

  /** Adds the uploaded photos after the existing ones, all or none. */
  async addPhotos(brand: BrandAccess, id: number, upload: RawUpload): Promise<Product> {
    const product = await this.doc(brand, id);
    const files = await filesOf(upload);
    const photos = files.map((file) => this.preparePhoto(brand, id, file.name, file.bytes));
    const room = MAX_PHOTOS_PER_PRODUCT - product.photos.length;
    if (photos.length > room) {
      throw invalidOperation(`A product has at most ${MAX_PHOTOS_PER_PRODUCT} photos: ${product.photos.length} stored, ${photos.length} sent.`);
    }
    await this.models.Photo.insertMany(photos);
    const metas: PhotoMeta[] = photos.map((p) => ({ id: p.photo_id, content_type: p.content_type, size_bytes: p.size_bytes, sha256: p.sha256 }));
    // The limit holds against concurrent uploads too: the push only applies while there is room.
    const updated = await this.models.Product.findOneAndUpdate(
      brandFilter(brand, { id, [`photos.${MAX_PHOTOS_PER_PRODUCT - photos.length}`]: { $exists: false } }),
      { $push: { photos: { $each: metas } } },
      { returnDocument: "after", lean: true },
    );
    if (!updated) {
      await this.models.Photo.deleteMany(brandFilter(brand, { photo_id: { $in: metas.map((m) => m.id) } }));
      await this.doc(brand, id); // 404 if it was deleted meanwhile
      throw invalidOperation(`A product has at most ${MAX_PHOTOS_PER_PRODUCT} photos.`);
    }
    return productView(updated as ProductDoc);
  }

  private preparePhoto(brand: BrandAccess, productId: number, name: string, bytes: Buffer): ProductPhotoDoc {
    const contentType = sniffImageType(bytes);
    if (!contentType) {
      throw new AppError(415, "UNSUPPORTED_MEDIA_TYPE", `"${name}" is not a JPEG, PNG, WebP or GIF image.`, {
        field_errors: { photos: [`"${name}" is not a JPEG, PNG, WebP or GIF image.`] },
      });
    }
    if (bytes.length > this.settings.photoMaxBytes) {
      throw new AppError(413, "PAYLOAD_TOO_LARGE", `"${name}" is larger than ${Math.floor(this.settings.photoMaxBytes / 1024)} KB.`);
    }
    return {
      photo_id: randomBytes(12).toString("hex"),
      brand: brand.brandId,
      product_id: productId,
      content_type: contentType,
      size_bytes: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      data: bytes,
      created_at: new Date(),
    };
  }

  async reorderPhotos(brand: BrandAccess, id: number, order: string[]): Promise<Product> {
    const product = await this.doc(brand, id);
    const current = product.photos.map((p) => p.id);
    const sameSet = order.length === current.length && new Set(order).size === order.length && order.every((p) => current.includes(p));
    if (!sameSet) {
      throw new AppError(400, "VALIDATION_ERROR", "Validation failed", {
        field_errors: { order: [`Must list each of the product's ${current.length} photo ids exactly once.`] },
      });
    }
    const byId = new Map(product.photos.map((p) => [p.id, p]));
    // Applies only if the photos did not change since they were read.
    const updated = await this.models.Product.findOneAndUpdate(
      brandFilter(brand, { id, "photos.id": { $all: current }, photos: { $size: current.length } }),
      { $set: { photos: order.map((photoId) => byId.get(photoId)!) } },
      { returnDocument: "after", lean: true },
    );
    if (!updated) throw invalidOperation("The product's photos changed meanwhile; read them again and resend the order.");
    return productView(updated as ProductDoc);
  }

  async removePhoto(brand: BrandAccess, id: number, photoId: string): Promise<void> {
    const updated = await this.models.Product.findOneAndUpdate(brandFilter(brand, { id, "photos.id": photoId }), { $pull: { photos: { id: photoId } } });
    if (!updated) {
      await this.doc(brand, id);
      throw photoNotFound(photoId);
    }
    await this.models.Photo.deleteOne(brandFilter(brand, { photo_id: photoId }));
  }

  async photo(brand: BrandAccess, id: number, photoId: string): Promise<BinaryReply> {
    const photo = await this.models.Photo.findOne(brandFilter(brand, { product_id: id, photo_id: photoId })).lean<ProductPhotoDoc>();
    if (!photo) throw photoNotFound(photoId);
    return photoReply(photo, "private, max-age=3600");
  }

  /** A photo opened by a signed link (the signature is the authorisation, whatever the brand). */
  async linkedPhoto(token: string): Promise<BinaryReply> {
    const photoId = this.links.verify(token);
    if (!photoId) throw new AppError(404, "NOT_FOUND", "This photo link is invalid or has expired.");
    const photo = await allBrands(this.models.Photo.findOne({ photo_id: photoId })).lean<ProductPhotoDoc>();
    if (!photo) throw new AppError(404, "NOT_FOUND", "This photo no longer exists.");
    return photoReply(photo, "public, max-age=300");
  }

  // -------------------------------------------------------------------------------------------
  // For publication
  // -------------------------------------------------------------------------------------------

  /** The product as connectors read it, with photo links valid for `linkTtlMs`. */
  async publishable(brandId: number, id: number, linkTtlMs = 24 * 3600_000): Promise<PublishableProduct> {
    const doc = await this.doc(brandId, id);
    const expiresAt = new Date(Date.now() + linkTtlMs);
    return {
      id: doc.id,
      brand: doc.brand,
      title: doc.title,
      sku: doc.sku,
      description: doc.description,
      price: doc.price,
      currency: doc.currency,
      brand_name: doc.brand_name,
      size: doc.size,
      condition: doc.condition,
      category: doc.category,
      color: doc.color,
      attributes: doc.attributes ?? {},
      photos: doc.photos.map((p) => ({ id: p.id, content_type: p.content_type, url: this.links.url(p.id, expiresAt) })),
      source: doc.source,
    };
  }
}

const photoNotFound = (photoId: string) => new AppError(404, "NOT_FOUND", `Photo ${photoId} not found on this product.`);

function photoReply(photo: ProductPhotoDoc, cacheControl: string): BinaryReply {
  return {
    contentType: photo.content_type,
    bytes: toBuffer(photo.data),
    headers: { ETag: `"${photo.sha256}"`, "Cache-Control": cacheControl, "X-Content-Type-Options": "nosniff" },
  };
}

/** Lean reads give the driver's BSON Binary rather than a Buffer. */
function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  const inner = (data as { buffer?: unknown }).buffer;
  if (inner instanceof Uint8Array) return Buffer.from(inner.buffer, inner.byteOffset, inner.byteLength);
  throw new Error("photo bytes are not binary");
}

export function photoView(productId: number, p: PhotoMeta): ProductPhoto {
  return { id: p.id, content_type: p.content_type, size_bytes: p.size_bytes, sha256: p.sha256, url: `/api/v1/products/${productId}/photos/${p.id}/` };
}

export function productView(p: ProductDoc): Product {
  return {
    id: p.id,
    title: p.title,
    sku: p.sku,
    description: p.description ?? "",
    price: p.price,
    currency: p.currency,
    brand_name: p.brand_name ?? null,
    size: p.size ?? null,
    condition: p.condition ?? null,
    category: p.category ?? null,
    color: p.color ?? null,
    attributes: p.attributes ?? {},
    photos: (p.photos ?? []).map((photo) => photoView(p.id, photo)),
    source: p.source
      ? { marketplace: "vinted", vinted_id: p.source.vinted_id, url: p.source.url ?? null, photo_url: p.source.photo_url ?? null, imported_at: p.source.imported_at.toISOString() }
      : null,
    created_at: p.created_at.toISOString(),
    updated_at: p.updated_at.toISOString(),
  };
}
