// SLA clocks on real workerd (Miniflare) with real local D1/KV and a real webhook receiver on
// loopback: clocks start when a lead is routed, the cron walks each untouched lead up its
// escalation ladder exactly once per level (repeated and overlapping ticks change nothing, a
// skipped hour is caught up), first touch stops the clock, suppression alerts nobody and says why,
// a `reassign` step moves the lead within its pool, and the admin API lists leads at risk and
// breached. The bundle is tests/fixtures/sla.toml (calendar clocks, so minutes count simply);
// every request carries the test's clock (TEST_CLOCK, EPOCH-based), the cron its `scheduledTime`.
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DAY, EPOCH, HOUR, MINUTE, randomToken, ROOT, startReceiver, startWorker } from "./support/edge.mjs";

const LINK_SECRET = randomToken();
const CRM_TOKEN = randomToken();
const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString("base64")}`;

let worker, mf, db, receiver, tick, events, ADMIN_TOKEN;
// The webhooks' bodies, parsed.
const received = [];

before(async () => {
  receiver = await startReceiver(({ body }) => {
    received.push(JSON.parse(body));
    return 200;
  });
  worker = await startWorker({
    config: join(ROOT, "tests/fixtures/sla.toml"),
    extraToml: `
[[notify.channels]]
id = "crm"
kind = "webhook"
url = "${receiver.url("/hook")}"
secret = "WEBHOOK_SECRET_TEST"
`,
    bindings: {
      // The paid plan's share of statements: every test's tick takes on all that is due.
      WORKER_PLAN: "paid",
      RATE_LIMIT_PER_MINUTE: "100000",
      WEBHOOK_SECRET_TEST: WEBHOOK_SECRET,
      LINK_SECRET,
      CRM_TEST_TOKEN: CRM_TOKEN,
      PUBLIC_URL: "http://localhost:8787",
    },
  });
  ({ mf, db, tick, events, adminToken: ADMIN_TOKEN } = worker);
});
after(async () => {
  await worker?.dispose();
  await receiver?.close();
});

// Each test works in its own day (09:00 UTC, from the day after EPOCH on), so that clocks of one
// test are never due in another's ticks.
let day = 0;
const newDay = () => EPOCH + ++day * DAY - HOUR;

let n = 0;
const email = (who = "lead") => `${who}-${++n}@example.com`;
const submit = (answers, now) => worker.submit({ form: "contact", answers, context: { fill_ms: 60_000 } }, { now });
const clock = (id) => db.prepare("SELECT * FROM sla_clocks WHERE lead_id = ?").bind(id).first();
const escalations = (id) => received.filter((m) => m.type === "lead.sla_escalated" && m.data.lead_id === id);
const admin = (path, now) => worker.fetch(path, { admin: true, now });
// The receiver is called after the tick's batch commits, within the same scheduled run.
const settle = () => new Promise((ok) => setTimeout(ok, 50));

test("a routed lead starts its clock: the policy, the deadline and the ladder, in its own batch", async () => {
  const t0 = newDay();
  const id = await submit({ email: email(), country: "US" }, t0);
  const row = await clock(id);
  assert.equal(row.policy, "us");
  assert.equal(row.pool, "na");
  assert.equal(row.first_touch_due, t0 + 5 * MINUTE);
  assert.equal(row.next_at, t0 + 15 * MINUTE, "the first ladder step: 10 minutes past the deadline");
  assert.equal(row.level, 0);
  assert.deepEqual(JSON.parse(row.steps).map((s) => [s.level, s.due_ms, s.to]), [
    [1, t0 + 15 * MINUTE, "team_lead"],
    [2, t0 + 35 * MINUTE, "owner:max"],
  ]);
  const [started] = await events(id, "sla_started");
  assert.equal(started.detail.first_touch_due_ms, t0 + 5 * MINUTE);
  // A German lead matches no policy: no clock, announced as usual.
  const other = await submit({ email: email(), country: "DE" }, t0);
  assert.equal(await clock(other), null);
});

test("an untouched lead escalates to the team lead, then the manager, each exactly once", async () => {
  const t0 = newDay();
  const id = await submit({ email: email(), country: "US", name: "Ada <!channel> Lovelace" }, t0);
  await tick(t0 + 14 * MINUTE);
  assert.equal((await events(id, "escalated")).length, 0, "not due before its time");

  await tick(t0 + 15 * MINUTE);
  await settle();
  let steps = await events(id, "escalated");
  assert.deepEqual(steps.map((e) => [e.detail.level, e.detail.to.id]), [[1, "lee"]]);
  assert.equal(steps[0].detail.overdue_ms, 10 * MINUTE);
  const [message] = escalations(id);
  assert.equal(message.data.level, 1);
  assert.equal(message.data.to.id, "lee");
  assert.equal(message.data.owner.id, "ana");
  assert.equal(message.data.name, "Ada <!channel> Lovelace", "the webhook carries data; Slack text is escaped by the core");

  // The same minute again, and two overlapping ticks: nothing more.
  await tick(t0 + 15 * MINUTE);
  await Promise.all([tick(t0 + 16 * MINUTE), tick(t0 + 16 * MINUTE)]);
  await settle();
  assert.equal((await events(id, "escalated")).length, 1);
  assert.equal(escalations(id).length, 1);
  assert.equal((await db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE lead_id = ? AND payload LIKE '%sla_escalated%'").bind(id).first()).n, 1);

  await tick(t0 + 35 * MINUTE);
  await settle();
  steps = await events(id, "escalated");
  assert.deepEqual(steps.map((e) => [e.detail.level, e.detail.to.id]), [[1, "lee"], [2, "max"]]);
  assert.deepEqual(escalations(id).map((m) => [m.data.level, m.data.to.name]), [[1, "Lee Lund"], [2, "Max Moreau"]]);
  const row = await clock(id);
  assert.equal(row.level, 2);
  assert.equal(row.next_at, null, "the ladder is done");
  await tick(t0 + 60 * MINUTE);
  assert.equal((await events(id, "escalated")).length, 2);
});

test("a skipped hour is caught up: every step whose time has come, once each", async () => {
  const t0 = newDay();
  const id = await submit({ email: email(), country: "US" }, t0);
  await tick(t0 + 2 * 60 * MINUTE);
  await tick(t0 + 2 * 60 * MINUTE + MINUTE);
  await settle();
  assert.deepEqual((await events(id, "escalated")).map((e) => e.detail.level), [1, 2]);
  assert.equal(escalations(id).length, 2);
});

test("accepting through the link is not contact; a first touch before the deadline stops the clock", async () => {
  const t0 = newDay();
  const id = await submit({ email: email(), country: "US" }, t0);
  const { owner_id: owner } = await db.prepare("SELECT owner_id FROM leads WHERE id = ?").bind(id).first();
  const exp = t0 + HOUR;
  const sig = createHmac("sha256", LINK_SECRET)
    .update(`handoff-claim-v1:${id.length}:${id}:${owner.length}:${owner}:${exp}`)
    .digest("base64url");
  const r = await worker.fetch(`/v1/leads/${id}/claim?owner=${owner}&exp=${exp}&sig=${sig}`, { method: "POST", now: t0 + MINUTE });
  assert.equal(r.status, 200, await r.text());
  let row = await clock(id);
  assert.deepEqual([row.accepted_at, row.stopped, row.touched_at], [t0 + MINUTE, null, null], "the first-touch clock runs on");
  const touch = await report(id, { type: "touch", channel: "email", actor: owner }, t0 + 2 * MINUTE);
  assert.equal(touch.status, 201, JSON.stringify(touch.json));
  row = await clock(id);
  assert.equal(row.stopped, "touched");
  assert.equal(row.touched_by, owner);
  assert.equal(row.next_at, null);
  await tick(t0 + 2 * 60 * MINUTE);
  assert.equal((await events(id, "escalated")).length, 0);
  assert.equal(escalations(id).length, 0);
});

test("suppression: an active deal starts no clock and alerts nobody; a sequence stops a running one", async () => {
  const t0 = newDay();
  const dealt = email("deal");
  await db.prepare("INSERT INTO crm_facts (subject, active_deal, source, updated_at) VALUES (?, 1, 'test', ?)")
    .bind(`email:${dealt}`, t0).run();
  const id = await submit({ email: dealt, country: "US" }, t0);
  assert.equal(await clock(id), null);
  assert.deepEqual((await events(id, "sla_suppressed")).map((e) => e.detail.reason), ["active_deal"]);
  assert.equal((await db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE lead_id = ?").bind(id).first()).n, 0, "no alert");

  // An account's deal suppresses every person at it.
  await db.prepare("INSERT INTO crm_facts (subject, active_deal, source, updated_at) VALUES ('domain:acme.example', 1, 'test', ?)")
    .bind(t0).run();
  const colleague = await submit({ email: `pat-${++n}@acme.example`, country: "US" }, t0);
  assert.deepEqual((await events(colleague, "sla_suppressed")).map((e) => e.detail.reason), ["active_deal"]);

  // Enrolled in a sequence after the lead arrived: the next step is suppressed, and says why.
  const seq = email("seq");
  const running = await submit({ email: seq, country: "US" }, t0);
  assert.ok(await clock(running));
  await db.prepare("INSERT INTO crm_facts (subject, in_sequence, source, updated_at) VALUES (?, 1, 'test', ?)")
    .bind(`email:${seq}`, t0 + MINUTE).run();
  await tick(t0 + 15 * MINUTE);
  await settle();
  assert.equal((await events(running, "escalated")).length, 0);
  assert.deepEqual((await events(running, "sla_suppressed")).map((e) => e.detail.reason), ["in_sequence"]);
  assert.equal((await clock(running)).stopped, "in_sequence");
  assert.equal(escalations(running).length, 0);
});

test("a returning person's repeat is merged and never starts a second clock", async () => {
  const t0 = newDay();
  const who = email("again");
  const first = await submit({ email: who, country: "US" }, t0);
  const second = await submit({ email: who, country: "US" }, t0 + MINUTE);
  assert.equal((await db.prepare("SELECT merged_into FROM leads WHERE id = ?").bind(second).first()).merged_into, first);
  assert.equal(await clock(second), null);
  assert.equal((await db.prepare("SELECT COUNT(*) AS n FROM sla_clocks WHERE lead_id IN (?, ?)").bind(first, second).first()).n, 1);
});

test("a reassign step moves the lead to the pool's next eligible member, never back to its owner", async () => {
  const t0 = newDay();
  const id = await submit({ email: email(), country: "FR" }, t0);
  const before = (await db.prepare("SELECT owner_id FROM leads WHERE id = ?").bind(id).first()).owner_id;
  await tick(t0 + 15 * MINUTE);
  await settle();
  const after = (await db.prepare("SELECT owner_id FROM leads WHERE id = ?").bind(id).first()).owner_id;
  assert.notEqual(after, before);
  assert.ok(["ana", "ben"].includes(after));
  const [moved] = await events(id, "reassigned");
  assert.equal(moved.detail.via, "sla");
  assert.deepEqual(moved.detail.decision.by, { kind: "reassigned", from: before });
  const [message] = escalations(id);
  assert.equal(message.data.reassigned_to.id, after);
  assert.equal(message.data.to.id, "lee");
  await tick(t0 + 15 * MINUTE);
  assert.equal((await events(id, "reassigned")).length, 1, "once");
});

test("the admin API lists leads at risk and breached, with their place on the ladder", async () => {
  const t0 = newDay();
  const early = await submit({ email: email(), country: "US", name: "Early Bird" }, t0);
  const later = await submit({ email: email(), country: "US" }, t0 + 20 * MINUTE);
  await tick(t0 + 16 * MINUTE);
  const r = await admin("/v1/sla/leads?within_minutes=10", t0 + 22 * MINUTE);
  assert.equal(r.status, 200);
  const mine = (await r.json()).leads.filter((l) => l.lead_id === early || l.lead_id === later);
  assert.deepEqual(mine.map((l) => [l.lead_id, l.standing]), [[early, "breached"], [later, "at_risk"]]);
  const [breached, atRisk] = mine;
  assert.equal(breached.name, "Early Bird");
  assert.equal(breached.owner, "ana");
  assert.equal(breached.overdue_ms, 17 * MINUTE);
  assert.deepEqual(breached.ladder, { level: 1, levels: 2, next: { level: 2, due_at: t0 + 35 * MINUTE, to: "owner:max", reassign: false } });
  assert.equal(atRisk.overdue_ms, -3 * MINUTE);
  assert.equal(atRisk.ladder.level, 0);

  const onlyBreached = await (await admin("/v1/sla/leads?standing=breached", t0 + 22 * MINUTE)).json();
  assert.ok(onlyBreached.leads.some((l) => l.lead_id === early));
  assert.ok(!onlyBreached.leads.some((l) => l.lead_id === later));
  for (const bad of ["standing=late", "within_minutes=0", "limit=9999"]) {
    const answer = await admin(`/v1/sla/leads?${bad}`, t0);
    assert.equal(answer.status, 400, bad);
    assert.equal((await answer.json()).error.code, "bad_query");
  }
  const anonymous = await mf.dispatchFetch("http://localhost/v1/sla/leads");
  assert.equal(anonymous.status, 401);
});

const report = async (id, event, now) => {
  const r = await worker.fetch(`/v1/leads/${id}/events`, {
    method: "POST",
    admin: true,
    now,
    headers: { "content-type": "application/json" },
    body: typeof event === "string" ? event : JSON.stringify(event),
  });
  return { status: r.status, json: await r.json() };
};

test("the events API: the first contact is the first touch and stops the clock; later ones are only logged", async () => {
  const t0 = newDay();
  const who = email("touched");
  const id = await submit({ email: who, country: "US" }, t0);
  let r = await report(id, { type: "touch", channel: "call", actor: "ana", note: "left a voicemail" }, t0 + 2 * MINUTE);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.deepEqual(r.json, { lead_id: id, event: "touch", first_touch: true, status: "working", status_changed: true });
  r = await report(id, { type: "outcome", outcome: "contacted", actor: "ana" }, t0 + 3 * MINUTE);
  assert.deepEqual(r.json, { lead_id: id, event: "outcome", first_touch: false, status: "working", status_changed: false });
  const [first] = await events(id, "first_touch");
  assert.deepEqual(first.detail, { type: "touch", channel: "call", actor: "ana", note: "left a voicemail", via: "events" });
  assert.equal((await events(id, "first_touch")).length, 1);
  const row = await clock(id);
  assert.deepEqual([row.stopped, row.touched_at, row.touched_by, row.next_at], ["touched", t0 + 2 * MINUTE, "ana", null]);
  const facts = await db.prepare("SELECT last_contacted_at FROM crm_facts WHERE subject = ?").bind(`email:${who}`).first();
  assert.equal(facts.last_contacted_at, t0 + 3 * MINUTE, "the latest contact");
  await tick(t0 + 60 * MINUTE);
  assert.deepEqual(await events(id, "escalated"), []);
});

test("the events API: a rejection needs a reason code, closes the lead and stops its clock", async () => {
  const t0 = newDay();
  const id = await submit({ email: email(), country: "US" }, t0);
  for (const [event, code] of [
    [{ type: "outcome", outcome: "rejected", actor: "ana" }, "event.reason_required"],
    [{ type: "outcome", outcome: "rejected", reason: "Not a fit", actor: "ana" }, "event.bad_reason"],
    [{ type: "touch", channel: "fax", actor: "ana" }, "event.bad_json"],
    ["{not json", "event.bad_json"],
  ]) {
    const r = await report(id, event, t0);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, "bad_event");
    assert.ok(r.json.error.message.startsWith(code), r.json.error.message);
  }
  assert.deepEqual((await events(id)).map((e) => e.kind).filter((k) => !["created", "routed", "sla_started", "notified"].includes(k)), [],
    "a refused event records nothing");
  const r = await report(id, { type: "outcome", outcome: "rejected", reason: "student", actor: "ana" }, t0 + MINUTE);
  assert.deepEqual(r.json, { lead_id: id, event: "outcome", first_touch: false, status: "rejected", status_changed: true });
  assert.equal((await db.prepare("SELECT status FROM leads WHERE id = ?").bind(id).first()).status, "rejected");
  assert.deepEqual([(await clock(id)).stopped, (await clock(id)).next_at], ["rejected", null]);
  await tick(t0 + 60 * MINUTE);
  assert.deepEqual(await events(id, "escalated"), []);
  assert.equal((await report("no-such-lead", { type: "deal", active: true }, t0)).status, 404);
  const anonymous = await mf.dispatchFetch(`http://localhost/v1/leads/${id}/events`, { method: "POST", body: "{}" });
  assert.equal(anonymous.status, 401);
});

