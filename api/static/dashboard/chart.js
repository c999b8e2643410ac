// The same metrics over time: the report by hour (ranges up to two days) or day, for the
// drill-down path the campaigns page is on, drawn with uPlot.
import { useEffect, useRef, useState } from "preact/hooks";
import { Breadcrumbs } from "./campaigns.js";
import { loadScript } from "./graphql.js";
import { ROW_METRICS, metricColumns, pathFilter } from "./report.js";
import { ErrorBox, RangeControls, html, rangeDays, rangeFilter } from "./ui.js";

const SERIES = `query Series($filter: ClickFilter, $bucket: TimeBucket!, $tz: String) {
  report(filter: $filter, timeBucket: $bucket, timezone: $tz, orderBy: [{ bucket: true, direction: ASC }], first: 10000) {
    rows { bucket ${ROW_METRICS} }
  }
}`;
const COLORS = ["#2455d6", "#1f7a3f", "#c0362c", "#8a4bd6", "#d68a24", "#178f8f", "#6b7280", "#b8327a"];
const SCALES = { count: "n", money: "$", ratio: "%" };

export default function Chart({ app }) {
  const { range, setRange, drill, setDrill, me, currency } = app;
  const metrics = metricColumns(me.conversionTypes, currency);
  const [chosen, setChosen] = useState(["clicks", "conversions", "revenue"]);
  const [state, setState] = useState({ data: null, error: null });
  const box = useRef(null);
  const bucket = rangeDays(range) <= 2 ? "HOUR" : "DAY";
  const variables = { filter: { ...rangeFilter(range), ...pathFilter(drill.path) }, bucket, tz: range.tz };
  const encoded = JSON.stringify(variables);
  useEffect(() => {
    let live = true;
    Promise.all([app.query(SERIES, variables), loadScript("/static/vendor/uPlot.iife.min.js")])
      .then(([data]) => live && setState({ data, error: null }))
      .catch((error) => live && setState({ data: null, error: error.message }));
    return () => {
      live = false;
    };
  }, [encoded]);
  useEffect(() => {
    if (!state.data || !box.current) return undefined;
    const rows = state.data.report.rows;
    const shown = metrics.filter((m) => chosen.includes(m.key));
    const uPlot = window.uPlot;
    const plot = new uPlot(
      {
        width: Math.max(box.current.clientWidth - 16, 320),
        height: 360,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), range.tz),
        scales: { x: { time: true } },
        series: [
          {},
          ...shown.map((m, i) => ({
            label: m.label,
            scale: SCALES[m.kind],
            stroke: COLORS[i % COLORS.length],
            width: 2,
            value: (u, v) => (v == null ? "–" : m.kind === "ratio" ? `${v.toFixed(2)}%` : v.toLocaleString("en-US")),
          })),
        ],
        axes: [
          {},
          ...[...new Set(shown.map((m) => SCALES[m.kind]))].map((scale, i) => ({
            scale,
            side: i === 0 ? 3 : 1,
            grid: { show: i === 0 },
            label: { n: "count", $: currency, "%": "%" }[scale],
          })),
        ],
      },
      [rows.map((r) => Date.parse(r.bucket) / 1000), ...shown.map((m) => rows.map((r) => m.value(r)))],
      box.current,
    );
    return () => plot.destroy();
  }, [state.data, chosen.join(), range.tz]);
  const toggle = (key) => setChosen(chosen.includes(key) ? chosen.filter((k) => k !== key) : [...chosen, key]);
  return html`
    <h1>Chart</h1>
    <div class="controls"><${RangeControls} range=${range} setRange=${setRange} /></div>
    <${Breadcrumbs} drill=${drill} setDrill=${setDrill} />
    <div class="controls">
      ${metrics.map(
        (m) => html`<label class="inline"><input type="checkbox" checked=${chosen.includes(m.key)} onChange=${() => toggle(m.key)} /> ${m.label}</label>`,
      )}
    </div>
    <${ErrorBox} error=${state.error} />
    <div id="chart" ref=${box}></div>
    <p class="note">By ${bucket.toLowerCase()} in ${range.tz}; the campaigns page's drill-down applies here too.</p>
  `;
}
