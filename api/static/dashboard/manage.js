// Campaigns, their offers and traffic sources, created and changed through the API's mutations.
import { useState } from "preact/hooks";
import { CopyButton, ErrorBox, SortableTable, fmtMoney, html, useQuery } from "./ui.js";

const CATALOG = `{
  campaigns {
    id name key status costModel costValue attributionWindowDays trackingLink
    trafficSource { id name } offers { weight offer { id name } }
  }
  offers { id name url payout currency status }
  trafficSources { id name status }
}`;
const RESULT = `__typename ... on Error { message }`;
const CREATE_CAMPAIGN = `mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { ${RESULT} } }`;
const UPDATE_CAMPAIGN = `mutation($input: UpdateCampaignInput!) { updateCampaign(input: $input) { ${RESULT} } }`;
const SET_STATUS = `mutation($id: ID!, $status: RecordStatus!) { setCampaignStatus(id: $id, status: $status) { ${RESULT} } }`;
const CREATE_OFFER = `mutation($input: CreateOfferInput!) { createOffer(input: $input) { ${RESULT} } }`;
const UPDATE_OFFER = `mutation($input: UpdateOfferInput!) { updateOffer(input: $input) { ${RESULT} } }`;
const CREATE_SOURCE = `mutation($input: CreateTrafficSourceInput!) { createTrafficSource(input: $input) { ${RESULT} } }`;
const COST_MODELS = ["NONE", "CPC", "CPM", "CPA", "REVSHARE"];
const blank = { name: "", offerId: "", trafficSourceId: "", costModel: "CPC", costValue: "0", key: "" };

/** The fields of `form` that differ from `initial`, as the update input takes them (a field
 * left out stays as it is, so an edit never resets what the form could not show). */
function changes(form, initial, convert = {}) {
  const input = {};
  for (const [field, value] of Object.entries(form)) {
    if (JSON.stringify(value) !== JSON.stringify(initial[field])) {
      input[field] = convert[field] ? convert[field](value) : value;
    }
  }
  return input;
}

// A number field sent as an Int: text that is none goes as it is, for the API to refuse.
const integer = (text) => (/^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text);

function CampaignEditor({ campaign, offers, sources, run, close }) {
  const initial = {
    name: campaign.name,
    trafficSourceId: campaign.trafficSource?.id ?? "",
    costModel: campaign.costModel,
    costValue: String(campaign.costValue),
    attributionWindowDays: String(campaign.attributionWindowDays),
    offers: campaign.offers.map((w) => ({ offerId: w.offer.id, weight: String(w.weight) })),
  };
  const [form, setForm] = useState(initial);
  const set = (field) => (e) => setForm({ ...form, [field]: e.target.value });
  const setOffer = (i, field) => (e) =>
    setForm({ ...form, offers: form.offers.map((o, j) => (j === i ? { ...o, [field]: e.target.value } : o)) });
  const usable = (list, ids) => list.filter((x) => x.status !== "ARCHIVED" || ids.includes(x.id));
  const submit = async (e) => {
    e.preventDefault();
    const input = changes(form, initial, {
      name: (v) => v.trim(),
      trafficSourceId: (v) => v || null,
      costValue: (v) => v.trim(),
      attributionWindowDays: integer,
      offers: (list) => list.map((o) => ({ offerId: o.offerId, weight: integer(o.weight) })),
    });
    if (!Object.keys(input).length) return close();
    if (await run(UPDATE_CAMPAIGN, { input: { id: campaign.id, ...input } })) close();
  };
  return html`<form class="card" id="edit-campaign" onSubmit=${submit}>
    <h2>Edit campaign “${campaign.name}”</h2>
    <div class="controls">
      <label>Name <input name="editName" required value=${form.name} onInput=${set("name")} /></label>
      <label>Traffic source
        <select name="editSource" value=${form.trafficSourceId} onChange=${set("trafficSourceId")}>
          <option value="">none</option>
          ${usable(sources, [initial.trafficSourceId]).map((x) => html`<option value=${x.id}>${x.name}</option>`)}
        </select>
      </label>
      <label>Cost model
        <select name="editCostModel" value=${form.costModel} onChange=${set("costModel")}>
          ${COST_MODELS.map((m) => html`<option value=${m}>${m}</option>`)}
        </select>
      </label>
      <label>Cost value <input name="editCostValue" size="8" value=${form.costValue} onInput=${set("costValue")} /></label>
      <label>Attribution window (days) <input name="editWindow" size="4" value=${form.attributionWindowDays} onInput=${set("attributionWindowDays")} /></label>
    </div>
    <div class="controls" id="edit-rotation">
      ${form.offers.map(
        (o, i) => html`<label
          >Offer ${i + 1}
          <span>
            <select name=${`editOffer${i}`} value=${o.offerId} onChange=${setOffer(i, "offerId")}>
              ${usable(offers, initial.offers.map((x) => x.offerId)).map((x) => html`<option value=${x.id}>${x.name}</option>`)}
            </select>
            weight <input name=${`editWeight${i}`} size="5" value=${o.weight} onInput=${setOffer(i, "weight")} />
            ${form.offers.length > 1 &&
            html`<button type="button" onClick=${() => setForm({ ...form, offers: form.offers.filter((_, j) => j !== i) })}>Remove</button>`}
          </span>
        </label>`,
      )}
      <button type="button" onClick=${() => setForm({ ...form, offers: [...form.offers, { offerId: usable(offers, [])[0]?.id ?? "", weight: "100" }] })}>Add an offer</button>
    </div>
    <div class="controls">
      <button class="primary">Save campaign</button>
      <button type="button" onClick=${close}>Cancel</button>
    </div>
    <p class="note">The tracking link's key cannot change: networks hold the link.</p>
  </form>`;
}

