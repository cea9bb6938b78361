// A lead's life after routing (issue 15), on workerd with local D1 and KV: a routed lead is
// `new`; accepting is not contact; a call through the events API makes it `working` and frees its
// owner's capacity, so an owner who works their leads keeps getting them; a daily cap holds per
// local day; a returning person is merged only into a lead still being worked within the window,
// and otherwise gets a new lead linked to the earlier one, for the earlier owner; a repeat that
// raises the lifecycle is announced and starts a clock; won and lost carry the deal's value;
// moves the status machine refuses are answered with their codes. The bundle is
// tests/fixtures/lifecycle.toml; every time comes from the test clock (EPOCH, a Tuesday 10:00
// UTC), never the machine's.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DAY, EPOCH, HOUR, MINUTE, randomToken, ROOT, startReceiver, startWorker } from "./support/edge.mjs";

let worker, db, events, receiver;
const CRM_TEST_TOKEN = randomToken();

before(async () => {
  receiver = await startReceiver(() => 200);
  worker = await startWorker({
    config: join(ROOT, "tests/fixtures/lifecycle.toml"),
    extraToml: `
[[notify.channels]]
id = "crm"
kind = "webhook"
url = "${receiver.url("/hook")}"
secret = "WEBHOOK_SECRET_TEST"
`,
    bindings: { RATE_LIMIT_PER_MINUTE: "100000", WEBHOOK_SECRET_TEST: "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0", CRM_TEST_TOKEN },
  });
  ({ db, events } = worker);
});
after(async () => {
  await worker?.dispose();
  await receiver?.close();
});

let n = 0;
const email = (who = "lead") => `${who}-${++n}@example.com`;
const SQL = { company_size: "1000+", interest: "A demo", country: "US" };
const NURTURE = { company_size: "1-50", interest: "Newsletter", country: "US" };
const submit = (answers, now) =>
  worker.submit({ form: "contact", answers, context: { fill_ms: 60_000 } }, { now });
