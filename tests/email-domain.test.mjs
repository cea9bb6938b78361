// Email domains at the Worker (issue 17), on workerd with local D1 and KV, with the small
// configuration tests/fixtures/mail-server.toml and `[email] check_mail_server = true`, and a loopback
// DNS-over-HTTPS fake (tests/support/doh-fake.mjs) as `DOH_URL`: a top-level domain that does not
// exist is an `email.domain` issue, short or long, before any DNS question; a domain with no mail
// server is refused with `email.no_mail_server` and nothing is stored; what DNS said is cached in
// KV (a second lead asks nothing) until the test clock passes its lifetime; an address record
// without MX is enough; a resolver that fails or hangs lets the lead through; a configuration
// without the setting asks nothing. Every instant comes from the test clock.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { EPOCH, HOUR, MINUTE, ROOT, startWorker } from "./support/edge.mjs";
import { startDohFake } from "./support/doh-fake.mjs";

const ZONES = {
  "acme.com": { MX: ["10 mx1.acme.com.", "20 mx2.acme.com."] },
  "web-only.com": { A: ["192.0.2.10"] },
  "v6-only.com": { AAAA: ["2001:db8::25"] },
  "parked.com": {},
  "no-mail.com": { MX: ["0 ."], A: ["192.0.2.20"] },
  "later.com": {},
  "flaky.com": { MX: ["10 mx.flaky.com."] },
  "slow.com": { MX: ["10 mx.slow.com."] },
  "xn--mnchen-3ya.de": { MX: ["10 mx.xn--mnchen-3ya.de."] },
};

const CONFIG = join(ROOT, "tests/fixtures/mail-server.toml");
let worker, doh;

before(async () => {
  doh = await startDohFake({ zones: ZONES });
  worker = await startWorker({
    config: CONFIG,
    extraToml: "[email]\ncheck_mail_server = true\n",
    bindings: { RATE_LIMIT_PER_MINUTE: "100000", DOH_URL: doh.url },
  });
});
after(async () => {
  await worker?.dispose();
  await doh?.close();
  // Every question the Worker asked was one a resolver's JSON API takes.
  assert.deepEqual(doh?.violations, []);
});

const post = (email, { now = EPOCH, headers = {} } = {}) =>
  worker.json("/v1/leads", {
    method: "POST",
    now,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ form: "contact", answers: { email, company: "Acme" } }),
  });
const issues = (r) => r.json?.error?.issues?.map((i) => `${i.field}:${i.code}`);
const stored = async (email) =>
  (await worker.db.prepare("SELECT COUNT(*) AS n FROM leads WHERE email = ?").bind(email).first()).n;
/** The questions the fake was asked since `from` (an index into its log), as `name type`. */
const asked = (from) => doh.queries.slice(from).map((q) => `${q.name} ${q.type}`);

test("a top-level domain that does not exist is email.domain, with no DNS question", async () => {
  const from = doh.queries.length;
  // Short ones the browser knows too, long ones only the Worker's full list.
  for (const email of ["maria@comcast.ten", "maria@web.ed", "maria@gmail.cmo", "maria@acme.xyzw", "maria@printer.local", "maria@acme.invalid"]) {
    const r = await post(email);
    assert.equal(r.status, 422, email);
    assert.deepEqual(issues(r), ["email:email.domain"], email);
    assert.equal(await stored(email), 0, email);
  }
  assert.deepEqual(asked(from), []);
});

test("a domain with no mail server is refused with email.no_mail_server, and nothing is stored", async () => {
  const cases = [
    // Neither MX nor an address: MX, then A, then AAAA asked.
    ["maria@parked.com", ["parked.com MX", "parked.com A", "parked.com AAAA"]],
    // A name that does not exist: one question.
    ["maria@nowhere-at-all.com", ["nowhere-at-all.com MX"]],
    // A null MX (RFC 7505): the domain says it takes no mail, whatever its address.
    ["maria@no-mail.com", ["no-mail.com MX"]],
  ];
  for (const [email, questions] of cases) {
    const from = doh.queries.length;
    const key = crypto.randomUUID();
    const r = await post(email, { headers: { "idempotency-key": key } });
    assert.equal(r.status, 422, `${email}: ${r.text}`);
    assert.equal(r.json.error.code, "validation_failed");
    assert.deepEqual(r.json.error.issues, [
      { field: "email", code: "email.no_mail_server", message: "This domain does not receive email. Check the part after @." },
    ]);
    assert.deepEqual(asked(from), questions, email);
    assert.equal(await stored(email), 0, email);
    const keys = await worker.db.prepare("SELECT COUNT(*) AS n FROM idempotency_keys WHERE key = ?").bind(key).first();
    assert.equal(keys.n, 0, `${email}: the refused submission kept its Idempotency-Key`);
  }
});

