/**
 * A product as the params of a `vinted.create_product` extension task (shared/plugin.ts). Vinted
 * needs its own catalog, brand, size and condition ids: they come from the publish options or from
 * the product's attributes (an imported listing carries them as vinted_*).
 */
import { CreateProductParamsSchema, type CreateProductParams } from "../../../../shared/plugin.js";
import type { ProductCondition } from "../../../../shared/products.js";
import { finalError, type PublicationError, type PublishRequest } from "../connector.js";

export const VINTED_TITLE_MAX = 100;

/** Vinted's status ids for each condition. */
const STATUS_ID: Record<ProductCondition, number> = { new_with_tags: 6, new_without_tags: 1, very_good: 2, good: 3, satisfactory: 4 };

const num = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : undefined);

export function vintedCreateParams(request: PublishRequest): CreateProductParams | PublicationError {
  const { product, enhancement, options } = request;
  const a = product.attributes;
  const statusId = num(options.status_id) ?? num(a.vinted_status_id) ?? (product.condition ? STATUS_ID[product.condition] : undefined);
  const colorIds = (Array.isArray(options.color_ids) ? options.color_ids : Array.isArray(a.vinted_color_ids) ? a.vinted_color_ids : []).map(num).filter((v): v is number => v !== undefined);
  const candidate = {
    title: (enhancement?.title ?? product.title).slice(0, VINTED_TITLE_MAX),
    description: (enhancement?.description ?? product.description).slice(0, 5000),
    price: product.price.toFixed(2),
    brand_id: num(options.brand_id) ?? num(a.vinted_brand_id),
    size_id: num(options.size_id) ?? num(a.vinted_size_id),
    catalog_id: num(options.catalog_id) ?? num(a.vinted_catalog_id),
    color_ids: colorIds.slice(0, 2),
    status_ids: statusId === undefined ? [] : [statusId],
    photo_urls: product.photos.map((p) => p.url),
  };
  const parsed = CreateProductParamsSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const fields = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))];
  return finalError(`Vinted needs ${fields.join(", ")}: give them in the publish options or as the product's vinted_* attributes`, {
    error_code: "MISSING_VINTED_FIELDS",
    fields,
  });
}
