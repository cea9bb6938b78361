// Back from the CRM (issue 19), on workerd with local D1 and KV: a rep who works only in the CRM
// still moves the lead. HubSpot's webhooks (signed here with node:crypto as HubSpot's guide says,
// apart from the Worker's code) reassign a lead, move its status and close it when its deal is
// won, the deals and their contacts read back in two batch reads from a loopback server that
// checks each request and answer against HubSpot's descriptions (tests/fixtures/hubspot-deals.json,
// hubspot-associations.json); a Salesforce Flow's callouts do the same by our lead id. The bundle
// is tests/fixtures/crm-back.toml. The push that writes `crm_records` is not what is tested here:
// each lead's record is inserted as the push stores it once synced. Every time comes from the
// test clock (EPOCH), never the machine's.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort, HOUR, MINUTE, EPOCH, randomToken, ROOT, startWorker } from "./support/edge.mjs";
import { loadFixture, parseBody, readBody, validate } from "./support/spec.mjs";

const HUBSPOT_CLIENT_SECRET = randomToken();
const HUBSPOT_TOKEN = `pat-eu1-${randomToken()}`;
const SALESFORCE_FLOW_TOKEN = randomToken();
// The URL HubSpot is told to call, with a percent-encoded `:` that HubSpot decodes before signing.
const HUBSPOT_PATH = "/v1/crm/hubspot?source=hubspot%3Awebhooks";
const DEALS_READ = "/crm/v3/objects/0-3/batch/read";
const ASSOCIATIONS_READ = "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read";
/** How the v4 path may name deals and contacts (the Worker names them by type id). */
const DEAL_TYPES = ["0-3", "deal", "deals"];
const CONTACT_TYPES = ["0-1", "contact", "contacts"];
/** HubSpot's CRM guides: a batch takes at most 100 inputs. */
const BATCH_LIMIT = 100;
/** The paths of the two reads this test serves (the push shares HUBSPOT_API_URL). */
const isDealRead = (path) => path === DEALS_READ || /^\/crm\/v4\/associations\/[^/]+\/[^/]+\/batch\/read$/.test(path);

let worker, db, deals, hubspotApi;

/** A loopback HubSpot API serving the deals batch read and the v4 associations batch read (deal to
 * contact) from the deals `serve` was given, refusing what the descriptions do not allow and
 * checking every answer against them; every request is recorded. */
