// Bounded CRM intakes (issue 20, item 5) on real workerd (Miniflare) with real local D1: a
// 500-item `POST /v1/crm/{id}` is applied in chunks, each one batch of set-based statements of at
// most 40 (plan.rs's BATCH_STATEMENTS), the whole request within the plan's D1 queries per
// invocation (plan.rs: 1,000 paid, 50 free), or, on the free plan, over the retries the Worker
// asks for (429 crm_partially_applied with Retry-After); the result is the one applying the items
// one request at a time gives. The same request sent twice applies nothing the second time, and
// one that failed after some chunks applies only the rest when sent again. The cost comes from
// the test-mode headers (x-handoff-d1-statements, x-handoff-d1-largest-batch). Every instant is
// EPOCH-based.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DAY, EPOCH, HOUR, MINUTE, randomToken, ROOT, startWorker } from "./support/edge.mjs";

// plan.rs: queries per invocation by plan, the most statements of one batch.
const FREE = 50;
const PAID = 1000;
const BATCH_STATEMENTS = 40;

const TOKEN = randomToken();
const INTAKE = `
[[crm.intakes]]
id = "bulk"
secret = "CRM_BULK_TOKEN"
email = "/person/email"
domain = "/company/domain"
event = "/event"
amount = "/deal/amount"
currency = "/deal/currency"
reason = "/deal/reason"

[crm.intakes.events]
"email.sent" = "contacted"
"deal.created" = "deal_opened"
"sequence.enrolled" = "sequence_started"
"deal.won" = "deal_won"
"deal.lost" = "deal_lost"
`;

let paid, free;
before(async () => {
  const common = { config: join(ROOT, "tests/fixtures/sla.toml"), extraToml: INTAKE };
  const bindings = { CRM_BULK_TOKEN: TOKEN, RATE_LIMIT_PER_MINUTE: "100000" };
  paid = await startWorker({ ...common, bindings: { ...bindings, WORKER_PLAN: "paid" } });
  free = await startWorker({ ...common, bindings });
});
after(async () => {
  await paid?.dispose();
  await free?.dispose();
});

const email = (prefix, i) => `${prefix}${i}@bulk.example`;

// `n` open leads, `${prefix}${i}`, owned by Ana, created at `at`, each on a running clock: as the
// intake stores them (with the person's key), in two statements.
async function fill(db, prefix, n, at) {
  await db.prepare(
    `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
     INSERT INTO leads (id, form_id, email, person_key, account_key, answers, bundle_version, created_at, score, grade,
       lifecycle, evaluation, owner_kind, owner_id, status, updated_at)
     SELECT ?3 || i, 'contact', ?3 || i || '@bulk.example', 'email:' || ?3 || i || '@bulk.example',
       'domain:bulk.example', '{}', 'test', ?2, 80, 'A', 'sql', '{}', 'owner', 'ana', 'new', ?2 FROM k`,
  ).bind(n, at, prefix).run();
  await db.prepare(
    `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
     INSERT INTO sla_clocks (lead_id, policy, pool, started_at, first_touch_due, steps, summary, level,
       next_at, updated_at)
     SELECT ?3 || i, 'us', 'na', ?2, ?2 + 900000,
       json_array(json_object('level', 1, 'due_ms', CAST(?2 + 900000 AS INTEGER), 'to', 'team_lead', 'reassign', json('false'))),
       '{"lifecycle":"sql","score":80}', 0, ?2 + 900000, ?2 FROM k`,
  ).bind(n, at, prefix).run();
}

