import { useState } from "preact/hooks";
import type { AccountView } from "../../../../../shared/accounts";
import type { BatchView } from "../../../../../shared/batches";
import type { Page } from "../../../../../shared/common";
import { PUBLICATION_TASK_TYPE } from "../../../../../shared/publications";
import { Empty, ErrorBox } from "../../components";
import { Field, Form, SelectField } from "../../form";
import { useI18n } from "../../i18n";
import { api } from "../../lib/api";
import { useAction, useResource } from "../../lib/hooks";
import { href, navigate } from "../../lib/router";
import { MarketplaceChoice, type PublishChoice } from "./MarketplaceChoice";
import { useConnectedMarketplaces } from "./use-connected-marketplaces";

/**
 * "Publish to…" for many products: one batch whose jobs are the publications (one per product and
 * marketplace), charged to a selling account; the batch page then follows its progress.
 */
export function PublishBatchForm({ productIds }: { productIds: number[] }) {
  const { t, formatNumber } = useI18n();
  const { usable, error } = useConnectedMarketplaces();
  const accounts = useResource(() => api.get<Page<AccountView>>("/api/v1/accounts/", { page_size: 100, status: "active" }), "active-accounts");
  const [choice, setChoice] = useState<PublishChoice>({ marketplaceIds: new Set(), enhance: true });
  const [accountId, setAccountId] = useState("");
  const [name, setName] = useState("");
  const action = useAction();
  if (usable && usable.length === 0) return <Empty>{t("noMarketplaceConnected")}</Empty>;
  const choices = (accounts.data?.results ?? []).map((a) => ({ value: a.account_id, label: `${a.name} (${formatNumber(a.balance, 2)})` }));
  if (accounts.data && choices.length === 0) {
    return (
      <Empty>
        {t("publishNeedsAccount")} <a href={href("settings")}>{t("navSettings")}</a>
      </Empty>
    );
  }
  const account = accountId || choices[0]?.value || "";
  const start = () =>
    void action.run(async () => {
      const batch = await api.post<BatchView>("/api/v1/batches/", {
        account_id: account,
        task_type: PUBLICATION_TASK_TYPE,
        name: name.trim() || t("publishBatchName", { count: productIds.length }),
        product_ids: productIds,
        context_data: { marketplace_ids: [...choice.marketplaceIds], enhance: choice.enhance },
      });
      navigate(`batches/${batch.batch_id}`);
    });
  return (
    <Form class="form-grid" onSubmit={start}>
      <ErrorBox error={action.error ?? error ?? accounts.error} />
      <div class="span-all">
        <MarketplaceChoice marketplaces={usable ?? []} choice={choice} onChange={setChoice} />
      </div>
      <SelectField label={t("account")} name="account" value={account} choices={choices} onValue={setAccountId} required />
      <Field label={t("batchName")} name="batch-name" value={name} onValue={setName} maxLength={200} placeholder={t("publishBatchName", { count: productIds.length })} />
      <div class="row span-all">
        <button type="submit" class="primary" disabled={action.busy || choice.marketplaceIds.size === 0 || !account}>
          {t("publishAsBatch", { count: productIds.length * Math.max(1, choice.marketplaceIds.size) })}
        </button>
      </div>
    </Form>
  );
}
