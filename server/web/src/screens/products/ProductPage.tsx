import { useState } from "preact/hooks";
import type { Product } from "../../../../../shared/products";
import type { ProductTasksResponse } from "../../../../../shared/publications";
import { ErrorBox, Facts, Loading, Section } from "../../components";
import { useI18n } from "../../i18n";
import { api } from "../../lib/api";
import { useResource } from "../../lib/hooks";
import { href } from "../../lib/router";
import { PhotoGallery } from "./PhotoGallery";
import { ProductForm } from "./ProductForm";
import { PublicationList } from "./PublicationList";
import { PublishProductForm } from "./PublishProductForm";

const PUBLICATION_POLL_MS = 5_000;
const FINAL_PUBLICATION = new Set(["completed", "failed"]);

/** One product: its details (editable), photos, "Publish to…" and its publications, polled while any is under way. */
export function ProductPage({ productId }: { productId: string }) {
  const { t } = useI18n();
  const product = useResource(() => api.get<Product>(`/api/v1/products/${encodeURIComponent(productId)}/`), `product:${productId}`);
  const publications = usePublications(productId);
  const [editing, setEditing] = useState(false);
  const p = product.data;
  return (
    <>
      <p>
        <a href={href("products")}>← {t("back")}</a>
      </p>
      <ErrorBox error={product.error} />
      {!p && !product.error && <Loading />}
      {p && (
        <>
          <div class="page-head">
            <h1>{p.title}</h1>
            <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing}>
              {t("editProduct")}
            </button>
          </div>
          {editing ? (
            <ProductForm
              product={p}
              onSaved={(saved) => {
                product.setData(saved);
                setEditing(false);
              }}
            />
          ) : (
            <ProductDetails product={p} />
          )}
          <PhotoGallery product={p} onChange={(next) => product.setData(next)} />
          <Section title={t("publishTo")}>
            <PublishProductForm productId={p.id} onPublished={publications.follow} />
          </Section>
          <PublicationList data={publications.data} error={publications.error} onRetried={publications.follow} />
        </>
      )}
    </>
  );
}

/** The product's publications, polled while one of them is still under way. */
function usePublications(productId: string) {
  const [live, setLive] = useState(true);
  const tasks = useResource(
    async () => {
      const value = await api.get<ProductTasksResponse>(`/api/v1/marketplaces/listings/product-tasks/${encodeURIComponent(productId)}/`);
      setLive(value.tasks.some((task) => !FINAL_PUBLICATION.has(task.status)));
      return value;
    },
    `tasks:${productId}`,
    { intervalMs: PUBLICATION_POLL_MS, active: live },
  );
  return {
    data: tasks.data,
    error: tasks.error,
    /** Something was just started: poll again until it ends. */
    follow: () => {
      setLive(true);
      void tasks.reload();
    },
  };
}

function ProductDetails({ product: p }: { product: Product }) {
  const { t, formatNumber } = useI18n();
  return (
    <Section title={p.sku}>
      <Facts
        items={[
          [t("price"), `${formatNumber(p.price, 2)} ${p.currency}`],
          [t("brandName"), p.brand_name ?? "—"],
          [t("size"), p.size ?? "—"],
          [t("condition"), p.condition ?? "—"],
          [t("category"), p.category ?? "—"],
          [t("color"), p.color ?? "—"],
        ]}
      />
      {p.description && <p class="description">{p.description}</p>}
    </Section>
  );
}
