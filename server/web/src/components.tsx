import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, NetworkError } from "./lib/api";
import { hasKey, useI18n } from "./i18n";

export function ProgressBar({ value, label }: { value: number; label: string }) {
  const clamped = Math.max(0, Math.min(100, value));
  return (
    <div class="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(clamped)}>
      <div class="progress-track">
        <div class="progress-fill" style={{ width: `${clamped}%` }} />
      </div>
      <span class="progress-text">{clamped.toFixed(clamped % 1 === 0 ? 0 : 1)}%</span>
    </div>
  );
}

/** The server's `detail` always, under a sentence in the seller's language when the code is known. */
export function ErrorBox({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!error) return null;
  let headline = t("errorTitle");
  let detail: string | null = null;
  let fields: [string, string[]][] = [];
  if (error instanceof ApiError) {
    const key = `errorCode_${error.code ?? ""}`;
    if (hasKey(key)) headline = t(key);
    detail = error.body?.detail ?? error.message;
    fields = Object.entries(error.body?.field_errors ?? {});
  } else if (error instanceof NetworkError) headline = t("errorNetwork");
  else if (error instanceof Error) detail = error.message;
  return (
    <div class="alert alert-error" role="alert">
      <strong>{headline}</strong>
      {detail && <p class="error-detail">{t("serverSays", { detail })}</p>}
      {fields.length > 0 && (
        <ul>
          {fields.map(([field, messages]) => (
            <li key={field}>
              <code>{field}</code>: {messages.join(" ")}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Notice({ text }: { text: string | null }) {
  return text ? (
    <div class="alert alert-ok" role="status">
      {text}
    </div>
  ) : null;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p class="loading" role="status">
      {t("loading")}
    </p>
  );
}

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card">
      <div class="card-head">
        <h2>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Json({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

export interface ConfirmRequest {
  message: string;
  confirmLabel: string;
  /** Ask for a free-text reason (batch cancel). */
  reasonLabel?: string;
  danger?: boolean;
  onConfirm(reason: string): void;
}

/** A native modal <dialog>: focus moves in and is trapped, Escape closes it. */
export function ConfirmDialog({ request, onClose }: { request: ConfirmRequest | null; onClose(): void }) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState("");
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (request && !dialog.open) {
      setReason("");
      dialog.showModal();
    } else if (!request && dialog.open) dialog.close();
  }, [request]);
  return (
    <dialog ref={ref} class="dialog" onClose={onClose} aria-labelledby="confirm-message">
      {request && (
        <form
          method="dialog"
          onSubmit={(event) => {
            event.preventDefault();
            request.onConfirm(reason.trim());
            onClose();
          }}
        >
          <p id="confirm-message">{request.message}</p>
          {request.reasonLabel && (
            <label class="field">
              <span>{request.reasonLabel}</span>
              <input name="reason" value={reason} maxLength={500} onInput={(e) => setReason(e.currentTarget.value)} />
            </label>
          )}
          <div class="row">
            <button type="button" onClick={onClose}>
              {t("cancel")}
            </button>
            <button type="submit" class={request.danger ? "danger" : "primary"}>
              {request.confirmLabel}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}

export function Pager({ page, count, pageSize, onPage }: { page: number; count: number; pageSize: number; onPage(page: number): void }) {
  const { t } = useI18n();
  const pages = Math.max(1, Math.ceil(count / pageSize));
  if (pages <= 1) return null;
  return (
    <nav class="pager" aria-label={t("pageOf", { page, pages })}>
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        {t("previous")}
      </button>
      <span>{t("pageOf", { page, pages })}</span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        {t("next")}
      </button>
    </nav>
  );
}
