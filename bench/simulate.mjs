#!/usr/bin/env node
// `handoff simulate` over 100,000 leads, natively: a month of leads to the demo configuration's
// form (every country, size, role and interest; one in eight a returning person), as lines the
// Worker's export gives, replayed through the demo configuration against itself with one rule
// moved. Measures wall time and peak memory (/usr/bin/time -v), the median of --repeat runs.
// Budget (issue 18): under 5 s and 500 MB on this machine.
//
//   make bench-simulate        (builds the CLI in release mode first)
//   node bench/simulate.mjs [--leads 100000] [--repeat 3]
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";

const ROOT = new URL("..", import.meta.url).pathname;
const { values: opts } = parseArgs({ options: { leads: { type: "string", default: "100000" }, repeat: { type: "string", default: "3" } } });
const LEADS = Number(opts.leads), REPEAT = Number(opts.repeat);
const run = promisify(execFile);
const CLI = join(process.env.CARGO_TARGET_DIR || join(ROOT, "target"), "release/handoff");
const T0 = Date.UTC(2026, 9, 1);
const SPAN = 30 * 86_400_000;

const dir = await mkdtemp(join(tmpdir(), "handoff-simulate-"));
try {
  const sizes = ["1-10", "11-50", "51-200", "201-1000", "1000+"];
  const roles = ["Engineering", "Data", "Executive", "Marketing", "Sales", "Student", "Other"];
  const countries = ["United States", "Canada", "United Kingdom", "Germany", "France", "Netherlands", "Other"];
  const interests = ["A demo", "Pricing", "Just exploring"];
  const lines = [];
  for (let i = 0; i < LEADS; i++) {
    const who = i % 8 === 7 ? i - 1 : i;
    const at = new Date(T0 + Math.floor((i * SPAN) / LEADS)).toISOString();
    lines.push(JSON.stringify({
      id: `lead-${i}`, form: "demo", at,
      answers: {
        email: `person${who}@company${who % 997}.example`, company_size: sizes[i % 5], role: roles[i % 7],
        country: countries[i % 7], interest: interests[i % 3], consent: true,
      },
      attribution: { utm: { source: ["google", "linkedin", "partner_portal"][i % 3] } },
    }));
  }
  const leads = join(dir, "leads.jsonl");
  await writeFile(leads, lines.join("\n") + "\n");
  const demo = await readFile(join(ROOT, "config/demo.toml"), "utf8");
  const moved = join(dir, "moved.toml");
  // One territory change: enterprise leads go to the North America pool rather than to Sam.
  const changed = demo.replace('to = "owner:sam"\nfallback = "pool:na_ae"', 'to = "pool:na_ae"');
  if (changed === demo) throw new Error("the demo's enterprise rule moved; update bench/simulate.mjs");
  await writeFile(moved, changed);
  const times = [], peaks = [];
  let summary;
  for (let r = 0; r < REPEAT; r++) {
    const { stdout, stderr } = await run("/usr/bin/time", ["-v", CLI, "simulate", "--config", moved, "--baseline", join(ROOT, "config/demo.toml"),
      "--leads", leads, "--now", "2026-11-15T00:00:00Z"], { maxBuffer: 1 << 30 });
    const field = (name) => stderr.split("\n").find((l) => l.includes(name)).split(": ").pop().trim();
    const [m, s] = field("Elapsed (wall clock)").split(":");
    times.push(Number(m) * 60 + Number(s));
    peaks.push(Number(field("Maximum resident set size")) / 1024);
    summary = JSON.parse(stdout.trim().split("\n").pop()).summary;
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`handoff simulate, ${LEADS} leads (${lines.join("").length} bytes), ${REPEAT} runs:`);
  console.log(`  wall time median ${median(times).toFixed(2)} s (runs: ${times.map((t) => t.toFixed(2)).join(", ")}), budget 5 s`);
  console.log(`  peak memory median ${median(peaks).toFixed(0)} MB, budget 500 MB`);
  console.log(`  summary: ${summary.leads} leads, ${summary.changed} changed, ${Object.keys(summary.assignees).length} assignees`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
