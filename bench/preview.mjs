#!/usr/bin/env node
// `POST /v1/config/preview` in the Worker (issue 18): the built Worker on workerd through
// Miniflare (local D1 and KV, fresh state, the demo configuration), with a month of 10,000 leads
// submitted through `POST /v1/leads` at their own times (the test-only clock), so D1 holds them
// exactly as the intake stores them, routed; two in three of their SLA clocks then get a first
// touch, written in SQL as the events API writes it. The preview of the last `--days` is timed
// (median of --repeat after one warm-up) with the demo configuration unchanged and with one rule
// moved, and measured on workerd: its CPU time, its peak resident memory (VmHWM, reset before
// each preview) and the Worker's wasm memory, which the preview writes to its log line.
//
//   make bench-preview         (builds first)
//   node bench/preview.mjs [--leads 10000] [--days 30] [--repeat 3]
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DAY, ROOT, startWorker } from "../tests/support/edge.mjs";

const { values: opts } = parseArgs({
  options: { leads: { type: "string", default: "10000" }, days: { type: "string", default: "30" }, repeat: { type: "string", default: "3" } },
});
const LEADS = Number(opts.leads), DAYS = Number(opts.days), REPEAT = Number(opts.repeat);
if (!(LEADS > 0 && DAYS >= 1 && DAYS <= 90 && REPEAT > 0)) throw new Error("--leads and --repeat must be positive, --days 1 to 90");
const T0 = Date.UTC(2026, 9, 1);
const NOW = T0 + DAYS * DAY;
const TICK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (bytes) => (bytes / (1 << 20)).toFixed(1);

// The Worker's log (workerd's output), where the preview writes its line.
let log = "";
const worker = await startWorker({
  bindings: { RATE_LIMIT_PER_MINUTE: "1000000" },
  miniflare: { handleRuntimeStdio: (stdout, stderr) => { for (const s of [stdout, stderr]) s.on("data", (d) => (log += d)); } },
});
process.on("SIGINT", () => worker.dispose().then(() => process.exit(130)));

/** This bench's workerd: the child process of this one named `workerd`. */
function workerdPid() {
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const [, comm, ppid] = readFileSync(`/proc/${entry}/stat`, "utf8").match(/^\d+ \((.*)\) \S+ (\d+)/);
      if (comm === "workerd" && Number(ppid) === process.pid) return Number(entry);
    } catch {}
  }
  throw new Error("no workerd child process found");
}
/** The process's resident memory now and at its peak (bytes), and its CPU time (ms). */
function usage(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))[1]) * 1024;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return { rss: kb("VmRSS"), hwm: kb("VmHWM"), cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICK };
}

