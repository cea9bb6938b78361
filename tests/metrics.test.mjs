// Reporting on real workerd (Miniflare) with real local D1/KV: a scripted morning of submissions,
// notifications (a real webhook receiver on loopback), touches and outcomes (the set-up), and a
// day later six leads whose owners accept them apart from contacting them, win and lose deals in
// two currencies, and whose lifecycles returning people raise; then the metrics API, the CSV
// export, and the JSON-lines export read by `handoff metrics`, which must give exactly the API's
// numbers. The bundle is tests/fixtures/sla.toml (calendar SLA clocks of 5 minutes).
//
// Accepting, touching and outcomes go through the events API (which also logs the status moves);
// what other writers leave in a log is inserted into it in D1, as they store it: a life a CRM told
// only as status changes, lifecycle raises by returning people, a legacy "I've got it" first touch
// from before issue 15, and an accept target on each clock.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { DAY, EPOCH, HANDOFF, MINUTE, randomToken, ROOT, startReceiver, startWorker } from "./support/edge.mjs";

const run = promisify(execFile);
// Thursday 10:00 UTC.
const T0 = EPOCH + 2 * DAY;
// Friday 10:00 UTC: the day of acceptance and deals.
const T1 = EPOCH + 3 * DAY;
let worker, state, mf, db, receiver, ADMIN_TOKEN;

before(async () => {
  receiver = await startReceiver();
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
      RATE_LIMIT_PER_MINUTE: "100000",
      WEBHOOK_SECRET_TEST: `whsec_${randomBytes(24).toString("base64")}`,
      LINK_SECRET: randomToken(),
    },
  });
  ({ state, mf, db, adminToken: ADMIN_TOKEN } = worker);
  await scriptedMorning();
  await acceptingAndDeals();
});
after(async () => {
  await worker?.dispose();
  await receiver?.close();
});