async function startDeals(dealsDescription, associationsDescription) {
  const operations = {
    deals: { description: dealsDescription, operation: dealsDescription.paths[DEALS_READ].post },
    associations: { description: associationsDescription, operation: associationsDescription.paths[ASSOCIATIONS_READ].post },
  };
  const served = new Map();
  const requests = [];
  const now = () => new Date(EPOCH).toISOString();
  const notFound = (message, context) => ({ status: "error", category: "OBJECT_NOT_FOUND", message, context, errors: [], links: {} });
  /** A batch answer: 200 with `results`, or 207 with the inputs HubSpot has nothing for in `errors`. */
  const batch = (results, errors) => ({
    status: errors.length ? 207 : 200,
    body: {
      status: "COMPLETE", results, startedAt: now(), completedAt: now(),
      ...(errors.length ? { numErrors: errors.length, errors } : {}),
    },
  });
  const readDeals = (ids) => {
    const missing = ids.filter((id) => !served.has(id));
    return batch(
      ids.filter((id) => served.has(id)).map((id) => ({
        id, archived: false, createdAt: new Date(EPOCH - 86_400_000).toISOString(), updatedAt: now(),
        properties: { hs_object_id: id, ...served.get(id).properties },
      })),
      missing.length ? [notFound("Could not get some DEAL objects, they may be deleted or not exist. Check that ids are valid.", { ids: missing })] : [],
    );
  };
  const readContacts = (ids) => {
    const withContacts = ids.filter((id) => served.get(id)?.contacts.length);
    const without = ids.filter((id) => !withContacts.includes(id));
    return batch(
      withContacts.map((id) => ({
        from: { id },
        to: served.get(id).contacts.map((c) => ({ toObjectId: c, associationTypes: [{ category: "HUBSPOT_DEFINED", typeId: 3, label: "" }] })),
      })),
      without.map((id) => notFound(`No contact is associated with deal ${id}.`, { fromObjectId: [id] })),
    );
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    const text = await readBody(req);
    const problems = [];
    const v4 = /^\/crm\/v4\/associations\/([^/]+)\/([^/]+)\/batch\/read$/.exec(url.pathname);
    const kind = url.pathname === DEALS_READ ? "deals" : v4 ? "associations" : null;
    if (req.method !== "POST" || !kind) problems.push(`${req.method} ${url.pathname} is neither POST ${DEALS_READ} nor POST ${ASSOCIATIONS_READ}`);
    if (v4 && !(DEAL_TYPES.includes(v4[1]) && CONTACT_TYPES.includes(v4[2]))) problems.push(`${v4[1]} to ${v4[2]} is not deal to contact`);
    const { description, operation } = operations[kind ?? "deals"];
    const allowed = new Set((operation.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name));
    for (const name of url.searchParams.keys()) if (!allowed.has(name)) problems.push(`unknown query parameter ${name}`);
    const parsed = parseBody(req.headers["content-type"], text ?? "", Object.keys(operation.requestBody.content));
    const body = parsed.fields;
    if (!body) problems.push(parsed.message);
    else problems.push(...validate(operation.requestBody.content["application/json"].schema, body, description));
    const ids = (body?.inputs ?? []).map((input) => input.id);
    if (ids.length > BATCH_LIMIT) problems.push(`${ids.length} inputs, more than ${BATCH_LIMIT}`);
    if (new Set(ids).size !== ids.length) problems.push("an id named twice");
    if (kind === "deals") for (const p of ["amount", "deal_currency_code", "dealstage"]) if (!body?.properties?.includes(p)) problems.push(`properties lacks ${p}`);
    const authorized = req.headers.authorization === `Bearer ${HUBSPOT_TOKEN}`;
    requests.push({ path: url.pathname, kind, ids, authorized, problems });
    const send = (status, answer) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(answer));
    const error = (status, category, message) => send(status, { status: "error", message, correlationId: crypto.randomUUID(), category });
    if (!authorized) return error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.");
    if (problems.length) return error(400, "VALIDATION_ERROR", problems.join("; "));
    const answer = kind === "deals" ? readDeals(ids) : readContacts(ids);
    const schema = operation.responses[String(answer.status)].content["application/json"].schema;
    const wrong = validate(schema, answer.body, description);
    if (wrong.length) {
      requests.at(-1).problems.push(...wrong.map((w) => `the answer: ${w}`));
      return error(500, "INTERNAL_ERROR", "the test's answer is not one HubSpot could give");
    }
    send(answer.status, answer.body);
  });
  const port = await freePort();
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** The deal reads asked since `seen` requests (the push's calls left out). */
    asked: (seen) => requests.slice(seen).filter((q) => isDealRead(q.path)),
    /** Serves deal `id` (its properties as strings, its contacts' ids) as HubSpot has it. */
    serve(id, properties, contacts) {
      served.set(id, { properties, contacts });
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((ok) => server.close(ok));
    },
  };
}

before(async () => {
  hubspotApi = await startDeals(await loadFixture("hubspot-deals.json"), await loadFixture("hubspot-associations.json"));
  worker = await startWorker({
    config: join(ROOT, "tests/fixtures/crm-back.toml"),
    bindings: {
      RATE_LIMIT_PER_MINUTE: "100000",
      HUBSPOT_CLIENT_SECRET, HUBSPOT_TOKEN, SALESFORCE_FLOW_TOKEN,
      HUBSPOT_API_URL: hubspotApi.url,
      SALESFORCE_URL: "http://127.0.0.1:9", SALESFORCE_CLIENT_ID: "id", SALESFORCE_CLIENT_SECRET: "secret",
    },
  });
  ({ db } = worker);
  deals = hubspotApi;
});
after(async () => {
  await worker?.dispose();
  await hubspotApi?.close();
});

