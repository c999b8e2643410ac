// The campaigns table: report rows for the date range, grouped by any dimension, with
// drill-down (campaign -> sub1 -> ...), every metric a sortable column.
import { useEffect, useState } from "preact/hooks";
import { DIMENSIONS, ROW_DIMENSIONS, ROW_METRICS, metricColumns, nextDimension, pathFilter, shownName } from "./report.js";
import { prefetch } from "./graphql.js";
import { ErrorBox, RangeControls, SortableTable, html, initialRange, rangeFilter } from "./ui.js";

const REPORT = `query Campaigns($filter: ClickFilter, $groupBy: [ReportDimension!], $tz: String) {
  report(filter: $filter, groupBy: $groupBy, timezone: $tz, first: 1000) {
    source
    totalRows
    rows { ${ROW_DIMENSIONS} ${ROW_METRICS} }
    totals { ${ROW_METRICS} }
  }
}`;

export const INITIAL_DRILL = { path: [], groupBy: "CAMPAIGN" };

export const reportVariables = (range, drill) => ({
  filter: { ...rangeFilter(range), ...pathFilter(drill.path) },
  groupBy: [drill.groupBy],
  tz: range.tz,
});

/** On a reload, the table's query is sent beside the app's first one rather than after it. */
export const prefetchTable = (key, tz) => prefetch(key, REPORT, reportVariables(initialRange(tz), INITIAL_DRILL));

export function Breadcrumbs({ drill, setDrill }) {
  return html`<div class="crumbs" id="crumbs">
    <a href="#/campaigns" onClick=${(e) => (e.preventDefault(), setDrill(INITIAL_DRILL))}>All traffic</a>
    ${drill.path.map(
      (step, i) => html`<span>›</span>
        <a
          href="#/campaigns"
          onClick=${(e) => (e.preventDefault(), setDrill({ path: drill.path.slice(0, i + 1), groupBy: drill.groupBy }))}
          >${DIMENSIONS[step.dim].label}: ${step.label}</a
        >`,
    )}
  </div>`;
}

export function DimensionSelect({ name, value, onChange, exclude = [] }) {
  return html`<select name=${name} value=${value} onChange=${(e) => onChange(e.target.value)}>
    ${Object.entries(DIMENSIONS)
      .filter(([dim]) => dim === value || !exclude.includes(dim))
      .map(([dim, d]) => html`<option value=${dim}>${d.label}</option>`)}
  </select>`;
}

export default function Campaigns({ app }) {
  const { range, setRange, drill, setDrill, me, currency } = app;
  const used = drill.path.map((step) => step.dim);
  const [next, setNext] = useState(nextDimension(drill.groupBy, drill.path));
  useEffect(() => setNext(nextDimension(drill.groupBy, drill.path)), [drill]);
  const [state, setState] = useState({ data: null, error: null });
  const variables = reportVariables(range, drill);
  const encoded = JSON.stringify(variables);
  useEffect(() => {
    let live = true;
    app
      .query(REPORT, variables)
      .then((data) => live && setState({ data, error: null, groupBy: variables.groupBy[0] }))
      .catch((error) => live && setState({ data: null, error: error.message }));
    return () => {
      live = false;
    };
  }, [encoded]);
  useEffect(() => {
    if (state.data) performance.mark("campaigns-table");
  }, [state.data]);

  // The rows on screen until the next answer arrives are those of the grouping they came with.
  const shown = state.groupBy ?? drill.groupBy;
  const dimension = DIMENSIONS[shown];
  const drillInto = (row) => {
    if (shown !== drill.groupBy) return;
    const step = { dim: shown, value: dimension.key(row), label: shownName(dimension, row) };
    setDrill({ path: [...drill.path, step], groupBy: next });
  };
  const columns = [
    {
      key: "name",
      label: dimension.label,
      value: (row) => dimension.name(row),
      render: (row) =>
        html`<a href="#/campaigns" class=${dimension.key(row) ? "" : "note"} onClick=${(e) => e.preventDefault()} title="Drill down">${shownName(dimension, row)}</a>`,
    },
    ...metricColumns(me.conversionTypes, currency),
  ];
  const report = state.data?.report;
  return html`
    <h1>Campaigns</h1>
    <div class="controls">
      <${RangeControls} range=${range} setRange=${setRange} />
      <label>Group by <${DimensionSelect} name="groupBy" value=${drill.groupBy} exclude=${used} onChange=${(groupBy) => setDrill({ ...drill, groupBy })} /></label>
      <label>A click on a row shows <${DimensionSelect} name="drillInto" value=${next} exclude=${[...used, drill.groupBy]} onChange=${setNext} /></label>
    </div>
    <${Breadcrumbs} drill=${drill} setDrill=${setDrill} />
    <${ErrorBox} error=${state.error} />
    ${report
      ? html`
          <${SortableTable}
            id="report"
            columns=${columns}
            rows=${report.rows}
            totals=${report.totals}
            initialSort=${{ key: "clicks", dir: "desc" }}
            rowKey=${(row) => String(dimension.key(row))}
            onRowClick=${drillInto}
          />
          <p class="note">
            ${report.rows.length < report.totalRows ? `The first ${report.rows.length} of ${report.totalRows} rows. ` : ""}
            Figures from ${report.source === "raw" ? "the raw tables" : `the ${report.source.replace("rollup_", "")} rollup`};
            approved and pending events count; times in ${range.tz}.
          </p>
        `
      : !state.error && html`<p class="note">Loading…</p>`}
  `;
}
