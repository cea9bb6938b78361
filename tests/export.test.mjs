// The replayable export, GET /v1/export/leads.jsonl, on real workerd (Miniflare, local D1/KV):
// leads submitted through POST /v1/leads at their own times (EPOCH-based test clock) come back one
// JSON line each, keys in the documented order, oldest first, in [from, to): a routed lead with
// its SLA clock and ladder, an experiment's arm, a bot, a merged repeat, CRM facts, and the
// activity and context the request sent. 1,200 leads written straight into D1 (with a few
// submitted between them) take three keyset pages of 500. The bundle is tests/fixtures/export.toml.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DAY, EPOCH, HOUR, MINUTE, ROOT, startWorker } from "./support/edge.mjs";

let worker;

before(async () => {
  worker = await startWorker({ config: join(ROOT, "tests/fixtures/export.toml"), bindings: { RATE_LIMIT_PER_MINUTE: "100000" } });
});
after(() => worker?.dispose());

/** The export of [from, to) as `{status, lines, text, headers}` (`auth`: with the admin token). */
async function exportLeads(from, to, { auth = true } = {}) {
  const r = await worker.fetch(`/v1/export/leads.jsonl?from=${from}&to=${to}`, { admin: auth, now: EPOCH + 30 * DAY });
  const text = await r.text();
  const lines = r.status === 200 && text ? text.trimEnd().split("\n").map((l) => JSON.parse(l)) : [];
  return { status: r.status, text, lines, headers: r.headers };
}

/** RFC 3339 as the export writes it: milliseconds only when they are not zero. */
const rfc = (ms) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");
const KEYS = ["id", "form", "at", "answers", "activity", "context", "visitor", "attribution", "facts", "bundle_version", "outcome"];
const OUTCOME_KEYS = ["status", "lifecycle", "score", "grade", "disqualify_reason", "assignee", "merged_into", "previous_lead", "arm", "sla", "first_touch_at", "statuses"];
const stored = (id) => worker.db.prepare("SELECT answers, attribution, bundle_version FROM leads WHERE id = ?").bind(id).first();

// The run: each lead's id, arrival and what was sent.
const run = {};
const T = EPOCH + 1 * DAY; // Wednesday 10:00 UTC: the day of the run.