let n = 0;
/** A routed lead, with the CRM record the push keeps for it (`crm_records`, as once synced). */
async function routed(now, records = {}) {
  const id = await worker.submit({ form: "contact", answers: { email: `crm-back-${++n}@example.com` }, context: { fill_ms: 60_000 } }, { now });
  for (const [push, record] of Object.entries(records)) {
    await db.prepare(
      `INSERT INTO crm_records (lead_id, push_id, target, state, version, synced_version, next_at, snapshot, record_id, created_at, synced_at)
       VALUES (?1, ?2, ?2, 'synced', 1, 1, ?3, '{}', ?4, ?3, ?3)
       ON CONFLICT (lead_id, push_id) DO UPDATE SET record_id = excluded.record_id`,
    ).bind(id, push, now, record).run();
  }
  return id;
}

const shown = async (id, now) => (await worker.json(`/v1/leads/${id}`, { admin: true, now })).json;
const holder = async (id, now) => {
  const lead = await shown(id, now);
  return `${lead.owner_kind}:${lead.owner_id}`;
};

/** HubSpot's v3 signature, made as HubSpot's guide says: the request URI with these twelve
 * encodings decoded, then base64 HMAC-SHA256 of method + URI + body + timestamp. */
function hubspotSignature(secret, method, url, body, timestamp) {
  const decoded = { "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";" };
  const uri = url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => decoded[m.toUpperCase()]);
  return createHmac("sha256", secret).update(`${method}${uri}${body}${timestamp}`, "utf8").digest("base64");
}

/** Posts `events` as HubSpot's Webhooks API does, signed (unless `sign` changes what is signed). */
function hubspot(events, now, { secret = HUBSPOT_CLIENT_SECRET, timestamp = now, headers = {} } = {}) {
  const body = JSON.stringify(events);
  const url = `http://localhost${HUBSPOT_PATH}`;
  const signature = hubspotSignature(secret, "POST", url, body, String(timestamp));
  return worker.json(HUBSPOT_PATH, {
    method: "POST", now, body,
    headers: { "content-type": "application/json", "x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": String(timestamp), ...headers },
  });
}

let eventId = 1000;
/** One event as HubSpot's Webhooks API posts it. */
const event = (subscriptionType, objectId, propertyName, propertyValue, occurredAt) => ({
  eventId: ++eventId, subscriptionId: 2381, portalId: 62515, appId: 54321, occurredAt, subscriptionType,
  attemptNumber: 0, objectId, propertyName, propertyValue, changeSource: "CRM_UI",
});
const contact = (objectId, property, value, at) => event("contact.propertyChange", objectId, property, value, at);

const salesforce = (items, now, token = SALESFORCE_FLOW_TOKEN) => worker.json("/v1/crm/salesforce", {
  method: "POST", now, body: JSON.stringify(items),
  headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
});

const OTHER = { "owner:ana": ["ben", "102", "005000000000002"], "owner:ben": ["ana", "101", "005000000000001AAA"] };

