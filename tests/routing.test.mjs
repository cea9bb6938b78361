// Routing at the edge, on real workerd (Miniflare) with real local D1: every lead owned the moment
// it is stored, for a reason anyone can read; pools shared by weight under concurrency; working
// hours, capacity, accounts and fallbacks; a returning person merged into their lead. The bundle
// is tests/fixtures/routing.toml; the clock is set per request (the test-only TEST_CLOCK variable).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { EPOCH, HOUR, MINUTE, ROOT, startWorker } from "./support/edge.mjs";

let worker, mf, db, token;
// Tuesday 09:30 UTC: 10:30 in Berlin (Dee works), 04:30 in New York (Eve does not).
const TUESDAY_MORNING = EPOCH - 30 * MINUTE;

before(async () => {
  worker = await startWorker({ config: join(ROOT, "tests/fixtures/routing.toml"), bindings: { RATE_LIMIT_PER_MINUTE: "100000" } });
  ({ mf, db, adminToken: token } = worker);
});
after(() => worker?.dispose());

let n = 0;
const trips = [];
async function submit(answers, { now = TUESDAY_MORNING, honeypot = "" } = {}) {
  const r = await mf.dispatchFetch("http://localhost/v1/leads", {
    method: "POST",
    headers: { "content-type": "application/json", "x-test-now-ms": String(now), "idempotency-key": crypto.randomUUID() },
    body: JSON.stringify({ form: "contact", answers, context: { honeypot, fill_ms: 60_000 } }),
  });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  trips.push(Number(r.headers.get("x-handoff-d1-round-trips")));
  return JSON.parse(text).id;
}
const email = (who = "lead") => `${who}-${++n}@example.com`;
const lead = (id) => db.prepare("SELECT owner_kind, owner_id, status, merged_into FROM leads WHERE id = ?").bind(id).first();
const events = async (id) => (await db.prepare("SELECT kind, detail FROM lead_events WHERE lead_id = ? ORDER BY seq").bind(id).all())
  .results.map((e) => ({ kind: e.kind, detail: JSON.parse(e.detail) }));
const routed = async (id) => (await events(id)).find((e) => e.kind === "routed")?.detail;

test("60 concurrent submissions to one pool: each assigned once, 3:2:1 exactly, no turn taken twice", async () => {
  const ids = await Promise.all(Array.from({ length: 60 }, () => submit({ email: email("na"), country: "US" })));
  const owners = {};
  for (const id of ids) {
    const row = await lead(id);
    assert.equal(row.owner_kind, "owner");
    owners[row.owner_id] = (owners[row.owner_id] ?? 0) + 1;
    const kinds = (await events(id)).map((e) => e.kind);
    assert.deepEqual(kinds, ["created", "routed"], "one routing per lead");
  }
  assert.deepEqual(owners, { ana: 30, ben: 20, cy: 10 });
  const log = (await db.prepare("SELECT seq, lead_id FROM rotation_log WHERE pool = 'na' ORDER BY seq").all()).results;
  assert.deepEqual(log.map((r) => r.seq), Array.from({ length: 60 }, (_, i) => i + 1), "turns numbered without gaps");
  assert.equal(new Set(log.map((r) => r.lead_id)).size, 60, "every lead took exactly one turn");
  const counts = (await db.prepare("SELECT owner, assigned FROM rotation WHERE pool = 'na' ORDER BY owner").all()).results;
  assert.deepEqual(counts.map((r) => [r.owner, r.assigned]), [["ana", 30], ["ben", 20], ["cy", 10]]);
});

test("a submission costs three D1 round trips: its client's count, one batch of reads, one batch of writes", async () => {
  // The count is sent before the body is read (and awaited while it is read), so that a client's
  // malformed and invalid submissions count against its limit too.
  trips.length = 0;
  await submit({ email: email("trips"), country: "US" });
  await submit({ email: email("trips"), country: "FR" });
  assert.deepEqual(trips, [3, 3]);
});