test("the events API: a deal reported for the person suppresses the next step; a merged repeat's event lands on the open lead", async () => {
  const t0 = newDay();
  const who = email("dealt");
  const id = await submit({ email: who, country: "US" }, t0);
  const repeat = await submit({ email: who, country: "US" }, t0 + MINUTE);
  const r = await report(repeat, { type: "deal", active: true, actor: "crm-sync" }, t0 + 2 * MINUTE);
  assert.equal(r.status, 201);
  assert.deepEqual(r.json, { lead_id: id, merged_from: repeat, event: "deal_opened", first_touch: false, status: "new", status_changed: false });
  assert.deepEqual((await events(id, "deal_opened")).map((e) => e.detail), [{ type: "deal", active: true, actor: "crm-sync", via: "events" }]);
  await tick(t0 + 15 * MINUTE);
  assert.deepEqual((await events(id, "sla_suppressed")).map((e) => e.detail.reason), ["active_deal"]);
  assert.deepEqual(await events(id, "escalated"), []);
  await report(id, { type: "deal", active: false }, t0 + 16 * MINUTE);
  const facts = await db.prepare("SELECT active_deal, source FROM crm_facts WHERE subject = ?").bind(`email:${who}`).first();
  assert.deepEqual([facts.active_deal, facts.source], [0, "events"]);
});

