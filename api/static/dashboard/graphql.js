// The dashboard's only way to the data: the public GraphQL API, with the user's API key.

const KEY = "clicktrail.apiKey";
// The workspace's time zone as last seen: lets a reload ask for the first page's data before
// the workspace itself has answered (a hint only; the page checks it).
const ZONE = "clicktrail.timezone";

export const storedKey = () => sessionStorage.getItem(KEY);
export const storedZone = () => sessionStorage.getItem(ZONE);
export const storeKey = (key, zone) => {
  sessionStorage.setItem(KEY, key);
  sessionStorage.setItem(ZONE, zone);
};
export const forgetKey = () => {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(ZONE);
  early.clear();
};

// Requests sent ahead, by [query, variables]: the first identical query takes the answer.
const early = new Map();
const requestId = (query, variables) => JSON.stringify([query, variables]);

/** Sends a query now, for a page that will ask for exactly it once it has mounted. */
export function prefetch(key, query, variables) {
  const answer = gql(key, query, variables);
  answer.catch(() => {}); // whoever takes it sees the error; untaken, it is no page error
  early.set(requestId(query, variables), answer);
}

/** The answer to this exact query, sent ahead; null when none was. */
export function takePrefetched(query, variables) {
  const id = requestId(query, variables);
  const answer = early.get(id) ?? null;
  early.delete(id);
  return answer;
}

/** The key was refused: the app signs out. */
export class Unauthorized extends Error {}

/** The data of a query or mutation; throws with the API's own messages. */
export async function gql(key, query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      Authorization: `Bearer ${key}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  if (response.status === 401) {
    throw new Unauthorized("The API key was refused: it is unknown or revoked.");
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new Error(`The API answered ${response.status} without a GraphQL body.`);
  }
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data;
}

/** A vendored classic script (uPlot, graphql-ws), loaded once when a page first needs it. */
const scripts = new Map();
export function loadScript(src) {
  if (!scripts.has(src)) {
    scripts.set(
      src,
      new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = src;
        script.onload = resolve;
        script.onerror = () => reject(new Error(`could not load ${src}`));
        document.head.append(script);
      }),
    );
  }
  return scripts.get(src);
}

const EVENTS = `subscription Live($types: [String!]) {
  events(types: $types) {
    __typename
    ... on LiveEvent {
      change
      event { id type txid status amount createdAt updatedAt clickId click { campaign { name } } }
    }
    ... on MissedEvents { count message }
  }
}`;

/** Subscribes to the workspace's live events over graphql-transport-ws (the key goes in
 * connection_init); returns a function that closes the feed. */
export async function subscribeEvents(key, { onMessage, onState }) {
  await loadScript("/static/vendor/graphql-ws.min.js");
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  const client = window.graphqlWs.createClient({
    url,
    connectionParams: { Authorization: `Bearer ${key}` },
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    onNonLazyError: (error) => onState(`error: ${describe(error)}`),
    on: {
      connecting: () => onState("connecting"),
      connected: () => onState("connected"),
      closed: () => onState("disconnected"),
    },
  });
  const unsubscribe = client.subscribe(
    { query: EVENTS, variables: {} },
    {
      next: ({ data, errors }) =>
        errors?.length ? onState(`error: ${errors[0].message}`) : onMessage(data.events),
      error: (error) => onState(`error: ${describe(error)}`),
      complete: () => onState("ended"),
    },
  );
  return () => {
    unsubscribe();
    client.dispose();
  };
}

function describe(error) {
  if (Array.isArray(error)) return error.map((e) => e.message).join("; ");
  if (error && typeof error === "object" && "reason" in error) {
    return error.reason || `connection closed (${error.code})`;
  }
  return String(error?.message ?? error);
}
