/**
 * Products of a brand's catalog, and their photos' bytes. Photos live in the database (one
 * document each, below MongoDB's 16 MB limit) rather than on a disk, so every server process —
 * on any machine — serves them; the product keeps their metadata in display order.
 */
import { Schema, type Connection, type Model } from "mongoose";
import { PRODUCT_CONDITIONS, PHOTO_CONTENT_TYPES, type ProductCondition } from "../../../shared/products.js";
import { brandScoped } from "../brands/scope.js";
import { bindModel } from "../db/models.js";

export type PhotoContentType = (typeof PHOTO_CONTENT_TYPES)[number];

export interface PhotoMeta {
  id: string;
  content_type: PhotoContentType;
  size_bytes: number;
  sha256: string;
}

export interface ProductSourceDoc {
  marketplace: "vinted";
  vinted_id: number;
  url: string | null;
  photo_url: string | null;
  imported_at: Date;
}

export interface ProductDoc {
  id: number;
  brand: number;
  title: string;
  sku: string;
  description: string;
  price: number;
  currency: string;
  brand_name: string | null;
  size: string | null;
  condition: ProductCondition | null;
  category: string | null;
  color: string | null;
  attributes: Record<string, unknown>;
  photos: PhotoMeta[];
  source: ProductSourceDoc | null;
  created_by: number;
  created_at: Date;
  updated_at: Date;
}

export interface ProductPhotoDoc {
  photo_id: string;
  brand: number;
  product_id: number;
  content_type: PhotoContentType;
  size_bytes: number;
  sha256: string;
  data: Buffer;
  created_at: Date;
}

const timestamps = { createdAt: "created_at", updatedAt: "updated_at" } as const;

const PhotoMetaSchema = new Schema<PhotoMeta>(
  {
    id: { type: String, required: true },
    content_type: { type: String, enum: PHOTO_CONTENT_TYPES, required: true },
    size_bytes: { type: Number, required: true },
    sha256: { type: String, required: true },
  },
  { _id: false },
);

const SourceSchema = new Schema<ProductSourceDoc>(
  {
    marketplace: { type: String, enum: ["vinted"], required: true },
    vinted_id: { type: Number, required: true },
    url: { type: String, default: null },
    photo_url: { type: String, default: null },
    imported_at: { type: Date, required: true },
  },
  { _id: false },
);

const ProductSchema = new Schema<ProductDoc>(
  {
    id: { type: Number, required: true, unique: true },
    title: { type: String, required: true },
    sku: { type: String, required: true },
    description: { type: String, default: "" },
    price: { type: Number, required: true },
    currency: { type: String, required: true },
    brand_name: { type: String, default: null },
    size: { type: String, default: null },
    condition: { type: String, enum: [...PRODUCT_CONDITIONS, null], default: null },
    category: { type: String, default: null },
    color: { type: String, default: null },
    attributes: { type: Schema.Types.Mixed, default: () => ({}) },
    photos: { type: [PhotoMetaSchema], default: [] },
    source: { type: SourceSchema, default: null },
    created_by: { type: Number, required: true },
  },
  { collection: "products", timestamps, minimize: false, versionKey: false },
);
brandScoped(ProductSchema);
ProductSchema.index({ brand: 1, sku: 1 }, { unique: true });
ProductSchema.index({ brand: 1, created_at: -1 });
// A Vinted listing is imported once per brand, even by two imports racing.
ProductSchema.index(
  { brand: 1, "source.vinted_id": 1 },
  { unique: true, partialFilterExpression: { "source.vinted_id": { $exists: true } } },
);

const PhotoSchema = new Schema<ProductPhotoDoc>(
  {
    photo_id: { type: String, required: true, unique: true },
    product_id: { type: Number, required: true },
    content_type: { type: String, enum: PHOTO_CONTENT_TYPES, required: true },
    size_bytes: { type: Number, required: true },
    sha256: { type: String, required: true },
    data: { type: Buffer, required: true },
    created_at: { type: Date, default: () => new Date() },
  },
  { collection: "product_photos", versionKey: false },
);
brandScoped(PhotoSchema);
PhotoSchema.index({ brand: 1, product_id: 1 });

export interface ProductModels {
  Product: Model<ProductDoc>;
  Photo: Model<ProductPhotoDoc>;
}

export function productModels(connection: Connection): ProductModels {
  return {
    Product: bindModel(connection, "Product", ProductSchema),
    Photo: bindModel(connection, "ProductPhoto", PhotoSchema),
  };
}