test("DNS's answers are cached: a second lead for the same domain asks nothing", async () => {
  let from = doh.queries.length;
  const first = await post("ana@acme.com");
  assert.equal(first.status, 201, first.text);
  assert.deepEqual(asked(from), ["acme.com MX"]);
  assert.equal(await stored("ana@acme.com"), 1);
  from = doh.queries.length;
  const second = await post("ben@acme.com", { now: EPOCH + MINUTE });
  assert.equal(second.status, 201, second.text);
  assert.equal(await stored("ben@acme.com"), 1);
  // And a refusal is cached too (parked.com was asked in the test before).
  const again = await post("someone@parked.com", { now: EPOCH + MINUTE });
  assert.equal(again.status, 422);
  assert.deepEqual(issues(again), ["email:email.no_mail_server"]);
  assert.deepEqual(asked(from), []);
  assert.equal(JSON.parse(await worker.kv.get("mx/acme.com")).receives, true);
  assert.equal(JSON.parse(await worker.kv.get("mx/parked.com")).receives, false);
});

test("a refusal is trusted for an hour of the test clock, then DNS is asked again", async () => {
  ZONES["later.com"].MX = undefined;
  const refused = await post("kim@later.com", { now: EPOCH + 2 * HOUR });
  assert.deepEqual(issues(refused), ["email:email.no_mail_server"]);
  ZONES["later.com"].MX = ["10 mx.later.com."];
  let from = doh.queries.length;
  const cached = await post("kim@later.com", { now: EPOCH + 2 * HOUR + 59 * MINUTE });
  assert.deepEqual(issues(cached), ["email:email.no_mail_server"]);
  assert.deepEqual(asked(from), []);
  from = doh.queries.length;
  const fresh = await post("kim@later.com", { now: EPOCH + 3 * HOUR });
  assert.equal(fresh.status, 201, fresh.text);
  assert.deepEqual(asked(from), ["later.com MX"]);
});

test("a domain with only an address record (no MX) receives mail: the lead passes", async () => {
  for (const [email, questions] of [
    ["lee@web-only.com", ["web-only.com MX", "web-only.com A"]],
    ["lee@v6-only.com", ["v6-only.com MX", "v6-only.com A", "v6-only.com AAAA"]],
  ]) {
    const from = doh.queries.length;
    const r = await post(email);
    assert.equal(r.status, 201, `${email}: ${r.text}`);
    assert.deepEqual(asked(from), questions);
    assert.equal(await stored(email), 1);
  }
});

test("an international domain is asked in its ASCII form", async () => {
  const from = doh.queries.length;
  const r = await post("jörg@münchen.de");
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(asked(from), ["xn--mnchen-3ya.de MX"]);
});

test("a resolver outage lets the lead through, and nothing is cached", async () => {
  for (const [mode, domain] of [[503, "flaky.com"], ["hang", "slow.com"]]) {
    doh.mode(mode);
    const started = Date.now();
    const r = await post(`pat@${domain}`);
    doh.mode("up");
    assert.equal(r.status, 201, `${mode}: ${r.text}`);
    assert.equal(await stored(`pat@${domain}`), 1);
    assert.equal(await worker.kv.get(`mx/${domain}`), null, `${mode}: an outage was cached`);
    // A hung resolver costs the visitor at most the check's timeout (3 s), not the default 10 s.
    assert.ok(Date.now() - started < 8_000, `${mode}: took ${Date.now() - started} ms`);
    const from = doh.queries.length;
    const next = await post(`sam@${domain}`, { now: EPOCH + MINUTE });
    assert.equal(next.status, 201, next.text);
    assert.deepEqual(asked(from), [`${domain} MX`], `${mode}: asked again once up`);
  }
});

test("without check_mail_server, no DNS question is asked", async () => {
  const plain = await startWorker({ config: CONFIG, bindings: { DOH_URL: doh.url } });
  try {
    const from = doh.queries.length;
    await plain.submit({ form: "contact", answers: { email: "maria@parked.com" } });
    assert.deepEqual(asked(from), []);
  } finally {
    await plain.dispose();
  }
});
