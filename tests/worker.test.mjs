// The Worker on real workerd (Miniflare) with real local D1 and KV: intake, validation, storage,
// admin reads, and the cron tick. Each run starts from a fresh state folder.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { consented, DEMO_CONSENT } from "./support/consent.mjs";
import { EPOCH, HOUR, ROOT, startWorker, workerScript } from "./support/edge.mjs";

let worker, mf, db, token;

before(async () => {
  // These tests send many leads from one client (no CF-Connecting-IP): the rate limit is
  // tests/admin.test.mjs's subject, not theirs. The release build, the one `wrangler deploy`
  // uploads, with the test-only variable set as a careless operator might: the tests at the end
  // show that it has no test clock and no test headers.
  worker = await startWorker({ release: true, testClock: false, bindings: { TEST_CLOCK: "enabled", RATE_LIMIT_PER_MINUTE: "1000" } });
  ({ mf, db, adminToken: token } = worker);
});
after(() => worker?.dispose());

const call = (path, { method = "GET", body, headers = {} } = {}) => worker.json(path, { method, body, headers });
/** Posts a lead; a demo lead that names no `attribution` of its own gets the demo form's consent
 * record, as the form sends it (the consent tests below give theirs, or none, explicitly). */
const postLead = (body, headers = { "content-type": "application/json" }) => {
  const lead = typeof body === "object" && body?.form === "demo" && !("attribution" in body) ? consented(body) : body;
  return call("/v1/leads", { method: "POST", body: typeof lead === "string" ? lead : JSON.stringify(lead), headers });
};
const admin = (path, auth = `Bearer ${token}`) => call(path, { headers: auth ? { authorization: auth } : {} });
const leadCount = async () => (await db.prepare("SELECT COUNT(*) AS n FROM leads").first()).n;

describe("forms", () => {
  test("GET /v1/forms/demo serves the demo form from the bundle in KV", async () => {
    const r = await call("/v1/forms/demo");
    assert.equal(r.status, 200);
    assert.match(r.json.bundle_version, /^sha256:[0-9a-f]{16}$/);
    assert.deepEqual(r.json.form.fields.map((f) => [f.id, f.type, f.required ?? false]), [
      ["email", "email", true], ["company", "text", false], ["company_size", "select", false],
      ["role", "select", false], ["country", "select", false], ["phone", "tel", false],
      ["interest", "radio", true], ["team_size", "number", false], ["consent", "consent", true],
    ]);
    assert.equal(r.json.form.fields.find((f) => f.id === "team_size").visible_if, 'interest in ["A demo", "Pricing"]');
    // Each condition also comes compiled, so the browser module needs no compiler.
    assert.deepEqual(r.json.conditions, { team_size: 'interest;i2f0"A demo""Pricing"' });
    // Live qualification: the fit and intent rules that give points, compiled; never a
    // disqualification rule (they may name competitors), never a label.
    assert.deepEqual(Object.keys(r.json.qualify), ["fit_max", "intent_max", "mql", "sql", "rules"]);
    assert.deepEqual(r.json.qualify.rules.map((q) => [q.fit, q.points]),
      [[true, 20], [true, 25], [true, 15], [true, 10], [true, 5], [false, 30], [false, 20]]);
    assert.doesNotMatch(r.text, /disqualif|southwind|competitor/i);
    // Cached by browsers for a minute, then revalidated by the bundle version.
    assert.equal(r.headers.get("cache-control"), "public, max-age=60, stale-while-revalidate=600");
    assert.equal(r.headers.get("etag"), `"${r.json.bundle_version}"`);
    const again = await call("/v1/forms/demo", { headers: { "if-none-match": `W/"x", "${r.json.bundle_version}"` } });
    assert.equal(again.status, 304);
    assert.equal(again.text, "");
    const other = await call("/v1/forms/demo", { headers: { "if-none-match": '"sha256:0000000000000000"' } });
    assert.equal(other.status, 200);
    // Every other answer is never stored.
    assert.equal((await call("/v1/forms/nope")).headers.get("cache-control"), "no-store");
  });
  test("an unknown form is a 404 with a code", async () => {
    const r = await call("/v1/forms/nope");
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, "unknown_form");
  });
});

