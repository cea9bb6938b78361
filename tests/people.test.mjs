// A person's data on real workerd (Miniflare) with real local D1, KV and R2: `GET
// /v1/people/{email}` finds everything Handoff holds about one person (their live and archived
// leads, events, outbox messages, SLA clock, CRM record and facts, visitor profiles) and nothing
// of anyone else; `DELETE` erases every copy (afterwards no D1 table, KV key or R2 object holds
// their email, company or phone), leaves the other person's data as it was and the reports'
// numbers as they were, stops their pending notification, logs the erasure without personal data,
// and a second one is a harmless 404. Times are the test clock's (EPOCH-based).
import assert from "node:assert/strict";
import { DEMO_CONSENT } from "./support/consent.mjs";
import { after, before, test } from "node:test";
import { DAY, EPOCH, MINUTE, startReceiver, startWorker } from "./support/edge.mjs";

const T = EPOCH;
const ANA = "ana.souza@people-erasure.example";
const BO = "bo.berg@people-erasure.example";
// What must be gone after the erasure: Ana's address, her companies, her phone number.
const ANA_TEXTS = ["ana.souza", "souza", "4155550123"];

let worker, receiver;

before(async () => {
  // The live lead's notification fails (500) until the erasure, so it is pending when it runs.
  receiver = await startReceiver(({ body }) => (body.includes("Souza Labs") ? 500 : 200));
  worker = await startWorker({
    extraToml: `
[[notify.channels]]
id = "crm_hook"
kind = "webhook"
url = "${receiver.url("/hook")}"
secret = "PEOPLE_HOOK_SECRET"
`,
    bindings: {
      PEOPLE_HOOK_SECRET: "whsec_" + Buffer.from("people-erasure-test-secret").toString("base64"),
      PEOPLE_INDEX_KEY: "people-index-key-for-tests",
      RATE_LIMIT_PER_MINUTE: "100000",
      ARCHIVE_AFTER_DAYS: "90",
    },
  });
});
after(async () => {
  await worker?.dispose();
  await receiver?.close();
});

