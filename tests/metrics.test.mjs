// Reporting on real workerd (Miniflare) with real local D1/KV: a scripted morning of submissions,
// notifications (a real webhook receiver on loopback), touches and outcomes (the set-up), then the metrics API,
// the CSV export, and the JSON-lines export read by `handoff metrics`, which must give exactly the
// API's numbers. The bundle is tests/fixtures/sla.toml (calendar SLA clocks of 5 minutes).
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
let worker, state, mf, receiver, ADMIN_TOKEN;

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
  ({ state, mf, adminToken: ADMIN_TOKEN } = worker);
  await scriptedMorning();
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

const range = `from=${T0 - 60 * MINUTE}&to=${T0 + 24 * 60 * MINUTE}`;

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
  for (const bad of ["group_by=weekday", "from=abc", `from=${T0}&to=${T0}`, `from=0&to=${T0}`]) {
    const answer = await admin(`/v1/metrics?${bad}`);
    assert.equal(answer.status, 400, bad);
    assert.equal((await answer.json()).error.code, "bad_query");
  }
  assert.equal((await mf.dispatchFetch(`http://localhost/v1/metrics?${range}`)).status, 401);
});

test("the CSV export: a row per lead with its outcome, and no cell a spreadsheet would run", async () => {
  const r = await admin(`/v1/export/leads.csv?${range}`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^text\/csv/);
  assert.match(r.headers.get("content-disposition"), /attachment; filename="handoff-leads.csv"/);
  const [header, ...rows] = (await r.text()).trim().split("\r\n");
  assert.equal(header.split(",").length, 17);
  assert.equal(rows.length, 4);
  const row = (id) => Object.fromEntries(header.split(",").map((h, i) => [h, rows.find((x) => x.startsWith(id)).split(",")[i]]));
  assert.deepEqual([row(ids.fast).first_touch_seconds, row(ids.fast).within_sla, row(ids.fast).meeting], ["180", "1", "1"]);
  assert.deepEqual([row(ids.slow).rejected, row(ids.slow).reject_reason, row(ids.slow).within_sla], ["1", "student", "0"]);
  assert.deepEqual([row(ids.never).first_touch_at, row(ids.never).contacted], ["", "0"]);
  assert.equal(row(ids.late).source, "direct");
  assert.equal(row(ids.late).campaign, "'=1+2", "a formula is defused");
});

test("the JSON-lines export gives `handoff metrics` exactly the API's numbers", async () => {
  const exported = await admin(`/v1/export/events.jsonl?${range}`);
  assert.equal(exported.status, 200);
  const file = join(state.dir, "events.jsonl");
  await writeFile(file, await exported.text());
  for (const group of ["all", "source", "owner", "day"]) {
    const api = await (await admin(`/v1/metrics?${range}&group_by=${group}`)).json();
    const { stdout } = await run(HANDOFF, ["metrics", "--events", file, "--from", String(T0 - 60 * MINUTE),
      "--to", String(T0 + 24 * 60 * MINUTE), "--group-by", group]);
    assert.deepEqual(JSON.parse(stdout), api, group);
  }
});