describe("intake", () => {
  test("a good lead is re-scored, stored normalized and answered 201 with its id", async () => {
    const before = await leadCount();
    const r = await postLead({
      form: "demo",
      answers: {
        email: "  Maria.Lopez@Example.COM ", company: " Acme   Inc. ", favourite_colour: "teal",
        company_size: "201-1000", role: "Data", country: "Germany", interest: "A demo",
        team_size: "8", consent: true,
      },
      bundle_version: "sha256:client-said-this",
      score: 100,
      lifecycle: "sql",
    });
    assert.equal(r.status, 201, r.text);
    assert.match(r.json.id, /^[0-9a-f-]{36}$/);
    assert.equal(r.json.lifecycle, "sql");
    // A sales-ready verdict comes with the form's next step for sales-ready leads.
    assert.deepEqual(r.json.outcome, {
      message: "You're a great fit: pick a time and talk to a solutions engineer today.",
      link_url: "https://northwind.example/meet/solutions", link_label: "Book a meeting",
    });
    assert.equal(await leadCount(), before + 1);
    const row = await db.prepare("SELECT * FROM leads WHERE id = ?1").bind(r.json.id).first();
    assert.equal(row.email, "Maria.Lopez@example.com");
    assert.deepEqual(JSON.parse(row.answers), {
      company: "Acme Inc.", email: "Maria.Lopez@example.com", company_size: "201-1000", role: "Data",
      country: "Germany", interest: "A demo", team_size: "8", consent: true,
    });
    assert.equal(row.client_bundle_version, "sha256:client-said-this");
    assert.equal(row.bundle_version, r.json.bundle_version);
    // The Worker's own verdict, never the client's: 50 fit + 30 intent.
    assert.deepEqual([row.score, row.grade, row.lifecycle, row.disqualify_reason], [80, "A", "sql", null]);
    const breakdown = JSON.parse(row.evaluation).score.breakdown;
    assert.equal(breakdown.reduce((sum, line) => sum + line.points, 0), 80);
    // An answer to a question the form does not have is kept with the lead, as sent, and the
    // client is told: nothing is dropped unseen.
    assert.deepEqual(r.json.warnings, [{ field: "favourite_colour", code: "answer.unknown_field", message: "The form has no question with this id." }]);
    assert.deepEqual(JSON.parse(row.evaluation).unknown, { favourite_colour: "teal" });
  });

  test("a number is an answer's text and null no answer; a lead without unknown answers has no warnings", async () => {
    const r = await postLead({ form: "demo", answers: { email: "nina@example.com", interest: "A demo", team_size: 12, phone: null, consent: true } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.warnings, undefined);
    const row = await db.prepare("SELECT answers, evaluation FROM leads WHERE id = ?1").bind(r.json.id).first();
    assert.equal(JSON.parse(row.answers).team_size, "12");
    assert.equal("phone" in JSON.parse(row.answers), false);
    assert.equal(JSON.parse(row.evaluation).unknown, undefined);
  });

  test("a phone number is stored in E.164, read in the lead's country", async () => {
    const r = await postLead({ form: "demo", answers: { email: "a@b.co", country: "Germany", phone: "030 1234567", interest: "Pricing", consent: true } });
    assert.equal(r.status, 201, r.text);
    const lead = await admin(`/v1/leads/${r.json.id}`);
    assert.equal(lead.json.answers.phone, "+49301234567");
  });

  test("a disqualified lead is stored with its reason code", async () => {
    const r = await postLead({ form: "demo", answers: { email: "kid@uni.example", role: "Student", interest: "Pricing", consent: true } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.lifecycle, "disqualified");
    // No outcome is configured for disqualified leads: the form's success message stands.
    assert.deepEqual(r.json.outcome, { message: "Thanks! Your request is in, and the right person on our team has it." });
    const lead = await admin(`/v1/leads/${r.json.id}`);
    assert.equal(lead.json.disqualify_reason, "student");
    assert.equal(lead.json.evaluation.disqualification.rule, "student");
  });

  test("a throwaway mailbox is flagged and disqualified by the shipped list", async () => {
    const r = await postLead({ form: "demo", answers: { email: "kim@mailinator.com", interest: "Pricing", consent: true } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.lifecycle, "disqualified");
    const lead = await admin(`/v1/leads/${r.json.id}`);
    assert.equal(lead.json.disqualify_reason, "disposable_email");
    assert.deepEqual(lead.json.evaluation.email, { free_mail: false, disposable: true, role_account: false });
  });

  test("a bot is answered like a person and stored flagged as a bot", async () => {
    for (const context of [{ honeypot: "https://spam.example" }, { fill_ms: 800 }]) {
      const r = await postLead({ form: "demo", answers: { email: "bot@acme.example", interest: "A demo", consent: true }, context });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.lifecycle, "nurture", "nothing says what gave it away");
      assert.deepEqual(r.json.outcome, { message: "Thanks! Your request is in, and the right person on our team has it." });
      const lead = await admin(`/v1/leads/${r.json.id}`);
      assert.deepEqual([lead.json.lifecycle, lead.json.disqualify_reason], ["disqualified", "bot"]);
    }
  });

  // The smallest valid answers to the demo form.
  const ok = { email: "a@b.co", interest: "Pricing", consent: true };
  // (what, request body, headers, expected status, expected code, expected issues as "field:code")
  const refused = [
    ["bad JSON", '{"form":', null, 400, "bad_json"],
    ["not an object", "[1,2]", null, 400, "bad_json"],
    ["no answers", { form: "demo" }, null, 400, "bad_json"],
    ["`answers` that is not an object", { form: "demo", answers: ["a@b.co"] }, null, 400, "bad_json"],
    ["a number where an address goes", { form: "demo", answers: { ...ok, email: 7 } }, null, 422, "validation_failed", ["email:email.syntax"]],
    ["answers of the wrong kind, each named", { form: "demo", answers: { ...ok, company: { name: "Acme" }, role: [1] } }, null, 422,
      "validation_failed", ["company:answer.wrong_type", "role:answer.wrong_type"]],
    ["wrong content type", '{"form":"demo","answers":{}}', { "content-type": "text/plain" }, 415, "unsupported_media_type"],
    ["no content type", '{"form":"demo","answers":{}}', {}, 415, "unsupported_media_type"],
    ["a body over 16 KB", { form: "demo", answers: { ...ok, company: "x".repeat(17_000) } }, null, 413, "body_too_large"],
    ["an unknown form", { form: "nope", answers: ok }, null, 404, "unknown_form"],
    ["a malformed visitor token", { form: "demo", answers: ok, visitor: "<script>" }, null, 400, "bad_visitor"],
    ["a malformed Idempotency-Key", { form: "demo", answers: ok }, { "content-type": "application/json", "idempotency-key": "a b" }, 400, "bad_idempotency_key"],
    ["an invalid email", { form: "demo", answers: { ...ok, email: "maria@" } }, null, 422, "validation_failed", ["email:email.syntax"]],
    ["a missing email", { form: "demo", answers: { ...ok, email: undefined, company: "Acme" } }, null, 422, "validation_failed", ["email:required"]],
    ["an option the form does not offer", { form: "demo", answers: { ...ok, company_size: "huge" } }, null, 422, "validation_failed", ["company_size:choice.unknown"]],
    ["consent not given", { form: "demo", answers: { ...ok, consent: false } }, null, 422, "validation_failed", ["consent:required"]],
    ["a phone number the numbering plan refuses", { form: "demo", answers: { ...ok, country: "United States", phone: "555-0100 1" } }, null, 422,
      "validation_failed", ["phone:phone.syntax"]],
    ["every problem at once", { form: "demo", answers: { email: "maria@localhost", company: "y".repeat(121), interest: "A demo", team_size: "lots" } }, null, 422,
      "validation_failed", ["email:email.domain", "company:text.too_long", "team_size:number.syntax", "consent:required"]],
  ];
  for (const [what, body, headers, status, code, issues] of refused) {
    test(`refuses ${what} with ${status} ${code} and stores nothing`, async () => {
      const before = await leadCount();
      const r = await postLead(body, headers ?? { "content-type": "application/json" });
      assert.equal(r.status, status, r.text);
      assert.equal(r.json.error.code, code);
      assert.ok(r.json.error.message.length > 0);
      if (issues) assert.deepEqual(r.json.error.issues.map((i) => `${i.field}:${i.code}`), issues);
      assert.equal(await leadCount(), before);
    });
  }

  // A body is read through its route's cap as it streams in: a chunked body without
  // Content-Length is refused once it passes the cap, and the rest of it is never read.
  const streamed = (total, chunk = 4096) => {
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (sent >= total) return controller.close();
        const n = Math.min(chunk, total - sent);
        sent += n;
        controller.enqueue(new TextEncoder().encode("x".repeat(n)));
      },
    });
    return { body, sent: () => sent };
  };
  // (route, method, admin, content type, cap in bytes)
  const capped = [
    ["/v1/leads", "POST", false, "application/json", 16 * 1024],
    ["/v1/config", "PUT", true, "application/toml", 256 * 1024],
    ["/v1/config/rollback", "POST", true, "application/json", 4 * 1024],
    ["/v1/leads/x/reassign", "POST", true, "application/json", 4 * 1024],
    ["/v1/leads/x/events", "POST", true, "application/json", 16 * 1024],
  ];
  for (const [path, method, isAdmin, type, cap] of capped) {
    test(`${method} ${path} refuses a streamed body past ${cap} bytes without reading the rest`, async () => {
      const headers = { "content-type": type, ...(isAdmin ? { authorization: `Bearer ${token}` } : {}) };
      const over = streamed(cap + 1);
      const r = await worker.json(path, { method, headers, body: over.body, duplex: "half" });
      assert.equal(r.status, 413, r.text);
      assert.equal(r.json.error.code, "body_too_large");
      const huge = streamed(64 << 20, 64 * 1024);
      const refused = await worker.json(path, { method, headers, body: huge.body, duplex: "half" }).catch((e) => e);
      // Refused before it was read: answered 413, or (as workerd does) answered and the
      // connection closed under the sender's feet.
      const closed = ["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"].includes(refused.cause?.code);
      assert.ok(refused.status === 413 || closed, String(refused.cause ?? refused.status));
      assert.ok(huge.sent() < 16 << 20, `${huge.sent()} bytes were pulled of a 64 MB body`);
      await huge.body.cancel().catch(() => {});
    });
  }

  test("a retried submission with the same Idempotency-Key is stored once and answered the same", async () => {
    const key = crypto.randomUUID();
    const headers = { "content-type": "application/json", "idempotency-key": key };
    const body = { form: "demo", answers: { email: "retry@acme.example", interest: "Pricing", consent: true } };
    const before = await leadCount();
    // Two concurrent deliveries and a later retry: one lead, one answer.
    const answers = await Promise.all([postLead(body, headers), postLead(body, headers)]);
    answers.push(await postLead(body, headers));
    for (const r of answers) assert.equal(r.status, 201, r.text);
    assert.equal(new Set(answers.map((r) => r.json.id)).size, 1);
    assert.equal(await leadCount(), before + 1);
    const other = await postLead({ ...body, answers: { ...body.answers, email: "other@acme.example" } }, headers);
    assert.equal(other.status, 409, other.text);
    assert.equal(other.json.error.code, "idempotency_conflict");
    assert.equal(await leadCount(), before + 1);
  });

  test("a refused submission does not use up its Idempotency-Key", async () => {
    const headers = { "content-type": "application/json", "idempotency-key": crypto.randomUUID() };
    const bad = await postLead({ form: "demo", answers: { email: "maria@", interest: "Pricing", consent: true } }, headers);
    assert.equal(bad.status, 422);
    const fixed = await postLead({ form: "demo", answers: { email: "maria@acme.example", interest: "Pricing", consent: true } }, headers);
    assert.equal(fixed.status, 201, fixed.text);
  });

  test("attribution and consent are stored cleaned with the lead", async () => {
    const attribution = {
      utm: { source: "newsletter", medium: "email\u0000", campaign: "" },
      referrer: "https://search.example/?q=handoff",
      landing_page: "https://northwind.example/pricing?utm_source=newsletter",
      pages: [{ url: "/pricing", at_ms: 1795300000000 }, { url: "/customers", at_ms: 1795300060000 }],
      visits: 2,
      // The text the form showed, with a browser's time and a zero-width space the Worker drops.
      consent: { ...DEMO_CONSENT, text: DEMO_CONSENT.text.replace("agree", "agr\u200bee"), at_ms: 5 },
      unknown_key: "dropped",
    };
    const r = await postLead({ form: "demo", answers: ok, attribution });
    assert.equal(r.status, 201, r.text);
    const lead = await admin(`/v1/leads/${r.json.id}`);
    const { unknown_key, ...kept } = attribution;
    // The consent is stamped with the Worker's time of the submission, never the browser's.
    const { created_at } = await db.prepare("SELECT created_at FROM leads WHERE id = ?").bind(r.json.id).first();
    const consent = { ...DEMO_CONSENT, at_ms: created_at };
    assert.deepEqual(lead.json.attribution, { ...kept, utm: { source: "newsletter", medium: "email" }, consent });
    assert.notEqual(consent.at_ms, 5);
  });

  // Regression (issue 21): a consent record was whatever the browser said, and a client that left
  // it out stored a lead with none.
  const consentCases = [
    ["no attribution at all", undefined, "consent_missing"],
    ["attribution without consent", { utm: { source: "ads" } }, "consent_missing"],
    ["a text the form never showed", { consent: { ...DEMO_CONSENT, text: "I agree that Northwind may contact me." } }, "consent_mismatch"],
    ["another version", { consent: { ...DEMO_CONSENT, version: "2025-01-01" } }, "consent_mismatch"],
    ["another field", { consent: { ...DEMO_CONSENT, field: "company" } }, "consent_mismatch"],
  ];
  for (const [what, attribution, code] of consentCases) {
    test(`a lead of a form with a consent field is refused with 422 ${code}: ${what}`, async () => {
      const before = await leadCount();
      const r = await postLead({ form: "demo", answers: ok, attribution });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.json.error.code, code);
      assert.deepEqual(r.json.error.issues.map((i) => `${i.field}:${i.code}`), [`consent:${code.replace("_", ".")}`]);
      assert.match(r.json.error.issues[0].message, code === "consent_mismatch" ? /reload/i : /consent/i);
      assert.equal(await leadCount(), before);
    });
  }

  test("a consent text changed between serving and submitting: the served bundle's record is kept, others refused", async () => {
    const served = (await call("/v1/forms/demo")).json.bundle_version;
    const demo = await readFile(join(ROOT, "config/demo.toml"), "utf8");
    const changed = demo.replace(DEMO_CONSENT.text, "I agree that Northwind Cloud may contact me.").replace('consent_version = "2026-11-01"', 'consent_version = "2026-12-01"');
    const put = await call("/v1/config", { method: "PUT", body: changed, headers: { "content-type": "application/toml", authorization: `Bearer ${token}` } });
    assert.equal(put.status, 200, put.text);
    try {
      // The page loaded before the change sends the old text with the version it was served.
      const old = await postLead({ form: "demo", answers: ok, bundle_version: served, attribution: { consent: DEMO_CONSENT } });
      assert.equal(old.status, 201, old.text);
      assert.equal((await admin(`/v1/leads/${old.json.id}`)).json.attribution.consent.version, "2026-11-01");
      // Without the version it was served, or with a made-up one, the old text is not what the form shows.
      for (const bundle_version of [undefined, "sha256:0000000000000000"]) {
        const r = await postLead({ form: "demo", answers: ok, bundle_version, attribution: { consent: DEMO_CONSENT } });
        assert.deepEqual([r.status, r.json.error?.code], [422, "consent_mismatch"], String(bundle_version));
      }
      // The new text is accepted as such.
      const fresh = { ...DEMO_CONSENT, text: "I agree that Northwind Cloud may contact me.", version: "2026-12-01" };
      const now = await postLead({ form: "demo", answers: ok, attribution: { consent: fresh } });
      assert.equal(now.status, 201, now.text);
    } finally {
      const back = await call("/v1/config/rollback", { method: "POST", headers: { authorization: `Bearer ${token}` } });
      assert.equal(back.status, 200, back.text);
    }
  });

  test("a visitor's profile lists the fields they answered, never the values", async () => {
    const visitor = crypto.randomUUID();
    const empty = await call(`/v1/profile?visitor=${visitor}`);
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(empty.json, { known: {} });
    const r = await postLead({ form: "demo", visitor, answers: { ...ok, company: "Acme", company_size: "51-200" } });
    assert.equal(r.status, 201, r.text);
    const profile = await call(`/v1/profile?visitor=${visitor}`);
    assert.deepEqual(Object.keys(profile.json.known).sort(), ["company", "company_size", "consent", "email", "interest"]);
    for (const at of Object.values(profile.json.known)) assert.ok(Number.isInteger(at) && at > 1.7e12);
    assert.ok(!profile.text.includes("Acme") && !profile.text.includes("a@b.co"));
    const lead = await admin(`/v1/leads/${r.json.id}`);
    assert.equal(lead.json.visitor, visitor);
    const bad = await call("/v1/profile?visitor=x");
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, "bad_visitor");
  });

  test("a returning visitor's second lead scores on both visits' answers and says where each came from", async () => {
    const visitor = crypto.randomUUID();
    const email = `returning-${visitor.slice(0, 8)}@customer.example`;
    const first = await postLead({ form: "demo", visitor, answers: { email, company_size: "201-1000", role: "Data", country: "Germany", interest: "Just exploring", consent: true } });
    assert.equal(first.status, 201, first.text);
    // The form does not ask again what it knows: this visit says only what is new.
    const second = await postLead({ form: "demo", visitor, answers: { email, interest: "A demo", consent: true } });
    assert.equal(second.status, 201, second.text);
    assert.equal(second.json.lifecycle, "sql");
    const lead = await admin(`/v1/leads/${second.json.id}`);
    assert.equal(lead.json.answers.company_size, "201-1000");
    assert.equal(lead.json.answers.interest, "A demo");
    const learned = lead.json.evaluation.learned;
    assert.deepEqual(Object.keys(learned).sort(), ["company_size", "country", "role"]);
    for (const source of Object.values(learned)) assert.equal(source.lead_id, first.json.id);
    assert.ok(!("interest" in learned), "this visit's answer is its own");
    // The same person from another browser is found by their address.
    const elsewhere = await postLead({ form: "demo", answers: { email: email.toUpperCase(), interest: "A demo", consent: true } });
    assert.equal(elsewhere.json.lifecycle, "sql");
    // The profile keeps when each answer was given: an answer filled in from an earlier lead is
    // not made fresh by it.
    const profile = await call(`/v1/profile?visitor=${visitor}`);
    const firstAt = (await db.prepare("SELECT created_at FROM leads WHERE id = ?").bind(first.json.id).first()).created_at;
    assert.equal(profile.json.known.company_size, firstAt);
    // The browser is never told an earlier answer.
    assert.ok(!second.text.includes("201-1000") && !profile.text.includes("201-1000"));
  });

  test("markup and SQL-looking answers are stored verbatim and harmless", async () => {
    const company = `<img src=x onerror=alert(1)> '); DROP TABLE leads; --`;
    const r = await postLead({ form: "demo", answers: { email: "o'brien@example.ie", company, interest: "Pricing", consent: true } });
    assert.equal(r.status, 201, r.text);
    const lead = await admin(`/v1/leads/${r.json.id}`);
    assert.equal(lead.json.answers.company, company);
    assert.equal(lead.json.email, "o'brien@example.ie");
    assert.ok((await leadCount()) >= 2);
  });

  test("an unusable bundle in KV is a 503, never a guess", async () => {
    const kv = await mf.getKVNamespace("CONFIG");
    const good = await kv.get("bundle/active");
    try {
      await kv.put("bundle/active", good.replace("Work email", "Email"));
      const r = await postLead({ form: "demo", answers: { email: "a@b.co", interest: "Pricing", consent: true } });
      assert.equal(r.status, 503);
      assert.equal(r.json.error.code, "bundle_unavailable");
    } finally {
      await kv.put("bundle/active", good);
    }
  });
});