test("working hours and capacity decide in the EMEA pool; the rule's fallback catches the rest", async () => {
  const first = await submit({ email: email("de"), country: "DE" });
  const second = await submit({ email: email("de"), country: "DE" });
  const third = await submit({ email: email("de"), country: "DE" });
  assert.deepEqual([(await lead(first)).owner_id, (await lead(second)).owner_id], ["dee", "dee"], "Eve is asleep in New York");
  const explained = await routed(first);
  const eve = explained.attempts[0].candidates.find((c) => c.owner === "eve");
  assert.equal(eve.skip, "outside_hours");
  // Dee now holds two open leads, her capacity: the pool has nobody, the rule's fallback takes it.
  assert.deepEqual(await lead(third), { owner_kind: "queue", owner_id: "emea_overflow", status: "new", merged_into: null });
  const overflow = await routed(third);
  assert.equal(overflow.by.kind, "rule_fallback");
  assert.deepEqual(overflow.attempts[0].candidates.map((c) => [c.owner, c.skip]), [["dee", "at_capacity"], ["eve", "outside_hours"]]);
  // At 15:30 UTC (10:30 in New York) Eve works, and takes the next one.
  const later = await submit({ email: email("de"), country: "DE" }, { now: TUESDAY_MORNING + 6 * HOUR });
  assert.equal((await lead(later)).owner_id, "eve");
});

test("the admin API shows each pool's rotation: who is next, counts, open leads, availability", async () => {
  const get = (auth) => mf.dispatchFetch("http://localhost/v1/pools", {
    headers: { "x-test-now-ms": String(TUESDAY_MORNING), ...(auth ? { authorization: `Bearer ${token}` } : {}) } });
  assert.equal((await get(false)).status, 401);
  const { pools } = await (await get(true)).json();
  assert.deepEqual(pools.map((p) => p.pool), ["na", "emea"]);
  const na = pools[0];
  // After the 60 leads above and a few more, counts stay in proportion; everyone works always.
  assert.ok(na.members.every((m) => m.available && m.assigned > 0), JSON.stringify(na));
  assert.equal(na.members.filter((m) => m.next).length, 1);
  assert.equal(na.next, na.members.find((m) => m.next).owner);
  const emea = pools[1];
  const dee = emea.members.find((m) => m.owner === "dee");
  assert.deepEqual([dee.open, dee.capacity, dee.available, dee.unavailable], [2, 2, false, "at_capacity"]);
  const eve = emea.members.find((m) => m.owner === "eve");
  assert.equal(eve.unavailable, "outside_hours");
  assert.equal(emea.next, null, "nobody can take an EMEA lead right now");
});

test("a known account's lead goes to its owner; no rule matching goes to the global fallback", async () => {
  const account = await submit({ email: "buyer@eu.contoso.example", country: "US" });
  assert.equal((await lead(account)).owner_id, "sam");
  assert.deepEqual((await routed(account)).by, { kind: "account", account: "contoso" });
  const nobody = await submit({ email: email("fr"), country: "FR" });
  assert.deepEqual(await lead(nobody), { owner_kind: "queue", owner_id: "unassigned", status: "new", merged_into: null });
  assert.equal((await routed(nobody)).by.kind, "global_fallback");
});

test("a returning person is merged into their lead: same owner, the new submission on it, no new turn", async () => {
  const address = email("back");
  const first = await submit({ email: address, country: "US" });
  const turns = async () => (await db.prepare("SELECT COUNT(*) AS n FROM rotation_log").first()).n;
  const before = await turns();
  const again = await submit({ email: address.replace("@example.com", "@EXAMPLE.com"), country: "DE" });
  const owner = (await lead(first)).owner_id;
  assert.deepEqual(await lead(again), { owner_kind: "owner", owner_id: owner, status: "merged", merged_into: first });
  assert.equal(await turns(), before, "no rotation turn for a repeat");
  const merged = (await events(first)).find((e) => e.kind === "merged");
  assert.equal(merged.detail.lead, again);
  assert.equal(merged.detail.answers.country, "DE");
  assert.equal((await routed(again)), undefined, "the repeat is not routed");
});

test("a bot's submission is stored rejected and never routed", async () => {
  const id = await submit({ email: email("bot"), country: "US" }, { honeypot: "buy now" });
  assert.deepEqual(await lead(id), { owner_kind: null, owner_id: null, status: "rejected", merged_into: null });
  assert.deepEqual((await events(id)).map((e) => e.kind), ["created"]);
});

// A submission's cost in D1, as the Worker reports it in test mode.
async function cost(answers, key = crypto.randomUUID()) {
  const r = await mf.dispatchFetch("http://localhost/v1/leads", {
    method: "POST",
    headers: { "content-type": "application/json", "x-test-now-ms": String(TUESDAY_MORNING), "idempotency-key": key },
    body: JSON.stringify({ form: "contact", answers, context: { honeypot: "", fill_ms: 60_000 } }),
  });
  const json = await r.json();
  const header = (name) => Number(r.headers.get(`x-handoff-d1-${name}`));
  return { status: r.status, json, trips: header("round-trips"), read: header("rows-read"), written: header("rows-written") };
}

