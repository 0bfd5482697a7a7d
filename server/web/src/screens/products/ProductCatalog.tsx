import { useState } from "preact/hooks";
import type { Page } from "../../../../../shared/common";
import type { Product } from "../../../../../shared/products";
import { Empty, ErrorBox, Loading, Pager, Section } from "../../components";
import { Field, Form } from "../../form";
import { useI18n } from "../../i18n";
import { api } from "../../lib/api";
import { useResource } from "../../lib/hooks";
import { href, navigate } from "../../lib/router";
import { ProductForm } from "./ProductForm";
import { PublishBatchForm } from "./PublishBatchForm";

const PAGE_SIZE = 20;

/** The Products screen: search, create, and select products to publish as one batch. */
export function ProductCatalog() {
  const { t } = useI18n();
  const [applied, setApplied] = useState("");
  const [page, setPage] = useState(1);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [creating, setCreating] = useState(false);
  const list = useResource(() => api.get<Page<Product>>("/api/v1/products/", { search: applied || undefined, page, page_size: PAGE_SIZE, ordering: "-created_at" }), `${applied}:${page}`);
  const rows = list.data?.results ?? [];
  return (
    <>
      <div class="page-head">
        <h1>{t("productsTitle")}</h1>
        <button type="button" class="primary" onClick={() => setCreating(!creating)} aria-expanded={creating}>
          {t("newProduct")}
        </button>
      </div>
      {creating && <ProductForm onSaved={(p) => navigate(`products/${p.id}`)} />}
      <CatalogSearch
        onSearch={(text) => {
          setApplied(text);
          setPage(1);
        }}
      />
      <ErrorBox error={list.error} />
      {!list.data && !list.error && <Loading />}
      {list.data && rows.length === 0 && <Empty>{t("productsEmpty")}</Empty>}
      {rows.length > 0 && <ProductTable rows={rows} selected={selected} onSelect={setSelected} />}
      {list.data && <Pager page={page} count={list.data.count} pageSize={PAGE_SIZE} onPage={setPage} />}
      {selected.size > 0 && (
        <Section title={t("publishSelected", { count: selected.size })}>
          <PublishBatchForm productIds={[...selected]} />
        </Section>
      )}
    </>
  );
}

function CatalogSearch({ onSearch }: { onSearch(text: string): void }) {
  const { t } = useI18n();
  const [text, setText] = useState("");
  return (
    <Form class="row search-row" role="search" onSubmit={() => onSearch(text.trim())}>
      <Field label={t("search")} layout="inline" type="search" value={text} onValue={setText} />
      <button type="submit">{t("search")}</button>
    </Form>
  );
}

/** The catalog's page of products, each with a box to select it (selection survives paging). */
function ProductTable({ rows, selected, onSelect }: { rows: Product[]; selected: ReadonlySet<number>; onSelect(next: Set<number>): void }) {
  const { t, formatNumber } = useI18n();
  const toggle = (id: number, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    onSelect(next);
  };
  const allShown = rows.every((p) => selected.has(p.id));
  const toggleShown = (on: boolean) => {
    const next = new Set(selected);
    for (const p of rows) if (on) next.add(p.id);
    else next.delete(p.id);
    onSelect(next);
  };
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">
              <input type="checkbox" aria-label={t("selectAll")} checked={allShown} onChange={(e) => toggleShown(e.currentTarget.checked)} />
            </th>
            <th scope="col">{t("title")}</th>
            <th scope="col">{t("sku")}</th>
            <th scope="col">{t("price")}</th>
            <th scope="col">{t("photos")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => (
            <tr key={p.id} data-product={p.id}>
              <td>
                <input type="checkbox" aria-label={t("selectProduct", { title: p.title })} checked={selected.has(p.id)} onChange={(e) => toggle(p.id, e.currentTarget.checked)} />
              </td>
              <td>
                <a href={href(`products/${p.id}`)}>{p.title}</a>
              </td>
              <td>{p.sku}</td>
              <td>
                {formatNumber(p.price, 2)} {p.currency}
              </td>
              <td>{p.photos.length}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
