#!/usr/bin/env node
// The metrics over 100,000 leads: `GET /v1/metrics` against the built Worker on workerd through
// Miniflare with local D1 (filled inside D1 with leads and event logs shaped as the Worker writes
// them: notified, sla_started with an accept target, accepted, status_changed, first_touch, touch,
// outcome with deal amounts in EUR and USD), then the same leads exported as JSON
// lines (`GET /v1/export/events.jsonl`) and measured natively by `handoff metrics --events`.
//
//   make bench-metrics          (builds first, and the CLI in release mode)
//   node bench/metrics-load.mjs [--leads 100000] [--repeat 3]
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { freshState, randomToken, ROOT, startMiniflare } from "../tests/support/edge.mjs";

const { values: opts } = parseArgs({ options: { leads: { type: "string", default: "100000" }, repeat: { type: "string", default: "3" } } });
const LEADS = Number(opts.leads), REPEAT = Number(opts.repeat);
const run = promisify(execFile);
const target = process.env.CARGO_TARGET_DIR || join(ROOT, "target");
const CLI = join(target, "release/handoff");
const T0 = Date.UTC(2026, 9, 1);
const SPAN = 30 * 86_400_000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const state = await freshState();
const token = randomToken();
const mf = startMiniflare(state.dir, { adminToken: token });
try {
  const db = await mf.getD1Database("DB");
  const fill = performance.now();
  const gen = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)`;
  const created = `(?2 + i * (?3 / ?1))`;
  await db.prepare(`${gen} INSERT INTO leads (id, form_id, email, answers, bundle_version, created_at, score, grade,
      lifecycle, evaluation, attribution, owner_kind, owner_id, status, updated_at)
    SELECT 'bench-' || i, 'demo', 'lead' || i || '@example.com', '{}', 'bench', ${created}, 50,
      CASE i % 4 WHEN 0 THEN 'A' WHEN 1 THEN 'B' WHEN 2 THEN 'C' ELSE 'D' END, 'sql',
      '{"score":{"breakdown":[{"rule":"size-midmarket","points":25},{"rule":"wants-demo","points":30}]}}',
      '{"utm":{"source":"' || CASE i % 5 WHEN 0 THEN 'google' WHEN 1 THEN 'linkedin' WHEN 2 THEN 'newsletter' WHEN 3 THEN 'partner' ELSE 'events' END || '"}}',
      'owner', 'owner' || (i % 8), CASE WHEN i % 13 = 0 THEN 'rejected' ELSE 'open' END, ${created} FROM n`).bind(LEADS, T0, SPAN).run();
  const event = (kind, at, detail, where = "1") => db.prepare(`${gen} INSERT INTO lead_events (lead_id, at, kind, actor, detail)
    SELECT 'bench-' || i, ${at}, '${kind}', 'system', ${detail} FROM n WHERE ${where}`).bind(LEADS, T0, SPAN).run();
  await event("created", created, "'{}'");
  await event("routed", created, "'{\"summary\":\"bench\"}'");
  await event("notified", `${created} + 1500`, "'{\"channel\":\"sales\"}'");
  await event("sla_started", created,
    `'{"first_touch_due_ms":' || (${created} + 1800000) || ',"accept_due_ms":' || (${created} + 300000) || '}'`, "i % 2 = 0");
  // Six in seven accepted within 20 minutes; two in three of those contacted later.
  const accepted = `${created} + (i * 7919 % 1200000)`, contact = `${created} + 1200000 + (i * 7919 % 20000000)`;
  await event("accepted", accepted, "'{\"type\":\"accept\",\"actor\":\"owner\",\"via\":\"link\"}'", "i % 7 <> 0");
  await event("status_changed", accepted, "'{\"from\":\"new\",\"to\":\"accepted\",\"via\":\"link\"}'", "i % 7 <> 0");
  await event("first_touch", contact, "'{\"via\":\"events\"}'", "i % 7 <> 0 AND i % 3 <> 0");
  await event("touch", contact, "'{\"channel\":\"call\"}'", "i % 7 <> 0 AND i % 3 <> 0");
  await event("status_changed", contact, "'{\"from\":\"accepted\",\"to\":\"working\",\"via\":\"events\"}'", "i % 7 <> 0 AND i % 3 <> 0");
  await event("touch", `${contact} + 1`, "'{\"channel\":\"meeting_booked\"}'", "i % 7 <> 0 AND i % 3 <> 0 AND i % 5 = 0");
  const deal = (outcome) => `'{"outcome":"${outcome}","amount":' || (1000 + i % 50 * 500) || ',"currency":"' || CASE i % 3 WHEN 1 THEN 'USD' ELSE 'EUR' END || '"}'`;
  await event("outcome", `${contact} + 2`, deal("opportunity"), "i % 7 <> 0 AND i % 3 <> 0 AND i % 11 = 0");
  await event("outcome", `${contact} + 3`, deal("won"), "i % 7 <> 0 AND i % 3 <> 0 AND i % 11 = 0 AND i % 2 = 0");
  await event("outcome", `${contact} + 3`, deal("lost").replace('"lost",', '"lost","reason":"price",'), "i % 7 <> 0 AND i % 3 <> 0 AND i % 11 = 0 AND i % 4 = 1");
  await event("outcome", `${created} + 9000000`, "'{\"outcome\":\"rejected\",\"reason\":\"not_a_fit\"}'", "i % 13 = 0");
  const filled = performance.now() - fill;
  const { n: events } = await db.prepare("SELECT COUNT(*) AS n FROM lead_events").first();
  const range = `from=${T0}&to=${T0 + SPAN + 86_400_000}`;
  const get = async (path) => {
    const start = performance.now();
    const r = await mf.dispatchFetch(`http://localhost${path}`, { headers: { authorization: `Bearer ${token}` } });
    const body = await r.text();
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body.slice(0, 200)}`);
    return { ms: performance.now() - start, body };
  };
  await get(`/v1/metrics?${range}`); // warm-up: the bundle, the isolate
  const api = {};
  for (const g of ["all", "source", "day"]) {
    const times = [];
    for (let i = 0; i < REPEAT; i++) times.push((await get(`/v1/metrics?${range}&group_by=${g}`)).ms);
    api[g] = median(times);
  }
  const check = JSON.parse((await get(`/v1/metrics?${range}&group_by=source`)).body);
  if (check.total.leads !== LEADS) throw new Error(`expected ${LEADS} leads, got ${check.total.leads}`);
  const exported = await get(`/v1/export/events.jsonl?${range}`);
  const csv = await get(`/v1/export/leads.csv?${range}`);
  const file = join(state.dir, "events.jsonl");
  await writeFile(file, exported.body);
  const cli = [];
  let cliReport;
  for (let i = 0; i < REPEAT; i++) {
    const start = performance.now();
    const { stdout } = await run(CLI, ["metrics", "--events", file, "--group-by", "source"], { maxBuffer: 64 << 20 });
    cli.push(performance.now() - start);
    cliReport = JSON.parse(stdout);
  }
  const same = JSON.stringify(cliReport.total) === JSON.stringify(check.total);
  console.log(`metrics over ${LEADS.toLocaleString("en")} leads, ${events.toLocaleString("en")} events (local D1 filled in ${(filled / 1000).toFixed(1)} s), ${new Date().toISOString()}`);
  console.log(`GET /v1/metrics (workerd, local D1), median of ${REPEAT}: all ${api.all.toFixed(0)} ms, by source ${api.source.toFixed(0)} ms, by day ${api.day.toFixed(0)} ms`);
  console.log(`GET /v1/export/events.jsonl: ${exported.ms.toFixed(0)} ms, ${(exported.body.length / 1e6).toFixed(1)} MB; GET /v1/export/leads.csv: ${csv.ms.toFixed(0)} ms, ${(csv.body.length / 1e6).toFixed(1)} MB`);
  console.log(`handoff metrics --events (native, release, whole process incl. reading the file), median of ${REPEAT}: ${median(cli).toFixed(0)} ms; same totals as the API: ${same}`);
  if (!same) process.exitCode = 1;
} finally {
  await mf.dispose();
  await state.cleanup();
}
