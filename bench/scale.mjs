#!/usr/bin/env node
// What one more lead costs with 0, 100,000 and 1,000,000 leads of history: the built Worker on
// workerd through Miniflare with local D1 and KV (fresh state per size), D1 filled inside D1 with a
// year of history shaped as the Worker writes it (leads with their evaluation and attribution,
// events, rotation turns, SLA clocks, idempotency keys), then measured as a deployment sees it:
// - submissions one after another (sales-ready leads routed by a pool's rotation, and leads for
//   a queue): latency p50/p99, and D1 rows read and written per submission, from D1's result
//   metadata as the Worker reports it in test-only headers;
// - one SLA cron tick with 50 clocks due;
// - `GET /v1/metrics` for the last 30 days (median of 3), from the rollups (the history folded in
//   one tick first, as a deployment's cron folds it as it comes);
// - with `--export`, the replayable export of the whole year (`GET /v1/export/leads.jsonl`) read to
//   the end while the Worker isolate's memory is sampled: its JS heap through the inspector, its
//   WebAssembly memory (which only grows) before and after; and the workerd process's resident
//   memory, which also holds local D1's SQLite (so it is not what the 128 MB limit counts).
// Runs with `node --experimental-websocket` (Node 20's WebSocket, for the inspector).
// One JSON line per size on stdout, as docs/BENCHMARKS.md records them.
//
//   make bench-scale                       (builds first; 0, 100k and 1M, export at the largest)
//   node --experimental-websocket bench/scale.mjs [--sizes 0,100000,1000000] [--submissions 300] [--export 1000000]
import { readFile, writeFile } from "node:fs/promises";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freshState, randomToken, ROOT, startMiniflare } from "../tests/support/edge.mjs";
import { DEMO_CONSENT } from "../tests/support/consent.mjs";

const { values: opts } = parseArgs({
  options: {
    sizes: { type: "string", default: "0,100000,1000000" },
    submissions: { type: "string", default: "300" },
    export: { type: "string", default: "1000000" },
  },
});
const SIZES = opts.sizes.split(",").map(Number);
const SUBMISSIONS = Number(opts.submissions), WARMUP = 20;
const EXPORT_AT = new Set(opts.export.split(",").filter(Boolean).map(Number));
const DAY = 86_400_000, MINUTE = 60_000;
// Tuesday 2026-11-24 15:00 UTC: working hours in New York and in Europe; the history is the year
// before it.
const NOW = Date.UTC(2026, 10, 24, 15, 0);
const YEAR = 365 * DAY;
const DUE = 50;
const INSPECTOR_PORT = 9231 + Math.floor(Math.random() * 500);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const round = (x) => Math.round(x * 10) / 10;

// The demo's configuration with room for every measured lead: capacities high enough that the
// pools' rotation routes all of them (history leads are closed and hold no capacity).
async function config(dir) {
  const text = (await readFile(join(ROOT, "config/demo.toml"), "utf8")).replace(/^capacity = \d+$/gm, "capacity = 100000");
  const path = join(dir, "scale.toml");
  await writeFile(path, text);
  return path;
}

const OWNERS = ["maya", "diego", "priya", "oliver", "lena"];
const POOL = ["na_ae", "na_ae", "na_ae", "emea_ae", "emea_ae"];

