import { useState } from "preact/hooks";
import type { Page } from "../../../../shared/common";
import type { z } from "zod";
import { PLUGIN_ROUTES, type SyncVintedResponseSchema } from "../../../../shared/plugin";
import type { TaskView } from "../../../../shared/tasks";
import type { VintedAccountView, VintedProductDetail, VintedProductView } from "../../../../shared/vinted";
import { Badge, Empty, ErrorBox, Facts, Loading, Notice, Pager, Section } from "../components";
import { useI18n, useWord } from "../i18n";
import { ApiError, api } from "../lib/api";
import { useAction, useResource } from "../lib/hooks";
import { href } from "../lib/router";
import { ExtensionConnectionCard } from "./ExtensionConnectionCard";

const PAGE_SIZE = 20;
const VINTED_POLL_MS = 30_000;

export function Vinted() {
  const { t, formatDate, formatNumber } = useI18n();
  const word = useWord();
  const [page, setPage] = useState(1);
  const account = useResource(
    () => api.get<VintedAccountView>("/api/v1/vinted/account").catch((error: unknown) => (error instanceof ApiError && error.status === 404 ? null : Promise.reject(error))),
    "vinted-account",
    { intervalMs: VINTED_POLL_MS },
  );
  const listings = useResource(() => api.get<Page<VintedProductView>>("/api/v1/vinted/products", { page, page_size: PAGE_SIZE, ordering: "-view_count" }), `listings:${page}`, {
    intervalMs: VINTED_POLL_MS,
  });
  const latest = useResource(() => api.get<Page<TaskView>>("/tasks/", { task_type__startswith: "vinted.", page_size: 1, ordering: "-updated_at" }), "latest-extension-task", {
    intervalMs: VINTED_POLL_MS,
  });
  const sync = useAction();
  const last = latest.data?.results[0];
  return (
    <>
      <div class="page-head">
        <h1>{t("vintedTitle")}</h1>
        <button
          type="button"
          class="primary"
          disabled={sync.busy}
          onClick={() =>
            void sync.run(async () => {
              const res = await api.post<z.infer<typeof SyncVintedResponseSchema>>(PLUGIN_ROUTES.syncVinted, {});
              void latest.reload();
              return t("syncQueued", { id: res.task_id });
            })
          }
        >
          {t("syncNow")}
        </button>
      </div>
      <ErrorBox error={sync.error} />
      <Notice text={sync.message} />
      <div class="grid-2">
        <Section title={t("vintedAccount")}>
          <ErrorBox error={account.error} />
          {account.loading && account.data === null && !account.error && <Loading />}
          {!account.loading && account.data === null && !account.error && <Empty>{t("vintedNoAccount")}</Empty>}
          {account.data && (
            <Facts
              items={[
                [t("name"), account.data.login],
                [t("itemCount"), account.data.item_count === null ? "—" : formatNumber(account.data.item_count)],
                [t("lastSync"), formatDate(account.data.updated_at)],
              ]}
            />
          )}
        </Section>
        <ExtensionConnectionCard />
        <Section title={t("extensionActivity")}>
          <ErrorBox error={latest.error} />
          {latest.data && !last && <Empty>{t("extensionIdle")}</Empty>}
          {last && (
            <Facts
              items={[
                [t("taskType"), <a href={href(`tasks/${last.task_id}`)}>{last.task_type}</a>],
                [t("status"), <Badge kind={last.status}>{word("status", last.status)}</Badge>],
                [t("created"), formatDate(last.updated_at)],
                ...(last.error_message ? [[t("error"), last.error_message] as [string, string]] : []),
              ]}
            />
          )}
        </Section>
      </div>
      <Section title={t("listings")}>
        <ErrorBox error={listings.error} />
        {!listings.data && !listings.error && <Loading />}
        {listings.data && listings.data.results.length === 0 && <Empty>{t("listingsEmpty")}</Empty>}
        {listings.data && listings.data.results.length > 0 && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("title")}</th>
                  <th scope="col">{t("price")}</th>
                  <th scope="col">{t("views")}</th>
                  <th scope="col">{t("favourites")}</th>
                  <th scope="col">{t("trend")}</th>
                </tr>
              </thead>
              <tbody>
                {listings.data.results.map((item) => (
                  <tr key={item.vinted_id} data-vinted={item.vinted_id}>
                    <td>{item.url ? <a href={item.url} target="_blank" rel="noreferrer">{item.title}</a> : item.title}</td>
                    <td>
                      {item.price ?? "—"} {item.currency ?? ""}
                    </td>
                    <td>{item.view_count ?? "—"}</td>
                    <td>{item.favourite_count ?? "—"}</td>
                    <td>
                      <Trend vintedId={item.vinted_id} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {listings.data && <Pager page={page} count={listings.data.count} pageSize={PAGE_SIZE} onPage={setPage} />}
      </Section>
    </>
  );
}

function Trend({ vintedId }: { vintedId: number }) {
  const { t } = useI18n();
  const detail = useResource(() => api.get<VintedProductDetail>(`/api/v1/vinted/products/${vintedId}`), `trend:${vintedId}`);
  const trend = detail.data?.stats.trend;
  if (!trend) return <span>—</span>;
  const sign = (n: number) => (n > 0 ? `+${n}` : String(n));
  return (
    <span>
      {t("views")} {sign(trend.views_change)} · {t("favourites")} {sign(trend.favourites_change)}
    </span>
  );
}
