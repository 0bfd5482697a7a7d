/**
 * The catalog (`/api/v1/products/`): a brand's products, their photos, and the import of synced
 * Vinted listings. Plain zod 4; the server registers these for validation and OpenAPI.
 */
import { z } from "zod";
import { IntegerIdSchema, IntegerIdStringSchema, PageQuerySchema, TimestampSchema, paginated } from "./common.js";

/** Marketplace-neutral condition words; each connector maps them to its own. */
export const PRODUCT_CONDITIONS = ["new_with_tags", "new_without_tags", "very_good", "good", "satisfactory"] as const;
export const ProductConditionSchema = z.enum(PRODUCT_CONDITIONS);
export type ProductCondition = z.infer<typeof ProductConditionSchema>;

/** Vinted accepts 20 photos per listing, MercadoLibre 12 or more: 20 covers both. */
export const MAX_PHOTOS_PER_PRODUCT = 20;
/** Stored photo formats, recognised from the bytes themselves (not from the declared type). */
export const PHOTO_CONTENT_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"] as const;

const SkuSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/]*$/, "Letters, digits, '.', '_', '-' and '/' only, starting with a letter or digit");

const PriceSchema = z
  .number()
  .min(0)
  .max(100_000_000)
  .refine((n) => Math.abs(Math.round(n * 100) - n * 100) < 1e-6, "At most two decimals");

const CurrencySchema = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z]{3}$/, "An ISO 4217 code such as EUR, ARS, MXN");

/** Free map of attributes (material, model…): short keys, scalar values or lists of them. */
const AttributeValueSchema = z.union([z.string().max(500), z.number(), z.boolean(), z.array(z.union([z.string().max(200), z.number()])).max(50)]);
const AttributesSchema = z
  .record(z.string().min(1).max(64).regex(/^[A-Za-z0-9_\- ]+$/, "Attribute names: letters, digits, spaces, '_' and '-'"), AttributeValueSchema)
  .refine((a) => Object.keys(a).length <= 100, "At most 100 attributes");

const optionalText = (max: number) => z.string().trim().max(max).nullable();

const productFields = {
  title: z.string().trim().min(1).max(200),
  sku: SkuSchema,
  description: z.string().max(10_000),
  price: PriceSchema,
  currency: CurrencySchema,
  brand_name: optionalText(100),
  size: optionalText(50),
  condition: ProductConditionSchema.nullable(),
  category: optionalText(100),
  color: optionalText(50),
  attributes: AttributesSchema,
};

export const CreateProductBodySchema = z
  .object({
    ...productFields,
    /** Generated (`MH-<id>`) when left out. */
    sku: SkuSchema.optional(),
    description: productFields.description.default(""),
    currency: CurrencySchema.default("EUR"),
    brand_name: productFields.brand_name.default(null),
    size: productFields.size.default(null),
    condition: productFields.condition.default(null),
    category: productFields.category.default(null),
    color: productFields.color.default(null),
    attributes: AttributesSchema.default({}),
  })
  .strict()
  .meta({ id: "CreateProductRequest" });
export type CreateProductBody = z.infer<typeof CreateProductBodySchema>;

export const UpdateProductBodySchema = z
  .object(productFields)
  .partial()
  .strict()
  .meta({ id: "UpdateProductRequest" });
export type UpdateProductBody = z.infer<typeof UpdateProductBodySchema>;

export const ProductPhotoSchema = z
  .object({
    id: z.string(),
    content_type: z.enum(PHOTO_CONTENT_TYPES),
    size_bytes: z.number().int(),
    /** Hex SHA-256 of the bytes (also the ETag of the download). */
    sha256: z.string(),
    /** Where the bytes are downloaded (same authentication as the API). */
    url: z.string(),
  })
  .meta({ id: "ProductPhoto" });
export type ProductPhoto = z.infer<typeof ProductPhotoSchema>;

/** Where an imported product came from. */
export const ProductSourceSchema = z
  .object({
    marketplace: z.literal("vinted"),
    vinted_id: z.number().int(),
    url: z.string().nullable(),
    photo_url: z.string().nullable(),
    imported_at: TimestampSchema,
  })
  .meta({ id: "ProductSource" });
export type ProductSource = z.infer<typeof ProductSourceSchema>;

export const ProductSchema = z
  .object({
    id: IntegerIdSchema,
    title: z.string(),
    sku: z.string(),
    description: z.string(),
    price: z.number(),
    currency: z.string(),
    brand_name: z.string().nullable(),
    size: z.string().nullable(),
    condition: ProductConditionSchema.nullable(),
    category: z.string().nullable(),
    color: z.string().nullable(),
    attributes: z.record(z.string(), z.unknown()),
    /** In display order: the first is the cover. */
    photos: z.array(ProductPhotoSchema),
    source: ProductSourceSchema.nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: "Product" });
export type Product = z.infer<typeof ProductSchema>;

export const ProductListResponseSchema = paginated(ProductSchema).meta({ id: "ProductList" });

export const PRODUCT_ORDERING_FIELDS = ["id", "title", "sku", "price", "created_at", "updated_at"] as const;

export const ProductListQuerySchema = PageQuerySchema.extend({
  /** Case-insensitive substring of title, SKU, brand name or description. */
  search: z.string().trim().min(1).max(200).optional(),
  condition: ProductConditionSchema.optional(),
  category: z.string().trim().min(1).max(100).optional(),
  /** One field, `-` for descending; default `-created_at`. */
  ordering: z
    .string()
    .refine((f) => (PRODUCT_ORDERING_FIELDS as readonly string[]).includes(f.replace(/^-/, "")), {
      error: `Unknown ordering field. Choices: ${PRODUCT_ORDERING_FIELDS.join(", ")} (prefix with '-' for descending)`,
    })
    .default("-created_at"),
});
export type ProductListQuery = z.infer<typeof ProductListQuerySchema>;

export const ProductIdParamsSchema = z.object({ id: IntegerIdStringSchema });

export const ProductPhotoParamsSchema = z.object({
  id: IntegerIdStringSchema,
  photo_id: z.string().regex(/^[a-f0-9]{24}$/, "must be a photo id"),
});

/** PUT …/photos/: the new order, every photo of the product exactly once. */
export const ReorderPhotosBodySchema = z
  .object({ order: z.array(z.string()).max(MAX_PHOTOS_PER_PRODUCT) })
  .strict()
  .meta({ id: "ReorderPhotosRequest" });
export type ReorderPhotosBody = z.infer<typeof ReorderPhotosBodySchema>;

export const ImportVintedBodySchema = z
  .object({
    /** Listings to import; left out: every active synced listing not imported yet. */
    vinted_ids: z.array(z.number().int().positive()).min(1).max(1000).optional(),
  })
  .strict()
  .meta({ id: "ImportVintedRequest" });
export type ImportVintedBody = z.infer<typeof ImportVintedBodySchema>;

export const ImportVintedResponseSchema = z
  .object({
    created: z.array(ProductSchema),
    /** Listings this brand had imported before: their product ids. */
    already_imported: z.array(z.object({ vinted_id: z.number().int(), product_id: z.number().int() })),
    /** Asked-for ids that are not among the caller's synced listings. */
    not_found: z.array(z.number().int()),
  })
  .meta({ id: "ImportVintedResponse" });
export type ImportVintedResponse = z.infer<typeof ImportVintedResponseSchema>;