test("a recorded run exports every lead with its inputs and outcome, in order, in the range", async () => {
  // A person the CRM has in a sequence: the intake reads it, and it suppresses the SLA clock.
  await worker.db.prepare("INSERT INTO crm_facts (subject, active_deal, in_sequence, last_contacted_at, source, updated_at) VALUES ('email:seq@co.example', 0, 1, ?, 'events', ?)")
    .bind(T - 30 * DAY, T - 30 * DAY).run();
  const send = async (name, at, body) => {
    run[name] = { at, body, id: await worker.submit({ form: "contact", ...body }, { now: at }) };
  };
  const activity = [{ kind: "pricing_view", at_ms: T - 5 * MINUTE, detail: "/pricing" }, { kind: "webinar", at_ms: T - DAY }];
  await send("routed", T, {
    answers: { email: "ana.lead@us.example", country: "US", interest: "A demo" },
    activity,
    context: { fill_ms: 42_000 },
    visitor: "visitor-token-0001",
    attribution: { utm: { source: "ads", campaign: "winter" }, referrer: "https://search.example/" },
  });
  await send("armed", T + 10 * MINUTE + 250, { answers: { email: "de.lead@de.example", country: "DE", interest: "A demo" }, context: { fill_ms: 9_000 } });
  await send("bot", T + 20 * MINUTE, { answers: { email: "spam@bots.example", country: "US", interest: "A demo" }, context: { honeypot: "https://spam.example", fill_ms: 400 } });
  await send("repeat", T + 30 * MINUTE, { answers: { email: "ana.lead@us.example", country: "US", interest: "A demo" }, context: { fill_ms: 20_000 } });
  await send("facts", T + 40 * MINUTE, { answers: { email: "seq@co.example", country: "US", interest: "A demo" } });
  await send("nurture", T + 50 * MINUTE, { answers: { email: "reader@fr.example", country: "FR", interest: "Newsletter" } });
  await send("late", T + 2 * HOUR, { answers: { email: "late@fr.example", country: "FR", interest: "A demo" } });

  // [T, T + 2h): every lead but the last, which arrived exactly at `to`.
  const { status, lines, headers } = await exportLeads(T, T + 2 * HOUR);
  assert.equal(status, 200);
  assert.equal(headers.get("content-type"), "application/x-ndjson");
  const order = ["routed", "armed", "bot", "repeat", "facts", "nurture"];
  assert.deepEqual(lines.map((l) => l.id), order.map((n) => run[n].id), "oldest first, `to` left out");
  for (const line of lines) {
    assert.deepEqual(Object.keys(line), KEYS, line.id);
    assert.deepEqual(Object.keys(line.outcome), OUTCOME_KEYS, line.id);
    assert.equal(line.form, "contact");
    const row = await stored(line.id);
    assert.deepEqual(line.answers, JSON.parse(row.answers), "the stored answers");
    assert.deepEqual(line.attribution, row.attribution ? JSON.parse(row.attribution) : {}, "the stored attribution");
    assert.equal(line.bundle_version, row.bundle_version);
  }
  const by = Object.fromEntries(order.map((n, i) => [n, lines[i]]));

  // The routed lead, exactly: its inputs as sent, the pool's owner, the clock and its ladder.
  const routed = by.routed;
  const attribution = JSON.parse((await stored(routed.id)).attribution);
  assert.equal(attribution.utm.source, "ads");
  const expected = {
    id: run.routed.id,
    form: "contact",
    at: rfc(T),
    answers: JSON.parse((await stored(routed.id)).answers),
    activity,
    context: { fill_ms: 42_000 },
    visitor: "visitor-token-0001",
    attribution,
    facts: { active_deal: false, in_sequence: false, last_contacted_ms: null },
    bundle_version: routed.bundle_version,
    outcome: {
      status: "new",
      lifecycle: "mql",
      score: 30,
      grade: routed.outcome.grade,
      disqualify_reason: null,
      assignee: { kind: "owner", id: "ana" },
      merged_into: null,
      previous_lead: null,
      arm: null,
      sla: {
        policy: "sales",
        first_touch_due: rfc(T + HOUR),
        accept_due: null,
        ladder: [
          { level: 1, at: rfc(T + HOUR + 30 * MINUTE), to: "team_lead" },
          { level: 2, at: rfc(T + 3 * HOUR), to: "owner:ben" },
        ],
      },
      first_touch_at: null,
      statuses: [],
    },
  };
  // Compared as text: the keys' order is part of the shape.
  assert.equal(JSON.stringify(routed), JSON.stringify(expected));
  assert.match(routed.bundle_version, /^sha256:/);

  // The experiment's arm, and the arm's deadline; a time with milliseconds keeps them.
  const armed = by.armed;
  assert.equal(armed.at, rfc(T + 10 * MINUTE + 250));
  assert.match(armed.at, /\.250Z$/);
  assert.deepEqual(armed.outcome.assignee, { kind: "owner", id: "ben" });
  assert.equal(armed.outcome.arm.experiment, "speed");
  assert.ok(["fast", "relaxed"].includes(armed.outcome.arm.arm), JSON.stringify(armed.outcome.arm));
  const target = armed.outcome.arm.arm === "fast" ? 15 * MINUTE : 45 * MINUTE;
  assert.equal(armed.outcome.sla.first_touch_due, rfc(T + 10 * MINUTE + 250 + target));
  assert.deepEqual([armed.activity, armed.context, armed.visitor], [[], { fill_ms: 9_000 }, null]);

  // The bot: disqualified, closed, held by nobody, its context (honeypot first) as sent.
  const bot = by.bot;
  assert.equal(bot.outcome.disqualify_reason, "bot");
  assert.deepEqual([bot.outcome.assignee, bot.outcome.sla, bot.outcome.arm], [null, null, null]);
  assert.notEqual(bot.outcome.status, "new");
  assert.equal(JSON.stringify(bot.context), JSON.stringify({ honeypot: "https://spam.example", fill_ms: 400 }));

  // The repeat: folded into the open lead, no clock of its own.
  assert.equal(by.repeat.outcome.merged_into, run.routed.id);
  assert.equal(by.repeat.outcome.sla, null);
  assert.deepEqual(by.repeat.context, { fill_ms: 20_000 });

  // The CRM's facts as the intake read them; they suppressed the clock.
  assert.deepEqual(by.facts.facts, { active_deal: false, in_sequence: true, last_contacted_ms: T - 30 * DAY });
  assert.deepEqual(by.facts.outcome.assignee, { kind: "owner", id: "ana" });
  assert.equal(by.facts.outcome.sla, null);
  assert.deepEqual(by.facts.context, {}, "no context sent: an empty one");

  // Nurture goes to the queue, with no policy's clock.
  assert.deepEqual(by.nurture.outcome.assignee, { kind: "queue", id: "triage" });
  assert.equal(by.nurture.outcome.lifecycle, "nurture");
  assert.equal(by.nurture.outcome.sla, null);

  // The bounds: `from` is inclusive, `to` exclusive, to the millisecond.
  const inner = await exportLeads(T + 10 * MINUTE + 250, T + 30 * MINUTE);
  assert.deepEqual(inner.lines.map((l) => l.id), [run.armed.id, run.bot.id]);
  const justAfter = await exportLeads(T + 10 * MINUTE + 251, T + 2 * HOUR + 1);
  assert.deepEqual(justAfter.lines.map((l) => l.id), ["bot", "repeat", "facts", "nurture", "late"].map((n) => run[n].id));
  const none = await exportLeads(T - HOUR, T);
  assert.deepEqual([none.status, none.text], [200, ""], "an empty range is an empty body");
});

