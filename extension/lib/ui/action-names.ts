import type { PluginAction } from "../../../shared/plugin";
import { t, type MessageKey } from "../i18n";

const ACTION_NAME: Record<PluginAction, MessageKey> = {
  get_user_data: "actionGetUserData",
  get_all_products: "actionGetAllProducts",
  create_product: "actionCreateProduct",
  update_product: "actionUpdateProduct",
  delete_product: "actionDeleteProduct",
  update_prices: "actionUpdatePrices",
  get_stats: "actionGetStats",
  upload_photo: "actionUploadPhoto",
  search_items: "actionSearchItems",
};

/** What the seller reads instead of the protocol's action name. */
export function actionName(action: string): string {
  const key = ACTION_NAME[action as PluginAction] as MessageKey | undefined;
  return key ? t(key) : action;
}