describe("CORS: an exact allowlist of origins per form", () => {
  const allowed = "https://www.northwind.example";
  const other = "https://evil.example";
  const json = { "content-type": "application/json" };
  const lead = { form: "demo", answers: { email: "cors@acme.example", interest: "Pricing", consent: true } };

  test("a preflight from an allowed origin is answered with exactly that origin", async () => {
    const r = await call("/v1/leads", { method: "OPTIONS", headers: { origin: allowed, "access-control-request-method": "POST" } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get("access-control-allow-origin"), allowed);
    assert.match(r.headers.get("access-control-allow-headers"), /idempotency-key/);
    assert.equal(r.headers.get("vary"), "Origin");
  });

  test("a preflight from any other origin is refused without CORS headers", async () => {
    const r = await call("/v1/leads", { method: "OPTIONS", headers: { origin: other, "access-control-request-method": "POST" } });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, "origin_not_allowed");
    assert.equal(r.headers.get("access-control-allow-origin"), null);
  });

  test("a lead from an allowed page is stored and its answer readable there", async () => {
    const r = await postLead(lead, { ...json, origin: allowed });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get("access-control-allow-origin"), allowed);
    const form = await call("/v1/forms/demo", { headers: { origin: allowed } });
    assert.equal(form.status, 200);
    assert.equal(form.headers.get("access-control-allow-origin"), allowed);
  });

  test("a lead from a page the form does not allow is refused and nothing is stored", async () => {
    const before = await leadCount();
    const r = await postLead(lead, { ...json, origin: other });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, "origin_not_allowed");
    assert.equal(r.headers.get("access-control-allow-origin"), null);
    assert.equal(await leadCount(), before);
    const form = await call("/v1/forms/demo", { headers: { origin: other } });
    assert.equal(form.status, 403);
  });

  test("an opaque origin (`null`: sandboxed frames, files, some redirects) is never allowed", async () => {
    const before = await leadCount();
    const r = await postLead(lead, { ...json, origin: "null" });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, "origin_not_allowed");
    assert.equal(r.headers.get("access-control-allow-origin"), null);
    const preflight = await call("/v1/leads", { method: "OPTIONS", headers: { origin: "null", "access-control-request-method": "POST" } });
    assert.equal(preflight.status, 403);
    assert.equal(preflight.headers.get("access-control-allow-origin"), null);
    assert.equal(await leadCount(), before);
  });

  test("the Worker's own pages need no entry, and the admin API never answers other origins", async () => {
    const own = await postLead(lead, { ...json, origin: "http://localhost" });
    assert.equal(own.status, 201, own.text);
    assert.equal(own.headers.get("access-control-allow-origin"), null);
    const read = await call(`/v1/leads/${own.json.id}`, { headers: { authorization: `Bearer ${token}`, origin: allowed } });
    assert.equal(read.status, 200);
    assert.equal(read.headers.get("access-control-allow-origin"), null);
  });
});

