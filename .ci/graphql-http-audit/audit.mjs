// GraphQL-over-HTTP conformance audit (graphql-http's auditServer) of a running API.
// Usage: GRAPHQL_AUTHORIZATION='Bearer <key>' node audit.mjs http://127.0.0.1:8001/graphql
// Prints every result; exits 1 when a MUST requirement fails (an `error` result) or a SHOULD
// one does (a `warn` result): the API meets both.
import { auditServer } from 'graphql-http';

const [url] = process.argv.slice(2);
const authorization = process.env.GRAPHQL_AUTHORIZATION;
if (!url || !authorization) {
  console.error('usage: GRAPHQL_AUTHORIZATION="Bearer <key>" node audit.mjs <graphql url>');
  process.exit(2);
}

// Every request of the audit carries the key: the API answers anonymous ones with 401.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', authorization);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  const line = `${result.status.padEnd(6)} ${result.id} ${result.name}`;
  if (result.status === 'ok') {
    console.log(line);
  } else {
    const body = await result.response.text().catch(() => '');
    console.log(`${line}\n       ${result.reason}\n       ${result.response.status} ${body.slice(0, 300)}`);
  }
}
console.log(Object.entries(counts).map(([status, n]) => `${n} ${status}`).join(', '));
process.exit(counts.error > 0 || counts.warn > 0 ? 1 : 0);
