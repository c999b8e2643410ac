// The click explorer: filter clicks, then follow one click's funnel (click -> conversion ->
// transactions and custom events) with times and amounts.
import { useEffect, useState } from "preact/hooks";
import { ErrorBox, RangeControls, SortableTable, fmtMoney, fmtSeconds, fmtTime, html, rangeFilter } from "./ui.js";

const CLICKS = `query Clicks($filter: ClickFilter, $after: String) {
  campaigns { id name }
  clicks(filter: $filter, first: 50, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id createdAt country deviceType os browser isUnique isBot cost subs campaign { name } events { id } }
  }
}`;
const FUNNEL = `query Funnel($id: ID!) {
  click(id: $id) {
    id createdAt ip userAgent country deviceType os browser referrer externalId cost subs
    campaign { name } offer { name } trafficSource { name }
    events {
      id type txid status amount originalAmount originalCurrency createdAt updatedAt
      secondsFromClick countsAsConversion countsInRevenue
    }
  }
}`;

function filterOf(range, form) {
  const filter = rangeFilter(range);
  if (form.campaignId) filter.campaignIds = [form.campaignId];
  if (form.country.trim()) filter.countries = [form.country.trim().toUpperCase()];
  if (form.subValue.trim()) filter.subs = [{ index: Number(form.subIndex), values: [form.subValue.trim()] }];
  if (form.converted) filter.hasConversion = form.converted === "yes";
  return filter;
}

function Funnel({ app, id }) {
  const [state, setState] = useState({ click: null, error: null });
  useEffect(() => {
    app
      .query(FUNNEL, { id })
      .then((data) => setState({ click: data.click, error: data.click ? null : "No such click in this workspace." }))
      .catch((error) => setState({ click: null, error: error.message }));
  }, [id]);
  const { click, error } = state;
  const tz = app.range.tz;
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!click) return html`<p class="note">Loading…</p>`;
  const subs = click.subs.map((v, i) => (v == null ? null : `sub${i + 1}=${v}`)).filter(Boolean).join(" ");
  return html`<div class="card" id="funnel">
    <h2>Click ${click.id}</h2>
    <div class="funnel">
      <div class="step">
        <div class="kind">click</div>
        <div>${fmtTime(click.createdAt, tz)}</div>
        <div class="note">${click.campaign.name} → ${click.offer?.name ?? "no offer"}</div>
        <div class="note">cost ${fmtMoney(click.cost, app.currency, 4)}</div>
      </div>
      ${click.events.map(
        (e) => html`<span class="arrow">→</span>
          <div class="step">
            <div class="kind">${e.type}${e.txid ? html` <span class="note">${e.txid}</span>` : ""}</div>
            <div>${fmtTime(e.createdAt, tz)} <span class="note">(+${fmtSeconds(e.secondsFromClick)})</span></div>
            <div>${fmtMoney(e.amount, app.currency)} <span class="badge">${e.status.toLowerCase()}</span></div>
            ${e.originalCurrency && e.originalCurrency !== app.currency
              ? html`<div class="note">sent as ${e.originalAmount} ${e.originalCurrency}</div>`
              : ""}
          </div>`,
      )}
    </div>
    ${click.events.length === 0 ? html`<p class="note">No conversion or transaction yet.</p>` : ""}
    <p class="note">
      ${[click.trafficSource?.name, click.country, click.deviceType, click.os, click.browser, click.ip].filter(Boolean).join(" · ")}
      ${subs ? html`<br />${subs}` : ""}
    </p>
  </div>`;
}

export default function Clicks({ app }) {
  const { range, setRange } = app;
  const [form, setForm] = useState({ campaignId: "", country: "", subIndex: "1", subValue: "", converted: "" });
  const [state, setState] = useState({ nodes: [], campaigns: [], pageInfo: null, error: null });
  const [selected, setSelected] = useState(null);
  const filter = filterOf(range, form);
  const encoded = JSON.stringify(filter);
  const load = (after) =>
    app
      .query(CLICKS, { filter, after })
      .then((data) =>
        setState((s) => ({
          campaigns: data.campaigns,
          nodes: after ? [...s.nodes, ...data.clicks.nodes] : data.clicks.nodes,
          pageInfo: data.clicks.pageInfo,
          error: null,
        })),
      )
      .catch((error) => setState((s) => ({ ...s, error: error.message })));
  useEffect(() => {
    load(null);
  }, [encoded]);
  const set = (field) => (e) => setForm({ ...form, [field]: e.target.value });
  const tz = range.tz;
  const columns = [
    { key: "createdAt", label: "Time", value: (c) => c.createdAt, render: (c) => fmtTime(c.createdAt, tz) },
    { key: "campaign", label: "Campaign", value: (c) => c.campaign.name, render: (c) => c.campaign.name },
    { key: "country", label: "Country", value: (c) => c.country, render: (c) => c.country ?? "–" },
    { key: "device", label: "Device", value: (c) => c.deviceType, render: (c) => [c.deviceType, c.os, c.browser].filter(Boolean).join(" / ") },
    { key: "sub1", label: "sub1", value: (c) => c.subs[0] ?? null, render: (c) => c.subs[0] ?? "–" },
    { key: "unique", label: "Unique", value: (c) => Number(c.isUnique), render: (c) => (c.isUnique ? "yes" : "no") },
    { key: "events", label: "Events", num: true, value: (c) => c.events.length, render: (c) => c.events.length },
    { key: "id", label: "Click id", value: (c) => c.id, render: (c) => html`<code>${c.id.slice(0, 12)}…</code>` },
  ];
  return html`
    <h1>Clicks</h1>
    <div class="controls">
      <${RangeControls} range=${range} setRange=${setRange} />
      <label>Campaign
        <select name="campaign" value=${form.campaignId} onChange=${set("campaignId")}>
          <option value="">any</option>
          ${state.campaigns.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
        </select>
      </label>
      <label>Country <input name="country" size="4" value=${form.country} onChange=${set("country")} /></label>
      <label>Sub
        <span>
          <select name="subIndex" value=${form.subIndex} onChange=${set("subIndex")}>
            ${Array.from({ length: 20 }, (_, i) => html`<option value=${i + 1}>sub${i + 1}</option>`)}
          </select>
          <input name="subValue" size="10" value=${form.subValue} onChange=${set("subValue")} />
        </span>
      </label>
      <label>Converted
        <select name="converted" value=${form.converted} onChange=${set("converted")}>
          <option value="">any</option><option value="yes">with a conversion</option><option value="no">without</option>
        </select>
      </label>
    </div>
    <${ErrorBox} error=${state.error} />
    ${selected && html`<${Funnel} app=${app} id=${selected} />`}
    <${SortableTable}
      id="clicks"
      columns=${columns}
      rows=${state.nodes}
      initialSort=${{ key: "createdAt", dir: "desc" }}
      rowKey=${(c) => c.id}
      selected=${selected}
      onRowClick=${(c) => setSelected(c.id)}
    />
    ${state.pageInfo?.hasNextPage &&
    html`<p><button type="button" onClick=${() => load(state.pageInfo.endCursor)}>More clicks</button></p>`}
    <p class="note">A click on a row shows its funnel.</p>
  `;
}