test("the export needs the admin token and a sane range", async () => {
  const anonymous = await exportLeads(T, T + HOUR, { auth: false });
  assert.equal(anonymous.status, 401);
  assert.equal(JSON.parse(anonymous.text).error.code, "unauthorized");
  for (const [from, to] of [["yesterday", T], [-1, T], [T, 253_402_300_800_000], [T, `${T}.5`]]) {
    const r = await exportLeads(from, to);
    assert.equal(r.status, 400, `${from}..${to}`);
    assert.equal(JSON.parse(r.text).error.code, "bad_query", `${from}..${to}`);
  }
  // [from, to) is empty when from is not before to: an empty file, not an error.
  for (const [from, to] of [[T + HOUR, T], [T, T]]) {
    const r = await exportLeads(from, to);
    assert.equal(r.status, 200, `${from}..${to}`);
    assert.equal(r.text, "", `${from}..${to}`);
  }
});

test("1,200 leads page through in order, each once, streamed; leads stored before inputs were kept export empty ones", async () => {
  const day = EPOCH + 10 * DAY;
  const statements = [];
  for (let i = 0; i < 1200; i++) {
    // Three leads share each millisecond, so the pages must break ties by id; ids are not in time
    // order (the suffix counts down), so ordering by id alone would be wrong.
    const at = day + Math.floor(i / 3) * 1000;
    const id = `bulk-${String(i).padStart(5, "0")}-${String(9999 - i).padStart(4, "0")}`;
    const inputs = i % 2 ? JSON.stringify({ activity: [{ kind: "bulk", at_ms: at }], context: { fill_ms: i }, facts: null }) : null;
    statements.push(worker.db.prepare("INSERT INTO leads (id, form_id, email, answers, bundle_version, created_at, status, inputs) VALUES (?, 'contact', NULL, ?, 'sha256:bulk', ?, 'new', ?)")
      .bind(id, JSON.stringify({ n: String(i) }), at, inputs));
  }
  for (let i = 0; i < statements.length; i += 100) await worker.db.batch(statements.slice(i, i + 100));
  // Three submitted leads among them: at the start, on a page boundary's time, and at the end.
  const submitted = [];
  for (const offset of [0, 166_000, 399_000]) {
    const id = await worker.submit({ form: "contact", answers: { email: `bulk${offset}@us.example`, country: "US", interest: "A demo" }, activity: [{ kind: "page", at_ms: day }], context: { fill_ms: 5_000 } }, { now: day + offset });
    submitted.push({ id, at: day + offset });
  }

  const r = await worker.fetch(`/v1/export/leads.jsonl?from=${day}&to=${day + DAY}`, { admin: true, now: day + DAY });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-length"), null, "a streamed body has no length up front");
  const lines = (await r.text()).trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 1203);
  assert.equal(new Set(lines.map((l) => l.id)).size, 1203);
  const key = (l) => [Date.parse(l.at), l.id];
  for (let i = 1; i < lines.length; i++) {
    const [a, b] = [key(lines[i - 1]), key(lines[i])];
    assert.ok(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]), `line ${i}: ${a} before ${b}`);
  }
  for (const s of submitted) {
    const line = lines.find((l) => l.id === s.id);
    assert.equal(Date.parse(line.at), s.at);
    assert.deepEqual([line.activity, line.context], [[{ kind: "page", at_ms: day }], { fill_ms: 5_000 }]);
    assert.equal(line.outcome.sla.policy, "sales");
  }
  const bulk = lines.filter((l) => l.id.startsWith("bulk-"));
  assert.equal(bulk.length, 1200);
  for (const line of bulk) {
    const i = Number(line.answers.n);
    assert.deepEqual(Object.keys(line), KEYS);
    if (i % 2) assert.deepEqual([line.activity, line.context, line.facts], [[{ kind: "bulk", at_ms: Date.parse(line.at) }], { fill_ms: i }, null]);
    else assert.deepEqual([line.activity, line.context, line.facts, line.attribution, line.outcome.sla], [[], {}, null, {}, null], "stored before inputs were kept");
  }
});
