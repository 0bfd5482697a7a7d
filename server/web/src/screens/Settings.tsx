import { useState } from "preact/hooks";
import type { AccountView } from "../../../../shared/accounts";
import type { Page } from "../../../../shared/common";
import type { Marketplace } from "../../../../shared/marketplaces";
import { WEBHOOK_EVENTS, type Webhook, type WebhookCreated, type WebhookDelivery } from "../../../../shared/webhooks";
import { Badge, ConfirmDialog, Empty, ErrorBox, Loading, Notice, Section, type ConfirmRequest } from "../components";
import { CheckboxGroup, Field, Form } from "../form";
import { useI18n } from "../i18n";
import { api } from "../lib/api";
import { useAction, useResource } from "../lib/hooks";

export function Settings() {
  const { t } = useI18n();
  return (
    <>
      <h1>{t("settingsTitle")}</h1>
      <Marketplaces />
      <Webhooks />
      <Accounts />
    </>
  );
}

const ML_FIELDS = ["access_token", "refresh_token", "client_id", "client_secret", "site_id"] as const;

function Marketplaces() {
  const { t, formatDate } = useI18n();
  const list = useResource(() => api.get<Page<Marketplace>>("/api/v1/marketplaces/"), "marketplaces");
  const action = useAction();
  const [open, setOpen] = useState<number | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  return (
    <Section title={t("marketplaces")}>
      <ErrorBox error={list.error ?? action.error} />
      <Notice text={action.message} />
      {!list.data && !list.error && <Loading />}
      {list.data?.results.map((m) => (
        <article class="publication" key={m.id} data-marketplace={m.code}>
          <div class="page-head">
            <h3>{m.name}</h3>
            <Badge kind={m.connected ? "completed" : "pending"}>{m.connected ? t("connected") : t("notConnected")}</Badge>
          </div>
          {m.connection_method === "extension" && <p class="sub">{t("viaExtension")}</p>}
          {m.connection && (
            <p class="sub">
              {Object.entries(m.connection.details)
                .map(([k, v]) => `${k}: ${v ?? "—"}`)
                .join(" · ")}{" "}
              · {formatDate(m.connection.connected_at)}
            </p>
          )}
          {m.connection_method === "credentials" && (
            <div class="row">
              <button type="button" onClick={() => setOpen(open === m.id ? null : m.id)} aria-expanded={open === m.id}>
                {t("connect")}
              </button>
              {m.connected && (
                <button
                  type="button"
                  class="danger"
                  onClick={() =>
                    setConfirm({
                      message: t("confirmDisconnect", { name: m.name }),
                      confirmLabel: t("disconnect"),
                      danger: true,
                      onConfirm: () =>
                        void action.run(async () => {
                          await api.delete(`/api/v1/marketplaces/${m.id}/connection`);
                          await list.reload();
                        }),
                    })
                  }
                >
                  {t("disconnect")}
                </button>
              )}
            </div>
          )}
          {open === m.id && (
            <Form
              class="form-grid"
              onSubmit={() =>
                void action.run(async () => {
                  await api.put(`/api/v1/marketplaces/${m.id}/connection`, fields);
                  setOpen(null);
                  setFields({});
                  await list.reload();
                  return `${m.name}: ${t("connected")}`;
                })
              }
            >
              {ML_FIELDS.map((f) => (
                <Field
                  key={f}
                  label={f}
                  name={f}
                  required
                  autoComplete="off"
                  type={f === "site_id" ? "text" : "password"}
                  value={fields[f] ?? ""}
                  onValue={(value) => setFields({ ...fields, [f]: value })}
                />
              ))}
              <div class="row span-all">
                <button type="submit" class="primary" disabled={action.busy}>
                  {t("save")}
                </button>
              </div>
            </Form>
          )}
        </article>
      ))}
      <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />
    </Section>
  );
}