function OfferEditor({ offer, run, close }) {
  const initial = { name: offer.name, url: offer.url, payout: offer.payout == null ? "" : String(offer.payout), currency: offer.currency ?? "" };
  const [form, setForm] = useState(initial);
  const set = (field) => (e) => setForm({ ...form, [field]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    const input = changes(form, initial, {
      name: (v) => v.trim(),
      url: (v) => v.trim(),
      payout: (v) => v.trim() || null,
      currency: (v) => v.trim().toUpperCase(),
    });
    if (!Object.keys(input).length) return close();
    if (await run(UPDATE_OFFER, { input: { id: offer.id, ...input } })) close();
  };
  return html`<form class="card" id="edit-offer" onSubmit=${submit}>
    <h2>Edit offer “${offer.name}”</h2>
    <div class="controls">
      <label>Name <input name="editOfferName" required value=${form.name} onInput=${set("name")} /></label>
      <label>URL with macros <input name="editOfferUrl" size="50" required value=${form.url} onInput=${set("url")} /></label>
      <label>Payout (empty: none) <input name="editPayout" size="8" value=${form.payout} onInput=${set("payout")} /></label>
      <label>Currency <input name="editCurrency" size="4" value=${form.currency} onInput=${set("currency")} /></label>
      <button class="primary">Save offer</button>
      <button type="button" onClick=${close}>Cancel</button>
    </div>
  </form>`;
}

export default function Manage({ app }) {
  const { data, error, reload } = useQuery(app, CATALOG, {});
  const [problem, setProblem] = useState(null);
  const [campaign, setCampaign] = useState(blank);
  const [offer, setOffer] = useState({ name: "", url: "", payout: "" });
  const [source, setSource] = useState({ name: "" });
  // What is being edited: {kind: "campaign" | "offer", id}.
  const [editing, setEditing] = useState(null);
  const activeOffers = data?.offers.filter((x) => x.status === "ACTIVE") ?? [];
  const activeSources = data?.trafficSources.filter((x) => x.status === "ACTIVE") ?? [];
  const run = async (mutation, variables) => {
    try {
      const result = Object.values(await app.query(mutation, variables))[0];
      setProblem("message" in result ? result.message : null);
      reload();
      return !("message" in result);
    } catch (err) {
      setProblem(err.message);
      return false;
    }
  };
  const submit = (build, reset) => async (e) => {
    e.preventDefault();
    if (await run(...build())) reset();
  };
  const createCampaign = submit(
    () => [
      CREATE_CAMPAIGN,
      {
        input: {
          name: campaign.name.trim(),
          offers: [{ offerId: campaign.offerId || activeOffers[0]?.id, weight: 100 }],
          trafficSourceId: campaign.trafficSourceId || null,
          costModel: campaign.costModel,
          costValue: campaign.costValue || "0",
          key: campaign.key.trim() || null,
        },
      },
    ],
    () => setCampaign(blank),
  );
  const createOffer = submit(
    () => [CREATE_OFFER, { input: { name: offer.name.trim(), url: offer.url.trim(), payout: offer.payout.trim() || null } }],
    () => setOffer({ name: "", url: "", payout: "" }),
  );
  const createSource = submit(() => [CREATE_SOURCE, { input: { name: source.name.trim() } }], () => setSource({ name: "" }));
  const edit = (state, setState) => (field) => (e) => setState({ ...state, [field]: e.target.value });
  const c = edit(campaign, setCampaign);
  const o = edit(offer, setOffer);
  const columns = [
    { key: "name", label: "Campaign", value: (x) => x.name, render: (x) => x.name },
    { key: "status", label: "Status", value: (x) => x.status, render: (x) => html`<span class="badge">${x.status.toLowerCase()}</span>` },
    { key: "source", label: "Traffic source", value: (x) => x.trafficSource?.name, render: (x) => x.trafficSource?.name ?? "–" },
    { key: "offers", label: "Offers", value: (x) => x.offers.length, render: (x) => x.offers.map((w) => `${w.offer.name} (${w.weight})`).join(", ") },
    { key: "cost", label: "Cost", value: (x) => x.costModel, render: (x) => (x.costModel === "NONE" ? "none" : `${x.costModel} ${x.costModel === "REVSHARE" ? `${x.costValue}%` : fmtMoney(x.costValue, app.currency, 4)}`) },
    { key: "link", label: "Tracking link", value: (x) => x.key, render: (x) => html`<code>/c/${x.key}</code> <${CopyButton} text=${x.trackingLink} />` },
    {
      key: "actions",
      label: "",
      value: () => 0,
      render: (x) =>
        app.isAdmin && [
          html`<button type="button" onClick=${() => setEditing({ kind: "campaign", id: x.id })}>Edit</button> `,
          ...["ACTIVE", "PAUSED", "ARCHIVED"]
            .filter((s) => s !== x.status)
            .map((s) => html`<button type="button" onClick=${() => run(SET_STATUS, { id: x.id, status: s })}>${{ ACTIVE: "Activate", PAUSED: "Pause", ARCHIVED: "Archive" }[s]}</button> `),
        ],
    },
  ];
  const offerColumns = [
    { key: "name", label: "Offer", value: (x) => x.name, render: (x) => x.name },
    { key: "status", label: "Status", value: (x) => x.status, render: (x) => html`<span class="badge">${x.status.toLowerCase()}</span>` },
    { key: "url", label: "URL", value: (x) => x.url, render: (x) => html`<code>${x.url}</code>` },
    { key: "payout", label: "Payout", num: true, value: (x) => (x.payout == null ? null : Number(x.payout)), render: (x) => (x.payout == null ? "–" : fmtMoney(x.payout, x.currency ?? app.currency)) },
    {
      key: "actions",
      label: "",
      value: () => 0,
      render: (x) => app.isAdmin && html`<button type="button" onClick=${() => setEditing({ kind: "offer", id: x.id })}>Edit</button>`,
    },
  ];
  const close = () => setEditing(null);
  const edited = editing && data?.[editing.kind === "campaign" ? "campaigns" : "offers"].find((x) => x.id === editing.id);
  return html`
    <h1>Manage campaigns and offers</h1>
    <${ErrorBox} error=${error ?? problem} />
    ${edited &&
    (editing.kind === "campaign"
      ? html`<${CampaignEditor} key=${edited.id} campaign=${edited} offers=${data.offers} sources=${data.trafficSources} run=${run} close=${close} />`
      : html`<${OfferEditor} key=${edited.id} offer=${edited} run=${run} close=${close} />`)}
    ${app.isAdmin
      ? data &&
        html`<div class="card">
          <h2>New campaign</h2>
          <form class="controls" id="new-campaign" onSubmit=${createCampaign}>
            <label>Name <input name="campaignName" required value=${campaign.name} onInput=${c("name")} /></label>
            <label>Offer
              <select name="offer" value=${campaign.offerId || activeOffers[0]?.id} onChange=${c("offerId")}>
                ${activeOffers.map((x) => html`<option value=${x.id}>${x.name}</option>`)}
              </select>
            </label>
            <label>Traffic source
              <select name="source" value=${campaign.trafficSourceId} onChange=${c("trafficSourceId")}>
                <option value="">none</option>${activeSources.map((x) => html`<option value=${x.id}>${x.name}</option>`)}
              </select>
            </label>
            <label>Cost model
              <select name="costModel" value=${campaign.costModel} onChange=${c("costModel")}>
                ${COST_MODELS.map((m) => html`<option value=${m}>${m}</option>`)}
              </select>
            </label>
            <label>Cost value <input name="costValue" size="6" value=${campaign.costValue} onInput=${c("costValue")} /></label>
            <label>Link key (optional) <input name="campaignKey" size="12" value=${campaign.key} onInput=${c("key")} /></label>
            <button class="primary" disabled=${!campaign.name.trim() || activeOffers.length === 0}>Create campaign</button>
          </form>
          ${activeOffers.length === 0 && html`<p class="note">Add an offer first.</p>`}
          <h2>New offer</h2>
          <form class="controls" onSubmit=${createOffer}>
            <label>Name <input name="offerName" required value=${offer.name} onInput=${o("name")} /></label>
            <label>URL with macros <input name="offerUrl" size="50" required placeholder="https://shop.example/?cid={clickid}" value=${offer.url} onInput=${o("url")} /></label>
            <label>Payout <input name="payout" size="6" value=${offer.payout} onInput=${o("payout")} /></label>
            <button>Add offer</button>
          </form>
          <h2>New traffic source</h2>
          <form class="controls" onSubmit=${createSource}>
            <label>Name <input name="sourceName" required value=${source.name} onInput=${(e) => setSource({ name: e.target.value })} /></label>
            <button>Add traffic source</button>
          </form>
        </div>`
      : html`<p class="note">This key reads only: an admin key creates and changes campaigns.</p>`}
    ${data && html`<${SortableTable} id="campaign-list" columns=${columns} rows=${data.campaigns} initialSort=${{ key: "name", dir: "asc" }} rowKey=${(x) => x.id} />`}
    ${data && html`<h2>Offers</h2><${SortableTable} id="offer-list" columns=${offerColumns} rows=${data.offers} initialSort=${{ key: "name", dir: "asc" }} rowKey=${(x) => x.id} />`}
  `;
}
