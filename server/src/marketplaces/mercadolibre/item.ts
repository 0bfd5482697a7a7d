/**
 * A product as a MercadoLibre item (Items API, POST /items). Local checks catch what MercadoLibre
 * would refuse anyway (no category), so such a product fails at once with a clear reason.
 */
import type { ProductCondition } from "../../../../shared/products.js";
import { fitTitle as fitToLimit } from "../../enhancement/text.js";
import { finalError, type PublicationError, type PublishRequest } from "../connector.js";

export const MERCADOLIBRE_TITLE_MAX = 60;

/** A title within MercadoLibre's 60 characters, cut at a word boundary. */
export const fitTitle = (title: string) => fitToLimit(title, MERCADOLIBRE_TITLE_MAX);

const CATEGORY_ID = /^M[A-Z]{2}\d+$/;
const CONDITIONS: Record<ProductCondition, "new" | "used"> = {
  new_with_tags: "new",
  new_without_tags: "new",
  very_good: "used",
  good: "used",
  satisfactory: "used",
};

const str = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);

export function mercadoLibreItem(request: PublishRequest): Record<string, unknown> | PublicationError {
  const { product, enhancement, options, reference } = request;
  const categoryId = str(options.category_id) ?? str(product.attributes.mercadolibre_category_id) ?? (product.category && CATEGORY_ID.test(product.category) ? product.category : null);
  if (!categoryId) {
    return finalError("MercadoLibre needs a category_id: give it in the publish options or as the product attribute mercadolibre_category_id", { error_code: "MISSING_CATEGORY" });
  }
  const quantity = options.available_quantity ?? product.attributes.quantity ?? 1;
  const attributes: Array<{ id: string; value_name: string }> = [{ id: "SELLER_SKU", value_name: product.sku }];
  if (product.brand_name) attributes.push({ id: "BRAND", value_name: product.brand_name });
  if (product.color) attributes.push({ id: "COLOR", value_name: product.color });
  if (product.size) attributes.push({ id: "SIZE", value_name: product.size });
  return {
    title: fitTitle(enhancement?.title ?? product.title),
    category_id: categoryId,
    price: product.price,
    currency_id: str(options.currency_id) ?? product.currency,
    available_quantity: typeof quantity === "number" && Number.isInteger(quantity) ? quantity : 1,
    buying_mode: str(options.buying_mode) ?? "buy_it_now",
    listing_type_id: str(options.listing_type_id) ?? "gold_special",
    condition: product.condition ? CONDITIONS[product.condition] : "not_specified",
    description: { plain_text: enhancement?.description ?? product.description },
    pictures: product.photos.map((p) => ({ source: p.url })),
    attributes,
    // Our reference on the listing: how a publication finds the listing it already created.
    seller_custom_field: reference,
  };
}
