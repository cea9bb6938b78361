#!/usr/bin/env node
// The metrics over 100,000 leads: `GET /v1/metrics` against the built Worker on workerd through
// Miniflare with local D1 (filled inside D1 by tests/support/fill.mjs with leads and event logs
// shaped as the Worker writes them), first with every lead still dirty (each read from its log,
// as before the rollups), then after the cron folded them into the rollups (one tick with a high
// ROLLUP_FOLD_LIMIT); then the same leads exported as JSON lines (`GET /v1/export/events.jsonl`)
// and measured natively by `handoff metrics --events`, which must agree with the API (counts and
// money exactly, medians and p90s within the sketch's bound).
//
//   make bench-metrics          (builds first, and the CLI in release mode)
//   node bench/metrics-load.mjs [--leads 100000] [--days 30] [--repeat 3]
//   node bench/metrics-load.mjs --leads 1000000 --days 365    (a year of history; above 200,000
//       leads the dirty read and the export with the CLI are left out: they hold every lead of the
//       range in memory, which is what the rollups are for)
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { freshState, randomToken, ROOT, startMiniflare } from "../tests/support/edge.mjs";
import { fillLeads } from "../tests/support/fill.mjs";

const { values: opts } = parseArgs({ options: { leads: { type: "string", default: "100000" }, days: { type: "string", default: "30" }, repeat: { type: "string", default: "3" } } });
const LEADS = Number(opts.leads), REPEAT = Number(opts.repeat);
const WHOLE = LEADS <= 200_000;
const run = promisify(execFile);
const target = process.env.CARGO_TARGET_DIR || join(ROOT, "target");
const CLI = join(target, "release/handoff");
const DAY = 86_400_000;
const SPAN = Number(opts.days) * DAY;
const T0 = Date.UTC(2026, 9, 31) - SPAN;
// "Now" for the last-30-days query: a ragged instant at the end of the fill, so that the range
// has whole days, whole hours and minutes at both ends.
const NOW = T0 + SPAN - 3 * 3_600_000 - 17 * 60_000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const state = await freshState();
const token = randomToken();
// TEST_CLOCK: the request's and the tick's time come from the bench, and answers carry D1's cost.
const mf = startMiniflare(state.dir, { adminToken: token, bindings: { TEST_CLOCK: "enabled", ROLLUP_FOLD_LIMIT: String(LEADS) } });
try {
  const db = await mf.getD1Database("DB");
  const fill = performance.now();
  await fillLeads(db, { leads: LEADS, from: T0, span: SPAN });
  const filled = performance.now() - fill;
  const { n: events } = await db.prepare("SELECT COUNT(*) AS n FROM lead_events").first();
  const get = async (path, now = NOW) => {
    const start = performance.now();
    const r = await mf.dispatchFetch(`http://localhost${path}`, { headers: { authorization: `Bearer ${token}`, "x-test-now-ms": String(now) } });
    const body = await r.text();
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body.slice(0, 200)}`);
    return { ms: performance.now() - start, body, rows: Number(r.headers.get("x-handoff-d1-rows-read")) };
  };
  const measure = async (groups) => {
    const out = {};
    for (const g of groups) {
      const runs = [];
      for (let i = 0; i < REPEAT; i++) runs.push(await get(`/v1/metrics?group_by=${g}`));
      out[g] = { ms: median(runs.map((r) => r.ms)), rows: runs[0].rows };
    }
    return out;
  };
  await get(`/v1/metrics`); // warm-up: the bundle, the isolate
  const unfolded = WHOLE ? await measure(["all"]) : null;
  const foldStart = performance.now();
  const result = await (await mf.getWorker()).scheduled({ cron: "* * * * *", scheduledTime: new Date(NOW) });
  const foldMs = performance.now() - foldStart;
  if (result.outcome !== "ok") throw new Error(`the fold's tick: ${result.outcome}`);
  const { n: dirty } = await db.prepare("SELECT COUNT(*) AS n FROM metric_leads WHERE version > folded").first();
  const { n: rollupRows } = await db.prepare("SELECT COUNT(*) AS n FROM metric_rollups").first();
  const folded = await measure(["all", "source", "owner", "day"]);
  const api = JSON.parse((await get(`/v1/metrics?group_by=source`)).body);
  const fmt = (m) => Object.entries(m).map(([g, r]) => `${g} ${r.ms.toFixed(0)} ms (${r.rows.toLocaleString("en")} rows read)`).join(", ");
  console.log(`metrics over ${LEADS.toLocaleString("en")} leads in ${opts.days} days, ${events.toLocaleString("en")} events (local D1 filled in ${(filled / 1000).toFixed(1)} s), ${new Date().toISOString()}`);
  console.log(`GET /v1/metrics, last 30 days (${api.total.leads.toLocaleString("en")} leads), workerd + local D1, median of ${REPEAT}:`);
  if (unfolded) console.log(`  every lead dirty (read from its log): ${fmt(unfolded)}`);
  console.log(`  fold: one cron tick, ${(foldMs / 1000).toFixed(1)} s, ${rollupRows.toLocaleString("en")} rollup rows, ${dirty} leads left dirty`);
  console.log(`  from the rollups: ${fmt(folded)}`);
  if (dirty !== 0) process.exitCode = 1;
  if (WHOLE) {
  const range = `from=${api.from_ms}&to=${api.to_ms}`;
  const exported = await get(`/v1/export/events.jsonl?${range}`);
  const csv = await get(`/v1/export/leads.csv?${range}`);
  const file = join(state.dir, "events.jsonl");
  await writeFile(file, exported.body);
  const cli = [];
  let cliReport;
  for (let i = 0; i < REPEAT; i++) {
    const start = performance.now();
    const { stdout } = await run(CLI, ["metrics", "--events", file, "--from", String(api.from_ms), "--to", String(api.to_ms), "--group-by", "source"], { maxBuffer: 64 << 20 });
    cli.push(performance.now() - start);
    cliReport = JSON.parse(stdout);
  }
  // Counts and money equal; each median and p90 within 1% (exact below 100 ms).
  let worst = 0;
  const stats = ["first_touch_ms", "system_delay_ms", "human_delay_ms", "accept_ms"];
  for (const [a, c] of [[api.total, cliReport.total], ...api.groups.map((g, i) => [g, cliReport.groups[i]])]) {
    for (const s of stats) for (const p of ["median", "p90"]) {
      const [x, y] = [c[s][p], a[s][p]];
      if (x !== y) worst = Math.max(worst, Math.abs(y - x) / Math.abs(x));
      a[s][p] = c[s][p] = null;
    }
  }
  const same = JSON.stringify(api) === JSON.stringify(cliReport) && worst <= 0.01;
  console.log(`GET /v1/export/events.jsonl: ${exported.ms.toFixed(0)} ms, ${(exported.body.length / 1e6).toFixed(1)} MB; GET /v1/export/leads.csv: ${csv.ms.toFixed(0)} ms, ${(csv.body.length / 1e6).toFixed(1)} MB`);
  console.log(`handoff metrics --events (native, release, whole process incl. reading the file), median of ${REPEAT}: ${median(cli).toFixed(0)} ms`);
  console.log(`API against the CLI by source: counts and money equal, largest percentile error ${(worst * 100).toFixed(3)}% (bound 1%): ${same}`);
  if (!same) process.exitCode = 1;
  }
} finally {
  await mf.dispose();
  await state.cleanup();
}