test("HubSpot: a correctly signed owner change reassigns the lead, once", async () => {
  const t0 = EPOCH;
  const lead = await routed(t0, { hubspot: "501" });
  const [to, hubspotOwner] = OTHER[await holder(lead, t0)];
  let r = await hubspot([contact(501, "hubspot_owner_id", hubspotOwner, t0 + MINUTE)], t0 + MINUTE);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { applied: 1, ignored: [], first_touches: 0, reassigned: 1, moved: 0 });
  const shownLead = await shown(lead, t0 + MINUTE);
  assert.equal(`${shownLead.owner_kind}:${shownLead.owner_id}`, `owner:${to}`);
  const moved = shownLead.events.filter((e) => e.kind === "reassigned");
  assert.equal(moved.length, 1);
  assert.equal(moved[0].actor, "crm:hubspot");
  assert.deepEqual(moved[0].detail.to, { kind: "owner", id: to });
  assert.deepEqual([moved[0].detail.via, moved[0].detail.intake], ["crm", "hubspot"]);
  assert.match(moved[0].detail.reason, /owner changed in HubSpot/);
  // HubSpot tells again (a retry, or the push's own write coming back): nothing more happens.
  r = await hubspot([contact(501, "hubspot_owner_id", hubspotOwner, t0 + 2 * MINUTE)], t0 + 2 * MINUTE);
  assert.deepEqual(r.json, { applied: 1, ignored: [], first_touches: 0, reassigned: 0, moved: 0 });
  assert.equal((await worker.events(lead, "reassigned")).length, 1);
  // To the queue the push maps to HubSpot owner 900.
  r = await hubspot([contact(501, "hubspot_owner_id", "900", t0 + 3 * MINUTE)], t0 + 3 * MINUTE);
  assert.equal(r.json.reassigned, 1);
  assert.equal(await holder(lead, t0 + 3 * MINUTE), "queue:inbox");
});

test("HubSpot: an unsigned, wrongly signed or stale request is 401 and changes nothing", async () => {
  const t0 = EPOCH + HOUR;
  const lead = await routed(t0, { hubspot: "502" });
  const before = await shown(lead, t0);
  const [, hubspotOwner] = OTHER[`${before.owner_kind}:${before.owner_id}`];
  const events = [contact(502, "hubspot_owner_id", hubspotOwner, t0)];
  const cases = [
    ["hubspot.bad_signature", { secret: "not-the-client-secret" }],
    ["hubspot.stale", { timestamp: t0 - 6 * MINUTE }],
    ["hubspot.stale", { timestamp: t0 + 6 * MINUTE }],
    ["hubspot.unsigned", { headers: { "x-hubspot-signature-v3": undefined } }],
    ["hubspot.unsigned", { headers: { "x-hubspot-request-timestamp": undefined } }],
  ];
  for (const [code, options] of cases) {
    const headers = Object.fromEntries(Object.entries(options.headers ?? {}).filter(([, v]) => v !== undefined));
    const dropped = Object.keys(options.headers ?? {});
    const r = dropped.length
      ? await worker.json(HUBSPOT_PATH, {
          method: "POST", now: t0, body: JSON.stringify(events),
          headers: Object.fromEntries(Object.entries({
            "content-type": "application/json",
            "x-hubspot-signature-v3": hubspotSignature(HUBSPOT_CLIENT_SECRET, "POST", `http://localhost${HUBSPOT_PATH}`, JSON.stringify(events), String(t0)),
            "x-hubspot-request-timestamp": String(t0), ...headers,
          }).filter(([k]) => !dropped.includes(k))),
        })
      : await hubspot(events, t0, options);
    assert.deepEqual([r.status, r.json?.error?.code], [401, code], JSON.stringify(options));
  }
  // A body changed after signing.
  const body = JSON.stringify(events);
  const signature = hubspotSignature(HUBSPOT_CLIENT_SECRET, "POST", `http://localhost${HUBSPOT_PATH}`, body, String(t0));
  let r = await worker.json(HUBSPOT_PATH, {
    method: "POST", now: t0, body: body.replace(hubspotOwner, "900"),
    headers: { "content-type": "application/json", "x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": String(t0) },
  });
  assert.deepEqual([r.status, r.json.error.code], [401, "hubspot.bad_signature"]);
  // The Salesforce intake's kind of door (a bearer token) does not open HubSpot's.
  r = await worker.json(HUBSPOT_PATH, {
    method: "POST", now: t0, body, headers: { "content-type": "application/json", authorization: `Bearer ${HUBSPOT_CLIENT_SECRET}` },
  });
  assert.deepEqual([r.status, r.json.error.code], [401, "hubspot.unsigned"]);
  const afterwards = await shown(lead, t0);
  assert.deepEqual([afterwards.owner_kind, afterwards.owner_id, afterwards.events], [before.owner_kind, before.owner_id, before.events]);
});