describe("admin", () => {
  test("reading a lead needs the bearer token", async () => {
    const { json } = await postLead({ form: "demo", answers: { email: "sam@example.com", interest: "Pricing", consent: true } });
    // (authorization header, expected status, expected code)
    const cases = [
      [null, 401, "unauthorized"],
      ["Bearer wrong", 401, "unauthorized"],
      [`Bearer ${token}x`, 401, "unauthorized"],
      [`Basic ${token}`, 401, "unauthorized"],
      [`Bearer ${token}`, 200, null],
    ];
    for (const [auth, status, code] of cases) {
      const r = await admin(`/v1/leads/${json.id}`, auth);
      assert.equal(r.status, status, `${auth}: ${r.text}`);
      if (code) assert.equal(r.json.error.code, code);
      else assert.equal(r.json.email, "sam@example.com");
    }
    assert.equal((await admin("/v1/leads/no-such-id")).json.error.code, "lead_not_found");
  });

  test("unknown routes and methods answer JSON errors", async () => {
    assert.equal((await call("/v1/nothing")).json.error.code, "not_found");
    const r = await call("/v1/leads", { method: "PUT" });
    assert.equal(r.status, 405);
    assert.equal(r.json.error.code, "method_not_allowed");
  });
});

describe("cron", () => {
  test("a tick is recorded once, however often it is delivered", async () => {
    const worker = await mf.getWorker();
    const scheduledTime = new Date(EPOCH);
    for (let i = 0; i < 3; i++) {
      const result = await worker.scheduled({ cron: "* * * * *", scheduledTime });
      assert.equal(result.outcome, "ok");
    }
    const { n } = await db.prepare("SELECT COUNT(*) AS n FROM cron_ticks").first();
    assert.equal(n, 1);
    const health = await call("/v1/health");
    assert.equal(health.json.ok, true);
    assert.equal(health.json.last_cron_tick_ms, scheduledTime.getTime());
  });

  test("in the release build, a trigger cannot set the tick's time, even with TEST_CLOCK set", async () => {
    const worker = await mf.getWorker();
    const scheduledTime = new Date(EPOCH + HOUR);
    const result = await worker.scheduled({ cron: "now=86400000", scheduledTime });
    assert.equal(result.outcome, "ok");
    const times = (await db.prepare("SELECT scheduled_at FROM cron_ticks ORDER BY scheduled_at").all()).results;
    assert.ok(times.some((t) => t.scheduled_at === scheduledTime.getTime()));
    assert.ok(!times.some((t) => t.scheduled_at === 86_400_000));
  });
});

