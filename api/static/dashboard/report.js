// What the report pages share: the dimensions (how to name a row, how to filter on it) and
// the metric columns, custom conversion types included.
import { fmtInt, fmtMoney, fmtPct, html } from "./ui.js";

const SUBS = Array.from({ length: 20 }, (_, i) => i + 1);

const entity = (field, label, filterField) => ({
  label,
  key: (row) => row[field]?.id ?? null,
  name: (row) => row[field]?.name ?? null,
  filter: (value) => ({ [filterField]: [value] }),
});
const plain = (field, label, filterField) => ({
  label,
  key: (row) => row[field] ?? null,
  name: (row) => row[field] ?? null,
  filter: (value) => ({ [filterField]: [value] }),
});
const sub = (n) => {
  const value = (row) => row.subs.find((s) => s.index === n)?.value ?? null;
  return { label: `sub${n}`, key: value, name: value, filter: (v) => ({ subs: [{ index: n, values: [v] }] }) };
};

// A group without a value (null) is drilled into with the filter's `missing`.
const orMissing = (dimensions) =>
  Object.fromEntries(
    Object.entries(dimensions).map(([dim, d]) => [
      dim,
      { ...d, filter: (value) => (value == null ? { missing: [dim] } : d.filter(value)) },
    ]),
  );

export const DIMENSIONS = orMissing({
  CAMPAIGN: entity("campaign", "Campaign", "campaignIds"),
  OFFER: entity("offer", "Offer", "offerIds"),
  TRAFFIC_SOURCE: entity("trafficSource", "Traffic source", "trafficSourceIds"),
  COUNTRY: plain("country", "Country", "countries"),
  DEVICE_TYPE: plain("deviceType", "Device", "deviceTypes"),
  OS: plain("os", "OS", "oses"),
  BROWSER: plain("browser", "Browser", "browsers"),
  ...Object.fromEntries(SUBS.map((n) => [`SUB${n}`, sub(n)])),
});

/** How a row's value reads: its name, or what stands for no value. */
export const shownName = (dimension, row) => {
  const name = dimension.name(row);
  return name == null ? "(none)" : name === "" ? "(empty)" : name;
};

export const ROW_DIMENSIONS =
  "campaign { id name } offer { id name } trafficSource { id name } country deviceType os browser subs { index value }";
export const ROW_METRICS =
  "clicks uniqueClicks conversions transactions revenue cost profit roi cr epc byType { type count revenue }";

/** The drill-down path as one ClickFilter: every step must hold. */
export const pathFilter = (path) =>
  path.length ? { and: path.map((step) => DIMENSIONS[step.dim].filter(step.value)) } : {};

/** Where a click on a row leads by default: the next sub after a sub, else the first unused sub. */
export function nextDimension(current, path) {
  const used = new Set([current, ...path.map((step) => step.dim)]);
  const n = /^SUB(\d+)$/.exec(current)?.[1];
  if (n && Number(n) < 20 && !used.has(`SUB${Number(n) + 1}`)) return `SUB${Number(n) + 1}`;
  const names = Object.keys(DIMENSIONS);
  return names.find((d) => d.startsWith("SUB") && !used.has(d)) ?? names.find((d) => !used.has(d)) ?? current;
}

const typeCount = (row, name) => row.byType.find((t) => t.type === name)?.count ?? 0;
const money = (value) => (value == null ? null : Number(value));

/** Metric columns: counts, one per custom type, money and ratios (`kind` picks the format). */
export function metricColumns(types, currency) {
  const custom = types.filter((t) => !t.isBuiltin);
  const columns = [
    { key: "clicks", label: "Clicks", kind: "count", get: (r) => r.clicks },
    { key: "uniqueClicks", label: "Unique", kind: "count", get: (r) => r.uniqueClicks },
    { key: "conversions", label: "Conversions", kind: "count", get: (r) => r.conversions },
    { key: "transactions", label: "Transactions", kind: "count", get: (r) => r.transactions },
    ...custom.map((t) => ({ key: `type:${t.name}`, label: t.name, kind: "count", get: (r) => typeCount(r, t.name) })),
    { key: "revenue", label: "Revenue", kind: "money", get: (r) => r.revenue },
    { key: "cost", label: "Cost", kind: "money", get: (r) => r.cost },
    { key: "profit", label: "Profit", kind: "money", get: (r) => r.profit },
    { key: "roi", label: "ROI", kind: "ratio", get: (r) => r.roi },
    { key: "cr", label: "CR", kind: "ratio", get: (r) => r.cr },
    { key: "epc", label: "EPC", kind: "money", digits: 4, get: (r) => r.epc },
  ];
  return columns.map((c) => ({
    ...c,
    num: true,
    total: true,
    value: (row) => (c.kind === "money" ? money(c.get(row)) : c.get(row)),
    render: (row) => {
      const v = c.get(row);
      if (c.kind === "count") return fmtInt(v);
      if (c.kind === "ratio") return fmtPct(v);
      const text = fmtMoney(v, currency, c.digits ?? 2);
      return c.key === "profit" && v != null && Number(v) < 0 ? html`<span class="neg">${text}</span>` : text;
    },
  }));
}
