#!/usr/bin/env node
// Lead submissions with personal Slack alerts on, against the same submissions with them off: the
// built Worker on workerd through Miniflare (local D1 and KV, fresh state each), with the loopback
// fake of Slack's Web API (tests/support/slack-fake.mjs) as Slack. Every lead is an SQL for Dana
// (her Slack id looked up by email once, then cached) that the sales floor's channel hears of too.
// Prints, per submission: latency, the D1 round trips before the answer (the Worker's test-only
// header), the outbox rows written, the Slack Web API calls made, and the time until Dana's direct
// message reached Slack.
//
//   make bench-slack            (builds first)
//   node bench/slack-intake.mjs [--leads N]
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EPOCH, randomToken, ROOT, startWorker } from "../tests/support/edge.mjs";
import { startSlackFake } from "../tests/support/slack-fake.mjs";

const { values: opts } = parseArgs({ options: { leads: { type: "string", default: "200" } } });
const LEADS = Number(opts.leads), WARMUP = 10;
if (!(LEADS > 0)) throw new Error("--leads must be positive");

const SLACK_BOT_TOKEN = `xoxb-${randomToken()}`;
const full = await readFile(join(ROOT, "tests/fixtures/slack.toml"), "utf8");
// Off: the same configuration without the app, email and channels.
const off = full.slice(0, full.indexOf("[notify.slack]")).replace(/^alerts = .*$/m, "");

async function run(name, config) {
  const slack = await startSlackFake({ token: SLACK_BOT_TOKEN, users: [{ id: "U0DANA00001", email: "dana@sales.example", name: "dana" }] });
  const worker = await startWorker({
    extraToml: "",
    config: await scratch(config),
    bindings: { RATE_LIMIT_PER_MINUTE: "1000000", SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET: randomToken(), LINK_SECRET: randomToken(), SLACK_API_URL: slack.url, PUBLIC_URL: "http://localhost" },
  });
  const latency = [], trips = [], delivered = [];
  let calls = 0, rows = 0;
  for (let i = 0; i < WARMUP + LEADS; i++) {
    const address = `lead${i}@buyer${i % 97}.example`;
    const now = EPOCH + i * 1000;
    const before = slack.requests.length;
    const started = performance.now();
    const r = await worker.fetch("/v1/leads", {
      method: "POST",
      now,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ form: "contact", answers: { company_size: "1000+", interest: "A demo", country: "US", email: address }, context: { fill_ms: 60_000 } }),
    });
    const text = await r.text();
    if (r.status !== 201) throw new Error(`${r.status} ${text}`);
    const answered = performance.now();
    const id = JSON.parse(text).id;
    // The intake sends its messages after answering: wait (bounded) for them to arrive.
    const want = name === "on" ? 2 : 0;
    for (let k = 0; k < 200 && slack.messages.filter((m) => JSON.stringify(m.blocks).includes(id)).length < want; k++) {
      await new Promise((ok) => setTimeout(ok, 5));
    }
    const arrived = performance.now();
    if (i < WARMUP) continue;
    latency.push(answered - started);
    trips.push(Number(r.headers.get("x-handoff-d1-round-trips")));
    if (want) delivered.push(arrived - started);
    calls += slack.requests.length - before;
    rows += (await worker.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE lead_id = ?").bind(id).first()).n;
  }
  const dead = await worker.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE state != 'delivered'").first();
  await worker.dispose();
  await slack.close();
  if (slack.violations.length) throw new Error(slack.violations.join("\n"));
  return { name, latency, trips, delivered, calls: calls / LEADS, rows: rows / LEADS, undelivered: dead.n };
}

async function scratch(text) {
  const { mkdtemp, writeFile } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const dir = await mkdtemp(join(tmpdir(), "handoff-bench-"));
  await writeFile(join(dir, "config.toml"), text);
  return join(dir, "config.toml");
}

const pct = (xs, p) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const results = [await run("off", off), await run("on", full), await run("off", off), await run("on", full)];
console.log(`Lead submissions, one at a time, ${LEADS} measured after ${WARMUP} warm-up (workerd via Miniflare, local D1/KV, Slack's Web API faked on loopback)`);
console.log("alerts | p50 ms | p90 ms | D1 round trips before the answer | outbox rows | Slack API calls | DM in Slack p50 / p90 ms");
for (const r of results) {
  const tally = {};
  for (const t of r.trips) tally[t] = (tally[t] ?? 0) + 1;
  const dm = r.delivered.length ? `${pct(r.delivered, 50).toFixed(1)} / ${pct(r.delivered, 90).toFixed(1)}` : "-";
  console.log(`${r.name.padEnd(6)} | ${pct(r.latency, 50).toFixed(1)} | ${pct(r.latency, 90).toFixed(1)} | ${Object.entries(tally).map(([k, v]) => `${k} (${v}×)`).join(", ")} | ${r.rows.toFixed(2)} | ${r.calls.toFixed(2)} | ${dm}`);
  if (r.undelivered) console.log(`  ${r.undelivered} messages not delivered`);
}
const ratio = (pct(results[1].latency, 50) + pct(results[3].latency, 50)) / (pct(results[0].latency, 50) + pct(results[2].latency, 50));
console.log(`p50 latency on / off: ${ratio.toFixed(2)}`);