const postCrm = async (body, { intake = "testcrm", token = CRM_TOKEN, now = EPOCH } = {}) => {
  const r = await worker.fetch(`/v1/crm/${intake}`, {
    method: "POST",
    now,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
};

test("the CRM intake: a batch maps to facts, unknown types are reported, a contact is its lead's first touch", async () => {
  const t0 = newDay();
  const contacted = email("crm-contacted");
  const lead = await submit({ email: contacted, country: "US" }, t0);
  const r = await postCrm([
    { event: "deal.created", person: { email: `Buyer-${n}@Initech.example` }, company: { domain: "initech.example" } },
    { event: "webinar.attended", person: { email: contacted } },
    { event: "email.sent", person: { email: contacted.toUpperCase() } },
    { event: "deal.created", person: {} },
  ], { now: t0 + 2 * MINUTE });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual(r.json, {
    applied: 2, first_touches: 1,
    ignored: [{ index: 1, code: "crm.unknown_event" }, { index: 3, code: "crm.missing_email" }],
  });
  const [touch] = await events(lead, "first_touch");
  assert.deepEqual(touch.detail, { intake: "testcrm", meaning: "contacted", via: "crm" });
  assert.deepEqual([(await clock(lead)).stopped, (await clock(lead)).touched_by], ["touched", "testcrm"]);
  const account = await db.prepare("SELECT active_deal, source FROM crm_facts WHERE subject = 'domain:initech.example'").first();
  assert.deepEqual([account.active_deal, account.source], [1, "testcrm"]);
  // The account's deal suppresses a colleague's new lead: no clock, no alert.
  const colleague = await submit({ email: `peter-${++n}@initech.example`, country: "US" }, t0 + 3 * MINUTE);
  assert.deepEqual((await events(colleague, "sla_suppressed")).map((e) => e.detail.reason), ["active_deal"]);
  assert.equal(await clock(colleague), null);
  // The same contact again: logged, but no second first touch.
  const again = await postCrm({ event: "email.sent", person: { email: contacted } }, { now: t0 + 4 * MINUTE });
  assert.deepEqual(again.json, { applied: 1, first_touches: 0, ignored: [] });
  assert.equal((await events(lead, "first_touch")).length, 1);
  assert.equal((await events(lead, "touch")).length, 2);
});

// Regression (issue 21): a deal with one Gmail user was an account fact on `domain:gmail.com`, so
// every later Gmail lead was suppressed as a customer's.
test("the CRM intake: a deal at a free-mail address is the person's, never an account's", async () => {
  const t0 = newDay();
  const r = await postCrm({ event: "deal.created", person: { email: `buyer-${++n}@gmail.com` }, company: { domain: "gmail.com" } }, { now: t0 });
  assert.deepEqual(r.json, { applied: 1, first_touches: 0, ignored: [] });
  const account = await db.prepare("SELECT COUNT(*) AS n FROM crm_facts WHERE subject = 'domain:gmail.com'").first();
  assert.equal(account.n, 0);
  // Another Gmail user's lead is alerted and clocked as any new lead.
  const stranger = await submit({ email: `someone-${++n}@gmail.com`, country: "US" }, t0 + MINUTE);
  assert.deepEqual(await events(stranger, "sla_suppressed"), []);
  assert.notEqual(await clock(stranger), null);
  // Even with a fact stored for gmail.com before this fix, a Gmail lead keeps no account key.
  await db.prepare("INSERT INTO crm_facts (subject, active_deal, source, updated_at) VALUES ('domain:gmail.com', 1, 'test', ?)").bind(t0).run();
  const later = await submit({ email: `another-${++n}@gmail.com`, country: "US" }, t0 + 2 * MINUTE);
  assert.deepEqual(await events(later, "sla_suppressed"), []);
  assert.notEqual(await clock(later), null);
  await db.prepare("DELETE FROM crm_facts WHERE subject = 'domain:gmail.com'").run();
});

// Regression (issue 14): every item about a contacted person was logged as a touch of their lead,
// so a deal listed before the contact became the lead's first touch.
test("the CRM intake: only the contact is the first touch, wherever it stands in the batch", async () => {
  const t0 = newDay();
  const who = email("crm-order");
  const lead = await submit({ email: who, country: "US" }, t0);
  const r = await postCrm([
    { event: "deal.created", person: { email: who } },
    { event: "email.sent", person: { email: who } },
  ], { now: t0 + 2 * MINUTE });
  assert.deepEqual(r.json, { applied: 2, first_touches: 1, ignored: [] });
  const [touch] = await events(lead, "first_touch");
  assert.deepEqual(touch.detail, { intake: "testcrm", meaning: "contacted", via: "crm" });
  assert.deepEqual((await events(lead, "touch")).map((e) => e.detail.meaning), ["contacted"], "a deal is no touch");
});

// Regression (issue 14): the person's key was lowercased with Unicode rules in the Worker and with
// SQLite's ASCII-only lower() in D1, so a CRM's `åsa@…` never found the lead of `Åsa@…`, and the
// cron never saw the CRM's facts about that person.
test("the CRM intake and the cron find a person whose address has a non-ASCII capital", async () => {
  const t0 = newDay();
  const local = `Åsa-${++n}`;
  const contacted = await submit({ email: `${local}@example.com`, country: "US" }, t0);
  const r = await postCrm({ event: "email.sent", person: { email: `${local.toLowerCase()}@example.com` } }, { now: t0 + MINUTE });
  assert.deepEqual(r.json, { applied: 1, first_touches: 1, ignored: [] });
  assert.equal((await events(contacted, "first_touch")).length, 1);

  const other = `Örjan-${++n}`;
  const dealt = await submit({ email: `${other}@example.com`, country: "US" }, t0);
  const deal = await postCrm({ event: "deal.created", person: { email: `${other.toUpperCase()}@example.com` } }, { now: t0 + MINUTE });
  assert.deepEqual(deal.json, { applied: 1, first_touches: 0, ignored: [] });
  await tick(t0 + 15 * MINUTE);
  assert.deepEqual((await events(dealt, "sla_suppressed")).map((e) => e.detail.reason), ["active_deal"]);
  assert.deepEqual(await events(dealt, "escalated"), []);
});

test("the CRM intake: its own token, a known intake, a JSON body of objects", async () => {
  // An unknown intake id and a wrong token answer alike: nobody can list the intakes by guessing.
  const refusals = [
    ["the admin token", { token: ADMIN_TOKEN }],
    ["a wrong token", { token: randomToken() }],
    ["an unknown intake id", { intake: "salesforce" }],
    ["an unknown intake id and a wrong token", { intake: "nope", token: randomToken() }],
  ];
  const answers = [];
  for (const [why, options] of refusals) {
    const r = await postCrm({ event: "deal.created" }, options);
    answers.push(JSON.stringify([r.status, r.json]));
    assert.deepEqual([r.status, r.json.error.code], [401, "unauthorized"], why);
  }
  assert.equal(new Set(answers).size, 1, "every refusal is the same answer");
  const notJson = await postCrm("{", {});
  assert.deepEqual([notJson.status, notJson.json.error.code], [400, "bad_json"]);
  const scalar = await postCrm("42", {});
  assert.deepEqual([scalar.status, scalar.json.error.code], [400, "bad_body"]);
  const many = await postCrm(Array.from({ length: 501 }, () => ({ event: "deal.created" })), {});
  assert.deepEqual([many.status, many.json.error.code], [413, "too_many_items"]);
});

test("feedback: the Not a fit link offers the configured reasons and rejects the lead for its owner", async () => {
  // Links expire 7 days after the lead is routed; every click here comes a minute later.
  const t0 = newDay();
  const click = (url, init = {}) => worker.fetch(url, { ...init, now: t0 + MINUTE });
  const id = await submit({ email: email("nofit"), country: "US" }, t0);
  await settle();
  const routed = received.find((m) => m.type === "lead.routed" && m.data.lead_id === id);
  const link = new URL(routed.data.reject_url);
  assert.equal(link.pathname, `/v1/leads/${id}/reject`);
  const local = `http://localhost${link.pathname}${link.search}`;
  const page = await click(local);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-security-policy"), /default-src 'none'/);
  const html = await page.text();
  assert.match(html, /<button name="reason" value="not_a_fit">Not a fit<\/button>/);
  assert.match(html, /<button name="reason" value="student">Student<\/button>/);
  const post = (reason, url = local) => click(url, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `reason=${reason}`,
  });
  assert.equal((await post("no_budget")).status, 400, "only configured reasons");
  const claimAsReject = routed.data.claim_url.replace("/claim?", "/reject?").replace("http://localhost:8787", "http://localhost");
  assert.equal((await post("student", claimAsReject)).status, 403, "a claim link is no reject link");
  const done = await post("student");
  assert.equal(done.status, 200, await done.text());
  assert.equal((await db.prepare("SELECT status FROM leads WHERE id = ?").bind(id).first()).status, "rejected");
  const [outcome] = await events(id, "outcome");
  assert.deepEqual(outcome.detail, { type: "outcome", outcome: "rejected", reason: "student", actor: "ana", via: "link" });
  // The events API takes only the configured reasons too.
  const other = await submit({ email: email("nofit"), country: "US" }, t0);
  const refused = await report(other, { type: "outcome", outcome: "rejected", reason: "no_budget", actor: "ana" }, t0);
  assert.equal(refused.status, 422);
  assert.equal(refused.json.error.code, "unknown_reason");
  assert.match(refused.json.error.message, /^event.unknown_reason/);
});

test("a lead closed before its step stops its clock instead of escalating", async () => {
  const t0 = newDay();
  const id = await submit({ email: email(), country: "US" }, t0);
  await db.prepare("UPDATE leads SET status = 'rejected' WHERE id = ?").bind(id).run();
  await tick(t0 + 15 * MINUTE);
  assert.equal((await events(id, "escalated")).length, 0);
  assert.deepEqual((await events(id, "sla_stopped")).map((e) => e.detail.reason), ["rejected"]);
  assert.equal((await clock(id)).next_at, null);
});

test("a business day is the same time on the owner's next working day; its ladder mixes hours and days", async () => {
  // A Friday of this suite's own, and the four days after it, so that no other test ticks there.
  let friday = newDay();
  while (new Date(friday).getUTCDay() !== 5) friday = newDay();
  for (let i = 0; i < 4; i++) newDay();
  await tick(friday - MINUTE);
  await tick(friday - MINUTE);
  const monday = friday + 3 * DAY;
  // Friday 15:00 UTC: due Monday 15:00 (not Saturday); Uma's team lead hears at Monday 17:00,
  // two working hours later; the head of sales at Tuesday 15:00, a business day later.
  const id = await submit({ email: email(), country: "GB" }, friday + 6 * HOUR);
  const row = await clock(id);
  const owner = await db.prepare("SELECT owner_id FROM leads WHERE id = ?").bind(id).first();
  assert.deepEqual([row.policy, owner.owner_id], ["gb", "uma"]);
  assert.equal(row.first_touch_due, monday + 6 * HOUR);
  assert.deepEqual(JSON.parse(row.steps).map((s) => [s.level, s.due_ms, s.to]), [
    [1, monday + 8 * HOUR, "team_lead"],
    [2, monday + DAY + 6 * HOUR, "owner:max"],
  ]);
  // A lead on Saturday waits for Monday 09:00, so it is due on Tuesday 09:00.
  const weekend = await submit({ email: email(), country: "GB" }, friday + DAY + HOUR);
  assert.equal((await clock(weekend)).first_touch_due, monday + DAY);
  await db.prepare("UPDATE leads SET status = 'rejected' WHERE id = ?").bind(weekend).run();
  await tick(monday + 8 * HOUR - MINUTE);
  assert.deepEqual(await events(id, "escalated"), [], "nothing over the weekend nor before its time");
  await tick(monday + 8 * HOUR);
  assert.deepEqual((await events(id, "escalated")).map((e) => [e.detail.level, e.detail.to.id]), [[1, "lee"]]);
  await tick(monday + DAY + 6 * HOUR);
  assert.deepEqual((await events(id, "escalated")).map((e) => [e.detail.level, e.detail.to.id]), [[1, "lee"], [2, "max"]]);
  assert.deepEqual((await events(weekend, "sla_stopped")).map((e) => e.detail.reason), ["rejected"]);
});

test("one tick does bounded work; the rest waits for the next tick, oldest first", async () => {
  const t0 = newDay();
  // Earlier tests' clocks, still due, are carried out first (oldest first): clear them.
  await tick(t0 - MINUTE);
  await tick(t0 - MINUTE);
  const ids = [];
  for (let i = 0; i < 60; i++) ids.push(await submit({ email: email("bulk"), country: "US" }, t0 + i));
  const due = t0 + 16 * MINUTE;
  const levelOne = async () =>
    (await db.prepare(`SELECT COUNT(*) AS n FROM sla_steps WHERE level = 1 AND lead_id IN (${ids.map(() => "?").join(",")})`)
      .bind(...ids).first()).n;
  await tick(due);
  assert.equal(await levelOne(), 50);
  await tick(due + MINUTE);
  assert.equal(await levelOne(), 60);
});
