#!/usr/bin/env node
// The CRM push's throughput (issue 19): the built Worker on workerd through Miniflare (local D1
// and KV, fresh state, tests/fixtures/crm.toml: a HubSpot and a Salesforce push) against the
// loopback fakes of both APIs. `--leads` leads are submitted while both CRMs are down (a backlog:
// each lead's own push after its answer fails once), then the CRMs come back and the cron ticks
// once a minute until every record is synced. Per tick it prints the leads each push wrote, the
// HTTP calls it made to each CRM (subrequests: the free plan allows 50 per invocation) and the
// tick's wall time; at the end, leads per tick and per minute, calls per lead, and what the same
// backlog would cost HubSpot without batch calls (a contact upsert, a company search or create,
// an association and a task each: the calls the batches replace).
//
//   make bench-crm             (builds first)
//   node bench/crm-push.mjs [--leads 1000] [--subrequests N]   (the Worker var CRM_SUBREQUESTS)
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EPOCH, MINUTE, randomToken, ROOT, startWorker } from "../tests/support/edge.mjs";
import { startHubspotFake } from "../tests/support/hubspot-fake.mjs";
import { startSalesforceFake } from "../tests/support/salesforce-fake.mjs";

const { values: opts } = parseArgs({
  options: { leads: { type: "string", default: "1000" }, subrequests: { type: "string" } },
});
const LEADS = Number(opts.leads);
if (!(LEADS > 0)) throw new Error("--leads must be positive");

const HUBSPOT_TOKEN = `pat-${randomToken()}`;
const SF_ID = `3MVG9${randomToken()}`;
const SF_SECRET = randomToken();
const hubspot = await startHubspotFake({
  token: HUBSPOT_TOKEN,
  owners: ["201", "202", "203"].map((id) => ({ id, email: `o${id}@sales.example`, firstName: "O", lastName: id })),
});
const salesforce = await startSalesforceFake({
  clientId: SF_ID,
  clientSecret: SF_SECRET,
  users: ["005000000000001AAA", "005000000000002AAA", "005000000000003AAA"].map((id) => ({ id })),
});
// Without the fixture's SLA ladder, whose reassignments would make pushed records due again and
// blur what one tick pushes.
const scratch = await mkdtemp(join(tmpdir(), "handoff-bench-crm-"));
const config = join(scratch, "crm.toml");
const fixture = await readFile(join(ROOT, "tests/fixtures/crm.toml"), "utf8");
await writeFile(config, fixture.replace(/\[\[sla\.policies\]\][\s\S]*?reassign = true\n/, ""));
const worker = await startWorker({
  config,
  bindings: {
    RATE_LIMIT_PER_MINUTE: "1000000",
    HUBSPOT_TOKEN,
    HUBSPOT_API_URL: hubspot.url,
    SALESFORCE_URL: salesforce.url,
    SALESFORCE_CLIENT_ID: SF_ID,
    SALESFORCE_CLIENT_SECRET: SF_SECRET,
    // The HTTP calls one run may spend on the CRMs (the Worker's default: 27, for the free plan).
    ...(opts.subrequests ? { CRM_SUBREQUESTS: opts.subrequests } : {}),
  },
});
const close = async () => {
  await worker.dispose();
  await hubspot.close();
  await salesforce.close();
  await rm(scratch, { recursive: true, force: true });
};
process.on("SIGINT", () => close().then(() => process.exit(130)));

