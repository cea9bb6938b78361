#!/usr/bin/env node
// One SLA cron tick against the local edge (the built Worker on workerd through Miniflare, local
// D1 and KV, fresh state per size): local D1 filled with 1k, 10k and 100k open leads on SLA
// clocks, 1% of them due. Prints, per size, the time of a tick with nothing due, of the first tick
// (which takes on at most the per-tick limit), and of the ticks that drain every due step, plus
// the due query's plan (medians of `--repeat` rounds). The time must follow the number due, not the
// number open.
//
//   make bench-sla             (builds first)
//   node bench/sla-tick.mjs [--sizes 1000,10000,100000] [--due-share 0.01] [--repeat 5]
//                           [--plan free|paid] [--tick-limit 50]
//
// `--sizes 1000 --due-share 1 --plan paid --tick-limit 1000`: a 1,000-clock tick. Each tick's D1
// statements and batches come from its report in `cron_ticks.sla`.
//
// Leads and clocks are generated inside D1 with one recursive INSERT … SELECT each, shaped as the
// intake stores them (tests/fixtures/sla.toml: a pool led by Lee, a two-step ladder).
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { promisify } from "node:util";
import { freshState, randomToken, ROOT, startMiniflare } from "../tests/support/edge.mjs";

const { values: opts } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,10000,100000" },
    "due-share": { type: "string", default: "0.01" },
    repeat: { type: "string", default: "3" },
    plan: { type: "string", default: "free" },
    "tick-limit": { type: "string", default: "50" },
  },
});
const SIZES = opts.sizes.split(",").map(Number);
const SHARE = Number(opts["due-share"]);
const REPEAT = Number(opts.repeat);
const run = promisify(execFile);
const HANDOFF = join(process.env.CARGO_TARGET_DIR || join(ROOT, "target"), "debug/handoff");
const MINUTE = 60_000;
// Tuesday 2026-11-24 15:00 UTC.
const NOW = Date.UTC(2026, 10, 24, 15, 0);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => x.toFixed(1).padStart(8);

async function fill(db, open, dueEvery) {
  // Leads: open, owned by ana from pool na. Clocks: every `dueEvery`-th one due at NOW (its first
  // step), the others due a day later.
  const steps = (t) => JSON.stringify([
    { level: 1, due_ms: t, to: "team_lead", reassign: false },
    { level: 2, due_ms: t + 20 * MINUTE, to: "owner:max", reassign: false },
  ]);
  await db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO leads (id, form_id, email, answers, bundle_version, created_at, score, grade, lifecycle,
       evaluation, owner_kind, owner_id, status, updated_at)
     SELECT 'bench-' || i, 'contact', 'lead' || i || '@company' || (i % 97) || '.example', '{}', 'bench',
       ?2 - 20 * 60000, 80, 'A', 'sql', '{}', 'owner', 'ana', 'new', ?2 FROM n`,
  ).bind(open, NOW).run();
  const summary = JSON.stringify({ name: "Bench Lead", lifecycle: "sql", score: 80 });
  await db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO sla_clocks (lead_id, policy, pool, started_at, first_touch_due, steps, summary, level,
       next_at, updated_at)
     SELECT 'bench-' || i, 'us', 'na', ?2 - 20 * 60000, ?2 - 15 * 60000,
       CASE WHEN i % ?3 = 0 THEN ?4 ELSE ?5 END, ?6, 0,
       CASE WHEN i % ?3 = 0 THEN ?2 ELSE ?2 + 86400000 END, ?2 FROM n`,
  ).bind(open, NOW, dueEvery, steps(NOW), steps(NOW + 86_400_000), summary).run();
}