// 500 items about 250 people with leads (`${prefix}1` … `${prefix}250`) and some without: each
// person's first item in the first half of the body, their second in the second half, so that a
// person's two items fall in different chunks. Five kinds of person: contacted then won; a deal
// opened at their company then contacted; in a sequence then lost; contacted twice; and someone
// with no lead whose deal opens, with an item the intake does not know.
function items(prefix) {
  const first = [];
  const second = [];
  for (let i = 1; i <= 250; i++) {
    const person = { email: email(prefix, i) };
    switch (i % 5) {
      case 0:
        first.push({ event: "email.sent", person });
        second.push({ event: "deal.won", person, deal: { amount: 100 * i, currency: "eur" } });
        break;
      case 1:
        first.push({ event: "deal.created", person, company: { domain: `co-${prefix}${i}.example` } });
        second.push({ event: "email.sent", person });
        break;
      case 2:
        first.push({ event: "sequence.enrolled", person });
        second.push({ event: "deal.lost", person, deal: { reason: "no_budget", amount: i, currency: "USD" } });
        break;
      case 3:
        first.push({ event: "email.sent", person });
        second.push({ event: "email.sent", person: { email: person.email.toUpperCase() } });
        break;
      default:
        first.push({ event: "deal.created", person: { email: email(`${prefix}nolead-`, i) }, company: { domain: `co-${prefix}${i}.example` } });
        second.push({ event: "webinar.attended", person });
    }
  }
  return [...first, ...second];
}

const post = (worker, body, now) => worker.json("/v1/crm/bulk", {
  method: "POST", now, body: typeof body === "string" ? body : JSON.stringify(body),
  headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
});
const cost = (r) => ({
  statements: Number(r.headers.get("x-handoff-d1-statements")),
  largest: Number(r.headers.get("x-handoff-d1-largest-batch")),
});

// What D1 holds about each person of `prefix`, with the prefix taken out of every id, so that
// two populations treated the same compare equal: four reads for the whole population, and a
// function from the person's number to their state.
async function states(worker, prefix) {
  const { db } = worker;
  const like = `${prefix}%`;
  const rows = async (sql, bind) => (await db.prepare(sql).bind(bind).all()).results;
  const leads = await rows("SELECT id, status, deal_amount, deal_currency, owner_id FROM leads WHERE id LIKE ?1", like);
  const clocks = await rows("SELECT lead_id, stopped, touched_at, touched_by, accepted_at, next_at, updated_at FROM sla_clocks WHERE lead_id LIKE ?1", like);
  const events = await rows("SELECT lead_id, kind, actor, at, detail FROM lead_events WHERE lead_id LIKE ?1 ORDER BY seq", like);
  const facts = await rows(
    "SELECT subject, active_deal, in_sequence, last_contacted_at, source, updated_at FROM crm_facts WHERE subject LIKE ?1 ORDER BY subject",
    `%${prefix}%`,
  );
  const byId = (list, key) => new Map(list.map(({ [key]: id, ...rest }) => [id, rest]));
  const leadOf = byId(leads, "id"), clockOf = byId(clocks, "lead_id");
  const strip = (v) => JSON.parse(JSON.stringify(v).replaceAll(prefix, "P-"));
  return (i) => {
    const id = `${prefix}${i}`;
    const subjects = [`email:${email(prefix, i)}`, `email:${email(`${prefix}nolead-`, i)}`, `domain:co-${prefix}${i}.example`];
    return strip({
      lead: leadOf.get(id) ?? null,
      clock: clockOf.get(id) ?? null,
      events: events.filter((e) => e.lead_id === id)
        .map((e) => `${e.kind} ${e.actor} ${e.at} ${JSON.stringify(JSON.parse(e.detail))}`).sort(),
      facts: facts.filter((f) => subjects.includes(f.subject)),
    });
  };
}

