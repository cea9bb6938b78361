// `handoff route` and the Worker agree: leads submitted to real workerd (Miniflare, local D1/KV)
// over a day and a half, at their own times, are routed again offline by `handoff route` from the
// same starting state (empty), each with its id and arrival time, and every lead's assignee,
// merge, SLA deadline, ladder and experiment arm must be the Worker's. The configuration is
// crates/cli/tests/data/route.toml: territories, an account, a 3:2:1 pool, owners with hours in
// New York and Berlin, a fallback, a working-hours SLA with a ladder, and an SLA experiment.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DAY, EPOCH, HANDOFF, HOUR, MINUTE, iso, ROOT, startWorker } from "./support/edge.mjs";

const CONFIG = join(ROOT, "crates/cli/tests/data/route.toml");
let worker;

before(async () => {
  worker = await startWorker({ config: CONFIG, bindings: { RATE_LIMIT_PER_MINUTE: "100000" } });
});
after(() => worker?.dispose());

/** `handoff route` over `lines`, its output lines parsed. */
const route = (lines) => handoff(["route", "--form", "contact", "--config", CONFIG, "--now", iso(EPOCH)], lines.map((l) => JSON.stringify(l)).join("\n") + "\n");

/** The CLI with `args`, `stdin` given, its output lines parsed; it must exit 0. */
function handoff(args, stdin = "") {
  return new Promise((resolve, reject) => {
    const child = spawn(HANDOFF, args);
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out.trim().split("\n").map((l) => JSON.parse(l))) : reject(new Error(`handoff ${args[0]} exited ${code}: ${err}`))));
    child.stdin.end(stdin);
  });
}

const sent = [];

test("the Worker and handoff route place every lead of a recorded run alike", async () => {
  const countries = ["US", "DE", "FR", "GB", "JP", "FR"];
  const sizes = ["1000+", "1-50", "51-1000", "1000+"];
  for (let i = 0; i < 48; i++) {
    // Every ten minutes to every hour and a half: nights, a morning, a second working day.
    const at = EPOCH + i * 41 * MINUTE;
    // Every eighth lead is the person before it again, within the merge window.
    const who = i % 8 === 7 ? i - 1 : i;
    const answers = {
      email: i === 5 ? "buyer@acme.example" : `person${who}@co${who % 5}.example`,
      company_size: sizes[i % sizes.length],
      country: countries[i % countries.length],
      interest: i % 5 === 0 ? "Newsletter" : "A demo",
    };
    const context = i === 11 ? { honeypot: "https://spam.example" } : { fill_ms: 30_000 };
    const id = await worker.submit({ form: "contact", answers, context }, { now: at });
    sent.push({ id, at, answers, context });
  }
  const offline = await route(sent.map((s) => ({ id: s.id, at: iso(s.at), answers: s.answers, context: s.context })));
  assert.equal(offline.length, sent.length);

  const place = async (id) => {
    const lead = await worker.db.prepare("SELECT owner_kind, owner_id, merged_into, experiment, arm FROM leads WHERE id = ?").bind(id).first();
    const clock = await worker.db.prepare("SELECT policy, first_touch_due, steps FROM sla_clocks WHERE lead_id = ?").bind(id).first();
    return {
      assignee: lead.owner_id ? `${lead.owner_kind}:${lead.owner_id}` : null,
      merged_into: lead.merged_into,
      arm: lead.experiment ? `${lead.experiment}/${lead.arm}` : null,
      sla: clock && { policy: clock.policy, due: clock.first_touch_due, ladder: JSON.parse(clock.steps).map((s) => [s.level, s.due_ms, s.to]) },
    };
  };
  // A lead's clock offline: its own line's, or the last clock a repeat folded into it started
  // (a repeat that raises its lead's stage starts the lead's clock again, as the Worker does).
  const clocks = new Map();
  for (const o of offline) {
    const holder = o.merged_into ?? o.id;
    if (o.sla || !o.merged_into) clocks.set(holder, o.sla);
  }
  const kinds = new Set();
  for (const [i, s] of sent.entries()) {
    const online = await place(s.id);
    const o = offline[i];
    const sla = clocks.get(s.id);
    const mine = {
      assignee: o.assignee && `${o.assignee.kind}:${o.assignee.id}`,
      merged_into: o.merged_into,
      arm: o.arm && `${o.arm.experiment}/${o.arm.arm}`,
      sla: sla ? { policy: sla.policy, due: Date.parse(sla.first_touch_due), ladder: sla.ladder.map((x) => [x.level, Date.parse(x.at), x.to]) } : null,
    };
    assert.deepEqual(mine, online, `lead ${i} (${JSON.stringify(s.answers)} at ${iso(s.at)})`);
    kinds.add(online.merged_into ? "merged" : online.assignee ? online.assignee.split(":")[0] : "unrouted");
    if (online.arm) kinds.add("arm");
    if (online.sla) kinds.add("sla");
  }
  // The run covered every kind of place.
  assert.deepEqual([...kinds].sort(), ["arm", "merged", "owner", "queue", "sla", "unrouted"]);
});

