// Time to conversion: how long after their click events arrive, per traffic source, campaign
// or sub, with the share under a threshold flagged (click injection and spamming look so).
import { useEffect, useState } from "preact/hooks";
import { DimensionSelect } from "./campaigns.js";
import { DIMENSIONS } from "./report.js";
import { ErrorBox, RangeControls, SortableTable, fmtInt, fmtSeconds, html, rangeFilter } from "./ui.js";

const DELAY = `query Delay($filter: ClickFilter, $groupBy: ReportDimension, $threshold: Int!, $flagShare: Float!) {
  conversionDelay(filter: $filter, groupBy: $groupBy, thresholdSeconds: $threshold, flagShare: $flagShare, first: 500) {
    buckets { label fromSeconds }
    totalRows
    rows { ...Row }
    totals { ...Row }
  }
}
fragment Row on DelayRow {
  type key events counts underThreshold shareUnderThreshold flagged medianSeconds
  campaign { name } offer { name } trafficSource { name }
}`;

const groupName = (row) => row.campaign?.name ?? row.offer?.name ?? row.trafficSource?.name ?? row.key;

function Bars({ counts, buckets, threshold }) {
  const top = Math.max(1, ...counts);
  return html`<div class="bars">
    ${counts.map(
      (n, i) => html`<span
        class=${buckets[i].fromSeconds < threshold ? "under" : ""}
        style=${{ height: `${Math.round((n / top) * 100)}%` }}
        title=${`${buckets[i].label}: ${n}`}
      ></span>`,
    )}
  </div>`;
}

export default function Delays({ app }) {
  const { range, setRange } = app;
  const [groupBy, setGroupBy] = useState("TRAFFIC_SOURCE");
  const [threshold, setThreshold] = useState(10);
  const [flagPercent, setFlagPercent] = useState(20);
  const [state, setState] = useState({ data: null, error: null });
  const variables = { filter: rangeFilter(range), groupBy, threshold: Number(threshold), flagShare: Number(flagPercent) / 100 };
  const encoded = JSON.stringify(variables);
  useEffect(() => {
    let live = true;
    app
      .query(DELAY, variables)
      .then((data) => live && setState({ data, error: null }))
      .catch((error) => live && setState({ data: null, error: error.message }));
    return () => {
      live = false;
    };
  }, [encoded]);
  const delay = state.data?.conversionDelay;
  const buckets = delay?.buckets ?? [];
  const columns = [
    { key: "group", label: DIMENSIONS[groupBy].label, value: groupName, render: (r) => groupName(r) ?? html`<span class="note">(none)</span>` },
    { key: "type", label: "Type", value: (r) => r.type, render: (r) => r.type },
    { key: "events", label: "Events", num: true, value: (r) => r.events, render: (r) => fmtInt(r.events) },
    { key: "median", label: "Median", num: true, value: (r) => r.medianSeconds, render: (r) => fmtSeconds(r.medianSeconds) },
    {
      key: "share",
      label: `Under ${threshold} s`,
      num: true,
      value: (r) => r.shareUnderThreshold,
      render: (r) =>
        html`${fmtInt(r.underThreshold)} (${(r.shareUnderThreshold * 100).toFixed(1)}%)
        ${r.flagged ? html` <span class="badge flag">flagged</span>` : ""}`,
    },
    {
      key: "histogram",
      label: buckets.length ? `${buckets[0].label} … ${buckets[buckets.length - 1].label}` : "Histogram",
      value: (r) => r.events,
      render: (r) => html`<${Bars} counts=${r.counts} buckets=${buckets} threshold=${Number(threshold)} />`,
    },
  ];
  return html`
    <h1>Time to conversion</h1>
    <div class="controls">
      <${RangeControls} range=${range} setRange=${setRange} />
      <label>Per <${DimensionSelect} name="delayGroupBy" value=${groupBy} onChange=${setGroupBy} /></label>
      <label>Threshold (seconds) <input name="threshold" type="number" min="1" value=${threshold} onChange=${(e) => e.target.value && setThreshold(e.target.value)} /></label>
      <label>Flag at share (%) <input name="flagShare" type="number" min="0" max="100" value=${flagPercent} onChange=${(e) => e.target.value && setFlagPercent(e.target.value)} /></label>
    </div>
    <${ErrorBox} error=${state.error} />
    ${delay &&
    html`<${SortableTable}
        id="delays"
        columns=${columns}
        rows=${delay.rows}
        initialSort=${{ key: "events", dir: "desc" }}
        rowKey=${(r) => `${r.key}/${r.type}`}
      />
      <p class="note">
        Seconds from the click to the event's recording, for clicks in the range. Red bars are under the
        threshold; a row is flagged when at least ${flagPercent}% of its events are. Buckets:
        ${buckets.map((b) => b.label).join(", ")}.
      </p>`}
  `;
}