// The same without the instants: what two requests made at different times both wrote.
async function shapes(worker, prefix) {
  const state = await states(worker, prefix);
  return (i) => {
    const { lead, clock, events, facts } = state(i);
    return {
      lead,
      clock: clock && { stopped: clock.stopped, touched_by: clock.touched_by, accepted: clock.accepted_at !== null, running: clock.next_at !== null },
      events: events.map((e) => e.replace(/^(\S+ \S+) \d+ /, "$1 ")).sort(),
      facts: facts.map((f) => ({ ...f, last_contacted_at: f.last_contacted_at !== null, updated_at: undefined })),
    };
  };
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

test("a 500-item intake on the paid plan: one request within the plan's queries, batches of at most 40, the result of one item at a time", { timeout: 180_000 }, async () => {
  const at = EPOCH + DAY;
  await fill(paid.db, "p-", 250, at);
  await fill(paid.db, "r-", 250, at);
  const now = at + 5 * MINUTE;
  const r = await post(paid, items("p-"), now);
  assert.equal(r.status, 200, r.text);
  const { statements, largest } = cost(r);
  console.log(`paid plan, 500 items: ${statements} D1 statements in one request, the largest batch ${largest}`);
  assert.ok(statements <= PAID, `${statements} statements`);
  assert.ok(largest > 0 && largest <= BATCH_STATEMENTS, `a batch of ${largest}`);
  // Person i's second item is at 249 + i: every fifth person's is one the intake does not know.
  const unknown = Array.from({ length: 50 }, (_, k) => ({ index: 253 + 5 * k, code: "crm.unknown_event" }));
  assert.deepEqual(r.json, { applied: 450, first_touches: 150, ignored: unknown });
  assert.equal((await paid.db.prepare("SELECT COUNT(*) AS n FROM crm_chunks").first()).n, 5);

  // The same items, one request each, on leads of their own.
  for (const item of items("r-")) {
    const one = await post(paid, [item], now);
    assert.equal(one.status, 200, one.text);
  }
  const [bulk, single] = [await states(paid, "p-"), await states(paid, "r-")];
  for (let i = 1; i <= 250; i++) assert.deepEqual(bulk(i), single(i), `person ${i}`);
  const statuses = (await paid.db.prepare("SELECT status, COUNT(*) AS n FROM leads WHERE id LIKE 'p-%' GROUP BY status ORDER BY status").all()).results;
  assert.deepEqual(statuses, [{ status: "lost", n: 50 }, { status: "new", n: 50 }, { status: "won", n: 50 }, { status: "working", n: 100 }]);

  // Sent again: nothing applied, the same answer, one read.
  const again = await post(paid, items("p-"), now + MINUTE);
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.json, r.json);
  assert.equal(cost(again).statements, 1);
  assert.equal((await paid.db.prepare("SELECT COUNT(*) AS n FROM lead_events WHERE lead_id LIKE 'p-%' AND kind = 'touch'").first()).n, 200);
});

test("on the free plan the same intake completes over the retries it asks for, each within 50 queries", { timeout: 180_000 }, async () => {
  const at = EPOCH + 2 * DAY;
  await fill(free.db, "f-", 250, at);
  const now = at + 5 * MINUTE;
  const body = JSON.stringify(items("f-"));
  const answers = [];
  for (let attempt = 0; attempt < 10; attempt++) {
    const r = await post(free, body, now + attempt * MINUTE);
    const { statements, largest } = cost(r);
    assert.ok(statements <= FREE, `request ${attempt}: ${statements} statements`);
    assert.ok(largest <= BATCH_STATEMENTS, `request ${attempt}: a batch of ${largest}`);
    answers.push({ status: r.status, json: r.json, statements, largest });
    if (r.status === 200) break;
    assert.equal(r.status, 429, r.text);
    assert.equal(r.json.error.code, "crm_partially_applied");
    assert.equal(r.headers.get("retry-after"), "1");
    assert.ok(r.json.chunks.done < r.json.chunks.total);
  }
  console.log(`free plan, 500 items: ${answers.length} requests, ${answers.map((a) => a.statements).join(" + ")} D1 statements`);
  const last = answers.at(-1);
  assert.equal(last.status, 200, "completed");
  assert.ok(answers.length >= 2, "more than one request on the free plan");
  // The first request's answer says what it applied: part of the items, as the last says all.
  assert.ok(answers[0].json.applied < last.json.applied);
  assert.deepEqual([last.json.applied, last.json.first_touches, last.json.ignored.length], [450, 150, 50]);
  // As the paid plan's single request left its population.
  const [chunked, whole] = [await shapes(free, "f-"), await shapes(paid, "p-")];
  for (let i = 1; i <= 250; i++) assert.deepEqual(chunked(i), whole(i), `person ${i}`);
  const statuses = (await free.db.prepare("SELECT status, COUNT(*) AS n FROM leads WHERE id LIKE 'f-%' GROUP BY status ORDER BY status").all()).results;
  assert.deepEqual(statuses, [{ status: "lost", n: 50 }, { status: "new", n: 50 }, { status: "won", n: 50 }, { status: "working", n: 100 }]);
  assert.equal((await free.db.prepare("SELECT COUNT(*) AS n FROM lead_events WHERE lead_id LIKE 'f-%' AND kind = 'first_touch'").first()).n, 150);
});