const lead = (id) => db.prepare("SELECT owner_kind, owner_id, status, merged_into, previous_lead, lifecycle FROM leads WHERE id = ?").bind(id).first();
const outbox = async (id) => (await db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE lead_id = ?").bind(id).first()).n;
const report = async (id, event, now) => {
  const r = await worker.json(`/v1/leads/${id}/events`, {
    method: "POST",
    admin: true,
    now,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(event),
  });
  return { status: r.status, json: r.json };
};
/** Frees every slot the team holds: each of their `new` leads gets a call. */
const workEverything = async (now) => {
  const open = await db.prepare("SELECT id, owner_id FROM leads WHERE owner_id IN ('ana', 'ben') AND status IN ('new', 'accepted')").all();
  for (const row of open.results) {
    const r = await report(row.id, { type: "touch", channel: "call", actor: row.owner_id }, now);
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }
};

test("routed is new; a call makes it working and frees the owner's slot for the next lead", async () => {
  const t0 = EPOCH;
  await workEverything(t0);
  const first = await submit({ ...SQL, email: email() }, t0);
  const second = await submit({ ...SQL, email: email() }, t0 + MINUTE);
  const owners = [(await lead(first)).owner_id, (await lead(second)).owner_id].sort();
  assert.deepEqual(owners, ["ana", "ben"]);
  assert.equal((await lead(first)).status, "new");
  // Both hold one new lead, their capacity: the next goes to the fallback queue.
  const third = await submit({ ...SQL, email: email() }, t0 + 2 * MINUTE);
  assert.deepEqual([(await lead(third)).owner_kind, (await lead(third)).owner_id], ["queue", "unassigned"]);
  const routed = (await events(third, "routed"))[0].detail;
  assert.deepEqual(routed.attempts[0].candidates.map((c) => c.skip), ["at_capacity", "at_capacity"]);
  assert.match(routed.attempts[0].candidates[0].message, /1 leads new or accepted, at most 1/);
  // Accepting is not working it: the slot stays taken.
  const owner = (await lead(first)).owner_id;
  let r = await report(first, { type: "accept", actor: owner }, t0 + 3 * MINUTE);
  assert.deepEqual(r.json, { lead_id: first, event: "accepted", first_touch: false, status: "accepted", status_changed: true });
  const fourth = await submit({ ...SQL, email: email() }, t0 + 4 * MINUTE);
  assert.equal((await lead(fourth)).owner_id, "unassigned");
  // A call: working, the first touch, and the slot is free.
  r = await report(first, { type: "touch", channel: "call", actor: owner }, t0 + 5 * MINUTE);
  assert.deepEqual(r.json, { lead_id: first, event: "touch", first_touch: true, status: "working", status_changed: true });
  assert.deepEqual((await events(first, "status_changed")).map((e) => [e.detail.from, e.detail.to, e.detail.via, e.actor]),
    [["new", "accepted", "events", owner], ["accepted", "working", "events", owner]]);
  const fifth = await submit({ ...SQL, email: email() }, t0 + 6 * MINUTE);
  assert.equal((await lead(fifth)).owner_id, owner, "the slot the call freed");
});

test("30 leads worked by their owners: nobody drops out of the rotation", async () => {
  const t0 = EPOCH + DAY;
  await workEverything(t0);
  const got = { ana: 0, ben: 0, unassigned: 0 };
  for (let i = 0; i < 30; i++) {
    const at = t0 + i * MINUTE;
    const id = await submit({ ...SQL, email: email("busy") }, at);
    const row = await lead(id);
    got[row.owner_id]++;
    if (row.owner_kind === "owner") {
      const r = await report(id, { type: "touch", channel: "email", actor: row.owner_id }, at + 30_000);
      assert.equal(r.json.status, "working");
    }
  }
  assert.deepEqual(got, { ana: 15, ben: 15, unassigned: 0 });
});

test("a daily cap holds until the owner's local midnight", async () => {
  const t0 = EPOCH + 2 * DAY;
  const de = { ...SQL, country: "DE" };
  const a = await submit({ ...de, email: email() }, t0);
  const b = await submit({ ...de, email: email() }, t0 + HOUR);
  // Worked at once: the cap counts leads given, not leads held.
  for (const id of [a, b]) await report(id, { type: "touch", channel: "call", actor: "cy" }, t0 + 2 * HOUR);
  const c = await submit({ ...de, email: email() }, t0 + 3 * HOUR);
  assert.deepEqual([(await lead(a)).owner_id, (await lead(b)).owner_id, (await lead(c)).owner_id], ["cy", "cy", "unassigned"]);
  const skip = (await events(c, "routed"))[0].detail.attempts[0].candidates[0];
  assert.deepEqual([skip.owner, skip.skip], ["cy", "daily_cap"]);
  // 10:00 UTC + 14 h = the next day for Cy (UTC): a new day, a new cap.
  const d = await submit({ ...de, email: email() }, t0 + 14 * HOUR);
  assert.equal((await lead(d)).owner_id, "cy");
});

test("a repeat while the lead is worked, within the window, is merged and alerts nobody", async () => {
  const t0 = EPOCH + 3 * DAY;
  await workEverything(t0);
  const who = email("again");
  const first = await submit({ ...SQL, email: who }, t0);
  const owner = (await lead(first)).owner_id;
  await report(first, { type: "touch", channel: "call", actor: owner }, t0 + MINUTE);
  const alerts = await outbox(first);
  const repeat = await submit({ ...SQL, email: who }, t0 + 3 * DAY);
  assert.deepEqual(await lead(repeat), { owner_kind: "owner", owner_id: owner, status: "merged", merged_into: first, previous_lead: null, lifecycle: "sql" });
  assert.equal(await outbox(first), alerts, "no second alert");
  assert.equal(await outbox(repeat), 0);
  assert.deepEqual(await events(first, "lifecycle_raised"), []);
});

test("a returning person after their lead was won gets a new lead, linked, for the same owner, announced", async () => {
  const t0 = EPOCH + 4 * DAY;
  await workEverything(t0);
  const who = email("buyer");
  const first = await submit({ ...SQL, email: who }, t0);
  const owner = (await lead(first)).owner_id;
  await report(first, { type: "touch", channel: "call", actor: owner }, t0 + MINUTE);
  let r = await report(first, { type: "outcome", outcome: "won", amount: 48000, currency: "EUR", actor: owner }, t0 + DAY);
  assert.deepEqual([r.status, r.json.status], [201, "won"]);
  const shown = await worker.json(`/v1/leads/${first}`, { admin: true, now: t0 + DAY });
  assert.deepEqual([shown.json.status, shown.json.deal], ["won", { amount: 48000, currency: "EUR" }]);
  // The other member would be next in the rotation; owner affinity gives the person back.
  const again = await submit({ ...SQL, email: who }, t0 + 2 * DAY);
  assert.deepEqual(await lead(again), { owner_kind: "owner", owner_id: owner, status: "new", merged_into: null, previous_lead: first, lifecycle: "sql" });
  const routed = (await events(again, "routed"))[0].detail;
  assert.deepEqual(routed.by, { kind: "returning" });
  assert.ok(await outbox(again) > 0, "announced");
  assert.deepEqual((await events(first, "returned")).map((e) => e.detail), [{ lead: again }]);
  assert.equal((await db.prepare("SELECT COUNT(*) AS n FROM sla_clocks WHERE lead_id = ?").bind(again).first()).n, 1, "its own clock");
  // A won lead moves no further: a touch on it is refused with the status machine's code.
  r = await report(first, { type: "touch", channel: "call", actor: owner }, t0 + 3 * DAY);
  assert.deepEqual([r.status, r.json.error.code], [409, "status.closed"]);
});

test("a nurture lead's repeat as an SQL is announced and starts the clock for its new stage", async () => {
  const t0 = EPOCH + 5 * DAY;
  const who = email("rising");
  const first = await submit({ ...NURTURE, email: who }, t0);
  assert.deepEqual([(await lead(first)).owner_id, (await lead(first)).lifecycle], ["nurture", "nurture"]);
  assert.equal(await db.prepare("SELECT * FROM sla_clocks WHERE lead_id = ?").bind(first).first(), null, "no clock for nurture");
  const alerts = await outbox(first);
  const repeat = await submit({ ...SQL, email: who }, t0 + 5 * DAY);
  const merged = await lead(repeat);
  assert.deepEqual([merged.status, merged.merged_into], ["merged", first]);
  assert.equal((await lead(first)).lifecycle, "sql");
  assert.deepEqual((await events(first, "lifecycle_raised")).map((e) => e.detail), [{ from: "nurture", to: "sql", lead: repeat }]);
  assert.ok(await outbox(first) > alerts, "announced");
  const clock = await db.prepare("SELECT policy, started_at, first_touch_due FROM sla_clocks WHERE lead_id = ?").bind(first).first();
  assert.deepEqual(clock, { policy: "sales", started_at: t0 + 5 * DAY, first_touch_due: t0 + 5 * DAY + 2 * HOUR });
});

test("a repeat outside the merge window is a new lead even while the old one is open", async () => {
  const t0 = EPOCH + 6 * DAY;
  const who = email("eight-months");
  const first = await submit({ ...NURTURE, email: who }, t0);
  const later = await submit({ ...NURTURE, email: who }, t0 + 240 * DAY);
  assert.deepEqual(await lead(later), { owner_kind: "queue", owner_id: "nurture", status: "new", merged_into: null, previous_lead: first, lifecycle: "nurture" });
});

test("the status machine's refusals are answered with their codes, and change nothing", async () => {
  const t0 = EPOCH + 7 * DAY;
  await workEverything(t0);
  const id = await submit({ ...SQL, email: email() }, t0);
  const owner = (await lead(id)).owner_id;
  let r = await report(id, { type: "outcome", outcome: "lost", actor: owner }, t0 + MINUTE);
  assert.deepEqual([r.status, r.json.error.code], [400, "bad_event"]);
  assert.match(r.json.error.message, /^event\.reason_required/);
  r = await report(id, { type: "outcome", outcome: "won", amount: 10, actor: owner }, t0 + MINUTE);
  assert.match(r.json.error.message, /^event\.bad_currency/);
  r = await report(id, { type: "outcome", outcome: "lost", reason: "price", amount: 12000, currency: "USD", actor: owner }, t0 + 2 * MINUTE);
  assert.deepEqual([r.status, r.json.status], [201, "lost"]);
  const before = (await events(id)).length;
  for (const event of [
    { type: "outcome", outcome: "won", actor: owner },
    { type: "accept", actor: owner },
    { type: "outcome", outcome: "meeting_held", actor: owner },
  ]) {
    r = await report(id, event, t0 + 3 * MINUTE);
    assert.deepEqual([r.status, r.json.error.code], [409, "status.closed"], JSON.stringify(event));
  }
  assert.equal((await events(id)).length, before, "a refused move records nothing");
  assert.equal((await lead(id)).status, "lost");
  // A lost lead may go back to nurture, with a reason.
  r = await report(id, { type: "outcome", outcome: "recycled", reason: "no_budget_yet", actor: owner }, t0 + 4 * MINUTE);
  assert.deepEqual([r.status, r.json.status, r.json.status_changed], [201, "recycled", true]);
  const moves = (await events(id, "status_changed")).map((e) => [e.detail.from, e.detail.to, e.detail.reason ?? null]);
  assert.deepEqual(moves, [["new", "lost", "price"], ["lost", "recycled", "no_budget_yet"]]);
});

test("accepting and first contact are two clocks, each with its own ladder", async () => {
  const t0 = EPOCH + 8 * DAY;
  await workEverything(t0);
  const idle = await submit({ ...SQL, email: email("idle") }, t0);
  const taken = await submit({ ...SQL, email: email("taken") }, t0 + 1000);
  const clock = (id) => db.prepare("SELECT accept_due, accepted_at, first_touch_due, stopped FROM sla_clocks WHERE lead_id = ?").bind(id).first();
  assert.deepEqual(await clock(idle), { accept_due: t0 + 5 * MINUTE, accepted_at: null, first_touch_due: t0 + 2 * HOUR, stopped: null });
  const started = (await events(idle, "sla_started"))[0].detail;
  assert.equal(started.accept_due_ms, t0 + 5 * MINUTE);
  const owner = (await lead(taken)).owner_id;
  await report(taken, { type: "accept", actor: owner }, t0 + 2 * MINUTE);
  assert.equal((await clock(taken)).accepted_at, t0 + 2 * MINUTE);
  // 15 minutes: the accept ladder's step reaches the team lead for the idle lead only.
  await worker.tick(t0 + 16 * MINUTE);
  const escalated = async (id) => (await events(id, "escalated")).map((e) => [e.detail.level, e.detail.to?.id ?? e.detail.to]);
  assert.equal((await escalated(idle)).length, 1);
  assert.deepEqual(await escalated(taken), [], "accepted in time: the accept ladder has nothing to do");
  // Accepted is not contacted: the first-touch ladder still runs for the lead that was taken.
  await worker.tick(t0 + 3 * HOUR + MINUTE);
  assert.equal((await escalated(taken)).length, 1, "the first-touch step, 1 h past its deadline");
  assert.equal((await escalated(idle)).length, 2);
});

test("a queue lead is taken by a member; its clock runs on the queue's hours; team_lead reaches a person", async () => {
  const t0 = EPOCH + 9 * DAY + 6 * HOUR + 30 * MINUTE; // a Thursday, 16:30 UTC: half an hour left today
  const inbound = { company_size: "1000+", interest: "Newsletter", country: "DE" };
  const waiting = await submit({ ...inbound, email: email("queued") }, t0);
  assert.deepEqual([(await lead(waiting)).owner_kind, (await lead(waiting)).owner_id], ["queue", "inbound"]);
  const clock = await db.prepare("SELECT first_touch_due FROM sla_clocks WHERE lead_id = ?").bind(waiting).first();
  assert.equal(clock.first_touch_due, t0 + 17 * HOUR, "30 minutes today, 30 from Friday 09:00");
  // 30 working minutes past the deadline (Friday 10:00): the step reaches the queue's team lead.
  await worker.tick(t0 + 17 * HOUR + 29 * MINUTE);
  assert.deepEqual(await events(waiting, "escalated"), []);
  await worker.tick(t0 + 17 * HOUR + 31 * MINUTE);
  const [escalated] = await events(waiting, "escalated");
  assert.equal(escalated.detail.to.id, "ben", JSON.stringify(escalated.detail));
  const take = (id, owner, now) => worker.json(`/v1/leads/${id}/take`, {
    method: "POST", admin: true, now, headers: { "content-type": "application/json" }, body: JSON.stringify({ owner }),
  });
  let r = await take(waiting, "ben", t0 + 18 * HOUR);
  assert.deepEqual([r.status, r.json.error.code], [403, "not_a_member"]);
  r = await take(waiting, "ana", t0 + 18 * HOUR);
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.json, { lead_id: waiting, queue: "inbound", owner: "ana", status: "accepted" });
  assert.deepEqual([(await lead(waiting)).owner_kind, (await lead(waiting)).owner_id, (await lead(waiting)).status], ["owner", "ana", "accepted"]);
  const [moved] = await events(waiting, "reassigned");
  assert.deepEqual([moved.actor, moved.detail.via, moved.detail.to], ["ana", "take", { kind: "owner", id: "ana" }]);
  r = await take(waiting, "ana", t0 + 19 * HOUR);
  assert.deepEqual([r.status, r.json.error.code], [409, "not_in_queue"]);
  assert.equal((await worker.fetch(`/v1/leads/${waiting}/take`, { method: "POST", body: "{}" })).status, 401);
});

