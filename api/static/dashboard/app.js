// The shell: sign-in with an API key, the navigation, and the state pages share (the date
// range in a time zone, the report's drill-down path).
import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { INITIAL_DRILL, prefetchTable } from "./campaigns.js";
import { forgetKey, gql, storeKey, storedKey, storedZone } from "./graphql.js";
import { ErrorBox, html, initialRange, queryWith } from "./ui.js";

const PAGES = [
  ["campaigns", "Campaigns", () => import("./campaigns.js")],
  ["chart", "Chart", () => import("./chart.js")],
  ["clicks", "Clicks", () => import("./clicks.js")],
  ["postbacks", "Postback log", () => import("./postbacks.js")],
  ["delays", "Time to conversion", () => import("./delays.js")],
  ["live", "Live feed", () => import("./live.js")],
  ["templates", "Templates", () => import("./templates.js")],
  ["manage", "Manage campaigns", () => import("./manage.js")],
  ["keys", "API keys", () => import("./keys.js")],
];

const WHO = `{
  currentApiKey { id name scopes }
  workspace { id name timezone currency }
  conversionTypes { id name countsAsConversion countsInRevenue isBuiltin }
}`;

const route = () => {
  const name = location.hash.replace(/^#\/?/, "");
  return PAGES.some(([page]) => page === name) ? name : "campaigns";
};

function SignIn({ onSignIn, message }) {
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(message);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignIn(key.trim(), await gql(key.trim(), WHO));
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  };
  return html`<form class="card signin" onSubmit=${submit}>
    <h1>clicktrail</h1>
    <p class="note">
      Paste an API key of your workspace. It is kept in this browser tab only (session storage)
      until you sign out or close the tab.
    </p>
    <${ErrorBox} error=${error} />
    <input
      type="password"
      name="apiKey"
      autocomplete="off"
      placeholder="ct_..."
      value=${key}
      onInput=${(e) => setKey(e.target.value)}
    />
    <button class="primary" disabled=${busy || !key.trim()}>Sign in</button>
  </form>`;
}

function Shell({ session, signOut }) {
  const { me } = session;
  const [page, setPage] = useState(route());
  const [loaded, setLoaded] = useState(null);
  const tz = me.workspace.timezone;
  const [range, setRange] = useState(initialRange(tz));
  const [drill, setDrill] = useState(INITIAL_DRILL);
  useEffect(() => {
    const follow = () => setPage(route());
    addEventListener("hashchange", follow);
    return () => removeEventListener("hashchange", follow);
  }, []);
  useEffect(() => {
    let live = true;
    PAGES.find(([name]) => name === page)[2]().then((module) => live && setLoaded({ page, Page: module.default }));
    return () => {
      live = false;
    };
  }, [page]);
  const app = useMemo(
    () => ({
      query: queryWith(session.key, signOut),
      key: session.key,
      me,
      currency: me.workspace.currency,
      isAdmin: me.currentApiKey.scopes.includes("ADMIN"),
      range,
      setRange,
      drill,
      setDrill,
    }),
    [session, range, drill],
  );
  const Page = loaded?.page === page ? loaded.Page : null;
  return html`
    <header class="top">
      <span class="brand">clicktrail</span>
      <nav>
        ${PAGES.map(
          ([name, label]) => html`<a href=${`#/${name}`} class=${name === page ? "active" : ""}>${label}</a>`,
        )}
      </nav>
      <span class="who">
        <span id="who">${me.workspace.name} · key “${me.currentApiKey.name}” (${me.currentApiKey.scopes.join(", ").toLowerCase()})</span>
        <button type="button" id="sign-out" onClick=${() => signOut(null)}>Sign out</button>
      </span>
    </header>
    <main id=${`page-${page}`}>${Page ? html`<${Page} app=${app} />` : html`<p class="note">Loading…</p>`}</main>
  `;
}

// A reload with a key: who it is and, when the campaigns page opens in the zone last seen, its
// table, asked for at once and side by side (the table needs only the zone of the first).
const resumed = storedKey() && gql(storedKey(), WHO);
resumed?.catch(() => {}); // handled below, once the app has mounted
if (resumed && route() === "campaigns" && storedZone()) prefetchTable(storedKey(), storedZone());

function App() {
  const [session, setSession] = useState(null);
  const [message, setMessage] = useState(null);
  const [resuming, setResuming] = useState(Boolean(storedKey()));
  const signOut = (reason) => {
    forgetKey();
    setSession(null);
    setMessage(reason);
  };
  const signIn = (key, me) => {
    storeKey(key, me.workspace.timezone);
    setMessage(null);
    setSession({ key, me });
  };
  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    resumed
      .then((me) => {
        storeKey(key, me.workspace.timezone);
        setSession({ key, me });
      })
      .catch((error) => signOut(error.message))
      .finally(() => setResuming(false));
  }, []);
  if (session) return html`<${Shell} session=${session} signOut=${signOut} />`;
  if (resuming) return html`<p class="note">Loading…</p>`;
  return html`<${SignIn} onSignIn=${signIn} message=${message} />`;
}

render(html`<${App} />`, document.getElementById("app"));