const results = [];
for (const open of SIZES) {
  const state = await freshState();
  const { stdout: bundle } = await run(HANDOFF, ["bundle", join(ROOT, "tests/fixtures/sla.toml")]);
  const mf = startMiniflare(state.dir, {
    adminToken: randomToken(),
    bindings: { WORKER_PLAN: opts.plan, SLA_TICK_LIMIT: opts["tick-limit"] },
  });
  try {
    await (await mf.getKVNamespace("CONFIG")).put("bundle/active", bundle.trim());
    const db = await mf.getD1Database("DB");
    const dueEvery = Math.round(1 / SHARE);
    const t = performance.now();
    await fill(db, open, dueEvery);
    const filled = performance.now() - t;
    const due = Math.floor(open / dueEvery);
    const worker = await mf.getWorker();
    const reports = [];
    const tick = async (at) => {
      const start = performance.now();
      const r = await worker.scheduled({ cron: "* * * * *", scheduledTime: new Date(at) });
      if (r.outcome !== "ok") throw new Error(`tick failed: ${r.outcome}`);
      const took = performance.now() - start;
      const row = await db.prepare("SELECT sla FROM cron_ticks WHERE scheduled_at = ?").bind(at).first();
      if (row?.sla) reports.push(JSON.parse(row.sla));
      return took;
    };
    // Nothing due yet (a minute before): what a tick costs whatever the number open.
    await tick(NOW - 2 * MINUTE);
    const idle = [];
    for (let i = 0; i < REPEAT; i++) idle.push(await tick(NOW - MINUTE));
    // The due ones, one tick after another until every step is carried out; then the same clocks
    // are put back (their steps forgotten) and drained again, `REPEAT` times in all.
    const carried = async () => (await db.prepare("SELECT COUNT(*) AS n FROM sla_steps").first()).n;
    const firsts = [], drains = [];
    let ticks = [];
    for (let round = 0; round < REPEAT; round++) {
      ticks = [];
      for (let minute = 0; (await carried()) < due && minute < 1000; minute++) ticks.push(await tick(NOW + minute * MINUTE));
      const steps = await carried();
      if (steps !== due) throw new Error(`expected ${due} steps carried out, found ${steps}`);
      firsts.push(ticks[0]);
      drains.push(ticks.reduce((a, b) => a + b, 0));
      await db.batch([
        db.prepare("UPDATE sla_clocks SET level = 0, next_at = ?1 WHERE lead_id IN (SELECT lead_id FROM sla_steps)").bind(NOW),
        db.prepare("DELETE FROM sla_steps"),
        db.prepare("DELETE FROM lead_events"),
      ]);
    }
    const plan = (await db.prepare(`EXPLAIN QUERY PLAN SELECT lead_id FROM sla_clocks WHERE next_at <= ?1 ORDER BY next_at LIMIT 51`)
      .bind(NOW).all()).results.map((r) => r.detail).join("; ");
    const statements = Math.max(0, ...reports.map((r) => r.statements));
    const largest = Math.max(0, ...reports.map((r) => r.largest_batch));
    results.push({ open, due, filled, idle: median(idle), first: median(firsts), ticks: ticks.length, total: median(drains), plan, statements, largest });
  } finally {
    await mf.dispose();
    await state.cleanup();
  }
}

console.log(`SLA cron tick on workerd (Miniflare) with local D1, ${new Date().toISOString()}`);
console.log(`plan ${opts.plan}, SLA_TICK_LIMIT ${opts["tick-limit"]}`);
console.log(`   open      due  | idle tick ms | first tick ms | ticks to drain | drain ms | ms per step | most statements per tick | largest batch`);
for (const r of results)
  console.log(`${String(r.open).padStart(7)} ${String(r.due).padStart(8)}  | ${ms(r.idle)}     | ${ms(r.first)}      | ${String(r.ticks).padStart(14)} | ${ms(r.total)} | ${(r.total / r.due).toFixed(2).padStart(11)} | ${String(r.statements).padStart(24)} | ${String(r.largest).padStart(13)}`);
console.log(`due query plan: ${results[0]?.plan}`);
const out = process.env.BENCH_JSON;
if (out) await writeFile(out, JSON.stringify(results, null, 2));