// A sales-ready lead from the US, as the form sends it.
const lead = (email, company, visitor, source, phone = email === ANA ? "+1 415 555 0123" : "+1 415 555 0199") => ({
  form: "demo",
  visitor,
  answers: {
    email, company, company_size: "201-1000", role: "Data", country: "United States",
    phone, interest: "A demo", consent: true,
  },
  attribution: {
    utm: { source, campaign: "spring" },
    referrer: `https://news.example/story?reader=${email}`,
    landing_page: `https://northwind.example/pricing?email=${email}`,
    consent: DEMO_CONSENT,
  },
  context: { fill_ms: 40_000 },
});
const admin = (path, options = {}) => worker.json(path, { admin: true, now: T + 10 * MINUTE, ...options });
const event = async (id, at, body) => {
  const r = await worker.json(`/v1/leads/${id}/events`, {
    method: "POST", admin: true, now: at, headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  assert.equal(r.status, 201, r.text);
};
const rows = async (sql, ...binds) => (await worker.db.prepare(sql).bind(...binds).all()).results;
const until = async (what, check) => {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((ok) => setTimeout(ok, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
};
// Every D1 table's rows, every KV key and value, every R2 object, as one text per store.
const everything = async () => {
  const tables = (await rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'"))
    .map((t) => t.name);
  const d1 = {};
  for (const table of tables) d1[table] = JSON.stringify(await rows(`SELECT * FROM "${table}"`));
  const keys = (await worker.kv.list()).keys.map((k) => k.name);
  const kv = {};
  for (const key of keys) kv[key] = await worker.kv.get(key);
  const bucket = await worker.mf.getR2Bucket("ARCHIVE");
  const r2 = {};
  for (const o of (await bucket.list()).objects) r2[o.key] = await (await bucket.get(o.key)).text();
  return { tables, d1, kv, r2 };
};
const metrics = async () =>
  (await admin(`/v1/metrics?from=${T - 300 * DAY}&to=${T + 2 * DAY}&group_by=source`)).json;
const person = (email) => admin(`/v1/people/${encodeURIComponent(email)}`);

test("a person's data found, erased from every store, the rest and the reports kept whole", async () => {
  // Ana's first lead, won long ago, goes to the archive with Bo's, in the same chunk.
  const anaOld = await worker.submit(lead(ANA, "Souza Analytics", "visitor-ana-old-0001", "newsletter"), { now: T - 200 * DAY });
  const boOld = await worker.submit(lead(BO, "Berg Tools", "visitor-bo-old-0001", "newsletter"), { now: T - 200 * DAY + MINUTE });
  for (const [id, note] of [[anaOld, "Signed after a call with Ana Souza"], [boOld, "Signed after a call"]]) {
    await event(id, T - 150 * DAY, { type: "outcome", outcome: "won", amount: 1200, currency: "EUR", actor: "maya", note });
  }
  for (let minute = 0; minute < 2; minute++) await worker.tick(T + minute * MINUTE);
  const index = async () => (await rows("SELECT person, lead_id, chunk FROM archive_people ORDER BY lead_id"));
  const indexed = await index();
  assert.deepEqual(indexed.map((r) => r.lead_id), [anaOld, boOld].sort(), "the archive indexed both people's leads");
  assert.equal(new Set(indexed.map((r) => r.person)).size, 2);
  assert.ok(indexed.every((r) => /^[0-9a-f]{64}$/.test(r.person)), "by a hash, never the address");
  assert.equal((await rows("SELECT id FROM leads WHERE id IN (?1, ?2)", anaOld, boOld)).length, 0);
  // A chunk archived before the index existed is indexed by the next idle tick, the same way.
  await worker.db.batch([
    worker.db.prepare("DELETE FROM archive_people"),
    worker.db.prepare("UPDATE archive_chunks SET indexed = NULL"),
  ]);
  await worker.tick(T + 2 * MINUTE);
  assert.deepEqual(await index(), indexed, "the backfill indexed the old chunk again");
  assert.deepEqual((await rows("SELECT indexed FROM archive_chunks")).map((r) => r.indexed), [1]);

  // Ana's live lead (its notification failing, so pending; an SLA clock; the CRM's facts; a CRM
  // record), and Bo's.
  const anaNew = await worker.submit(lead(ANA, "Souza Labs", "visitor-ana-new-0001", "webinar"), { now: T + 3 * MINUTE });
  const boNew = await worker.submit(lead(BO, "Berg Tools", "visitor-bo-new-0001", "webinar"), { now: T + 3 * MINUTE });
  await until("Bo's notification delivered", async () =>
    (await rows("SELECT state FROM outbox WHERE lead_id = ?1", boNew)).every((r) => r.state === "delivered"));
  await until("Ana's notification failed", async () =>
    (await rows("SELECT attempts FROM outbox WHERE lead_id = ?1 AND state = 'pending'", anaNew)).some((r) => r.attempts > 0));
  await event(anaNew, T + 4 * MINUTE, { type: "deal", active: true, actor: "maya" });
  await worker.db.prepare(
    "INSERT INTO crm_records (lead_id, push_id, target, state, version, synced_version, next_at, snapshot, record_id, created_at) " +
    "VALUES (?1, 'hubspot', 'hubspot', 'synced', 1, 1, 0, ?2, '901', ?3)",
  ).bind(anaNew, JSON.stringify({ email: ANA, company: "Souza Labs" }), T + 4 * MINUTE).run();
  await worker.tick(T + 5 * MINUTE); // folds the reports
  assert.equal((await rows("SELECT 1 FROM sla_clocks WHERE lead_id = ?1", anaNew)).length, 1, "Ana's lead has a clock");

  // GET: all of Ana, none of Bo; her address found whatever its case.
  const got = await person("Ana.Souza@People-Erasure.EXAMPLE");
  assert.equal(got.status, 200, got.text);
  const doc = got.json;
  assert.equal(doc.email.toLowerCase(), ANA);
  assert.deepEqual(doc.leads.map((l) => l.id), [anaNew]);
  assert.equal(doc.leads[0].answers.company, "Souza Labs");
  assert.equal(doc.leads[0].attribution.consent.text, DEMO_CONSENT.text);
  assert.deepEqual(doc.archived.leads.map((l) => l.id), [anaOld]);
  assert.equal(doc.archived.leads[0].answers.company, "Souza Analytics");
  assert.deepEqual([...new Set(doc.archived.records.map((r) => r.lead_id))], [anaOld]);
  assert.ok(doc.archived.log.length > 0 && doc.archived.log.every((e) => e.lead_id === anaOld));
  assert.ok(doc.events.length > 0 && doc.events.every((e) => e.lead_id === anaNew));
  assert.deepEqual(doc.outbox.map((o) => [o.lead_id, o.state]), [[anaNew, "pending"]]);
  assert.ok(JSON.stringify(doc.outbox[0].payload).includes("Souza Labs"));
  assert.deepEqual(doc.sla_clocks.map((c) => c.lead_id), [anaNew]);
  assert.deepEqual(doc.crm_records.map((r) => r.record_id), ["901"]);
  assert.deepEqual(doc.crm_facts.map((f) => [f.subject, f.active_deal]), [[`email:${ANA}`, 1]]);
  assert.deepEqual(doc.profiles.map((p) => p.visitor).sort(), ["visitor-ana-new-0001", "visitor-ana-old-0001"]);
  assert.ok(!got.text.toLowerCase().includes("berg"), "nothing of Bo");

  const before = await everything();
  for (const text of ANA_TEXTS) {
    assert.ok(Object.values(before.d1).some((t) => t.toLowerCase().includes(text)), `D1 held ${text} before`);
    assert.ok(Object.values(before.r2).some((t) => t.toLowerCase().includes(text)), `R2 held ${text} before`);
  }
  const boBefore = await person(BO);
  const reportBefore = await metrics();
  const heardBefore = receiver.received.length;

  // DELETE: the counts per store.
  const erased = await admin(`/v1/people/${encodeURIComponent(ANA)}`, { method: "DELETE" });
  assert.equal(erased.status, 200, erased.text);
  assert.deepEqual({ ...erased.json.erased, events: undefined }, {
    leads: 1, events: undefined, outbox: 1, sla_clocks: 1, crm_records: 1, crm_facts: 1, profiles: 2,
    archived: 1, archive_files: 3,
  });
  assert.ok(erased.json.erased.events > 0);
  assert.match(erased.json.erasure, /^[0-9a-f-]{36}$/);

  // No table, KV key or R2 object holds Ana's data; Bo's lines and rows are as they were.
  const now = await everything();
  for (const text of ANA_TEXTS) {
    for (const [store, texts] of Object.entries({ d1: now.d1, kv: now.kv, r2: now.r2 })) {
      for (const [name, content] of Object.entries(texts)) {
        assert.ok(!String(content).toLowerCase().includes(text), `${store} ${name} still holds ${text}`);
      }
    }
  }
  assert.ok(!Object.keys(now.kv).some((k) => k.includes("visitor-ana")), "Ana's profiles are gone");
  assert.ok(Object.keys(now.kv).includes("profile/visitor-bo-new-0001"), "Bo's profile stays");
  assert.deepEqual(await person(BO), boBefore, "Bo's data is untouched");
  for (const [key, text] of Object.entries(before.r2)) {
    const bo = (t) => t.split("\n").filter((l) => l.includes(boOld));
    assert.deepEqual(bo(now.r2[key]), bo(text), `${key}: Bo's lines as they were`);
  }
  // Ana's lead keeps its facts: status, owner, score, times, campaign, place.
  const [kept] = await rows("SELECT * FROM leads WHERE id = ?1", anaNew);
  assert.equal(kept.email, null);
  assert.equal(kept.answers, "{}");
  assert.equal(kept.visitor, null);
  assert.deepEqual(JSON.parse(kept.attribution), { utm: { source: "webinar", campaign: "spring" }, referrer: "https://news.example/" });
  assert.equal(JSON.parse(kept.evaluation).country_code, "US");
  assert.ok(kept.score > 0 && kept.status && kept.created_at === T + 3 * MINUTE);
  assert.deepEqual((await worker.events(anaNew, "erased")).map((e) => e.detail), [{ erasure: erased.json.erasure }]);
  const [archivedLine] = now.r2[Object.keys(now.r2).find((k) => k.startsWith("leads/"))]
    .split("\n").filter((l) => l.includes(anaOld)).map((l) => JSON.parse(l));
  assert.deepEqual([archivedLine.answers, archivedLine.visitor, archivedLine.outcome.status], [{}, null, "won"]);

  // The reports: the same counts, rates and money, now (the anonymized lead is dirty, counted
  // from its log) and after the cron folded it again.
  assert.deepEqual(await metrics(), reportBefore);
  await worker.tick(T + 6 * MINUTE);
  assert.equal((await rows("SELECT 1 FROM metric_leads WHERE version > folded")).length, 0, "all folded");
  assert.deepEqual(await metrics(), reportBefore);
  await worker.tick(T + DAY); // every retry and escalation is due: none of them says Ana's data
  const heard = receiver.received.slice(heardBefore);
  assert.ok(heard.every((r) => !ANA_TEXTS.some((t) => r.body.toLowerCase().includes(t))), "no message of Ana's is sent");

  // The erasure is logged without her data; it is gone; a second erasure is harmless.
  const log = await rows("SELECT * FROM erasures");
  assert.equal(log.length, 1);
  assert.deepEqual([log[0].id, log[0].actor, JSON.parse(log[0].counts)], [erased.json.erasure, "admin", erased.json.erased]);
  assert.ok(ANA_TEXTS.every((t) => !JSON.stringify(log).toLowerCase().includes(t)));
  const gone = await person(ANA);
  assert.deepEqual([gone.status, gone.json.error.code], [404, "person_not_found"]);
  const again = await admin(`/v1/people/${encodeURIComponent(ANA)}`, { method: "DELETE" });
  assert.deepEqual([again.status, again.json.error.code], [404, "person_not_found"]);
  assert.equal((await rows("SELECT * FROM erasures")).length, 1);
});

test("the people endpoints need the admin token and a valid address", async () => {
  const table = [
    // [method, path, admin, status, code]
    ["GET", `/v1/people/${BO}`, false, 401, "unauthorized"],
    ["DELETE", `/v1/people/${BO}`, false, 401, "unauthorized"],
    ["GET", "/v1/people/not-an-email", true, 404, "person_not_found"],
    ["DELETE", "/v1/people/not-an-email", true, 404, "person_not_found"],
    ["DELETE", "/v1/people/%E0%A4%A", true, 404, "person_not_found"],
    ["GET", "/v1/people/nobody%40people-erasure.example", true, 404, "person_not_found"],
  ];
  for (const [method, path, isAdmin, status, code] of table) {
    const r = await worker.json(path, { method, admin: isAdmin, now: T + 2 * DAY });
    assert.deepEqual([r.status, r.json?.error?.code], [status, code], `${method} ${path}`);
  }
  // Bo was never erased: nothing above changed him.
  assert.equal((await person(BO)).status, 200);
});

test("an erasure is all or nothing: a lead of the person stored meanwhile fails it whole, and it is sent again", async () => {
  const CY = "cy.lund@people-erasure.example";
  const id = await worker.submit(lead(CY, "Lund Consulting", undefined, "webinar"), { now: T + 2 * DAY });
  // A submission that lands between the erasure's read and its write, played by a trigger inside
  // the erasure's own batch: the person's lead is stored again as the batch anonymizes it.
  await worker.db.prepare(`CREATE TRIGGER people_test_meanwhile AFTER UPDATE OF person_key ON leads
    WHEN OLD.person_key = 'email:${CY}' BEGIN
      INSERT INTO leads (id, form_id, email, answers, bundle_version, created_at, person_key)
      VALUES (OLD.id || '-meanwhile', OLD.form_id, OLD.email, OLD.answers, OLD.bundle_version, OLD.created_at, OLD.person_key);
    END`).run();
  const path = `/v1/people/${encodeURIComponent(CY)}`;
  const failed = await worker.json(path, { method: "DELETE", admin: true, now: T + 2 * DAY });
  assert.deepEqual([failed.status, failed.json.error.code], [503, "storage_unavailable"]);
  const [kept] = await rows("SELECT email, answers FROM leads WHERE id = ?1", id);
  assert.equal(kept.email, CY, "nothing of the batch was written");
  assert.equal(JSON.parse(kept.answers).company, "Lund Consulting");
  assert.equal((await rows("SELECT 1 FROM leads WHERE id = ?1", `${id}-meanwhile`)).length, 0);
  assert.equal((await rows("SELECT 1 FROM lead_events WHERE lead_id = ?1 AND kind = 'erased'", id)).length, 0);
  await worker.db.prepare("DROP TRIGGER people_test_meanwhile").run();
  const again = await worker.json(path, { method: "DELETE", admin: true, now: T + 2 * DAY });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.erased.leads, 1);
  assert.equal((await rows("SELECT email FROM leads WHERE id = ?1", id))[0].email, null);
});
