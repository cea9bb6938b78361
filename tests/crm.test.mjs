// The lead lands in the CRM (issue 19), on workerd with local D1 and KV, against loopback fakes of
// HubSpot's CRM API and Salesforce's REST API that check every request against the vendors'
// descriptions (tests/fixtures/hubspot-*.json, salesforce-rest.json): a routed lead becomes one
// HubSpot contact, company, association and task (and one Salesforce Lead and Task) with the
// right owner and due time; a retried push creates nothing twice and waits as long as a 429's
// Retry-After asks; a reassignment moves the owner and the task; the first touch completes the
// task; an hour of HubSpot down loses nothing and catches up in one write per lead; past the
// horizon a record is a dead letter an admin can retry; an expired Salesforce token is fetched
// again. The bundle is tests/fixtures/crm.toml; every time comes from the test clock.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { EPOCH, MINUTE, randomToken, ROOT, startWorker } from "./support/edge.mjs";
import { startHubspotFake } from "./support/hubspot-fake.mjs";
import { startSalesforceFake } from "./support/salesforce-fake.mjs";

const HUBSPOT_TOKEN = `pat-eu1-${randomToken()}`;
const SF_ID = `3MVG9${randomToken()}`;
const SF_SECRET = randomToken();
const HUBSPOT_CLIENT_SECRET = randomToken();
const HOUR = 60 * MINUTE;
const OWNERS = [
  { id: "201", email: "ana@sales.example", firstName: "Ana", lastName: "Alves" },
  { id: "202", email: "ben@sales.example", firstName: "Ben", lastName: "Brook" },
  { id: "203", email: "lee@sales.example", firstName: "Lee", lastName: "Lund" },
];
const SF_USERS = ["005000000000001AAA", "005000000000002AAA", "005000000000003AAA"].map((id) => ({ id }));
const PATHS = {
  contacts: "/crm/v3/objects/contacts/batch/upsert",
  search: "/crm/v3/objects/companies/search",
  companies: "/crm/v3/objects/companies/batch/create",
  associate: "/crm/v4/associations/contact/company/batch/associate/default",
  createTasks: "/crm/v3/objects/tasks/batch/create",
  updateTasks: "/crm/v3/objects/tasks/batch/update",
};

let worker, hubspot, salesforce;

before(async () => {
  hubspot = await startHubspotFake({ token: HUBSPOT_TOKEN, owners: OWNERS });
  salesforce = await startSalesforceFake({ clientId: SF_ID, clientSecret: SF_SECRET, users: SF_USERS });
  worker = await startWorker({
    config: join(ROOT, "tests/fixtures/crm.toml"),
    bindings: {
      RATE_LIMIT_PER_MINUTE: "100000",
      HUBSPOT_TOKEN,
      HUBSPOT_API_URL: hubspot.url,
      SALESFORCE_URL: salesforce.url,
      SALESFORCE_CLIENT_ID: SF_ID,
      SALESFORCE_CLIENT_SECRET: SF_SECRET,
      HUBSPOT_CLIENT_SECRET,
      LINK_SECRET: randomToken(),
      PUBLIC_URL: "http://localhost",
    },
  });
});
after(async () => {
  await worker?.dispose();
  await hubspot?.close();
  await salesforce?.close();
  // Every request the Worker made was one the vendors would take.
  assert.deepEqual(hubspot?.violations, []);
  assert.deepEqual(salesforce?.violations, []);
});

let n = 0;
/** A new person at a new company: `{ email, domain, answers }`. */
function person(country = "US") {
  n += 1;
  const domain = `acme-${n}.com`;
  const email = `kim.${n}@${domain}`;
  const answers = { first_name: "Kim", last_name: `Lee ${n}`, email, company: `Acme ${n} GmbH`, country, consent: true };
  return { email, domain, answers };
}
const consent = { field: "consent", text: "You may contact me about this request.", version: "2026-11-01", given: true };
const submit = (answers, now) =>
  worker.submit({ form: "contact", answers, context: { fill_ms: 60_000 }, attribution: { utm: { source: "ads" }, consent } }, { now });