test("the CRM intake drives the status too: a contact makes the lead working, a won deal closes it with its value", async () => {
  const t0 = EPOCH + 10 * DAY;
  await workEverything(t0);
  const crm = (items, now) => worker.json("/v1/crm/testcrm", {
    method: "POST", now, headers: { authorization: `Bearer ${CRM_TEST_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(items),
  });
  const [wins, loses] = [email("crm-won"), email("crm-lost")];
  const won = await submit({ ...SQL, email: wins }, t0);
  const lost = await submit({ ...SQL, email: loses }, t0 + MINUTE);
  let r = await crm([{ event: "email.sent", person: { email: wins } }], t0 + 2 * MINUTE);
  assert.equal(r.status, 200, r.text);
  assert.equal((await lead(won)).status, "working");
  r = await crm([
    { event: "deal.won", person: { email: wins }, deal: { amount: 51000, currency: "usd" } },
    { event: "deal.lost", person: { email: loses }, deal: { reason: "no_budget", amount: "9000", currency: "EUR" } },
    { event: "deal.won", person: { email: loses }, deal: { amount: "a lot", currency: "EUR" } },
  ], t0 + DAY);
  assert.deepEqual([r.json.applied, r.json.ignored], [2, [{ index: 2, code: "crm.bad_amount" }]]);
  const shown = async (id) => (await worker.json(`/v1/leads/${id}`, { admin: true, now: t0 + DAY })).json;
  assert.deepEqual([(await shown(won)).status, (await shown(won)).deal], ["won", { amount: 51000, currency: "USD" }]);
  assert.deepEqual([(await shown(lost)).status, (await shown(lost)).deal], ["lost", { amount: 9000, currency: "EUR" }]);
  assert.deepEqual((await events(lost, "status_changed")).map((e) => [e.detail.from, e.detail.to, e.detail.reason, e.detail.via, e.actor]),
    [["new", "lost", "no_budget", "crm", "testcrm"]]);
});
