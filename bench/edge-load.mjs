#!/usr/bin/env node
// Lead submissions against the local edge: the built Worker under `wrangler dev` (workerd, local D1
// and KV, fresh state), as `make dev` serves it. Prints requests per second, latency percentiles and
// the D1 round trips each submission cost (the Worker reports them in a test-only header when run
// with TEST_CLOCK=enabled; production never sends it).
//
//   make bench-edge            (builds first)
//   node bench/edge-load.mjs [--leads N] [--concurrency C]
//
// Each lead is a valid demo submission with its own address and an Idempotency-Key, as the form
// sends it; a quarter of them are sales-ready (routed to a pool's rotation), the rest spread over
// the rules' other targets. The first 20 are a warm-up and are not counted.
import { parseArgs } from "node:util";
import { freshState, randomToken, startWranglerDev } from "../tests/support/edge.mjs";
import { DEMO_CONSENT } from "../tests/support/consent.mjs";

const { values: opts } = parseArgs({ options: { leads: { type: "string", default: "400" }, concurrency: { type: "string", default: "8" } } });
const LEADS = Number(opts.leads), CONCURRENCY = Number(opts.concurrency), WARMUP = 20;
if (!(LEADS > 0 && CONCURRENCY > 0)) throw new Error("--leads and --concurrency must be positive");

const state = await freshState();
const dev = await startWranglerDev(state.dir, { adminToken: randomToken(), vars: { TEST_CLOCK: "enabled", RATE_LIMIT_PER_MINUTE: "1000000" } });
const stop = async () => { await dev.stop(); await state.cleanup(); };
process.on("SIGINT", () => stop().then(() => process.exit(130)));

const sizes = ["1-10", "11-50", "51-200", "201-1000", "1000+"];
const countries = ["United States", "Canada", "United Kingdom", "Germany", "France", "Other"];
const interests = ["A demo", "Pricing", "Just exploring"];
// Tuesday 2026-11-24 15:00 UTC: working hours in New York and in Europe.
const NOW = Date.UTC(2026, 10, 24, 15, 0);
const body = (i) => JSON.stringify({
  form: "demo",
  answers: {
    email: `lead${i}@company${i % 97}.example`, company: `Company ${i % 97}`, role: i % 4 ? "Data" : "Engineering",
    company_size: sizes[i % sizes.length], country: countries[i % countries.length],
    interest: interests[i % interests.length], consent: true, ...(i % 3 ? {} : { team_size: "8" }),
  },
  context: { honeypot: "", fill_ms: 30_000 },
  attribution: { consent: DEMO_CONSENT },
});

const samples = [], trips = [], failures = [];
async function send(i, measured) {
  const started = performance.now();
  const r = await fetch(`${dev.url}/v1/leads`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": crypto.randomUUID(), "x-test-now-ms": String(NOW + i * 1000) },
    body: body(i),
  });
  await r.arrayBuffer();
  const ms = performance.now() - started;
  if (r.status !== 201) return failures.push(r.status);
  if (!measured) return;
  samples.push(ms);
  trips.push(Number(r.headers.get("x-handoff-d1-round-trips")));
}
// The warm-up one at a time (first requests compile the Worker's code); then the measured leads,
// CONCURRENCY in flight at every moment.
for (let i = 0; i < WARMUP; i++) await send(i, false);
let next = WARMUP;
const started = performance.now();
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (next < WARMUP + LEADS) await send(next++, true);
}));
const seconds = (performance.now() - started) / 1000;
await stop();

const sorted = samples.slice().sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const tally = {};
for (const t of trips) tally[t] = (tally[t] ?? 0) + 1;
console.log(`Lead submissions against wrangler dev (workerd, local D1/KV): ${samples.length} measured after ${WARMUP} warm-up, ${CONCURRENCY} in flight`);
console.log(`throughput   ${(samples.length / seconds).toFixed(1)} submissions/s (wall clock of the measured leads)`);
console.log(`latency ms   p50 ${pct(50).toFixed(1)}   p90 ${pct(90).toFixed(1)}   p99 ${pct(99).toFixed(1)}   max ${sorted.at(-1).toFixed(1)}`);
console.log(`D1 round trips per submission: ${Object.entries(tally).map(([k, v]) => `${k} (${v}×)`).join(", ")}`);
if (failures.length) {
  console.log(`FAILED: ${failures.length} submissions answered ${[...new Set(failures)].join(", ")}`);
  process.exit(1);
}
