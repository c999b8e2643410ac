// The postback log: every postback, pixel and upload row, accepted or not, with its reason code.
import { useEffect, useState } from "preact/hooks";
import { ErrorBox, RangeControls, SortableTable, fmtTime, html, rangeFilter } from "./ui.js";

const LOG = `query Log($filter: PostbackLogFilter, $after: String) {
  postbackLog(filter: $filter, first: 100, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id receivedAt kind method sourceIp query clickId outcome reason httpStatus }
  }
}`;
const OUTCOMES = ["ACCEPTED", "UPDATED", "DUPLICATE", "REJECTED"];
const KINDS = ["POSTBACK", "PIXEL", "UPLOAD"];

export default function Postbacks({ app }) {
  const { range, setRange } = app;
  const [form, setForm] = useState({ outcome: "", kind: "", reason: "", clickId: "" });
  const [state, setState] = useState({ nodes: [], pageInfo: null, totalCount: null, error: null });
  const bounds = rangeFilter(range);
  const filter = { receivedFrom: bounds.createdFrom, receivedBefore: bounds.createdBefore };
  if (form.outcome) filter.outcomes = [form.outcome];
  if (form.kind) filter.kinds = [form.kind];
  const reasons = form.reason.split(",").map((r) => r.trim()).filter(Boolean);
  if (reasons.length) filter.reasons = reasons;
  if (form.clickId.trim()) filter.clickId = form.clickId.trim();
  const encoded = JSON.stringify(filter);
  const load = (after) =>
    app
      .query(LOG, { filter, after })
      .then(({ postbackLog: log }) =>
        setState((s) => ({
          nodes: after ? [...s.nodes, ...log.nodes] : log.nodes,
          pageInfo: log.pageInfo,
          totalCount: log.totalCount,
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
    { key: "receivedAt", label: "Received", value: (r) => r.receivedAt, render: (r) => fmtTime(r.receivedAt, tz) },
    { key: "kind", label: "Kind", value: (r) => r.kind, render: (r) => r.kind.toLowerCase() },
    { key: "outcome", label: "Outcome", value: (r) => r.outcome, render: (r) => html`<span class=${r.outcome === "REJECTED" ? "neg" : ""}>${r.outcome.toLowerCase()}</span>` },
    { key: "reason", label: "Reason", value: (r) => r.reason, render: (r) => html`<code>${r.reason}</code>` },
    { key: "httpStatus", label: "HTTP", num: true, value: (r) => r.httpStatus, render: (r) => r.httpStatus },
    { key: "clickId", label: "Click id", value: (r) => r.clickId, render: (r) => (r.clickId ? html`<code>${r.clickId.slice(0, 12)}…</code>` : "–") },
    { key: "sourceIp", label: "From", value: (r) => r.sourceIp, render: (r) => r.sourceIp ?? "–" },
    { key: "query", label: "Query", value: (r) => r.query, render: (r) => html`<code title=${r.query}>${r.query.length > 80 ? `${r.query.slice(0, 80)}…` : r.query}</code>` },
  ];
  return html`
    <h1>Postback log</h1>
    <div class="controls">
      <${RangeControls} range=${range} setRange=${setRange} />
      <label>Outcome
        <select name="outcome" value=${form.outcome} onChange=${set("outcome")}>
          <option value="">any</option>${OUTCOMES.map((o) => html`<option value=${o}>${o.toLowerCase()}</option>`)}
        </select>
      </label>
      <label>Kind
        <select name="kind" value=${form.kind} onChange=${set("kind")}>
          <option value="">any</option>${KINDS.map((k) => html`<option value=${k}>${k.toLowerCase()}</option>`)}
        </select>
      </label>
      <label>Reason codes <input name="reason" placeholder="unknown_click, bad_signature" value=${form.reason} onChange=${set("reason")} /></label>
      <label>Click id <input name="clickId" value=${form.clickId} onChange=${set("clickId")} /></label>
    </div>
    <${ErrorBox} error=${state.error} />
    <${SortableTable} id="postbacks" columns=${columns} rows=${state.nodes} initialSort=${{ key: "receivedAt", dir: "desc" }} rowKey=${(r) => r.id} />
    ${state.pageInfo?.hasNextPage && html`<p><button type="button" onClick=${() => load(state.pageInfo.endCursor)}>More</button></p>`}
    ${state.totalCount != null && html`<p class="note">${state.totalCount} hits match.</p>`}
  `;
}
