/** The product form's text state and the API body it becomes. */
import type { CreateProductBody, Product } from "../../../../../shared/products";

export type Draft = Record<"title" | "sku" | "description" | "price" | "currency" | "brand_name" | "size" | "condition" | "category" | "color", string>;

export function toDraft(p: Product | null): Draft {
  return {
    title: p?.title ?? "",
    sku: p?.sku ?? "",
    description: p?.description ?? "",
    price: p ? String(p.price) : "",
    currency: p?.currency ?? "EUR",
    brand_name: p?.brand_name ?? "",
    size: p?.size ?? "",
    condition: p?.condition ?? "",
    category: p?.category ?? "",
    color: p?.color ?? "",
  };
}

export function toBody(d: Draft): Omit<CreateProductBody, "attributes" | "sku"> & { sku?: string } {
  const text = (v: string) => (v.trim() === "" ? null : v.trim());
  return {
    title: d.title.trim(),
    ...(d.sku.trim() ? { sku: d.sku.trim() } : {}),
    description: d.description,
    price: Number(d.price),
    currency: d.currency.trim() || "EUR",
    brand_name: text(d.brand_name),
    size: text(d.size),
    condition: (text(d.condition) as CreateProductBody["condition"]) ?? null,
    category: text(d.category),
    color: text(d.color),
  };
}
