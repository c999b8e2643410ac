// API keys: who can read the workspace; admin keys create and revoke them.
import { useState } from "preact/hooks";
import { CopyLine, ErrorBox, SortableTable, fmtTime, html, useQuery } from "./ui.js";

const KEYS = `{ apiKeys { id name prefix scopes createdAt lastUsedAt revokedAt } }`;
const CREATE = `mutation Create($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    __typename
    ... on ApiKeyCreated { secret apiKey { id name } }
    ... on Error { message }
  }
}`;
const REVOKE = `mutation Revoke($id: ID!) {
  revokeApiKey(id: $id) { __typename ... on Error { message } }
}`;

export default function Keys({ app }) {
  const { data, error, reload } = useQuery(app, KEYS, {});
  const [form, setForm] = useState({ name: "", scope: "READ" });
  const [outcome, setOutcome] = useState({ error: null, created: null });
  const own = app.me.currentApiKey.id;
  const run = async (mutation, variables, field) => {
    try {
      const result = (await app.query(mutation, variables))[field];
      if ("message" in result) setOutcome({ error: result.message, created: null });
      else setOutcome({ error: null, created: result.secret ? result : null });
      reload();
    } catch (err) {
      setOutcome({ error: err.message, created: null });
    }
  };
  const create = (e) => {
    e.preventDefault();
    run(CREATE, { input: { name: form.name.trim(), scopes: [form.scope] } }, "createApiKey");
    setForm({ ...form, name: "" });
  };
  const tz = app.range.tz;
  const columns = [
    { key: "name", label: "Name", value: (k) => k.name, render: (k) => html`${k.name}${k.id === own ? html` <span class="badge">this key</span>` : ""}` },
    { key: "prefix", label: "Starts with", value: (k) => k.prefix, render: (k) => html`<code>${k.prefix}…</code>` },
    { key: "scopes", label: "Scopes", value: (k) => k.scopes.join(), render: (k) => k.scopes.join(", ").toLowerCase() },
    { key: "createdAt", label: "Created", value: (k) => k.createdAt, render: (k) => fmtTime(k.createdAt, tz) },
    { key: "lastUsedAt", label: "Last used", value: (k) => k.lastUsedAt, render: (k) => fmtTime(k.lastUsedAt, tz) },
    {
      key: "revokedAt",
      label: "Revoked",
      value: (k) => k.revokedAt,
      render: (k) =>
        k.revokedAt
          ? fmtTime(k.revokedAt, tz)
          : app.isAdmin && k.id !== own
            ? html`<button type="button" onClick=${() => confirm(`Revoke “${k.name}”? It stops working at once.`) && run(REVOKE, { id: k.id }, "revokeApiKey")}>Revoke</button>`
            : "–",
    },
  ];
  return html`
    <h1>API keys</h1>
    <${ErrorBox} error=${error ?? outcome.error} />
    ${outcome.created &&
    html`<div class="card" id="new-key">
      <strong>Key “${outcome.created.apiKey.name}” created.</strong> Copy it now: it is not shown again.
      <${CopyLine} label="Secret" text=${outcome.created.secret} />
    </div>`}
    ${app.isAdmin
      ? html`<form class="controls" onSubmit=${create}>
          <label>Name <input name="keyName" required value=${form.name} onInput=${(e) => setForm({ ...form, name: e.target.value })} /></label>
          <label>Scope
            <select name="scope" value=${form.scope} onChange=${(e) => setForm({ ...form, scope: e.target.value })}>
              <option value="READ">read</option><option value="ADMIN">admin</option>
            </select>
          </label>
          <button class="primary" disabled=${!form.name.trim()}>Create key</button>
        </form>`
      : html`<p class="note">This key reads only: an admin key creates and revokes keys.</p>`}
    ${data && html`<${SortableTable} id="keys" columns=${columns} rows=${data.apiKeys} initialSort=${{ key: "createdAt", dir: "asc" }} rowKey=${(k) => k.id} />`}
  `;
}