try {
  hubspot.down(true);
  salesforce.down(true);
  const countries = ["US", "FR", "DE"];
  const started = performance.now();
  for (let i = 0; i < LEADS; i++) {
    // One company per ten leads: HubSpot finds most companies in its map, not by creating them.
    const answers = {
      first_name: "Kim", last_name: `Lee ${i}`, email: `kim.${i}@acme-${Math.floor(i / 10)}.com`,
      company: `Acme ${Math.floor(i / 10)}`, country: countries[i % 3], consent: true,
    };
    // The fixture form's consent record (the Worker refuses a lead without it).
    const consent = { field: "consent", text: "You may contact me about this request.", version: "2026-11-01", given: true };
    await worker.submit({ form: "contact", answers, context: { fill_ms: 60_000 }, attribution: { consent } }, { now: EPOCH + i * 100 });
  }
  const submitMs = performance.now() - started;
  hubspot.down(false);
  salesforce.down(false);
  // Leads each push wrote so far (its `crm_pushed` events), and whether every record is synced.
  const pushed = async (push) =>
    (await worker.db.prepare("SELECT COUNT(*) AS n FROM lead_events WHERE kind = 'crm_pushed' AND json_extract(detail, '$.push') = ?1").bind(push).first()).n;
  const synced = async (push) =>
    (await worker.db.prepare("SELECT COUNT(*) AS n FROM crm_records WHERE push_id = ?1 AND state = 'synced'").bind(push).first()).n;
  // The last leads' own pushes (after their answers) may still be failing: let them end.
  await new Promise((ok) => setTimeout(ok, 1000));
  const rows = [];
  let minute = EPOCH + 2 * 60 * MINUTE; // past every backoff of the failed first pushes
  for (let tick = 1; tick <= 10_000; tick++) {
    const before = { hs: await pushed("hubspot"), sf: await pushed("salesforce"), hsCalls: hubspot.requests.length, sfCalls: salesforce.requests.length };
    const t = performance.now();
    await worker.tick(minute);
    const ms = performance.now() - t;
    const row = {
      tick,
      hubspot_leads: (await pushed("hubspot")) - before.hs,
      hubspot_calls: hubspot.requests.length - before.hsCalls,
      salesforce_leads: (await pushed("salesforce")) - before.sf,
      salesforce_calls: salesforce.requests.length - before.sfCalls,
      tick_ms: Math.round(ms),
    };
    rows.push(row);
    if (tick <= 3 || row.hubspot_leads > 0) console.log(JSON.stringify(row));
    if ((await synced("hubspot")) === LEADS && (await synced("salesforce")) === LEADS) break;
    minute += MINUTE;
  }
  const sum = (key) => rows.reduce((a, r) => a + r[key], 0);
  const hubspotTicks = rows.filter((r) => r.hubspot_leads > 0).length;
  const busy = rows.filter((r) => r.salesforce_leads > 0);
  const summary = {
    leads: LEADS,
    crm_subrequests: opts.subrequests ? Number(opts.subrequests) : "default (27)",
    submit_s: +(submitMs / 1000).toFixed(1),
    ticks_to_drain: rows.length,
    hubspot: {
      leads_per_tick_max: Math.max(...rows.map((r) => r.hubspot_leads)),
      calls_per_tick_max: Math.max(...rows.map((r) => r.hubspot_calls)),
      ticks: hubspotTicks,
      calls_per_lead: +(sum("hubspot_calls") / LEADS).toFixed(3),
      // Without batch calls: per lead a contact upsert, a company search (or a create), an
      // association and a task, as the batches count them.
      unbatched_calls: LEADS * 4,
      batched_calls: sum("hubspot_calls"),
    },
    salesforce: {
      leads_per_tick_max: Math.max(...rows.map((r) => r.salesforce_leads)),
      calls_per_tick_max: Math.max(...rows.map((r) => r.salesforce_calls)),
      ticks: busy.length,
      calls_per_lead: +(sum("salesforce_calls") / LEADS).toFixed(3),
    },
    tick_ms_median: [...rows.map((r) => r.tick_ms)].sort((a, b) => a - b)[Math.floor(rows.length / 2)],
    violations: hubspot.violations.length + salesforce.violations.length,
  };
  summary.hubspot.ratio_unbatched_to_batched = +(summary.hubspot.unbatched_calls / summary.hubspot.batched_calls).toFixed(1);
  console.log(JSON.stringify(summary, null, 2));
  if (summary.violations) throw new Error(`the fakes refused requests: ${[...hubspot.violations, ...salesforce.violations].slice(0, 3).join("; ")}`);
} finally {
  await close();
}
