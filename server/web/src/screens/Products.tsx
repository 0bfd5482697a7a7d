import { useEffect, useRef, useState } from "preact/hooks";
import type { Page } from "../../../../shared/common";
import type { Marketplace } from "../../../../shared/marketplaces";
import { PRODUCT_CONDITIONS, type CreateProductBody, type Product } from "../../../../shared/products";
import type { ProductTasksResponse, PublishResponse } from "../../../../shared/publications";
import { Badge, Empty, ErrorBox, Facts, Json, Loading, Notice, Pager, ProgressBar, Section } from "../components";
import { useI18n, useWord } from "../i18n";
import { api } from "../lib/api";
import { useAction, useResource } from "../lib/hooks";
import { href, navigate } from "../lib/router";

const PAGE_SIZE = 20;
const PUBLICATION_POLL_MS = 5_000;
const FINAL_PUBLICATION = new Set(["completed", "failed"]);

export function Products() {
  const { t, formatNumber } = useI18n();
  const [search, setSearch] = useState("");
  const [applied, setApplied] = useState("");
  const [page, setPage] = useState(1);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [creating, setCreating] = useState(false);
  const list = useResource(() => api.get<Page<Product>>("/api/v1/products/", { search: applied || undefined, page, page_size: PAGE_SIZE, ordering: "-created_at" }), `${applied}:${page}`);
  const toggle = (id: number) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
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
      <form
        class="row search-row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(search.trim());
          setPage(1);
        }}
      >
        <label class="inline-field">
          <span>{t("search")}</span>
          <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
        <button type="submit">{t("search")}</button>
      </form>
      <ErrorBox error={list.error} />
      {!list.data && !list.error && <Loading />}
      {list.data && rows.length === 0 && <Empty>{t("productsEmpty")}</Empty>}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">
                  <input
                    type="checkbox"
                    aria-label={t("selectAll")}
                    checked={rows.every((p) => selected.has(p.id))}
                    onChange={(e) => setSelected(e.currentTarget.checked ? new Set(rows.map((p) => p.id)) : new Set())}
                  />
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
                    <input type="checkbox" aria-label={t("selectProduct", { title: p.title })} checked={selected.has(p.id)} onChange={() => toggle(p.id)} />
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
      )}
      {list.data && <Pager page={page} count={list.data.count} pageSize={PAGE_SIZE} onPage={setPage} />}
      {selected.size > 0 && (
        <Section title={t("publishSelected", { count: selected.size })}>
          <PublishForm productIds={[...selected]} onDone={() => setSelected(new Set())} />
        </Section>
      )}
    </>
  );
}

type Draft = Record<"title" | "sku" | "description" | "price" | "currency" | "brand_name" | "size" | "condition" | "category" | "color", string>;

function toDraft(p: Product | null): Draft {
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

function toBody(d: Draft): Omit<CreateProductBody, "attributes" | "sku"> & { sku?: string } {
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

function ProductForm({ product = null, onSaved }: { product?: Product | null; onSaved(p: Product): void }) {
  const { t } = useI18n();
  const [draft, setDraft] = useState(() => toDraft(product));
  const action = useAction();
  const field = (name: keyof Draft, label: string, props: Record<string, unknown> = {}) => (
    <label class="field">
      <span>{label}</span>
      <input name={name} value={draft[name]} onInput={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })} {...props} />
    </label>
  );
  return (
    <form
      class="card form-grid"
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(async () => {
          const saved = product ? await api.patch<Product>(`/api/v1/products/${product.id}/`, toBody(draft)) : await api.post<Product>("/api/v1/products/", toBody(draft));
          onSaved(saved);
          return t("productSaved");
        });
      }}
    >
      <h2>{product ? t("editProduct") : t("newProduct")}</h2>
      <ErrorBox error={action.error} />
      <Notice text={action.message} />
      {field("title", t("title"), { required: true, maxLength: 200 })}
      {field("sku", t("sku"))}
      {field("price", t("price"), { type: "number", step: "0.01", min: "0", required: true })}
      {field("currency", t("currency"), { maxLength: 3 })}
      {field("brand_name", t("brandName"))}
      {field("size", t("size"))}
      <label class="field">
        <span>{t("condition")}</span>
        <select value={draft.condition} onChange={(e) => setDraft({ ...draft, condition: e.currentTarget.value })}>
          <option value="">—</option>
          {PRODUCT_CONDITIONS.map((c) => (
            <option key={c} value={c}>
              {c.replace(/_/g, " ")}
            </option>
          ))}
        </select>
      </label>
      {field("category", t("category"))}
      {field("color", t("color"))}
      <label class="field span-all">
        <span>{t("description")}</span>
        <textarea rows={4} value={draft.description} onInput={(e) => setDraft({ ...draft, description: e.currentTarget.value })} />
      </label>
      <div class="row span-all">
        <button type="submit" class="primary" disabled={action.busy}>
          {t("save")}
        </button>
      </div>
    </form>
  );
}