describe("the release build", () => {
  // The test clock and the cost headers are compiled only into the test build (the cargo feature
  // `test-hooks`); this Worker is the release build run with TEST_CLOCK = "enabled".
  test("ignores a client's X-Test-Now-Ms and answers no test-only header", async () => {
    const claimed = 86_400_000; // 1970-01-02
    const r = await call("/v1/leads", {
      method: "POST",
      headers: { "content-type": "application/json", "x-test-now-ms": String(claimed) },
      body: JSON.stringify(consented({ form: "demo", answers: { email: "clock@example.com", interest: "Pricing", consent: true } })),
    });
    assert.equal(r.status, 201, r.text);
    const { created_at } = await db.prepare("SELECT created_at FROM leads WHERE id = ?1").bind(r.json.id).first();
    assert.notEqual(created_at, claimed);
    // Stored at the Worker's own time: within a minute of this machine's clock now.
    assert.ok(Math.abs(created_at - Date.now()) < 60_000, `${created_at} vs ${Date.now()}`);
    const headers = [...r.headers.keys(), ...(await call("/v1/health")).headers.keys()];
    assert.deepEqual(headers.filter((h) => h.startsWith("x-handoff-d1-") || h === "x-handoff-wasm-memory-bytes"), []);
  });

  test("has none of the test hooks compiled in; the test build has them", async () => {
    const release = await readFile(join(dirname(workerScript({ release: true })), "index_bg.wasm"));
    const testBuild = await readFile(join(dirname(workerScript()), "index_bg.wasm"));
    for (const hook of ["x-test-now-ms", "x-handoff-d1-round-trips", "x-handoff-wasm-memory-bytes"]) {
      assert.equal(release.includes(hook), false, `release build has ${hook}`);
      assert.equal(testBuild.includes(hook), true, `test build lacks ${hook}`);
    }
  });
});