// History: N leads spread over the year before NOW (called with the history and DUE more), each owned, routed by a pool's turn, with its
// clock stopped by a first touch, and closed (won or lost); six events each; an idempotency key
// each. The DUE most recent ones are still new, their clocks due at NOW with one step each (the
// team lead's, an hour late; the next one is an hour ahead), at every size.
async function fill(db, n) {
  const gen = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)`;
  const created = `CAST(?2 + i * (?3 / ?1) AS INTEGER)`;
  const owner = `CASE i % 5 ${OWNERS.map((o, k) => `WHEN ${k} THEN '${o}'`).join(" ")} END`;
  const pool = `CASE i % 5 ${POOL.map((p, k) => `WHEN ${k} THEN '${p}'`).join(" ")} END`;
  const open = `i > ?1 - ${DUE}`;
  const stmt = (sql) => db.prepare(`${gen} ${sql}`).bind(n, NOW - YEAR, YEAR);
  await stmt(`INSERT INTO leads (id, form_id, email, answers, bundle_version, created_at, score, grade,
      lifecycle, evaluation, attribution, owner_kind, owner_id, status, updated_at, person_key)
    SELECT 'h-' || i, 'demo', 'lead' || i || '@company' || (i % 5000) || '.example',
      '{"email":"lead' || i || '@company' || (i % 5000) || '.example","company":"Company ' || (i % 5000) || '","company_size":"201-1000","country":"United States","interest":"A demo"}',
      'bench', ${created}, 80, CASE i % 4 WHEN 0 THEN 'A' WHEN 1 THEN 'B' WHEN 2 THEN 'C' ELSE 'D' END, 'sql',
      '{"score":{"total":80,"breakdown":[{"rule":"size-midmarket","points":25},{"rule":"wants-demo","points":30}]},"country_code":"US"}',
      '{"utm":{"source":"' || CASE i % 5 WHEN 0 THEN 'google' WHEN 1 THEN 'linkedin' WHEN 2 THEN 'newsletter' WHEN 3 THEN 'partner' ELSE 'events' END || '"}}',
      'owner', ${owner}, CASE WHEN ${open} THEN 'new' WHEN i % 3 = 0 THEN 'won' ELSE 'lost' END, ${created},
      'email:lead' || i || '@company' || (i % 5000) || '.example' FROM n`).run();
  const event = (kind, at, detail, where = "1") => stmt(`INSERT INTO lead_events (lead_id, at, kind, actor, detail)
    SELECT 'h-' || i, ${at}, '${kind}', 'system', ${detail} FROM n WHERE ${where}`).run();
  await event("created", created, `'{"form":"demo","lifecycle":"sql","score":80}'`);
  await event("routed", created, `'{"summary":"pool ' || ${pool} || '","assignee":{"kind":"owner","id":"' || ${owner} || '"}}'`);
  await event("notified", `${created} + 1500`, `'{"channel":"sales"}'`);
  await event("sla_started", created, `'{"first_touch_due_ms":' || (${created} + 300000) || '}'`);
  await event("first_touch", `${created} + 240000`, `'{"via":"events"}'`, `NOT (${open})`);
  await event("status_changed", `${created} + 86400000`, `'{"from":"working","to":"' || CASE WHEN i % 3 = 0 THEN 'won' ELSE 'lost' END || '"}'`, `NOT (${open})`);
  await stmt(`INSERT INTO rotation_log (pool, seq, owner, lead_id, at)
    SELECT ${pool}, i, ${owner}, 'h-' || i, ${created} FROM n`).run();
  await db.prepare(`INSERT INTO pool_turns (pool, seq) SELECT pool, MAX(seq) FROM rotation_log GROUP BY pool
    ON CONFLICT (pool) DO UPDATE SET seq = excluded.seq`).run();
  await db.prepare(`INSERT INTO rotation (pool, owner, assigned) SELECT pool, owner, COUNT(*) FROM rotation_log GROUP BY pool, owner
    ON CONFLICT (pool, owner) DO UPDATE SET assigned = excluded.assigned`).run();
  const steps = (t) => `'[{"level":1,"due_ms":' || (${t}) || ',"to":"team_lead","reassign":false},{"level":2,"due_ms":' || (${t} + 7200000) || ',"to":"owner:morgan","reassign":false}]'`;
  await stmt(`INSERT INTO sla_clocks (lead_id, policy, pool, started_at, first_touch_due, steps, summary, level,
      next_at, touched_at, touched_by, stopped, updated_at)
    SELECT 'h-' || i, 'sql', ${pool}, ${created}, ${created} + 300000,
      CASE WHEN ${open} THEN ${steps("CAST(?2 + ?3 - 3600000 AS INTEGER)")} ELSE ${steps(`${created} + 7500000`)} END,
      '{"name":"Lead ' || i || '","lifecycle":"sql","score":80}', 0,
      CASE WHEN ${open} THEN ?2 + ?3 ELSE NULL END,
      CASE WHEN ${open} THEN NULL ELSE ${created} + 240000 END,
      CASE WHEN ${open} THEN NULL ELSE ${owner} END,
      CASE WHEN ${open} THEN NULL ELSE 'touched' END, ${created} FROM n`).run();
  await stmt(`INSERT INTO idempotency_keys (key, body_sha256, lead_id, status, response, created_at)
    SELECT 'key-' || i, 'sha-' || i, 'h-' || i, 201, '{"id":"h-' || i || '"}', ${created} FROM n`).run();
}

// The bodies, the same at every size: sales-ready leads from the US and Canada (pool na_ae),
// the UK and Germany (pool emea_ae), and nurture leads for the SDR queue.
const body = (i) => JSON.stringify({
  form: "demo",
  answers: {
    email: `new${i}@firm${i % 89}.example`, company: `Firm ${i % 89}`, role: "Engineering",
    company_size: "201-1000", country: ["United States", "Canada", "United Kingdom", "Germany", "United States"][i % 5],
    interest: i % 5 === 4 ? "Just exploring" : "A demo", consent: true,
  },
  context: { honeypot: "", fill_ms: 30_000 },
  attribution: { consent: DEMO_CONSENT },
});

// The workerd process Miniflare started (a child of this one), and its resident memory in bytes.
function workerdPids() {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      return stat.includes("(workerd)") && Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid;
    } catch { return false; }
  });
}
function rss(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) * 1024 : 0;
  } catch { return 0; }
}

async function measure(history) {
  const dir = (await import("node:os")).tmpdir();
  const state = await freshState({ config: await config(dir) });
  const token = randomToken();
  const mf = startMiniflare(state.dir, {
    adminToken: token,
    options: { inspectorPort: INSPECTOR_PORT },
    // Retention off: the tick measured is the SLA's (a deployment prunes as it goes, a first run
    // on a year of history would prune its backlog over many ticks).
    bindings: {
      TEST_CLOCK: "enabled", RATE_LIMIT_PER_MINUTE: "1000000",
      // A million leads is past the free plan's 500 MB: the paid plan's limits per invocation.
      WORKER_PLAN: "paid",
      // The history folded into the reports' rollups in one tick before measuring, as a
      // deployment's cron has folded it as it came.
      ROLLUP_FOLD_LIMIT: String(history + 1000),
      RETAIN_IDEMPOTENCY_DAYS: "never", RETAIN_DELIVERED_DAYS: "never", RETAIN_ROTATION_LOG_DAYS: "never",
    },
  });
  try {
    const db = await mf.getD1Database("DB");
    const t = performance.now();
    await fill(db, history + DUE);
    const fillS = (performance.now() - t) / 1000;
    // What the history takes in D1 (its size after a statement, from D1's result metadata).
    const size = async () => (await db.prepare("SELECT 1").run()).meta.size_after;
    const dbBytes = await size();
    const events = (await db.prepare("SELECT COUNT(*) AS n FROM lead_events").first()).n;
    const worker = await mf.getWorker();
    const foldStart = performance.now();
    const folded = await worker.scheduled({ cron: "* * * * *", scheduledTime: new Date(NOW - 10 * MINUTE) });
    if (folded.outcome !== "ok") throw new Error(`the fold's tick: ${folded.outcome}`);
    const foldS = (performance.now() - foldStart) / 1000;
    const beforeSubmissions = await size();
    const at = (i) => NOW + i * 1000;
    const latency = [], read = [], written = [];
    for (let i = 0; i < WARMUP + SUBMISSIONS; i++) {
      const started = performance.now();
      const r = await mf.dispatchFetch("http://localhost/v1/leads", {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": `scale-${i}`, "x-test-now-ms": String(at(i)) },
        body: body(i),
      });
      const text = await r.text();
      const ms = performance.now() - started;
      if (r.status !== 201) throw new Error(`submission ${i} answered ${r.status}: ${text}`);
      if (i < WARMUP) continue;
      latency.push(ms);
      read.push(Number(r.headers.get("x-handoff-d1-rows-read")));
      written.push(Number(r.headers.get("x-handoff-d1-rows-written")));
    }
    const perLead = ((await size()) - beforeSubmissions) / (WARMUP + SUBMISSIONS);
    const routed = (await db.prepare("SELECT COUNT(*) AS n FROM leads WHERE id NOT LIKE 'h-%' AND owner_kind = 'owner'").first()).n;
    const tickStart = performance.now();
    const tick = await worker.scheduled({ cron: "* * * * *", scheduledTime: new Date(NOW + 2 * MINUTE) });
    const tickMs = performance.now() - tickStart;
    if (tick.outcome !== "ok") throw new Error(`tick failed: ${tick.outcome}`);
    const admin = { authorization: `Bearer ${token}`, "x-test-now-ms": String(NOW + 3 * MINUTE) };
    const metrics = [];
    for (let k = 0; k < 3; k++) {
      const s = performance.now();
      const r = await mf.dispatchFetch(`http://localhost/v1/metrics?from=${NOW - 30 * DAY}&to=${NOW + DAY}`, { headers: admin });
      await r.text();
      metrics.push(performance.now() - s);
      if (r.status !== 200) throw new Error(`metrics answered ${r.status}`);
    }
    const line = {
      history: history,
      submit_p50_ms: round(pct(latency, 50)),
      submit_p99_ms: round(pct(latency, 99)),
      rows_read_per_submission: { min: Math.min(...read), median: pct(read, 50), max: Math.max(...read) },
      rows_written_per_submission: { min: Math.min(...written), median: pct(written, 50), max: Math.max(...written) },
      routed_by_owner: routed,
      tick_ms: round(tickMs),
      metrics_30d_ms: round(pct(metrics, 50)),
      fill_s: round(fillS),
      fold_s: round(foldS),
      db_mb: round(dbBytes / 1e6),
      db_mb_with_rollups: round(beforeSubmissions / 1e6),
      history_events: events,
      bytes_per_history_lead: history ? Math.round(dbBytes / history) : null,
      bytes_per_submission: Math.round(perLead),
    };
    if (EXPORT_AT.has(history)) Object.assign(line, await exportYear(mf, admin));
    return line;
  } finally {
    await mf.dispose();
    await state.cleanup();
  }
}