export function ProductPage({ productId }: { productId: string }) {
  const { t, formatNumber } = useI18n();
  const product = useResource(() => api.get<Product>(`/api/v1/products/${encodeURIComponent(productId)}/`), `product:${productId}`);
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
          )}
          <Photos product={p} onChange={(next) => product.setData(next)} />
          <Section title={t("publishTo")}>
            <PublishForm
              productIds={[p.id]}
              onDone={() => {
                setLive(true);
                void tasks.reload();
              }}
            />
          </Section>
          <Publications data={tasks.data} error={tasks.error} onRetried={() => (setLive(true), void tasks.reload())} />
        </>
      )}
    </>
  );
}

function Photos({ product, onChange }: { product: Product; onChange(p: Product): void }) {
  const { t } = useI18n();
  const action = useAction();
  const [progress, setProgress] = useState<string | null>(null);
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const upload = (files: File[]) =>
    void action.run(async () => {
      const images = files.filter((f) => f.type.startsWith("image/"));
      if (images.length === 0) return;
      // One request per file so the seller sees each one land (the server also takes them all at once).
      for (const [i, file] of images.entries()) {
        setProgress(t("uploading", { done: i, total: images.length }));
        const form = new FormData();
        form.append("photos", file, file.name);
        await api.upload(`/api/v1/products/${product.id}/photos/`, form);
      }
      setProgress(null);
      onChange(await api.get<Product>(`/api/v1/products/${product.id}/`));
    }).finally(() => setProgress(null));
  return (
    <Section title={t("photos")}>
      <ErrorBox error={action.error} />
      <div class="thumbs">
        {product.photos.map((photo, i) => (
          <Thumb
            key={photo.id}
            url={photo.url}
            index={i + 1}
            onDelete={() =>
              void action.run(async () => {
                await api.delete(`/api/v1/products/${product.id}/photos/${photo.id}/`);
                onChange(await api.get<Product>(`/api/v1/products/${product.id}/`));
              })
            }
          />
        ))}
      </div>
      <div
        class={`dropzone${over ? " over" : ""}`}
        onDragOver={(e) => (e.preventDefault(), setOver(true))}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          upload([...(e.dataTransfer?.files ?? [])]);
        }}
      >
        <p>{progress ?? t("dropPhotos")}</p>
        <input ref={input} id="photo-input" type="file" accept="image/*" multiple class="visually-hidden" onChange={(e) => upload([...(e.currentTarget.files ?? [])])} />
        <label for="photo-input" class="button">
          {t("choosePhotos")}
        </label>
      </div>
    </Section>
  );
}

function Thumb({ url, index, onDelete }: { url: string; index: number; onDelete(): void }) {
  const { t } = useI18n();
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.imageDataUrl(url).then((data) => live && setSrc(data), () => undefined);
    return () => {
      live = false;
    };
  }, [url]);
  return (
    <figure class="thumb">
      {src ? <img src={src} alt={`${t("photos")} ${index}`} /> : <div class="thumb-placeholder" />}
      <button type="button" class="small" onClick={onDelete} aria-label={t("deletePhoto", { n: index })}>
        ×
      </button>
    </figure>
  );
}

