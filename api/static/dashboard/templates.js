// What to paste into a network or an advertiser's page: postback URLs, pixels, tracking links.
import { ErrorBox, CopyLine, html, useQuery } from "./ui.js";

const TEMPLATES = `{
  workspace {
    postbackUrl
    templates { postbackConversion postbackTransaction pixelConversion pixelTransaction pixelScript }
  }
  campaigns(status: ACTIVE) { id name trackingLink }
}`;

export default function Templates({ app }) {
  const { data, error } = useQuery(app, TEMPLATES, {});
  const t = data?.workspace.templates;
  return html`
    <h1>Templates</h1>
    <${ErrorBox} error=${error} />
    ${data &&
    html`<div class="card" id="templates">
        <h2>Postbacks and pixels</h2>
        ${t
          ? html`
              <${CopyLine} label="Conversion postback" text=${t.postbackConversion} />
              <${CopyLine} label="Transaction postback" text=${t.postbackTransaction} />
              <${CopyLine} label="Conversion pixel" text=${t.pixelConversion} />
              <${CopyLine} label="Transaction pixel" text=${t.pixelTransaction} />
              <${CopyLine} label="Transaction script" text=${t.pixelScript} />
              <p class="note">
                {clickid}, {payout}, {txid} and {status} stand for the network's macros; ORDER_ID and AMOUNT for values
                the page fills in. A custom type is sent as type=NAME.
              </p>
            `
          : html`<p class="note">The workspace has no active postback secret.</p>`}
      </div>
      <div class="card">
        <h2>Tracking links of active campaigns</h2>
        ${data.campaigns.map((c) => html`<${CopyLine} label=${c.name} text=${c.trackingLink} />`)}
        ${data.campaigns.length === 0 && html`<p class="note">No active campaign.</p>`}
      </div>`}
  `;
}
