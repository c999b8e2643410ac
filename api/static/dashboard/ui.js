// What every page shares: htm bound to Preact, number and time formats, the date range in a
// time zone, a sortable table, copy buttons and a query hook.
import { h } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { Unauthorized, gql, takePrefetched } from "./graphql.js";

export const html = htm.bind(h);

const integer = new Intl.NumberFormat("en-US");
export const fmtInt = (n) => (n == null ? "–" : integer.format(n));
export const fmtPct = (n) => (n == null ? "–" : `${n.toFixed(2)}%`);

const moneyFormats = new Map();
/** Money arrives as a decimal string (the Decimal scalar); it is only formatted here. */
export function fmtMoney(value, currency, digits = 2) {
  if (value == null) return "–";
  const id = `${currency}/${digits}`;
  if (!moneyFormats.has(id)) {
    moneyFormats.set(
      id,
      new Intl.NumberFormat("en-US", {
        style: "currency",
        currency,
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      }),
    );
  }
  return moneyFormats.get(id).format(Number(value));
}

export function fmtTime(iso, tz) {
  if (!iso) return "–";
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: tz,
    dateStyle: "short",
    timeStyle: "medium",
  }).format(new Date(iso));
}

export function fmtSeconds(s) {
  if (s == null) return "–";
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

// Dates are YYYY-MM-DD in the chosen zone; the API takes instants.
const ymd = (tz) =>
  new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" });
export const today = (tz) => ymd(tz).format(new Date());

export function addDays(date, days) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function offsetMs(tz, utcMs) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    })
      .formatToParts(new Date(utcMs))
      .map((p) => [p.type, p.value]),
  );
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return wall - utcMs;
}

/** The instant a day starts in a time zone (twice, so a day that starts in a DST change lands). */
export function dayStart(date, tz) {
  const wall = Date.parse(`${date}T00:00:00Z`);
  const first = wall - offsetMs(tz, wall);
  return new Date(wall - offsetMs(tz, first)).toISOString();
}

/** ClickFilter bounds for a range of whole days, `to` included. */
export const rangeFilter = (range) => ({
  createdFrom: dayStart(range.from, range.tz),
  createdBefore: dayStart(addDays(range.to, 1), range.tz),
});

/** The range a session starts with: the last seven days in the workspace's zone. */
export const initialRange = (tz) => ({ from: addDays(today(tz), -6), to: today(tz), tz });

export const rangeDays = (range) =>
  Math.round((Date.parse(range.to) - Date.parse(range.from)) / 86_400_000) + 1;

const ZONES = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

export function RangeControls({ range, setRange }) {
  const set = (field) => (e) => e.target.value && setRange({ ...range, [field]: e.target.value });
  return html`
    <label>From <input type="date" name="from" value=${range.from} onChange=${set("from")} /></label>
    <label>To <input type="date" name="to" value=${range.to} onChange=${set("to")} /></label>
    <label
      >Time zone
      <input name="tz" list="zones" value=${range.tz} onChange=${(e) =>
        ZONES.includes(e.target.value) || e.target.value === "UTC"
          ? setRange({ ...range, tz: e.target.value })
          : (e.target.value = range.tz)}
      />
      <datalist id="zones">${ZONES.map((z) => html`<option value=${z} />`)}</datalist>
    </label>
  `;
}

export function ErrorBox({ error }) {
  return error ? html`<div class="error" role="alert">${error}</div>` : null;
}

/** Runs a query whenever its variables change; `reload` runs it again. */
export function useQuery(app, query, variables, { skip = false } = {}) {
  const [state, setState] = useState({ data: null, error: null, loading: !skip });
  const [tick, setTick] = useState(0);
  const encoded = JSON.stringify(variables);
  useEffect(() => {
    if (skip) return undefined;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    app
      .query(query, variables)
      .then((data) => live && setState({ data, error: null, loading: false }))
      .catch((error) => live && setState({ data: null, error: error.message, loading: false }));
    return () => {
      live = false;
    };
  }, [query, encoded, tick, skip]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** The app's query function: signs out when the key is refused. */
export function queryWith(key, signOut) {
  return async (query, variables) => {
    try {
      return await (takePrefetched(query, variables) ?? gql(key, query, variables));
    } catch (error) {
      if (error instanceof Unauthorized) signOut(error.message);
      throw error;
    }
  };
}

const compare = (a, b) => {
  if (a == null) return b == null ? 0 : -1;
  if (b == null) return 1;
  return typeof a === "string" ? a.localeCompare(b) : a - b;
};

/**
 * A table sorted by any column (click a header; again to reverse).
 * columns: {key, label, value(row) for sorting, render(row), num}
 */
export function SortableTable({ columns, rows, totals, initialSort, onRowClick, rowKey, selected, id }) {
  const [sort, setSort] = useState(initialSort ?? { key: columns[0].key, dir: "asc" });
  const column = columns.find((c) => c.key === sort.key);
  const sorted = column
    ? [...rows].sort((a, b) => compare(column.value(a), column.value(b)) * (sort.dir === "asc" ? 1 : -1))
    : rows;
  const toggle = (key) =>
    setSort(sort.key === key ? { key, dir: sort.dir === "asc" ? "desc" : "asc" } : { key, dir: "desc" });
  const arrow = (key) => (sort.key === key ? (sort.dir === "asc" ? " ▲" : " ▼") : "");
  return html`
    <div class="table-wrap">
      <table id=${id}>
        <thead>
          <tr>
            ${columns.map(
              (c) => html`<th
                class=${`sortable ${c.num ? "num" : ""}`}
                data-key=${c.key}
                onClick=${() => toggle(c.key)}
              >
                ${c.label}${arrow(c.key)}
              </th>`,
            )}
          </tr>
        </thead>
        <tbody>
          ${sorted.map(
            (row) => html`<tr
              key=${rowKey(row)}
              class=${`${onRowClick ? "clickable" : ""} ${selected === rowKey(row) ? "selected" : ""} ${row.flagged ? "flagged" : ""}`}
              onClick=${onRowClick ? () => onRowClick(row) : undefined}
            >
              ${columns.map((c) => html`<td class=${c.num ? "num" : ""}>${c.render(row)}</td>`)}
            </tr>`,
          )}
          ${totals &&
          html`<tr class="totals">
            ${columns.map((c, i) => html`<td class=${c.num ? "num" : ""}>${i === 0 ? "Total" : c.total ? c.render(totals) : ""}</td>`)}
          </tr>`}
        </tbody>
      </table>
    </div>
  `;
}

/** Copies `text`; where the clipboard API is missing (plain http off localhost) it selects the
 * text of `target` instead, for Ctrl+C. */
export function CopyButton({ text, label = "Copy", target }) {
  const [done, setDone] = useState("");
  const copy = async () => {
    if (navigator.clipboard) {
      await navigator.clipboard.writeText(text);
      setDone("Copied");
    } else if (target?.current) {
      getSelection().selectAllChildren(target.current);
      setDone("Press Ctrl+C");
    }
    setTimeout(() => setDone(""), 1500);
  };
  return html`<button type="button" onClick=${copy}>${done || label}</button>`;
}

export function CopyLine({ label, text }) {
  const code = useRef(null);
  return html`<div class="copy">
    <span class="copy-label">${label}</span><code ref=${code}>${text}</code>
    <${CopyButton} text=${text} target=${code} />
  </div>`;
}