const iso = (ms) => new Date(ms).toISOString().replace(".000Z", "Z");
const contactOf = (email) => hubspot.contacts.filter((c) => c.properties.email === email);
const companiesOf = (domain) => hubspot.companies.filter((c) => c.properties.domain === domain);
const tasksOf = (contactId) => hubspot.tasks.filter((t) => t.contactId === contactId);
const leadsOf = (id) => salesforce.leads.filter((l) => l.fields.Handoff_Lead_Id__c === id);
const record = async (id, push) => (await worker.json(`/v1/leads/${id}`, { admin: true })).json.crm?.find((r) => r.push === push);
const admin = (path, body, now) =>
  worker.json(path, { method: "POST", admin: true, now, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const report = async (id, event, now) => assert.equal((await admin(`/v1/leads/${id}/events`, event, now)).status, 201);

/** Waits (bounded) until `find()` answers something truthy, ticking the cron at `now`: whatever the
 * intake's own push has not sent yet is sent by the tick. */
async function until(find, now) {
  for (let i = 0; i < 20; i++) {
    const found = await find();
    if (found) return found;
    await worker.tick(now);
    await new Promise((ok) => setTimeout(ok, 50));
  }
  assert.fail("nothing arrived within 20 ticks");
}

test("a routed lead becomes one contact, company, association and task in HubSpot, owned, due at the deadline", { timeout: 60_000 }, async () => {
  const at = EPOCH + 2 * MINUTE;
  const p = person();
  const id = await submit(p.answers, at);
  const synced = await until(async () => (await record(id, "hubspot"))?.state === "synced" && record(id, "hubspot"), at);
  const [contact] = contactOf(p.email);
  assert.equal(contactOf(p.email).length, 1);
  assert.deepEqual(contact.properties, {
    ...contact.properties,
    email: p.email,
    firstname: "Kim",
    lastname: p.answers.last_name,
    company: p.answers.company,
    hubspot_owner_id: "201",
    hubspotscore: String((await worker.json(`/v1/leads/${id}`, { admin: true })).json.score),
    hs_lead_status: "NEW",
    handoff_lead_id: id,
    handoff_consent_text: consent.text,
    handoff_consent_at: iso(at),
    utm_source: "ads",
  });
  const [company] = companiesOf(p.domain);
  assert.equal(companiesOf(p.domain).length, 1);
  assert.equal(company.properties.name, p.answers.company);
  assert.deepEqual(hubspot.associations.filter(([c]) => c === contact.id), [[contact.id, company.id]]);
  const [task] = tasksOf(contact.id);
  assert.equal(tasksOf(contact.id).length, 1);
  assert.equal(task.properties.hubspot_owner_id, "201");
  assert.equal(task.properties.hs_timestamp, iso(at + 15 * MINUTE));
  assert.equal(task.properties.hs_task_status, "NOT_STARTED");
  assert.match(task.properties.hs_task_subject, /Kim Lee \d+ \(Acme \d+ GmbH\)/);
  assert.match(task.properties.hs_task_body, /Why you: .*Ana Alves/s);
  // The ids are stored with the lead, with the link a rep opens.
  assert.deepEqual(synced, {
    ...synced,
    target: "hubspot",
    record_id: contact.id,
    company_id: company.id,
    task_id: task.id,
    url: `https://app.hubspot.com/contacts/4412345/record/0-1/${contact.id}`,
  });
  // "Open in HubSpot", the link an alert carries: to the record, once it exists.
  const open = await worker.fetch(`/v1/leads/${id}/crm?push=hubspot`, { redirect: "manual" });
  assert.equal(open.status, 302);
  assert.equal(open.headers.get("location"), synced.url);
  assert.equal((await worker.fetch(`/v1/leads/${id}/crm?push=pipedrive`)).status, 404);
  // The export carries the record.
  const exported = await worker.fetch(`/v1/export/leads.jsonl?from=${at}&to=${at + 1}`, { admin: true, now: at + HOUR });
  assert.equal(exported.status, 200);
  const line = JSON.parse((await exported.text()).trim());
  assert.deepEqual(line.outcome.crm.find((r) => r.push === "hubspot"), { push: "hubspot", record: contact.id, url: synced.url });
  const pushed = await worker.events(id, "crm_pushed");
  assert.deepEqual(pushed.find((e) => e.detail.push === "hubspot").detail, { push: "hubspot", record: contact.id, created: true, version: 1 });
  // Salesforce too: one Lead keyed by our id, owned by Ana's user, with a Task on it.
  const sf = await until(async () => (await record(id, "salesforce"))?.state === "synced" && record(id, "salesforce"), at);
  const [lead] = leadsOf(id);
  assert.equal(leadsOf(id).length, 1);
  assert.deepEqual(lead.fields, {
    ...lead.fields,
    LastName: p.answers.last_name,
    Company: p.answers.company,
    Email: p.email,
    OwnerId: "005000000000001AAA",
    Status: "Open - Not Contacted",
    Country: "US",
  });
  const sfTasks = salesforce.tasks.filter((t) => t.fields.WhoId === lead.id);
  assert.equal(sfTasks.length, 1);
  assert.equal(sfTasks[0].fields.OwnerId, "005000000000001AAA");
  assert.equal(sfTasks[0].fields.ReminderDateTime, iso(at + 15 * MINUTE));
  assert.equal(sf.url, `${salesforce.url}/lightning/r/Lead/${lead.id}/view`);
});

test("a retried push creates nothing twice, and waits as long as a 429's Retry-After asks", { timeout: 60_000 }, async () => {
  const at = EPOCH + 10 * MINUTE;
  const p = person();
  hubspot.failNext(PATHS.createTasks, { status: 500 });
  const id = await submit(p.answers, at);
  await until(async () => (await worker.events(id, "crm_push_failed")).some((e) => e.detail.push === "hubspot"), at);
  const failed = (await record(id, "hubspot"));
  assert.equal(failed.state, "pending");
  assert.match(failed.last_error, /http_status 500/);
  // The contact and the company exist; the retry must find them, not make them again.
  assert.equal(contactOf(p.email).length, 1);
  assert.equal(companiesOf(p.domain).length, 1);
  // Next, HubSpot says to wait two minutes: the backoff's 30 s are not enough.
  hubspot.failNext(PATHS.contacts, { status: 429, headers: { "retry-after": "120" } });
  await worker.tick(at + MINUTE);
  const waiting = await record(id, "hubspot");
  assert.equal(waiting.state, "pending");
  assert.match(waiting.last_error, /429/);
  const calls = hubspot.requests.length;
  await worker.tick(at + 2 * MINUTE); // before Retry-After has passed: nothing is sent
  assert.equal(hubspot.requests.length, calls);
  await worker.tick(at + 4 * MINUTE);
  assert.equal((await record(id, "hubspot")).state, "synced");
  const [contact] = contactOf(p.email);
  assert.equal(contactOf(p.email).length, 1);
  assert.equal(companiesOf(p.domain).length, 1);
  assert.equal(hubspot.associations.filter(([c]) => c === contact.id).length, 1);
  assert.equal(tasksOf(contact.id).length, 1);
});

test("a second lead at the same company joins its company; a free-mail lead makes none", { timeout: 60_000 }, async () => {
  const at = EPOCH + 20 * MINUTE;
  const first = person();
  const second = { ...first.answers, email: `sam@${first.domain}`, last_name: "Sam" };
  // Both pushed at once by their own requests: one creates the company, the other waits for it
  // (company_pending, retried 30 s on) rather than creating a second.
  const a = await submit(first.answers, at);
  const b = await submit(second, at);
  await until(async () => (await record(a, "hubspot"))?.state === "synced" && (await record(b, "hubspot"))?.state === "synced", at + MINUTE);
  assert.equal(companiesOf(first.domain).length, 1);
  const company = companiesOf(first.domain)[0].id;
  assert.equal((await record(b, "hubspot")).company_id, company);
  const free = await submit({ ...person().answers, email: `kim.${n}@gmail.com` }, at);
  const synced = await until(async () => (await record(free, "hubspot"))?.state === "synced" && record(free, "hubspot"), at);
  assert.equal(synced.company_id, undefined);
  assert.equal(hubspot.associations.filter(([c]) => c === synced.record_id).length, 0);
});

test("a company another push is creating is waited for; a dead push's claim is taken over", { timeout: 60_000 }, async () => {
  const at = EPOCH + 14 * HOUR;
  const p = person();
  // Another push claimed this new domain a moment ago, and is creating its company.
  await worker.db.prepare("INSERT INTO crm_company_claims (push_id, domain, claimed_at) VALUES ('hubspot', ?1, ?2)").bind(p.domain, at).run();
  const id = await submit(p.answers, at);
  await until(async () => (await record(id, "hubspot"))?.last_error === "company_pending", at);
  assert.equal((await record(id, "hubspot")).state, "pending");
  assert.equal(companiesOf(p.domain).length, 0);
  await worker.tick(at + MINUTE); // the claim holds for two minutes
  assert.equal(companiesOf(p.domain).length, 0);
  await worker.tick(at + 3 * MINUTE); // that push died: this one takes the claim over
  const r = await record(id, "hubspot");
  assert.equal(r.state, "synced");
  assert.equal(companiesOf(p.domain).length, 1);
  assert.equal(r.company_id, companiesOf(p.domain)[0].id);
});

test("a reassignment moves the contact and the task to the new owner; the first touch completes the task", { timeout: 60_000 }, async () => {
  const at = EPOCH + 30 * MINUTE;
  const p = person();
  const id = await submit(p.answers, at);
  const before = await until(async () => (await record(id, "hubspot"))?.state === "synced" && record(id, "hubspot"), at);
  await until(async () => (await record(id, "salesforce"))?.state === "synced", at);
  const moved = await admin(`/v1/leads/${id}/reassign`, { owner_kind: "owner", owner_id: "ben", reason: "Territory" }, at + MINUTE);
  assert.equal(moved.status, 200, moved.text);
  await worker.tick(at + 2 * MINUTE);
  const [contact] = contactOf(p.email);
  assert.equal(contact.properties.hubspot_owner_id, "202");
  const tasks = tasksOf(contact.id);
  assert.equal(tasks.length, 1, "the task moves, no second task");
  assert.equal(tasks[0].id, before.task_id);
  assert.equal(tasks[0].properties.hubspot_owner_id, "202");
  const [lead] = leadsOf(id);
  assert.equal(lead.fields.OwnerId, "005000000000002AAA");
  const sfTasks = salesforce.tasks.filter((t) => t.fields.WhoId === lead.id);
  assert.deepEqual(sfTasks.map((t) => t.fields.OwnerId), ["005000000000002AAA"]);
  // Ben calls: the task is done and the status says so, in both CRMs.
  await report(id, { type: "touch", channel: "call", actor: "ben" }, at + 3 * MINUTE);
  await worker.tick(at + 4 * MINUTE);
  assert.equal(tasksOf(contact.id)[0].properties.hs_task_status, "COMPLETED");
  assert.equal(contactOf(p.email)[0].properties.hs_lead_status, "IN_PROGRESS");
  assert.equal(leadsOf(id)[0].fields.Status, "Working - Contacted");
  assert.equal(salesforce.tasks.find((t) => t.fields.WhoId === lead.id).fields.Status, "Completed");
  // Rejected with a reason: the status and the reason reach the record.
  await report(id, { type: "outcome", outcome: "rejected", reason: "no_budget", actor: "ben" }, at + 5 * MINUTE);
  await worker.tick(at + 6 * MINUTE);
  assert.equal(contactOf(p.email)[0].properties.hs_lead_status, "UNQUALIFIED");
  assert.equal(contactOf(p.email)[0].properties.handoff_reason, "no_budget");
  assert.equal(leadsOf(id)[0].fields.Description, "no_budget");
});

test("an SLA step's reassignment reaches the CRM", { timeout: 60_000 }, async () => {
  const at = EPOCH + 40 * MINUTE;
  const p = person("FR");
  const id = await submit(p.answers, at);
  await until(async () => (await record(id, "hubspot"))?.state === "synced", at);
  const first = (await worker.json(`/v1/leads/${id}`, { admin: true })).json.owner_id;
  await worker.tick(at + 26 * MINUTE); // 15 minutes' target, reassigned 10 minutes past it
  const now = (await worker.json(`/v1/leads/${id}`, { admin: true })).json.owner_id;
  assert.notEqual(now, first);
  const owner = { ana: "201", ben: "202" }[now];
  assert.equal(contactOf(p.email)[0].properties.hubspot_owner_id, owner);
  assert.equal(tasksOf(contactOf(p.email)[0].id)[0].properties.hubspot_owner_id, owner);
});

test("a returning person's repeat updates the record it merged into", { timeout: 60_000 }, async () => {
  const at = EPOCH + 50 * MINUTE;
  const p = person("DE");
  const id = await submit(p.answers, at);
  await until(async () => (await record(id, "hubspot"))?.state === "synced", at);
  const [before] = contactOf(p.email);
  assert.equal(before.properties.lifecyclestage, "lead");
  assert.equal(before.properties.country, "DE");
  // The same person, now from the US: the repeat merges into the open lead and raises it to MQL.
  const repeat = await submit({ ...p.answers, country: "US" }, at + MINUTE);
  assert.equal((await worker.json(`/v1/leads/${repeat}`, { admin: true })).json.merged_into, id);
  await until(async () => contactOf(p.email)[0].properties.lifecyclestage === "marketingqualifiedlead", at + 2 * MINUTE);
  assert.equal(contactOf(p.email).length, 1);
  assert.equal(contactOf(p.email)[0].properties.country, "US");
  assert.equal(await record(repeat, "hubspot"), undefined, "a merged repeat has no record of its own");
  assert.equal(leadsOf(id).length, 1);
  assert.equal(leadsOf(id)[0].fields.Country, "US");
});

test("HubSpot down for an hour: nothing is lost, and each lead arrives once, as it stands", { timeout: 120_000 }, async () => {
  const at = EPOCH + 2 * HOUR;
  hubspot.down(true);
  const people = [person(), person(), person()];
  const ids = [];
  for (const p of people) ids.push(await submit(p.answers, at));
  // Ana takes the first lead while HubSpot is down.
  await report(ids[0], { type: "accept", actor: "ana" }, at + 5 * MINUTE);
  for (const minutes of [1, 5, 15, 30, 45, 60]) await worker.tick(at + minutes * MINUTE);
  for (const [i, p] of people.entries()) {
    assert.equal(contactOf(p.email).length, 0);
    const r = await record(ids[i], "hubspot");
    assert.equal(r.state, "pending", "still due, not dead");
    // Salesforce, up all along, has them.
    assert.equal((await record(ids[i], "salesforce")).state, "synced");
  }
  assert.equal((await worker.json("/v1/dead-letters", { admin: true })).json.dead_letters.length, 0);
  hubspot.down(false);
  const requests = hubspot.requests.length;
  await worker.tick(at + 2 * HOUR);
  for (const [i, p] of people.entries()) {
    assert.equal((await record(ids[i], "hubspot")).state, "synced");
    assert.equal(contactOf(p.email).length, 1);
  }
  assert.equal(contactOf(people[0].email)[0].properties.hs_lead_status, "OPEN");
  // One batch: contacts, company search, companies, associations, tasks.
  const batch = hubspot.requests.slice(requests).map((r) => r.path);
  assert.deepEqual(batch, [PATHS.contacts, PATHS.search, PATHS.companies, PATHS.associate, PATHS.createTasks]);
});

test("past the horizon a record is a dead letter; an admin's retry pushes it", { timeout: 60_000 }, async () => {
  const at = EPOCH + 5 * HOUR;
  hubspot.down(true);
  const p = person();
  const id = await submit(p.answers, at);
  await worker.tick(at + MINUTE);
  await worker.tick(at + 25 * HOUR); // past [notify] dead_after_hours (24)
  const dead = await record(id, "hubspot");
  assert.equal(dead.state, "dead");
  const letters = (await worker.json("/v1/dead-letters", { admin: true })).json.dead_letters;
  const letter = letters.find((l) => l.lead_id === id);
  assert.deepEqual({ id: letter.id, channel: letter.channel, kind: letter.kind }, { id: `crm:hubspot:${id}`, channel: "crm:hubspot", kind: "hubspot" });
  assert.ok((await worker.events(id, "dead_lettered")).some((e) => e.detail.channel === "crm:hubspot"));
  hubspot.down(false);
  const retried = await admin(`/v1/dead-letters/${letter.id}/retry`, {}, at + 26 * HOUR);
  assert.equal(retried.status, 200, retried.text);
  await worker.tick(at + 26 * HOUR);
  assert.equal((await record(id, "hubspot")).state, "synced");
  assert.equal(contactOf(p.email).length, 1);
});

test("a record that cannot be read is a dead letter at once, never an empty write", { timeout: 60_000 }, async () => {
  const at = EPOCH + 12 * HOUR;
  const p = person();
  const id = await submit(p.answers, at);
  await until(async () => (await record(id, "hubspot"))?.state === "synced", at);
  const [contact] = contactOf(p.email);
  await worker.db.prepare("UPDATE crm_records SET snapshot = '{broken', state = 'pending', next_at = 0 WHERE lead_id = ?1").bind(id).run();
  const calls = hubspot.requests.length + salesforce.requests.length;
  await worker.tick(at + MINUTE);
  for (const push of ["hubspot", "salesforce"]) {
    const r = await record(id, push);
    assert.equal(r.state, "dead", push);
    assert.equal(r.last_error, "snapshot_invalid");
  }
  assert.equal(hubspot.requests.length + salesforce.requests.length, calls, "nothing was sent");
  assert.deepEqual(contactOf(p.email)[0].properties, contact.properties);
});

test("an expired Salesforce session is renewed; a Lead id held twice is a failure to see", { timeout: 60_000 }, async () => {
  const at = EPOCH + 8 * HOUR;
  const p = person();
  const id = await submit(p.answers, at);
  await until(async () => (await record(id, "salesforce"))?.state === "synced", at);
  salesforce.expireTokens();
  const issued = salesforce.tokensIssued;
  await admin(`/v1/leads/${id}/reassign`, { owner_kind: "queue", owner_id: "triage", reason: "Back to triage" }, at + MINUTE);
  await worker.tick(at + 2 * MINUTE);
  assert.equal((await record(id, "salesforce")).state, "synced");
  assert.ok(salesforce.tokensIssued > issued);
  assert.equal(leadsOf(id)[0].fields.OwnerId, "00G000000000001AAA");
  // Someone copied our id onto a second Lead: the upsert is ambiguous (300), nothing is written.
  salesforce.duplicateLead(id);
  await admin(`/v1/leads/${id}/reassign`, { owner_kind: "owner", owner_id: "lee", reason: "Named" }, at + 3 * MINUTE);
  await worker.tick(at + 4 * MINUTE);
  const r = await record(id, "salesforce");
  assert.equal(r.state, "pending");
  assert.match(r.last_error, /ambiguous_record 300/);
});

/** A change made in HubSpot, posted to the intake as HubSpot's Webhooks API posts it, signed with
 * HubSpot's v3 signature (written here from HubSpot's description, apart from the Worker's). */
async function fromHubspot(objectId, propertyName, propertyValue, now) {
  const path = "/v1/crm/hubspot-back";
  const body = JSON.stringify([{
    eventId: now, subscriptionId: 1, portalId: 4412345, appId: 1, occurredAt: now, attemptNumber: 0,
    subscriptionType: "contact.propertyChange", objectId: Number(objectId), propertyName, propertyValue, changeSource: "CRM_UI",
  }]);
  const signature = createHmac("sha256", HUBSPOT_CLIENT_SECRET).update(`POST` + `http://localhost${path}` + body + String(now)).digest("base64");
  const r = await worker.json(path, {
    method: "POST", now, body,
    headers: { "content-type": "application/json", "x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": String(now) },
  });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test("the round trip: a rep who works only in HubSpot moves the lead, and the push follows", { timeout: 60_000 }, async () => {
  const at = EPOCH + 10 * HOUR;
  const p = person();
  const id = await submit(p.answers, at);
  const pushed = await until(async () => (await record(id, "hubspot"))?.state === "synced" && record(id, "hubspot"), at);
  // A manager gives the contact to Ben in HubSpot: the lead is Ben's, and his task moves with it.
  const moved = await fromHubspot(pushed.record_id, "hubspot_owner_id", "202", at + MINUTE);
  assert.equal(moved.reassigned, 1, JSON.stringify(moved));
  const lead = (await worker.json(`/v1/leads/${id}`, { admin: true })).json;
  assert.equal(lead.owner_id, "ben");
  await worker.tick(at + 2 * MINUTE);
  assert.equal(tasksOf(pushed.record_id)[0].properties.hubspot_owner_id, "202");
  assert.equal(leadsOf(id)[0].fields.OwnerId, "005000000000002AAA", "Salesforce follows too");
  // Ben calls and sets the lead status in HubSpot: the lead is worked, its task done, its clock stopped.
  await fromHubspot(pushed.record_id, "hs_lead_status", "IN_PROGRESS", at + 3 * MINUTE);
  await worker.tick(at + 4 * MINUTE);
  assert.equal((await worker.json(`/v1/leads/${id}`, { admin: true })).json.status, "working");
  assert.equal(tasksOf(pushed.record_id)[0].properties.hs_task_status, "COMPLETED");
  assert.equal(contactOf(p.email)[0].properties.hs_lead_status, "IN_PROGRESS");
  // Nothing loops: the push wrote what HubSpot already had, and one contact and one task remain.
  assert.equal(contactOf(p.email).length, 1);
  assert.equal(tasksOf(pushed.record_id).length, 1);
});

test("check refuses an owner without a CRM owner", { timeout: 30_000 }, async () => {
  const { readFile } = await import("node:fs/promises");
  const toml = (await readFile(join(ROOT, "tests/fixtures/crm.toml"), "utf8")).replace('ben = "202", ', "");
  const r = await worker.json("/v1/config", { method: "PUT", admin: true, headers: { "content-type": "application/toml" }, body: toml });
  assert.equal(r.status, 422, r.text);
  assert.ok(JSON.stringify(r.json).includes("config.unmapped_owner"), r.text);
});
