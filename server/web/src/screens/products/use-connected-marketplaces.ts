import type { Page } from "../../../../../shared/common";
import type { Marketplace } from "../../../../../shared/marketplaces";
import { api } from "../../lib/api";
import { useResource } from "../../lib/hooks";

/** The marketplaces a product can be published to now (connected); null while loading. */
export function useConnectedMarketplaces(): { usable: Marketplace[] | null; error: unknown } {
  const list = useResource(() => api.get<Page<Marketplace>>("/api/v1/marketplaces/"), "marketplaces");
  return { usable: list.data ? list.data.results.filter((m) => m.connected) : null, error: list.error };
}