test("HubSpot: a status change moves the lead through the state machine, and a worked lead's clock stops", async () => {
  const t0 = EPOCH + 2 * HOUR;
  const lead = await routed(t0, { hubspot: "503" });
  let r = await hubspot([contact(503, "hs_lead_status", "IN_PROGRESS", t0 + MINUTE)], t0 + MINUTE);
  assert.deepEqual(r.json, { applied: 1, ignored: [], first_touches: 1, reassigned: 0, moved: 1 });
  assert.equal((await shown(lead, t0 + MINUTE)).status, "working");
  const clock = await db.prepare("SELECT stopped, touched_by FROM sla_clocks WHERE lead_id = ?").bind(lead).first();
  assert.deepEqual(clock, { stopped: "touched", touched_by: "crm:hubspot" });
  // Two changes in one batch, listed out of order: applied in the order they happened.
  r = await hubspot([
    contact(503, "hs_lead_status", "CONNECTED", t0 + 3 * MINUTE),
    contact(503, "hs_lead_status", "UNQUALIFIED", t0 + 2 * MINUTE),
  ], t0 + 3 * MINUTE);
  assert.deepEqual(r.json, { applied: 1, ignored: [{ index: 0, code: "status.closed" }], first_touches: 0, reassigned: 0, moved: 1 });
  assert.equal((await shown(lead, t0 + 3 * MINUTE)).status, "rejected");
  const moves = (await worker.events(lead, "status_changed")).map((e) => [e.detail.from, e.detail.to, e.detail.reason ?? null, e.detail.via, e.actor]);
  assert.deepEqual(moves, [["new", "working", null, "crm", "crm:hubspot"], ["working", "rejected", "unqualified", "crm", "crm:hubspot"]]);
});

test("HubSpot: an unmapped owner, an unmapped status, an unknown contact and other events are ignored with their codes", async () => {
  const t0 = EPOCH + 3 * HOUR;
  const lead = await routed(t0, { hubspot: "504" });
  const before = await shown(lead, t0);
  const r = await hubspot([
    contact(504, "hubspot_owner_id", "999", t0),
    contact(504, "hs_lead_status", "NEW", t0),
    contact(77777, "hubspot_owner_id", "101", t0),
    contact(504, "firstname", "Ada", t0),
    event("contact.creation", 504, undefined, undefined, t0),
    contact(undefined, "hubspot_owner_id", "101", t0),
  ], t0);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {
    applied: 0, first_touches: 0, reassigned: 0, moved: 0,
    ignored: [
      { index: 0, code: "crm.unmapped_owner" },
      { index: 1, code: "crm.unmapped_status" },
      { index: 2, code: "crm.unknown_record" },
      { index: 3, code: "crm.unknown_event" },
      { index: 4, code: "crm.unknown_event" },
      { index: 5, code: "crm.missing_record" },
    ],
  });
  assert.deepEqual((await shown(lead, t0)).events, before.events);
});