const exportLeads = (from, to, auth = true) => worker.fetch(`/v1/export/leads.jsonl?from=${from}&to=${to}`, { admin: auth });

test("the leads export replays: every lead with its inputs and outcome, and handoff simulate finds nothing changed", async () => {
  const from = EPOCH - MINUTE, to = EPOCH + 3 * DAY;
  const r = await exportLeads(from, to);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "application/x-ndjson");
  const text = await r.text();
  const lines = text.trim().split("\n").map((l) => JSON.parse(l));
  // Every lead, the bot and the merged repeats included, oldest first.
  assert.deepEqual(lines.map((l) => l.id), sent.map((s) => s.id));
  const keys = (o) => Object.keys(o).sort();
  assert.deepEqual(keys(lines[0]), ["activity", "answers", "at", "attribution", "bundle_version", "context", "facts", "form", "id", "outcome", "visitor"]);
  assert.deepEqual(keys(lines[0].outcome), ["arm", "assignee", "disqualify_reason", "first_touch_at", "grade", "lifecycle", "merged_into", "previous_lead", "score", "sla", "status", "statuses"]);
  assert.equal(Date.parse(lines[0].at), sent[0].at);
  assert.deepEqual(lines[11].context, { honeypot: "https://spam.example" }, "the context as sent");
  assert.equal(lines[11].outcome.disqualify_reason, "bot");
  assert.deepEqual(lines[0].facts, { active_deal: false, in_sequence: false, last_contacted_ms: null }, "the CRM facts read at intake");
  assert.ok(lines.some((l) => l.outcome.merged_into) && lines.some((l) => l.outcome.sla?.ladder.length));
  // Replayed offline through the same configuration, with the recorded outcomes as the baseline.
  const dir = await mkdtemp(join(tmpdir(), "handoff-export-"));
  try {
    const file = join(dir, "leads.jsonl");
    await writeFile(file, text);
    const same = await handoff(["simulate", "--config", CONFIG, "--leads", file, "--now", iso(to)]);
    const { summary } = same.at(-1);
    assert.equal(summary.leads, sent.length);
    assert.equal(summary.changed, 0, JSON.stringify(same.filter((l) => l.changed?.length)));
    // One rule moved: only the German leads change hands.
    const moved = join(dir, "moved.toml");
    await writeFile(moved, (await readFile(CONFIG, "utf8")).replace('to = "owner:ole"', 'to = "owner:nia"'));
    const after = await handoff(["simulate", "--config", moved, "--leads", file, "--now", iso(to)]);
    const changedHands = after.filter((l) => l.changed?.includes("assignee"));
    assert.ok(changedHands.length > 0);
    for (const l of changedHands) assert.deepEqual([l.before.assignee, l.after.assignee], ["owner:ole", "owner:nia"], JSON.stringify(l));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the leads export pages through a long range in order, each lead once; it needs the token and a sane range", async () => {
  // 1,234 leads written straight into D1 on a day of their own: three pages of 500.
  const day = EPOCH + 10 * DAY;
  const statements = [];
  for (let i = 0; i < 1234; i++) {
    // Pairs share a time, so paging must order by id too.
    statements.push(worker.db.prepare("INSERT INTO leads (id, form_id, email, answers, bundle_version, created_at, status) VALUES (?, 'contact', NULL, '{}', 'sha256:x', ?, 'new')")
      .bind(`bulk-${String(i).padStart(5, "0")}`, day + Math.floor(i / 2) * 1000));
  }
  for (let i = 0; i < statements.length; i += 100) await worker.db.batch(statements.slice(i, i + 100));
  const r = await exportLeads(day, day + DAY);
  assert.equal(r.status, 200);
  const ids = (await r.text()).trim().split("\n").map((l) => JSON.parse(l).id);
  assert.equal(ids.length, 1234);
  assert.equal(new Set(ids).size, 1234);
  assert.deepEqual(ids, [...ids].sort());
  // A lead stored without its inputs exports empty ones.
  const [first] = (await (await exportLeads(day, day + 1)).text()).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual([first.activity, first.context, first.facts, first.outcome.sla], [[], {}, null, null]);
  assert.equal((await exportLeads(day, day + DAY, false)).status, 401);
  const bad = await exportLeads(day, "tomorrow");
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, "bad_query");
});