function Webhooks() {
  const { t, formatDate } = useI18n();
  const list = useResource(() => api.get<Page<Webhook>>("/api/v1/webhooks/"), "webhooks");
  const action = useAction();
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<Set<string>>(new Set(WEBHOOK_EVENTS));
  const [secret, setSecret] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  return (
    <Section title={t("webhooks")}>
      <ErrorBox error={list.error ?? action.error} />
      <Notice text={action.message} />
      {secret && (
        <div class="alert alert-ok" role="status">
          <p>{t("secretOnce")}</p>
          <code class="secret">{secret}</code>
        </div>
      )}
      {list.data && list.data.results.length === 0 && <Empty>{t("webhooksEmpty")}</Empty>}
      {list.data && list.data.results.length > 0 && (
        <ul class="plain">
          {list.data.results.map((w) => (
            <li key={w.id} class="row wrap">
              <code>{w.url}</code> <span class="sub">{w.events.join(", ")} · {formatDate(w.created_at)}</span>
              <button
                type="button"
                onClick={() =>
                  void action.run(async () => {
                    const res = await api.post<WebhookDelivery>(`/api/v1/webhooks/${w.id}/test/`, {});
                    return t("testSent", { result: res.delivered ? `HTTP ${res.status_code}` : (res.error ?? `HTTP ${res.status_code ?? "—"}`) });
                  })
                }
              >
                {t("sendTest")}
              </button>
              <button
                type="button"
                class="danger"
                onClick={() =>
                  setConfirm({
                    message: t("confirmDeleteWebhook"),
                    confirmLabel: t("deleteAction"),
                    danger: true,
                    onConfirm: () =>
                      void action.run(async () => {
                        await api.delete(`/api/v1/webhooks/${w.id}/`);
                        await list.reload();
                      }),
                  })
                }
              >
                {t("deleteAction")}
              </button>
            </li>
          ))}
        </ul>
      )}
      <Form
        class="row wrap"
        onSubmit={() =>
          void action.run(async () => {
            const created = await api.post<WebhookCreated>("/api/v1/webhooks/", { url, events: [...events] });
            setSecret(created.secret);
            setUrl("");
            await list.reload();
          })
        }
      >
        <Field label={t("url")} type="url" required value={url} onValue={setUrl} />
        <CheckboxGroup legend={t("events")} options={WEBHOOK_EVENTS.map((ev) => ({ value: ev, label: ev }))} chosen={events} onChange={setEvents} />
        <button type="submit" class="primary" disabled={action.busy}>
          {t("addWebhook")}
        </button>
      </Form>
      <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />
    </Section>
  );
}

function Accounts() {
  const { t, formatNumber } = useI18n();
  const list = useResource(() => api.get<Page<AccountView>>("/api/v1/accounts/", { page_size: 100 }), "accounts");
  const action = useAction();
  const [name, setName] = useState("");
  const [amounts, setAmounts] = useState<Record<string, string>>({});
  return (
    <Section title={t("accounts")}>
      <ErrorBox error={list.error ?? action.error} />
      <Notice text={action.message} />
      {list.data && list.data.results.length === 0 && <Empty>{t("accountsEmpty")}</Empty>}
      {list.data && list.data.results.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t("name")}</th>
                <th scope="col">{t("status")}</th>
                <th scope="col">{t("billing")}</th>
                <th scope="col">{t("balance")}</th>
                <th scope="col">{t("topUp")}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.results.map((a) => (
                <tr key={a.account_id} data-account={a.account_id}>
                  <td>
                    {a.name}
                    <div class="sub">{a.account_id}</div>
                  </td>
                  <td>{a.status}</td>
                  <td>{a.billing_type}</td>
                  <td>{formatNumber(a.balance, 2)}</td>
                  <td>
                    <form
                      class="row"
                      onSubmit={(e) => {
                        e.preventDefault();
                        void action.run(async () => {
                          await api.post(`/api/v1/accounts/${encodeURIComponent(a.account_id)}/top-up/`, { amount: Number(amounts[a.account_id]) });
                          setAmounts({ ...amounts, [a.account_id]: "" });
                          await list.reload();
                        });
                      }}
                    >
                      <input
                        type="number"
                        min="0.01"
                        step="0.01"
                        required
                        aria-label={`${t("amount")} ${a.name}`}
                        value={amounts[a.account_id] ?? ""}
                        onInput={(e) => setAmounts({ ...amounts, [a.account_id]: e.currentTarget.value })}
                      />
                      <button type="submit" disabled={action.busy}>
                        {t("topUp")}
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Form
        class="row wrap"
        onSubmit={() =>
          void action.run(async () => {
            await api.post("/api/v1/accounts/", { name });
            setName("");
            await list.reload();
          })
        }
      >
        <Field label={t("name")} required value={name} onValue={setName} />
        <button type="submit" class="primary" disabled={action.busy}>
          {t("addAccount")}
        </button>
      </Form>
    </Section>
  );
}