test("HubSpot: a deal closed won closes its contacts' lead as won with the deal's amount, read back from HubSpot", async () => {
  const t0 = EPOCH + 4 * HOUR;
  const lead = await routed(t0, { hubspot: "505" });
  // The deal's other contact is nobody of ours.
  deals.serve("9001", { amount: "1200.5", deal_currency_code: "EUR", dealstage: "closedwon" }, ["505", "88888"]);
  const seen = deals.requests.length;
  const r = await hubspot([
    event("deal.propertyChange", 9001, "dealstage", "closedwon", t0 + HOUR),
    event("deal.propertyChange", 9404, "dealstage", "closedlost", t0 + HOUR),
    event("deal.propertyChange", 9001, "dealstage", "contractsent", t0 + HOUR),
  ], t0 + HOUR);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {
    applied: 1, first_touches: 0, reassigned: 0, moved: 1,
    ignored: [{ index: 1, code: "crm.unknown_deal" }, { index: 2, code: "crm.unknown_event" }],
  });
  const closed = await shown(lead, t0 + HOUR);
  assert.deepEqual([closed.status, closed.deal], ["won", { amount: 1200.5, currency: "EUR" }]);
  const outcome = closed.events.find((e) => e.kind === "outcome");
  assert.deepEqual([outcome.actor, outcome.detail.outcome, outcome.detail.amount, outcome.detail.currency, outcome.detail.via], ["crm:hubspot", "won", 1200.5, "EUR", "crm"]);
  // Both deals read in one deals batch read and one associations batch read, as the descriptions
  // allow, with the push's token. (The push itself may call the same HUBSPOT_API_URL for its
  // contacts: only the deal reads are this test's.)
  const asked = deals.asked(seen).sort((a, b) => a.kind.localeCompare(b.kind));
  assert.deepEqual(asked.map((q) => [q.path, q.ids, q.authorized, q.problems]), [
    ["/crm/v4/associations/0-3/0-1/batch/read", ["9001", "9404"], true, []],
    [DEALS_READ, ["9001", "9404"], true, []],
  ]);
});

test("HubSpot: 60 closed deals in one request are read in two calls, and each deal's lead closes as it should", async () => {
  const t0 = EPOCH + 6 * HOUR;
  // 60 deals: won with a currency, won without one, lost with one, lost without; every seventh
  // has two contacts of ours; deal 8059 HubSpot no longer has.
  const cases = [];
  for (let i = 0; i < 60; i++) {
    const dealId = String(8000 + i);
    const won = i % 2 === 0;
    const currency = i % 4 < 2 ? (won ? "EUR" : "USD") : null;
    const records = i % 7 === 0 ? [String(61000 + i), String(62000 + i)] : [String(61000 + i)];
    const leads = [];
    for (const record of records) leads.push(await routed(t0, { hubspot: record }));
    const gone = i === 59;
    if (!gone) {
      const properties = { amount: String(100 * (i + 1)), dealstage: won ? "closedwon" : "closedlost" };
      if (currency) properties.deal_currency_code = currency;
      deals.serve(dealId, properties, records);
    }
    cases.push({ dealId, won, currency, amount: 100 * (i + 1), leads, gone });
  }
  const seen = deals.requests.length;
  const events = cases.map((c) => event("deal.propertyChange", Number(c.dealId), "dealstage", c.won ? "closedwon" : "closedlost", t0 + HOUR));
  const r = await hubspot(events, t0 + HOUR);
  assert.equal(r.status, 200, r.text);
  const leads = cases.filter((c) => !c.gone).reduce((n, c) => n + c.leads.length, 0);
  assert.deepEqual(r.json, {
    applied: 59, first_touches: 0, reassigned: 0, moved: leads,
    ignored: [{ index: 59, code: "crm.unknown_deal" }],
  });
  // Exactly two calls: the 60 deals in one deals batch read, their contacts in one associations read.
  const asked = deals.asked(seen).sort((a, b) => a.kind.localeCompare(b.kind));
  const ids = cases.map((c) => c.dealId);
  assert.deepEqual(asked.map((q) => [q.path, q.ids, q.authorized, q.problems]), [
    ["/crm/v4/associations/0-3/0-1/batch/read", ids, true, []],
    [DEALS_READ, ids, true, []],
  ]);
  for (const c of cases) {
    for (const lead of c.leads) {
      const shownLead = await shown(lead, t0 + HOUR);
      if (c.gone) {
        assert.equal(shownLead.status, "new", `deal ${c.dealId}`);
        continue;
      }
      const deal = c.currency ? { amount: c.amount, currency: c.currency } : null;
      assert.deepEqual([shownLead.status, shownLead.deal ?? null], [c.won ? "won" : "lost", deal], `deal ${c.dealId}`);
    }
  }
});