// A year of closed leads of the same owners, with their events, rotation turns and keys: `count`
// more, numbered from `from`.
async function history(from, count) {
  const gen = `WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${from + count - 1})`;
  const created = `(${TUESDAY_MORNING - 400 * 24 * HOUR} + i * 10000000)`;
  await db.batch([
    db.prepare(`${gen} INSERT INTO leads (id, form_id, email, answers, bundle_version, created_at, owner_kind, owner_id, status, person_key)
      SELECT 'old-' || i, 'contact', 'old' || i || '@example.com', '{}', 'old', ${created}, 'owner',
        CASE i % 3 WHEN 0 THEN 'ana' WHEN 1 THEN 'ben' ELSE 'cy' END, CASE i % 2 WHEN 0 THEN 'won' ELSE 'lost' END,
        'email:old' || i || '@example.com' FROM n`),
    db.prepare(`${gen} INSERT INTO lead_events (lead_id, at, kind, detail) SELECT 'old-' || i, ${created}, 'routed', '{}' FROM n`),
    db.prepare(`${gen} INSERT INTO rotation_log (pool, seq, owner, lead_id, at) SELECT 'archive', i, 'ana', 'old-' || i, ${created} FROM n`),
    db.prepare(`${gen} INSERT INTO idempotency_keys (key, body_sha256, lead_id, status, response, created_at)
      SELECT 'old-' || i, 'x', 'old-' || i, 201, '{}', ${created} FROM n`),
  ]);
}

test("a routed submission reads and writes the same D1 rows with 6 and with 3,006 leads of history", async () => {
  await history(1, 6);
  // A turn for each member of the pool (3:2:1), so that each holds new leads.
  for (let i = 0; i < 6; i++) await cost({ email: email("warm"), country: "US" });
  const small = await cost({ email: email("small"), country: "US" });
  assert.equal(small.status, 201, JSON.stringify(small.json));
  await history(7, 3000);
  const large = await cost({ email: email("large"), country: "US" });
  assert.equal(large.status, 201, JSON.stringify(large.json));
  assert.ok(small.read > 0 && small.written > 0, "D1 reports rows");
  assert.deepEqual([large.read, large.written], [small.read, small.written], "rows read and written do not grow with the history");
});

test("a lost rotation turn is routed again at most 8 times; any other failure is answered at once", async () => {
  // Every batch of the `loses-` leads loses its turn, as if a concurrent submission always won.
  await db.prepare(`CREATE TRIGGER test_loses BEFORE UPDATE ON pool_turns
    WHEN EXISTS (SELECT 1 FROM leads WHERE email LIKE 'loses-%') BEGIN SELECT RAISE(ABORT, 'rotation_turn_lost'); END`).run();
  await db.prepare(`CREATE TRIGGER test_fails BEFORE INSERT ON lead_events
    WHEN EXISTS (SELECT 1 FROM leads WHERE email LIKE 'fails-%') BEGIN SELECT RAISE(ABORT, 'disk full'); END`).run();
  try {
    const key = crypto.randomUUID();
    const answers = { email: email("loses"), country: "US" };
    const lost = await cost(answers, key);
    assert.equal(lost.status, 503);
    assert.equal(lost.json.error.code, "routing_busy");
    // The count; the reads; 8 write batches with a fresh read of the state between them; the
    // key's check.
    assert.equal(lost.trips, 1 + 1 + 8 + 7 + 1);
    const failed = await cost({ email: email("fails"), country: "US" });
    assert.equal(failed.status, 503);
    assert.equal(failed.json.error.code, "storage_unavailable");
    assert.equal(failed.trips, 1 + 1 + 1 + 1, "one write batch, not retried");
    const stored = await db.prepare("SELECT COUNT(*) AS n FROM leads WHERE email LIKE 'loses-%' OR email LIKE 'fails-%'").first();
    assert.equal(stored.n, 0, "nothing stored");
    // Nothing stored the key either: the client's retry goes through once the pool is free.
    await db.prepare("DROP TRIGGER test_loses").run();
    const retried = await cost(answers, key);
    assert.equal(retried.status, 201, JSON.stringify(retried.json));
  } finally {
    await db.prepare("DROP TRIGGER IF EXISTS test_loses").run();
    await db.prepare("DROP TRIGGER IF EXISTS test_fails").run();
  }
});