test("a request that failed after some chunks applies only the rest when sent again", { timeout: 120_000 }, async () => {
  const { db } = paid;
  const at = EPOCH + 3 * DAY;
  await fill(db, "x-", 250, at);
  const now = at + 5 * MINUTE;
  const body = JSON.stringify(items("x-"));
  // The lead of an item in the fourth chunk (index 310: the second item of person 61) cannot
  // take events for now.
  await db.prepare(
    "CREATE TRIGGER crm_chunks_test_failure BEFORE INSERT ON lead_events WHEN NEW.lead_id = 'x-61' BEGIN SELECT RAISE(ABORT, 'forced failure'); END",
  ).run();
  const failed = await post(paid, body, now);
  assert.ok(failed.status >= 500, failed.text);
  await db.prepare("DROP TRIGGER crm_chunks_test_failure").run();
  // The request's key: SHA-256 of the intake's id and the body.
  const request = sha256(`bulk\n${body}`);
  const chunks = (await db.prepare("SELECT chunk FROM crm_chunks WHERE request = ? ORDER BY chunk").bind(request).all()).results.map((c) => c.chunk);
  assert.deepEqual(chunks, [0, 1, 2], "the chunks before the failure are applied and recorded");
  // Person 61's first item (index 60, a deal at their company) was applied; their second (a
  // contact) not yet.
  const facts61 = await db.prepare("SELECT active_deal FROM crm_facts WHERE subject = 'email:x-61@bulk.example'").first();
  assert.equal(facts61.active_deal, 1);
  assert.equal((await paid.events("x-61", "touch")).length, 0);

  const done = await post(paid, body, now + MINUTE);
  assert.equal(done.status, 200, done.text);
  assert.deepEqual([done.json.applied, done.json.first_touches, done.json.ignored.length], [450, 150, 50]);
  // Every item applied once: as the paid test's population, applied in one go.
  const [resumed, whole] = [await shapes(paid, "x-"), await shapes(paid, "p-")];
  for (let i = 1; i <= 250; i++) assert.deepEqual(resumed(i), whole(i), `person ${i}`);
  assert.equal((await db.prepare("SELECT COUNT(*) AS n FROM lead_events WHERE lead_id LIKE 'x-%' AND kind = 'touch'").first()).n, 200);
  assert.equal((await db.prepare("SELECT COUNT(*) AS n FROM crm_chunks WHERE request = ?").bind(request).first()).n, 5);
});

test("crm_chunks rows are pruned by age (RETAIN_CRM_CHUNKS_DAYS, default 7)", { timeout: 60_000 }, async () => {
  const { db } = free;
  const before = (await db.prepare("SELECT COUNT(*) AS n FROM crm_chunks").first()).n;
  assert.ok(before > 0);
  await free.tick(EPOCH + 9 * DAY - HOUR);
  assert.equal((await db.prepare("SELECT COUNT(*) AS n FROM crm_chunks").first()).n, before, "a week old: kept");
  await free.tick(EPOCH + 9 * DAY + HOUR);
  assert.equal((await db.prepare("SELECT COUNT(*) AS n FROM crm_chunks").first()).n, 0);
});