let n = 0;
async function submit(country, utm, now) {
  const r = await mf.dispatchFetch("http://localhost/v1/leads", {
    method: "POST",
    headers: { "content-type": "application/json", "x-test-now-ms": String(now) },
    body: JSON.stringify({
      form: "contact", answers: { email: `lead-${++n}@example.com`, country, name: `Lead ${n}` },
      context: { fill_ms: 60_000 }, attribution: { utm },
    }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  return (await r.json()).id;
}
async function report(id, event, now) {
  const r = await mf.dispatchFetch(`http://localhost/v1/leads/${id}/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", "x-test-now-ms": String(now) },
    body: JSON.stringify(event),
  });
  assert.equal(r.status, 201, await r.text());
}
const admin = (path) => worker.fetch(path, { admin: true, now: T0 + DAY });

// The set-up every test below reads: four leads, their notifications, touches and outcomes.
const ids = {};
async function scriptedMorning() {
  ids.fast = await submit("US", { source: "google", campaign: "fall" }, T0);
  ids.slow = await submit("US", { source: "linkedin" }, T0 + MINUTE);
  ids.never = await submit("FR", { source: "google", campaign: "fall" }, T0 + 2 * MINUTE);
  // A campaign name comes from the visitor's URL: here, one a spreadsheet would run.
  ids.late = await submit("US", { campaign: "=1+2" }, T0 + 3 * MINUTE);
  // Deliveries happen after each answer (waitUntil); give them a moment.
  await new Promise((ok) => setTimeout(ok, 300));
  await report(ids.fast, { type: "touch", channel: "call", actor: "ana" }, T0 + 3 * MINUTE);
  await report(ids.fast, { type: "touch", channel: "meeting_booked", actor: "ana" }, T0 + 10 * MINUTE);
  await report(ids.slow, { type: "touch", channel: "email", actor: "ana" }, T0 + 21 * MINUTE);
  await report(ids.slow, { type: "outcome", outcome: "rejected", reason: "student", actor: "ana" }, T0 + 30 * MINUTE);
  await report(ids.late, { type: "outcome", outcome: "opportunity", actor: "ana" }, T0 + 3 * MINUTE + 2 * 60 * MINUTE);
}

// The day after: six leads, each event at a minute after its lead's creation (T1 + i minutes).
const deals = {};
async function log(id, at, kind, detail) {
  await db.prepare("INSERT INTO lead_events (lead_id, at, kind, actor, detail) VALUES (?1, ?2, ?3, 'system', ?4)")
    .bind(id, at, kind, JSON.stringify(detail)).run();
}
async function acceptingAndDeals() {
  const names = ["won", "legacy", "usd", "lost", "raised", "cold"];
  const sources = { won: "google", legacy: "linkedin", usd: "google", lost: "newsletter", raised: "google", cold: "linkedin" };
  for (const [i, name] of names.entries()) {
    deals[name] = await submit(name === "cold" ? "FR" : "US", { source: sources[name] }, T1 + i * MINUTE);
  }
  const at = (name, minutes) => T1 + (names.indexOf(name) + minutes) * MINUTE;
  // Every clock gets an accept target 5 minutes after its lead (the policy's, as sla_started keeps it).
  for (const name of names) {
    await db.prepare("UPDATE lead_events SET detail = json_set(detail, '$.accept_due_ms', ?2) WHERE lead_id = ?1 AND kind = 'sla_started'")
      .bind(deals[name], at(name, 5)).run();
  }
  // Accepted after 2 minutes, called at 30, an opportunity, won for more.
  await report(deals.won, { type: "accept", actor: "ana" }, at("won", 2));
  await report(deals.won, { type: "touch", channel: "call", actor: "ana" }, at("won", 30));
  await report(deals.won, { type: "outcome", outcome: "opportunity", amount: 10000, currency: "EUR", actor: "ana" }, at("won", 60));
  await report(deals.won, { type: "outcome", outcome: "won", amount: 12000, currency: "EUR", actor: "ana" }, at("won", 120));
  await log(deals.won, at("won", 120), "lifecycle_raised", { from: "nurture", to: "sql", lead: "repeat-1" });
  // The old "I've got it" link wrote a first touch at 4 minutes: an acceptance. The email at 40 is
  // the first contact (the old Worker wrote no second first_touch); an open opportunity.
  await log(deals.legacy, at("legacy", 4), "first_touch", { via: "link", owner: "ana" });
  await report(deals.legacy, { type: "touch", channel: "email", actor: "ana" }, at("legacy", 40));
  await report(deals.legacy, { type: "outcome", outcome: "opportunity", amount: 2500, currency: "EUR", actor: "ana" }, at("legacy", 60));
  // A life the CRM tells as status changes only: accepted at 1, working at 8, won in dollars.
  await report(deals.usd, { type: "accept", actor: "ana" }, at("usd", 1));
  await log(deals.usd, at("usd", 1), "status_changed", { from: "new", to: "accepted", via: "events" });
  await log(deals.usd, at("usd", 8), "status_changed", { from: "accepted", to: "working", via: "crm" });
  await log(deals.usd, at("usd", 18), "status_changed", { from: "working", to: "opportunity", via: "crm", amount: 5000, currency: "USD" });
  await log(deals.usd, at("usd", 88), "status_changed", { from: "opportunity", to: "won", via: "crm", amount: 4000, currency: "USD" });
  // Called at 2 minutes without pressing accept (taken by working it), then lost.
  await report(deals.lost, { type: "touch", channel: "call", actor: "ana" }, at("lost", 2));
  await report(deals.lost, { type: "outcome", outcome: "opportunity", amount: 3000, currency: "EUR", actor: "ana" }, at("lost", 30));
  await report(deals.lost, { type: "outcome", outcome: "lost", reason: "price", amount: 3000, currency: "EUR", actor: "ana" }, at("lost", 200));
  // Nobody took it; its person came back and raised it to MQL.
  await log(deals.raised, at("raised", 500), "lifecycle_raised", { from: "nurture", to: "mql", lead: "repeat-2" });
}

const range = `from=${T0 - 60 * MINUTE}&to=${T0 + 24 * 60 * MINUTE}`;
const dealDay = `from=${T1 - 60 * MINUTE}&to=${T1 + 24 * 60 * MINUTE}`;
const both = `from=${T0 - 60 * MINUTE}&to=${T1 + 24 * 60 * MINUTE}`;

test("the metrics API: speed to lead, SLA share, rates and tiers, by source", async () => {
  const r = await admin(`/v1/metrics?${range}&group_by=source`);
  assert.equal(r.status, 200);
  const m = await r.json();
  const t = m.total;
  assert.deepEqual([t.leads, t.touched, t.untouched], [4, 3, 1]);
  // First touch after 3, 20 and 120 minutes.
  assert.deepEqual(t.first_touch_ms, { n: 3, median: 20 * MINUTE, p90: 120 * MINUTE });
  assert.equal(t.system_delay_ms.n, 4, "each lead's webhook was delivered");
  assert.deepEqual(t.system_delay_ms.median, 0, "notified at the lead's own (test) clock");
  assert.deepEqual([t.sla.with_sla, t.sla.within, t.sla.share], [4, 1, 0.25]);
  assert.deepEqual([t.contacted, t.meetings, t.opportunities, t.rejected], [3, 1, 1, 1]);
  assert.deepEqual(t.rejects_by_reason, [{ key: "student", n: 1 }]);
  assert.deepEqual(t.tiers.map((x) => [x.tier, x.leads, x.meetings, x.opportunities]),
    [["0-5m", 1, 1, 0], ["5-30m", 1, 0, 0], ["30-60m", 0, 0, 0], ["1-4h", 1, 0, 1], ["4h+", 0, 0, 0], ["untouched", 1, 0, 0]]);
  assert.deepEqual(m.groups.map((g) => [g.key, g.leads, g.touched]), [["google", 2, 1], ["direct", 1, 1], ["linkedin", 1, 1]]);
  const byCampaign = await (await admin(`/v1/metrics?${range}&group_by=campaign`)).json();
  assert.deepEqual(byCampaign.groups.map((g) => [g.key, g.leads]), [["fall", 2], ["(none)", 1], ["=1+2", 1]]);
  for (const bad of ["group_by=weekday", "from=abc", "from=-1", "to=253402300800000", `from=${T0}.5`]) {
    const answer = await admin(`/v1/metrics?${bad}`);
    assert.equal(answer.status, 400, bad);
    assert.equal((await answer.json()).error.code, "bad_query");
  }
  // The range is [from, to): empty when from is not before to; any span, from the epoch on.
  for (const empty of [`from=${T0}&to=${T0}`, `from=${T0 + MINUTE}&to=${T0}`]) {
    const answer = await (await admin(`/v1/metrics?${empty}`)).json();
    assert.deepEqual([answer.total.leads, answer.groups.length], [0, 0], empty);
  }
  const sinceEpoch = await (await admin(`/v1/metrics?from=0&to=${T1 + 24 * 60 * MINUTE}`)).json();
  assert.ok(sinceEpoch.total.leads >= (await (await admin(`/v1/metrics?${both}`)).json()).total.leads);
  assert.equal((await mf.dispatchFetch(`http://localhost/v1/metrics?${range}`)).status, 401);
});

test("acceptance and first contact are measured apart; revenue per currency, win rate and the funnel", async () => {
  const m = await (await admin(`/v1/metrics?${dealDay}&group_by=source`)).json();
  const t = m.total;
  assert.deepEqual([t.leads, t.routed, t.accepted, t.acceptance_rate], [6, 6, 4, 4 / 6]);
  // Accepted after 2 (won), 4 (legacy link), 1 (usd) and 2 minutes (lost, by its call).
  assert.deepEqual(t.accept_ms, { n: 4, median: 2 * MINUTE, p90: 4 * MINUTE });
  assert.deepEqual([t.accept_sla.with_sla, t.accept_sla.within], [6, 4]);
  // First contact after 30 (won), 40 (legacy: its link click is no contact), 8 (usd) and 2 (lost).
  assert.deepEqual(t.first_touch_ms, { n: 4, median: 8 * MINUTE, p90: 40 * MINUTE });
  assert.deepEqual([t.touched, t.contacted, t.contact_rate, t.sla.within], [4, 4, 4 / 6, 1]);
  assert.deepEqual(t.tiers.map((x) => [x.tier, x.leads]),
    [["0-5m", 1], ["5-30m", 1], ["30-60m", 2], ["1-4h", 0], ["4h+", 0], ["untouched", 2]]);
  assert.deepEqual([t.won, t.lost, t.win_rate, t.opportunities], [2, 1, 2 / 3, 4]);
  assert.deepEqual(t.pipeline, { EUR: 14500, USD: 4000 }, "won and open deals, never the lost one");
  assert.deepEqual(t.won_revenue, { EUR: 12000, USD: 4000 });
  assert.deepEqual(t.funnel, { mql: 5, sql: 4, opportunity: 4, won: 2,
    lead_to_mql: 5 / 6, mql_to_sql: 0.8, sql_to_opportunity: 1, opportunity_to_won: 0.5 });
  const bySource = Object.fromEntries(m.groups.map((g) => [g.key, g]));
  assert.deepEqual(Object.keys(bySource), ["google", "linkedin", "newsletter"]);
  assert.deepEqual([bySource.google.won, bySource.google.won_revenue, bySource.google.acceptance_rate],
    [2, { EUR: 12000, USD: 4000 }, 2 / 3]);
  assert.deepEqual([bySource.linkedin.pipeline, bySource.linkedin.won_revenue, bySource.linkedin.accepted], [{ EUR: 2500 }, {}, 1]);
  assert.deepEqual([bySource.newsletter.lost, bySource.newsletter.win_rate, bySource.newsletter.pipeline], [1, 0, {}]);
  // The morning's leads were worked without an accept: each taken at its first contact.
  const morning = (await (await admin(`/v1/metrics?${range}`)).json()).total;
  assert.deepEqual([morning.accepted, morning.routed, morning.accept_ms.median], [3, 4, 20 * MINUTE]);
  assert.deepEqual([morning.won, morning.win_rate, morning.pipeline], [0, null, {}]);
});

test("the CSV export: a row per lead with its outcome, and no cell a spreadsheet would run", async () => {
  const r = await admin(`/v1/export/leads.csv?${range}`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^text\/csv/);
  assert.match(r.headers.get("content-disposition"), /attachment; filename="handoff-leads.csv"/);
  const [header, ...rows] = (await r.text()).trim().split("\r\n");
  assert.equal(header.split(",").length, 24);
  assert.equal(rows.length, 4);
  const row = (id) => Object.fromEntries(header.split(",").map((h, i) => [h, rows.find((x) => x.startsWith(id)).split(",")[i]]));
  assert.deepEqual([row(ids.fast).first_touch_seconds, row(ids.fast).within_sla, row(ids.fast).meeting], ["180", "1", "1"]);
  assert.deepEqual([row(ids.slow).rejected, row(ids.slow).reject_reason, row(ids.slow).within_sla], ["1", "student", "0"]);
  assert.deepEqual([row(ids.never).first_touch_at, row(ids.never).contacted], ["", "0"]);
  assert.equal(row(ids.late).source, "direct");
  assert.equal(row(ids.late).campaign, "'=1+2", "a formula is defused");
  const [dealHeader, ...dealRows] = (await (await admin(`/v1/export/leads.csv?${dealDay}`)).text()).trim().split("\r\n");
  const deal = (id) => Object.fromEntries(dealHeader.split(",").map((h, i) => [h, dealRows.find((x) => x.startsWith(id)).split(",")[i]]));
  assert.deepEqual(["accept_seconds", "first_touch_seconds", "accepted_in_time", "won", "deal_amount", "deal_currency"].map((k) => deal(deals.legacy)[k]),
    ["240", "2400", "1", "0", "2500", "EUR"]);
  assert.deepEqual(["won", "lost", "deal_amount", "deal_currency"].map((k) => deal(deals.usd)[k]), ["1", "0", "4000", "USD"]);
  assert.deepEqual(["accepted_at", "accepted_in_time", "lost"].map((k) => deal(deals.cold)[k]), ["", "0", "0"]);
});

test("the JSON-lines export gives `handoff metrics` exactly the API's numbers", async () => {
  const exported = await admin(`/v1/export/events.jsonl?${both}`);
  assert.equal(exported.status, 200);
  const file = join(state.dir, "events.jsonl");
  await writeFile(file, await exported.text());
  const groupings = ["all", "source", "campaign", "segment", "owner", "lifecycle", "arm", "day", "country", "region", "function", "seniority"];
  for (const group of groupings) {
    const api = await (await admin(`/v1/metrics?${both}&group_by=${group}`)).json();
    const { stdout } = await run(HANDOFF, ["metrics", "--events", file, "--from", String(T0 - 60 * MINUTE),
      "--to", String(T1 + 24 * 60 * MINUTE), "--group-by", group]);
    assert.deepEqual(JSON.parse(stdout), api, group);
    if (group === "country") {
      // The country select's answers, read as ISO codes at intake: every lead has one.
      assert.deepEqual(api.groups.map((g) => g.key).sort(), ["FR", "US"]);
      assert.equal(api.groups.reduce((sum, g) => sum + g.leads, 0), api.total.leads);
    }
    if (group === "seniority") assert.deepEqual(api.groups.map((g) => g.key), ["(none)"], "no title asked");
    if (group === "all") {
      // Acceptance apart from contact, revenue per currency and the funnel are in both.
      assert.deepEqual([api.total.accepted, api.total.touched, api.total.won_revenue, api.total.funnel.won],
        [7, 7, { EUR: 12000, USD: 4000 }, 2]);
    }
  }
});

test("folded into rollups by the cron, the API gives the same numbers (a few leads: each sketch still exact)", async () => {
  const groupings = ["all", "source", "owner", "day", "arm"];
  const queries = [range, dealDay, both].flatMap((r) => groupings.map((g) => `${r}&group_by=${g}`));
  const unfolded = [];
  for (const q of queries) unfolded.push(await (await admin(`/v1/metrics?${q}`)).json());
  const dirty = async () => (await db.prepare("SELECT COUNT(*) AS n FROM metric_leads WHERE version > folded").first()).n;
  assert.ok(await dirty() > 0, "every lead written since the last fold is marked");
  // A tick before the first lead: nothing is due for the SLA or the outbox, the fold runs.
  await worker.tick(T0 - 60 * MINUTE);
  assert.equal(await dirty(), 0);
  for (const [i, q] of queries.entries()) {
    assert.deepEqual(await (await admin(`/v1/metrics?${q}`)).json(), unfolded[i], q);
  }
});