test("Salesforce: a Flow's owner change, status change and won deal move the lead; a wrong bearer token changes nothing", async () => {
  const t0 = EPOCH + 5 * HOUR;
  const lead = await routed(t0, { salesforce: "00Q000000000001AAA" });
  const [to, , salesforceOwner] = OTHER[await holder(lead, t0)];
  let r = await salesforce({ event: "owner_changed", lead_id: lead, owner_id: salesforceOwner }, t0 + MINUTE);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { applied: 1, ignored: [], first_touches: 0, reassigned: 1, moved: 0 });
  assert.equal(await holder(lead, t0 + MINUTE), `owner:${to}`);
  const [moved] = await worker.events(lead, "reassigned");
  assert.deepEqual([moved.actor, moved.detail.via, moved.detail.intake], ["crm:salesforce", "crm", "salesforce"]);

  r = await salesforce([
    { event: "status_changed", lead_id: lead, status: "Working - Contacted" },
    { event: "status_changed", lead_id: lead, status: "Open - Not Contacted" },
    { event: "owner_changed", lead_id: lead, owner_id: "005000000000099AAA" },
    { event: "won", lead_id: "no-such-lead", amount: 5, currency: "EUR" },
  ], t0 + 2 * MINUTE);
  assert.deepEqual(r.json, {
    applied: 1, first_touches: 1, reassigned: 0, moved: 1,
    ignored: [{ index: 1, code: "crm.unmapped_status" }, { index: 2, code: "crm.unmapped_owner" }, { index: 3, code: "crm.unknown_lead" }],
  });
  assert.equal((await shown(lead, t0 + 2 * MINUTE)).status, "working");

  // A wrong token: 401, and the deal below is not closed by it.
  const won = { event: "won", lead_id: lead, amount: 1200, currency: "EUR" };
  r = await salesforce(won, t0 + HOUR, "not-the-token");
  assert.deepEqual([r.status, r.json.error.code], [401, "unauthorized"]);
  r = await worker.json("/v1/crm/salesforce", { method: "POST", now: t0 + HOUR, body: JSON.stringify(won), headers: { "content-type": "application/json" } });
  assert.equal(r.status, 401);
  assert.equal((await shown(lead, t0 + HOUR)).status, "working");

  r = await salesforce(won, t0 + HOUR);
  assert.deepEqual(r.json, { applied: 1, ignored: [], first_touches: 0, reassigned: 0, moved: 1 });
  const closed = await shown(lead, t0 + HOUR);
  assert.deepEqual([closed.status, closed.deal], ["won", { amount: 1200, currency: "EUR" }]);
  const moves = (await worker.events(lead, "status_changed")).map((e) => [e.detail.from, e.detail.to, e.actor]);
  assert.deepEqual(moves, [["new", "working", "crm:salesforce"], ["working", "won", "crm:salesforce"]]);
  // The same request again (the Flow's retry): answered as the first time, nothing applied twice.
  r = await salesforce(won, t0 + 2 * HOUR);
  assert.deepEqual(r.json, { applied: 1, ignored: [], first_touches: 0, reassigned: 0, moved: 1 });
  assert.equal((await worker.events(lead, "outcome")).length, 1);
  // Another request to close it again: the state machine refuses, and says so.
  r = await salesforce([won], t0 + 2 * HOUR);
  assert.deepEqual(r.json.ignored, [{ index: 0, code: "status.closed" }]);
});