try {
  const pid = workerdPid();
  const sizes = ["1-10", "11-50", "51-200", "201-1000", "1000+"];
  const roles = ["Engineering", "Data", "Executive", "Marketing", "Sales", "Student", "Looking for a job", "Other"];
  const countries = ["United States", "Canada", "United Kingdom", "Germany", "France", "Netherlands", "Other"];
  const interests = ["A demo", "Pricing", "Just exploring"];
  const sources = ["google", "linkedin", "partner_portal"];
  const paths = ["/", "/product", "/pricing", "/docs/quickstart", "/customers"];
  // Leads over the whole period, oldest first; one in eight is the person before it again.
  const fill = performance.now();
  for (let i = 0; i < LEADS; i++) {
    const who = i % 8 === 7 ? i - 1 : i;
    const at = T0 + Math.floor((i * DAYS * DAY) / LEADS);
    const interest = interests[i % 3];
    const pages = Array.from({ length: 1 + (i % 4) }, (_, k) => ({ url: paths[(i + k) % paths.length], at_ms: at - (4 - k) * 60_000 }));
    await worker.submit({
      form: "demo",
      answers: {
        email: `person${who}@company${who % 997}.example`, company: `Company ${who % 997}`, company_size: sizes[i % 5],
        role: roles[i % 8], country: countries[i % 7], interest, consent: true,
        ...(interest !== "Just exploring" && i % 2 ? { team_size: String(1 + (i % 12)) } : {}),
      },
      activity: i % 10 === 0 ? [{ kind: "download", at_ms: at - 300_000, detail: "/guides/pipeline-monitoring.pdf" }] : [],
      context: { fill_ms: 20_000 + (i % 40) * 1000 },
      visitor: `visitor-${String(who).padStart(12, "0")}`,
      attribution: {
        landing_page: `https://www.northwind.example${pages[0].url}?utm_source=${sources[i % 3]}`,
        utm: { source: sources[i % 3], medium: "cpc", campaign: `q4-${i % 5}` },
        referrer: "https://search.example/", pages, visits: 1 + (i % 3), first_seen_ms: at - (i % 3) * DAY,
        consent: { field: "consent", text: "I agree to be contacted by Northwind Cloud about this request.", version: "2026-11-01", given: true },
      },
    }, { now: at, headers: { "idempotency-key": `bench-${i}` } });
  }
  const submitted = performance.now() - fill;
  // Two in three clocks touched 1 to 90 minutes after they started, as the events API records
  // a first touch (the lead is then `working`, which frees its owner's capacity in the replay).
  const touched = "c.started_at + 60000 + (c.rowid * 7919 % 5340000)";
  const picked = "FROM sla_clocks c JOIN leads l ON l.id = c.lead_id WHERE c.rowid % 3 <> 0 AND l.status = 'new'";
  await worker.db.batch([
    worker.db.prepare(`INSERT INTO lead_events (lead_id, at, kind, actor, detail)
      SELECT c.lead_id, ${touched}, 'first_touch', COALESCE(l.owner_id, 'system'), '{"via":"events"}' ${picked}`),
    worker.db.prepare(`INSERT INTO lead_events (lead_id, at, kind, actor, detail)
      SELECT c.lead_id, ${touched}, 'status_changed', COALESCE(l.owner_id, 'system'), '{"from":"new","to":"working","via":"events"}' ${picked}`),
    worker.db.prepare(`UPDATE leads SET status = 'working', updated_at = (SELECT ${touched} FROM sla_clocks c WHERE c.lead_id = leads.id)
      WHERE id IN (SELECT c.lead_id ${picked})`),
    worker.db.prepare(`UPDATE sla_clocks AS c SET touched_at = ${touched}, touched_by = (SELECT COALESCE(owner_id, 'system') FROM leads WHERE id = c.lead_id), stopped = 'touched', next_at = NULL,
      updated_at = ${touched} WHERE c.lead_id IN (SELECT id FROM leads WHERE status = 'working')`),
  ]);
  const { n: clocks, t: touches } = await worker.db.prepare("SELECT COUNT(*) AS n, COUNT(touched_at) AS t FROM sla_clocks").first();

  const demo = await readFile(join(ROOT, "config/demo.toml"), "utf8");
  // One territory change, as bench/simulate.mjs makes it: enterprise leads go to the North
  // America pool rather than to Sam.
  const moved = demo.replace('to = "owner:sam"\nfallback = "pool:na_ae"', 'to = "pool:na_ae"');
  if (moved === demo) throw new Error("the demo's enterprise rule moved; update bench/preview.mjs");
  /** One preview, timed and measured on workerd (its peak memory reset first). */
  const preview = async (toml) => {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    const before = usage(pid);
    const logged = log.length;
    const start = performance.now();
    const r = await worker.fetch(`/v1/config/preview?days=${DAYS}`, {
      method: "POST", body: toml, headers: { "content-type": "application/toml" }, admin: true, now: NOW,
    });
    const text = await r.text();
    const ms = performance.now() - start;
    if (r.status !== 200) throw new Error(`preview: ${r.status} ${text.slice(0, 300)}`);
    const after = usage(pid);
    // The Worker's line, e.g. "config preview: … wasm memory 12.3 → 45.6 MiB"; the log may lag the answer.
    for (let i = 0; i < 20 && !/wasm memory/.test(log.slice(logged)); i++) await new Promise((ok) => setTimeout(ok, 50));
    const wasm = log.slice(logged).match(/wasm memory ([\d.]+) → ([\d.]+) MiB/);
    return {
      ms, body: JSON.parse(text), bytes: text.length, cpuMs: after.cpuMs - before.cpuMs,
      grew: after.hwm - before.rss, rss: after.rss, wasm: wasm ? [Number(wasm[1]), Number(wasm[2])] : null,
    };
  };
  const warm = await preview(demo);
  const { summary } = warm.body;
  const assigned = Object.entries(summary.assignees).filter(([who, n]) => who !== "(none)" && n.before > 0);
  if (summary.leads !== LEADS || summary.changed !== 0 || assigned.length < 3) {
    throw new Error(`the preview did not replay the leads: ${JSON.stringify(summary)} (skipped ${warm.body.skipped})`);
  }
  const runs = {};
  for (const [name, toml] of [["unchanged", demo], ["moved", moved]]) {
    runs[name] = [];
    for (let i = 0; i < REPEAT; i++) runs[name].push(await preview(toml));
  }
  // The same leads' export (D1 pages and lines, no replay): how much of the time is reading.
  const exportStart = performance.now();
  const exported = await worker.fetch(`/v1/export/leads.jsonl?from=${NOW - DAYS * DAY}&to=${NOW}`, { admin: true, now: NOW });
  const exportBytes = (await exported.text()).length;
  const exportMs = performance.now() - exportStart;

  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(`POST /v1/config/preview?days=${DAYS} over ${LEADS.toLocaleString("en")} leads (workerd through Miniflare, local D1), ${new Date().toISOString()}, load average ${load}`);
  console.log(`  filled through POST /v1/leads in ${(submitted / 1000).toFixed(1)} s; ${clocks} SLA clocks, ${touches} touched; ${assigned.length} assignees: ${assigned.map(([w, n]) => `${w} ${n.before}`).join(", ")}`);
  console.log(`  warm-up (first preview in the isolate): ${warm.ms.toFixed(0)} ms, workerd CPU ${warm.cpuMs.toFixed(0)} ms, peak RSS growth ${mb(warm.grew)} MiB, wasm memory ${warm.wasm ? `${warm.wasm[0]} → ${warm.wasm[1]} MiB` : "not logged"}`);
  for (const [name, list] of Object.entries(runs)) {
    const last = list.at(-1);
    const wasm = last.wasm ? `${last.wasm[1]} MiB` : "not logged";
    console.log(`  ${name.padEnd(9)} median of ${REPEAT}: ${median(list.map((r) => r.ms)).toFixed(0)} ms (runs ${list.map((r) => r.ms.toFixed(0)).join(", ")}), `
      + `workerd CPU ${median(list.map((r) => r.cpuMs)).toFixed(0)} ms, peak RSS growth ${mb(median(list.map((r) => r.grew)))} MiB (RSS after ${mb(last.rss)} MiB), `
      + `wasm memory ${wasm}; ${last.body.summary.leads} leads, ${last.body.summary.changed} changed, ${last.body.changed.length} listed, answer ${(last.bytes / 1024).toFixed(0)} KB`);
  }
  console.log(`  GET /v1/export/leads.jsonl over the same days (reading and encoding only): ${exportMs.toFixed(0)} ms, ${(exportBytes / 1e6).toFixed(1)} MB`);
  if (!runs.moved.every((r) => r.body.summary.changed > 0)) throw new Error("moving the enterprise rule changed no lead");
} finally {
  await worker.dispose();
}
