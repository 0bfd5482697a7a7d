import { useState } from "preact/hooks";
import type { PublishResponse } from "../../../../../shared/publications";
import { Empty, ErrorBox, Notice } from "../../components";
import { Form } from "../../form";
import { useI18n } from "../../i18n";
import { api } from "../../lib/api";
import { useAction } from "../../lib/hooks";
import { MarketplaceChoice, type PublishChoice } from "./MarketplaceChoice";
import { useConnectedMarketplaces } from "./use-connected-marketplaces";

/** "Publish to…" for one product: one publication per chosen marketplace, followed on its page. */
export function PublishProductForm({ productId, onPublished }: { productId: number; onPublished(): void }) {
  const { t } = useI18n();
  const { usable, error } = useConnectedMarketplaces();
  const [choice, setChoice] = useState<PublishChoice>({ marketplaceIds: new Set(), enhance: true });
  const action = useAction();
  if (usable && usable.length === 0) return <Empty>{t("noMarketplaceConnected")}</Empty>;
  const publish = () =>
    void action.run(async () => {
      await api.post<PublishResponse>("/api/v1/marketplaces/listings/publish/", { product_id: productId, marketplace_ids: [...choice.marketplaceIds], enhance: choice.enhance });
      onPublished();
      return t("published");
    });
  return (
    <Form onSubmit={publish}>
      <ErrorBox error={action.error ?? error} />
      <Notice text={action.message} />
      <MarketplaceChoice marketplaces={usable ?? []} choice={choice} onChange={setChoice} />
      <button type="submit" class="primary" disabled={action.busy || choice.marketplaceIds.size === 0}>
        {t("publishAction")}
      </button>
    </Form>
  );
}
