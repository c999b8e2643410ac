// The live feed: the workspace's events as they are committed, over graphql-transport-ws.
import { useEffect, useState } from "preact/hooks";
import { subscribeEvents } from "./graphql.js";
import { fmtMoney, fmtTime, html } from "./ui.js";

const KEEP = 200;

export default function Live({ app }) {
  const [feed, setFeed] = useState([]);
  const [status, setStatus] = useState("connecting");
  useEffect(() => {
    let close = null;
    let live = true;
    subscribeEvents(app.key, {
      onState: (s) => live && setStatus(s),
      onMessage: (message) =>
        live && setFeed((items) => [{ ...message, receivedAt: new Date().toISOString(), n: crypto.randomUUID() }, ...items].slice(0, KEEP)),
    })
      .then((dispose) => (live ? (close = dispose) : dispose()))
      .catch((error) => live && setStatus(`error: ${error.message}`));
    return () => {
      live = false;
      close?.();
    };
  }, [app.key]);
  const tz = app.range.tz;
  return html`
    <h1>Live feed</h1>
    <p class="feed-state">Feed: <strong id="feed-state">${status}</strong>. New conversions, transactions, custom events and status changes appear here once committed (the last ${KEEP}).</p>
    <div class="table-wrap">
      <table id="feed">
        <thead><tr><th>Received</th><th>Change</th><th>Type</th><th>Status</th><th class="num">Amount</th><th>Campaign</th><th>Click id</th><th>Txid</th></tr></thead>
        <tbody>
          ${feed.map((m) =>
            m.__typename === "MissedEvents"
              ? html`<tr key=${m.n}><td>${fmtTime(m.receivedAt, tz)}</td><td colspan="7" class="neg">${m.message}${m.count != null ? ` (${m.count})` : ""}</td></tr>`
              : html`<tr key=${m.n}>
                  <td>${fmtTime(m.receivedAt, tz)}</td>
                  <td>${m.change.toLowerCase()}</td>
                  <td>${m.event.type}</td>
                  <td>${m.event.status.toLowerCase()}</td>
                  <td class="num">${fmtMoney(m.event.amount, app.currency)}</td>
                  <td>${m.event.click?.campaign.name ?? "–"}</td>
                  <td><code>${m.event.clickId.slice(0, 12)}…</code></td>
                  <td>${m.event.txid || "–"}</td>
                </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${feed.length === 0 && html`<p class="note">Waiting for events…</p>`}
  `;
}
