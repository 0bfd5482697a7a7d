import type { Marketplace } from "../../../../../shared/marketplaces";
import { Checkbox, CheckboxGroup } from "../../form";
import { useI18n } from "../../i18n";

export interface PublishChoice {
  marketplaceIds: Set<number>;
  enhance: boolean;
}

/** Where to publish, and whether to improve the copy first. */
export function MarketplaceChoice({ marketplaces, choice, onChange }: { marketplaces: Marketplace[]; choice: PublishChoice; onChange(next: PublishChoice): void }) {
  const { t } = useI18n();
  return (
    <CheckboxGroup
      legend={t("marketplace")}
      name="marketplace"
      options={marketplaces.map((m) => ({ value: m.id, label: m.name }))}
      chosen={choice.marketplaceIds}
      onChange={(marketplaceIds) => onChange({ ...choice, marketplaceIds })}
    >
      <Checkbox label={t("enhance")} checked={choice.enhance} onChange={(enhance) => onChange({ ...choice, enhance })} />
    </CheckboxGroup>
  );
}