function PublishForm({ productIds, onDone }: { productIds: number[]; onDone(): void }) {
  const { t } = useI18n();
  const marketplaces = useResource(() => api.get<Page<Marketplace>>("/api/v1/marketplaces/"), "marketplaces");
  const [chosen, setChosen] = useState<Set<number>>(new Set());
  const [enhance, setEnhance] = useState(true);
  const [progress, setProgress] = useState<string | null>(null);
  const action = useAction();
  const usable = (marketplaces.data?.results ?? []).filter((m) => m.connected);
  if (marketplaces.data && usable.length === 0) return <Empty>{t("noMarketplaceConnected")}</Empty>;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(async () => {
          for (const [i, id] of productIds.entries()) {
            if (productIds.length > 1) setProgress(t("publishingProgress", { done: i, total: productIds.length }));
            await api.post<PublishResponse>("/api/v1/marketplaces/listings/publish/", { product_id: id, marketplace_ids: [...chosen], enhance });
          }
          setProgress(null);
          onDone();
          return t("published");
        });
      }}
    >
      <ErrorBox error={action.error ?? marketplaces.error} />
      <Notice text={action.message} />
      <fieldset class="checks">
        <legend>{t("marketplace")}</legend>
        {usable.map((m) => (
          <label key={m.id}>
            <input
              type="checkbox"
              name="marketplace"
              value={String(m.id)}
              checked={chosen.has(m.id)}
              onChange={(e) => {
                const next = new Set(chosen);
                if (e.currentTarget.checked) next.add(m.id);
                else next.delete(m.id);
                setChosen(next);
              }}
            />{" "}
            {m.name}
          </label>
        ))}
        <label>
          <input type="checkbox" checked={enhance} onChange={(e) => setEnhance(e.currentTarget.checked)} /> {t("enhance")}
        </label>
      </fieldset>
      {progress && <p role="status">{progress}</p>}
      <button type="submit" class="primary" disabled={action.busy || chosen.size === 0}>
        {t("publishAction")}
      </button>
    </form>
  );
}

function Publications({ data, error, onRetried }: { data: ProductTasksResponse | null; error: unknown; onRetried(): void }) {
  const { t, formatDate } = useI18n();
  const word = useWord();
  const action = useAction();
  return (
    <Section title={t("publications")}>
      <ErrorBox error={error} />
      <ErrorBox error={action.error} />
      {data && data.tasks.length === 0 && <Empty>{t("publicationsEmpty")}</Empty>}
      {data?.tasks.map((task) => {
        const details = "step" in task.error_details ? task.error_details : null;
        const listing = typeof task.publication_result.url === "string" ? task.publication_result.url : typeof task.publication_result.permalink === "string" ? task.publication_result.permalink : null;
        return (
          <article class="publication" key={task.task_id} data-publication={task.task_id} data-status={task.status}>
            <div class="page-head">
              <h3>{task.marketplace_name}</h3>
              <Badge kind={task.status}>{word("pubstatus", task.status)}</Badge>
            </div>
            <ProgressBar value={task.progress_percentage} label={`${t("progress")} ${task.marketplace_name}`} />
            <Facts
              items={[
                [t("step"), `${task.current_step} (${task.steps_completed.length}/${task.total_steps})`],
                [t("retries"), `${task.enhancement_retries} / ${task.publication_retries} / ${task.webhook_retries}`],
                [t("startedAt"), formatDate(task.started_at)],
                [t("completedAt"), formatDate(task.completed_at)],
              ]}
            />
            {listing && (
              <a href={listing} target="_blank" rel="noreferrer">
                {t("viewListing")}
              </a>
            )}
            {details && (
              <div class="alert alert-error">
                <strong>
                  {t("error")} ({details.step}): {details.error}
                </strong>
                <details>
                  <summary>{t("marketplaceAnswer")}</summary>
                  <Json value={details.marketplace_response} />
                </details>
              </div>
            )}
            {task.status === "failed" && (
              <button
                type="button"
                disabled={action.busy}
                onClick={() =>
                  void action.run(async () => {
                    await api.post(`/tasks/${encodeURIComponent(task.task_id)}/retry/`, {});
                    onRetried();
                  })
                }
              >
                {t("retryTask")}
              </button>
            )}
          </article>
        );
      })}
    </Section>
  );
}