test("a replay frees an owner's slot when the recorded lead was worked, as the Worker did", async () => {
  // Uma takes one open lead at a time (`new` or `accepted`); her leads of the first run are worked.
  const t = EPOCH + 20 * DAY;
  const report = async (id, event, now) => {
    const r = await worker.fetch(`/v1/leads/${id}/events`, { method: "POST", admin: true, now,
      headers: { "content-type": "application/json" }, body: JSON.stringify(event) });
    assert.equal(r.status, 201, await r.text());
  };
  const held = await worker.db.prepare("SELECT id FROM leads WHERE owner_id = 'uma' AND status IN ('new', 'accepted')").all();
  for (const { id } of held.results) await report(id, { type: "touch", channel: "call", actor: "uma" }, t - HOUR);
  const japan = (n, at) => worker.submit({ form: "contact", answers: { email: `jp${n}@jp.example`, company_size: "1000+", country: "JP", interest: "A demo" },
    context: { fill_ms: 30_000 } }, { now: at });
  const j1 = await japan(1, t);
  await report(j1, { type: "accept", actor: "uma" }, t + 10 * MINUTE);
  const j2 = await japan(2, t + 20 * MINUTE); // Uma has accepted j1 but not worked it: full.
  await report(j1, { type: "touch", channel: "call", actor: "uma" }, t + 25 * MINUTE);
  const j3 = await japan(3, t + 30 * MINUTE); // j1 is worked: her slot is free.
  const j4 = await japan(4, t + 40 * MINUTE); // She holds j3.
  const owner = async (id) => (await worker.db.prepare("SELECT owner_kind || ':' || owner_id AS o FROM leads WHERE id = ?").bind(id).first()).o;
  const online = await Promise.all([j1, j2, j3, j4].map(owner));
  assert.deepEqual(online, ["owner:uma", "queue:triage", "owner:uma", "queue:triage"]);

  const text = await (await exportLeads(t, t + HOUR)).text();
  const lines = text.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines[0].outcome.statuses, [{ at: iso(t + 10 * MINUTE), to: "accepted" }, { at: iso(t + 25 * MINUTE), to: "working" }]);
  assert.deepEqual(lines[1].outcome.statuses, []);
  const dir = await mkdtemp(join(tmpdir(), "handoff-capacity-"));
  try {
    const file = join(dir, "leads.jsonl");
    await writeFile(file, text);
    const replayed = await handoff(["simulate", "--config", CONFIG, "--leads", file, "--now", iso(t + HOUR)]);
    assert.deepEqual(replayed.slice(0, -1).map((l) => l.after.assignee), online);
    assert.equal(replayed.at(-1).summary.changed, 0, JSON.stringify(replayed));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("who would get a lead that arrived now, and by when: the live rotation state, the CRM's facts, a candidate configuration; nothing stored", async () => {
  const now = EPOCH + 20 * DAY + HOUR; // Uma holds j3 of the test before: she is full.
  const ask = (body, { type = "application/json", auth = true } = {}) => worker.json("/v1/config/route", {
    method: "POST", admin: auth, now, headers: { "content-type": type }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const count = async () => (await worker.db.prepare("SELECT COUNT(*) AS n FROM leads").first()).n;
  const leads = await count();
  const lead = (email, country, extra = {}) => ({ form: "contact", answers: { email, company_size: "1000+", country, interest: "A demo" }, ...extra });

  const full = await ask({ lead: lead("next@jp.example", "JP") });
  assert.equal(full.status, 200, full.text);
  assert.equal(full.json.candidate, false);
  assert.equal(full.json.version, (await (await worker.fetch("/v1/config", { admin: true, now })).json()).active);
  const place = full.json.place;
  assert.deepEqual(place.assignee, { kind: "queue", id: "triage" });
  assert.equal(Date.parse(place.at), now);
  assert.deepEqual(place.route.attempts[0].candidates.map((c) => [c.owner, c.skip]), [["uma", "at_capacity"]]);
  assert.equal(place.sla.policy, "sales");

  // The same lead through a candidate where Japan goes to Nia: her deadline in New York's hours.
  const text = await readFile(CONFIG, "utf8");
  const moved = await ask({ lead: lead("next@jp.example", "JP"), config: text.replace('to = "owner:uma"', 'to = "owner:nia"') });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.json.candidate, true);
  assert.notEqual(moved.json.version, full.json.version);
  assert.deepEqual(moved.json.place.assignee, { kind: "owner", id: "nia" });
  assert.match(moved.json.place.route.summary, /Nia/);

  // A person with an open deal in the CRM: placed, but no clock starts; unless the lead says otherwise.
  await worker.db.prepare("INSERT INTO crm_facts (subject, active_deal, in_sequence, last_contacted_at, source, updated_at) VALUES ('email:buyer@deal.example', 1, 0, NULL, 'events', ?)").bind(now - DAY).run();
  const dealt = await ask({ lead: lead("buyer@deal.example", "US") });
  assert.deepEqual([dealt.json.place.assignee, dealt.json.place.sla, dealt.json.place.no_sla], [{ kind: "owner", id: "nia" }, null, "active_deal"]);
  const told = await ask({ lead: lead("buyer@deal.example", "US", { facts: { active_deal: false } }) });
  assert.equal(told.json.place.sla.policy, "sales");
  assert.equal(await count(), leads, "nothing stored");

  // What cannot be answered, and why.
  const broken = await ask({ lead: lead("x@jp.example", "JP"), config: "[[forms]]\nid = 1\n" });
  assert.deepEqual([broken.status, broken.json.error.code], [422, "config_invalid"]);
  assert.ok(broken.json.error.problems.length > 0);
  for (const [body, status, code] of [
    [{ lead: "not an object" }, 400, "bad_json"],
    [{ lead: lead("x@jp.example", "JP"), extra: 1 }, 400, "bad_json"],
    [{ lead: { ...lead("x@jp.example", "JP"), at: "soon" } }, 400, "bad_json"],
    [{ lead: { ...lead("x@jp.example", "JP"), form: "nope" } }, 404, "unknown_form"],
  ]) {
    const r = await ask(body);
    assert.deepEqual([r.status, r.json?.error?.code], [status, code], JSON.stringify(body));
  }
  assert.equal((await ask({ lead: lead("x@jp.example", "JP") }, { auth: false })).status, 401);
  assert.equal((await ask("lead", { type: "text/plain" })).status, 415);
});

test("a configuration previewed over the last days: what it would have changed, and nothing activated", async () => {
  const now = EPOCH + 2 * DAY;
  const preview = (toml, { days = 30, auth = true } = {}) => worker.fetch(`/v1/config/preview?days=${days}`, {
    method: "POST", body: toml, headers: { "content-type": "application/toml" }, admin: auth, now,
  });
  const text = await readFile(CONFIG, "utf8");
  const active = (await (await worker.fetch("/v1/config", { admin: true, now })).json()).active;
  const same = await preview(text);
  assert.equal(same.status, 200, await same.clone().text());
  const body = await same.json();
  assert.equal(body.version, body.active);
  assert.deepEqual([body.summary.leads, body.summary.changed, body.skipped, body.truncated], [sent.length, 0, 0, false]);
  assert.deepEqual(body.changed, []);
  const moved = await (await preview(text.replace('to = "owner:ole"', 'to = "owner:nia"'))).json();
  assert.notEqual(moved.version, moved.active);
  assert.ok(moved.summary.changed > 0 && moved.changed.length === moved.summary.changed);
  const byId = new Map(sent.map((s) => [s.id, s]));
  for (const l of moved.changed) {
    assert.deepEqual([l.before.assignee, l.after.assignee], ["owner:ole", "owner:nia"]);
    // Each changed lead says who it is, as its alert would.
    assert.equal(l.lead.email, byId.get(l.id).answers.email);
    assert.equal(l.lead.company, byId.get(l.id).answers.company ?? null);
  }
  assert.equal(moved.summary.assignees["owner:ole"].after, 0);
  // Nothing was activated.
  assert.equal((await (await worker.fetch("/v1/config", { admin: true, now })).json()).active, active);
  const invalid = await preview("[[forms]]\nid = 1\n");
  assert.equal(invalid.status, 422);
  assert.equal((await invalid.json()).error.code, "config_invalid");
  assert.equal((await preview(text, { auth: false })).status, 401);
  assert.equal((await preview(text, { days: 91 })).status, 400);
});
