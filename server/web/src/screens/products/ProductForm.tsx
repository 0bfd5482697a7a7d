import { useState } from "preact/hooks";
import { PRODUCT_CONDITIONS, type Product } from "../../../../../shared/products";
import { ErrorBox, Notice } from "../../components";
import { Field, Form, SelectField, TextAreaField } from "../../form";
import { useI18n } from "../../i18n";
import { api } from "../../lib/api";
import { useAction } from "../../lib/hooks";
import { toBody, toDraft, type Draft } from "./product-draft";

const CONDITION_CHOICES = [{ value: "", label: "—" }, ...PRODUCT_CONDITIONS.map((c) => ({ value: c, label: c.replace(/_/g, " ") }))];

/** Creates a product, or edits `product`. */
export function ProductForm({ product = null, onSaved }: { product?: Product | null; onSaved(p: Product): void }) {
  const { t } = useI18n();
  const [draft, setDraft] = useState(() => toDraft(product));
  const action = useAction();
  const bind = (name: keyof Draft) => ({ name, value: draft[name], onValue: (value: string) => setDraft({ ...draft, [name]: value }) });
  const save = () =>
    void action.run(async () => {
      const body = toBody(draft);
      const saved = product ? await api.patch<Product>(`/api/v1/products/${product.id}/`, body) : await api.post<Product>("/api/v1/products/", body);
      onSaved(saved);
      return t("productSaved");
    });
  return (
    <Form class="card form-grid" onSubmit={save}>
      <h2>{product ? t("editProduct") : t("newProduct")}</h2>
      <ErrorBox error={action.error} />
      <Notice text={action.message} />
      <Field label={t("title")} {...bind("title")} required maxLength={200} />
      <Field label={t("sku")} {...bind("sku")} />
      <Field label={t("price")} {...bind("price")} type="number" step="0.01" min="0" required />
      <Field label={t("currency")} {...bind("currency")} maxLength={3} />
      <Field label={t("brandName")} {...bind("brand_name")} />
      <Field label={t("size")} {...bind("size")} />
      <SelectField label={t("condition")} {...bind("condition")} choices={CONDITION_CHOICES} />
      <Field label={t("category")} {...bind("category")} />
      <Field label={t("color")} {...bind("color")} />
      <TextAreaField label={t("description")} value={draft.description} onValue={(description) => setDraft({ ...draft, description })} />
      <div class="row span-all">
        <button type="submit" class="primary" disabled={action.busy}>
          {t("save")}
        </button>
      </div>
    </Form>
  );
}
