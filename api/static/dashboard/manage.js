// Campaigns, their offers and traffic sources, changed through the API's mutations.
import { useState } from "preact/hooks";
import { CopyButton, ErrorBox, SortableTable, fmtMoney, html, useQuery } from "./ui.js";

const CATALOG = `{
  campaigns { id name key status costModel costValue trackingLink trafficSource { name } offers { weight offer { name } } }
  offers(status: ACTIVE) { id name }
  trafficSources(status: ACTIVE) { id name }
}`;
const RESULT = `__typename ... on Error { message }`;
const CREATE_CAMPAIGN = `mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { ${RESULT} } }`;
const SET_STATUS = `mutation($id: ID!, $status: RecordStatus!) { setCampaignStatus(id: $id, status: $status) { ${RESULT} } }`;
const CREATE_OFFER = `mutation($input: CreateOfferInput!) { createOffer(input: $input) { ${RESULT} } }`;
const CREATE_SOURCE = `mutation($input: CreateTrafficSourceInput!) { createTrafficSource(input: $input) { ${RESULT} } }`;
const COST_MODELS = ["NONE", "CPC", "CPM", "CPA", "REVSHARE"];
const blank = { name: "", offerId: "", trafficSourceId: "", costModel: "CPC", costValue: "0", key: "" };

export default function Manage({ app }) {
  const { data, error, reload } = useQuery(app, CATALOG, {});
  const [problem, setProblem] = useState(null);
  const [campaign, setCampaign] = useState(blank);
  const [offer, setOffer] = useState({ name: "", url: "", payout: "" });
  const [source, setSource] = useState({ name: "" });
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
          offers: [{ offerId: campaign.offerId || data.offers[0]?.id, weight: 100 }],
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
        app.isAdmin &&
        ["ACTIVE", "PAUSED", "ARCHIVED"]
          .filter((s) => s !== x.status)
          .map((s) => html`<button type="button" onClick=${() => run(SET_STATUS, { id: x.id, status: s })}>${{ ACTIVE: "Activate", PAUSED: "Pause", ARCHIVED: "Archive" }[s]}</button> `),
    },
  ];
  return html`
    <h1>Manage campaigns</h1>
    <${ErrorBox} error=${error ?? problem} />
    ${app.isAdmin
      ? data &&
        html`<div class="card">
          <h2>New campaign</h2>
          <form class="controls" id="new-campaign" onSubmit=${createCampaign}>
            <label>Name <input name="campaignName" required value=${campaign.name} onInput=${c("name")} /></label>
            <label>Offer
              <select name="offer" value=${campaign.offerId || data.offers[0]?.id} onChange=${c("offerId")}>
                ${data.offers.map((x) => html`<option value=${x.id}>${x.name}</option>`)}
              </select>
            </label>
            <label>Traffic source
              <select name="source" value=${campaign.trafficSourceId} onChange=${c("trafficSourceId")}>
                <option value="">none</option>${data.trafficSources.map((x) => html`<option value=${x.id}>${x.name}</option>`)}
              </select>
            </label>
            <label>Cost model
              <select name="costModel" value=${campaign.costModel} onChange=${c("costModel")}>
                ${COST_MODELS.map((m) => html`<option value=${m}>${m}</option>`)}
              </select>
            </label>
            <label>Cost value <input name="costValue" size="6" value=${campaign.costValue} onInput=${c("costValue")} /></label>
            <label>Link key (optional) <input name="campaignKey" size="12" value=${campaign.key} onInput=${c("key")} /></label>
            <button class="primary" disabled=${!campaign.name.trim() || data.offers.length === 0}>Create campaign</button>
          </form>
          ${data.offers.length === 0 && html`<p class="note">Add an offer first.</p>`}
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
  `;
}
