// A loopback fake of a DNS-over-HTTPS resolver's JSON API (`GET /dns-query?name=…&type=…` with
// `Accept: application/dns-json`), the one call the Worker's mail-server check makes. It answers
// as public resolvers do (Cloudflare's and Google's JSON API; RFC 8484 itself defines only the
// binary wire format): `{ Status, TC, RD, RA, AD, CD, Question: [{ name, type }], Answer: [{ name,
// type, TTL, data }] }`, with `Status` 0 (NOERROR) or 3 (NXDOMAIN), the answer left out when a
// name has no record of the type asked and the zone's SOA in `Authority` instead. A request such a
// resolver would refuse (no `Accept: application/dns-json`, a name that is not an ASCII host name,
// an unknown type) gets a 400 and a sentence in `violations`, which a test asserts is empty.
import { createServer } from "node:http";
import { freePort } from "./edge.mjs";

const PATH = "/dns-query";
/** Record type names and numbers (RFC 1035, RFC 3596). */
const TYPES = { A: 1, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 };
/** A host name as DNS carries it: ASCII labels of letters, digits and inner hyphens. */
const HOST = /^(?=.{1,253}\.?$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?$/i;

/**
 * Starts the fake. `zones` maps a name to its records, `{ MX: ["10 mx.acme.example."], A:
 * ["192.0.2.1"], AAAA: [...] }`; a name not in it does not exist (NXDOMAIN). Resolves to:
 * - `url`: the endpoint (`…/dns-query`), what the Worker's `DOH_URL` names;
 * - `queries`: every question asked, `{ name, type }` in order;
 * - `violations`: one sentence per refused request;
 * - `mode(m)`: `"up"` (the default), `503` (every request answered 503), or `"hang"` (no answer);
 * - `close()`.
 */
export async function startDohFake({ zones = {} } = {}) {
  const queries = [];
  const violations = [];
  let current = "up";

  function answer(name, type) {
    const key = name.toLowerCase().replace(/\.$/, "");
    const zone = zones[key];
    const fqdn = `${key}.`;
    const body = { Status: zone ? 0 : 3, TC: false, RD: true, RA: true, AD: false, CD: false, Question: [{ name: fqdn, type: TYPES[type] }] };
    const records = zone?.[type] ?? [];
    if (records.length) body.Answer = records.map((data) => ({ name: fqdn, type: TYPES[type], TTL: 300, data }));
    else body.Authority = [{ name: fqdn, type: TYPES.SOA, TTL: 900, data: `ns.${fqdn} hostmaster.${fqdn} 1 7200 3600 1209600 900` }];
    return body;
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://fake");
    const refuse = (why) => {
      violations.push(why);
      res.writeHead(400, { "content-type": "text/plain" }).end("Bad Request");
    };
    if (current === "hang") return;
    if (current !== "up") return void res.writeHead(current, { "content-type": "text/plain" }).end("unavailable");
    const where = `${req.method} ${url.pathname}${url.search}`;
    if (req.method !== "GET" || url.pathname !== PATH) return refuse(`${where}: the fake has only GET ${PATH}`);
    if (req.headers.accept !== "application/dns-json") return refuse(`${where}: Accept is ${req.headers.accept}, not application/dns-json`);
    const [name, type] = [url.searchParams.get("name"), url.searchParams.get("type")];
    if (!name || !HOST.test(name)) return refuse(`${where}: name ${JSON.stringify(name)} is not an ASCII host name`);
    if (!(type in TYPES)) return refuse(`${where}: unknown type ${JSON.stringify(type)}`);
    queries.push({ name, type });
    res.writeHead(200, { "content-type": "application/dns-json" }).end(JSON.stringify(answer(name, type)));
  });
  const port = await freePort();
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${port}${PATH}`,
    queries,
    violations,
    mode: (m) => void (current = m),
    close: () => {
      server.closeAllConnections();
      return new Promise((ok) => server.close(ok));
    },
  };
}