// The Worker's isolate through the inspector (Miniflare's `inspectorPort`): its JS heap now.
async function inspector(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const worker = targets.find((t) => t.id === "core:user:");
  const ws = new WebSocket(worker.webSocketDebuggerUrl);
  await new Promise((ok, fail) => { ws.addEventListener("open", ok); ws.addEventListener("error", fail); });
  let id = 0;
  const pending = new Map();
  ws.addEventListener("message", (m) => {
    const reply = JSON.parse(String(m.data));
    pending.get(reply.id)?.(reply.result);
    pending.delete(reply.id);
  });
  const heap = () => new Promise((ok) => {
    pending.set(++id, ok);
    ws.send(JSON.stringify({ id, method: "Runtime.getHeapUsage" }));
  });
  return { heap, close: () => ws.close() };
}

// The WebAssembly memory of the Worker's isolate, which only grows: after a request, the most it
// needed (a test-mode header of /v1/health).
const wasmMemory = async (mf) =>
  Number((await mf.dispatchFetch("http://localhost/v1/health", { headers: { "x-test-now-ms": String(NOW) } })).headers.get("x-handoff-wasm-memory-bytes"));

// The year's replayable export read to the end: the isolate's memory (its JS heap sampled every
// 20 ms through the inspector, its WebAssembly memory after), what the 128 MB limit counts; and
// the workerd process's resident memory, which also holds local D1's SQLite (not an isolate's).
async function exportYear(mf, admin) {
  const [pid] = workerdPids();
  const before = rss(pid);
  let peak = before;
  const insp = await inspector(INSPECTOR_PORT);
  const wasmBefore = await wasmMemory(mf);
  let heapPeak = (await insp.heap()).usedSize;
  const heapBefore = heapPeak;
  let sampling = true;
  const sampleHeap = (async () => {
    while (sampling) {
      heapPeak = Math.max(heapPeak, (await insp.heap()).usedSize);
      await new Promise((ok) => setTimeout(ok, 20));
    }
  })();
  const sampler = setInterval(() => { peak = Math.max(peak, rss(pid)); }, 20);
  const s = performance.now();
  const r = await mf.dispatchFetch(`http://localhost/v1/export/leads.jsonl?from=${NOW - YEAR - DAY}&to=${NOW + DAY}`, { headers: admin });
  let bytes = 0, lines = 0;
  for await (const chunk of r.body) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) lines++;
  }
  clearInterval(sampler);
  sampling = false;
  await sampleHeap;
  insp.close();
  peak = Math.max(peak, rss(pid));
  const wasmAfter = await wasmMemory(mf);
  return {
    isolate_js_heap_before_mb: round(heapBefore / 2 ** 20),
    isolate_js_heap_peak_mb: round(heapPeak / 2 ** 20),
    isolate_wasm_memory_before_mb: round(wasmBefore / 2 ** 20),
    isolate_wasm_memory_after_mb: round(wasmAfter / 2 ** 20),
    export_ms: round(performance.now() - s),
    export_lines: lines,
    export_mb: round(bytes / 1e6),
    workerd_rss_before_mb: round(before / 2 ** 20),
    workerd_rss_peak_mb: round(peak / 2 ** 20),
  };
}

for (const size of SIZES) console.log(JSON.stringify(await measure(size)));
