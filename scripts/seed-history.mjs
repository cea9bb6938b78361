#!/usr/bin/env node
// Demo data, and says so: ~600 leads over the 30 days before now, with event logs shaped exactly as
// the Worker writes them (created, routed, sla_started, notified, first_touch, touch, outcome,
// escalated), so that the dashboard of `make dev` has a history to show. Deterministic (a fixed
// seed); speed to lead spreads from minutes to never, and conversion falls with slower touches.
// Every lead's id starts with `demo-`; nothing here is ever written by the product itself.
//
//   scripts/seed-history.mjs STATE_DIR [--once] [--now MS]
//
// --once: add nothing when the demo history is there already (a second `make dev`).
//
// Written with `wrangler d1 execute --local --file`: a generated SQL file, so every string is
// quoted here (single quotes doubled), and only ever generated from this script's own data.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const state = args[0];
if (!state) throw new Error("usage: seed-history.mjs STATE_DIR [--once] [--now MS]");
const once = args.includes("--once");
const nowArg = args.indexOf("--now");
const NOW = nowArg > 0 ? Number(args[nowArg + 1]) : Date.now();
const wrangler = join(ROOT, "node_modules/.bin/wrangler");
const d1 = (...rest) => run(wrangler, ["d1", "execute", "handoff", "--local", "--persist-to", state, ...rest],
  { cwd: ROOT, env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" }, maxBuffer: 64 << 20, timeout: 120_000 });

const seeded = async () => {
  const { stdout } = await d1("--json", "--command", "SELECT COUNT(*) AS n FROM leads WHERE id LIKE 'demo-%'");
  return JSON.parse(stdout)[0].results[0].n > 0;
};
if (once) {
  if (await seeded()) {
    console.log("seed-history: the demo history is there already; nothing added");
    process.exit(0);
  }
}

// mulberry32: small, deterministic.
let seed = 20261122;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (items) => items[Math.floor(random() * items.length)];
const weighted = (pairs) => {
  let r = random() * pairs.reduce((a, [, w]) => a + w, 0);
  for (const [v, w] of pairs) if ((r -= w) < 0) return v;
  return pairs.at(-1)[0];
};
const q = (v) => (v == null ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`);
const MIN = 60_000;

const owners = ["maya", "diego", "priya", "oliver", "lena", "sam"];
const sources = [["google", 5], ["linkedin", 3], ["newsletter", 2], [null, 2], ["partner", 1]];
const campaigns = { google: ["brand", "pipelines-q4"], linkedin: ["data-leaders"], newsletter: ["november"], partner: [null], null: [null] };
const first = ["Ada", "Grace", "Alan", "Maria", "Jun", "Priya", "Tom", "Lea", "Omar", "Sofia", "Ken", "Ines"];
const last = ["Lovelace", "Hopper", "Turing", "Lopez", "Tanaka", "Shah", "Berg", "Moreau", "Haddad", "Rossi"];
const companies = ["Acme Analytics", "Globex", "Initech", "Umbrella Data", "Stark Pipelines", "Wayne Cloud", "Tyrell Labs"];
const reasons = [["not_a_fit", 4], ["student", 2], ["competitor", 1], ["wrong_contact", 2], ["no_budget", 2], ["duplicate", 1]];
const rules = ["size-midmarket", "size-enterprise", "role-buyer", "country-served", "big-team", "wants-demo", "wants-pricing"];
// Time to first touch, minutes; null: never touched.
const speeds = [[() => 1 + random() * 4, 38], [() => 5 + random() * 25, 22], [() => 30 + random() * 30, 8],
  [() => 60 + random() * 180, 10], [() => 240 + random() * 1200, 7], [() => null, 15]];

const { stdout: columns } = await d1("--json", "--command", "PRAGMA table_info(leads)");
const hasArm = JSON.parse(columns)[0].results.some((c) => c.name === "arm");

const sql = [];
const COUNT = 600;
for (let i = 0; i < COUNT; i++) {
  const id = `demo-${String(i).padStart(4, "0")}`;
  const created = NOW - Math.floor(random() * 30 * 24 * 60) * MIN - 5 * MIN;
  // One lead at risk right now whose visitor typed markup as a name: it must show as text.
  const special = i === COUNT - 3;
  const lifecycle = special ? "sql" : weighted([["sql", 4], ["mql", 4], ["nurture", 2]]);
  const grade = lifecycle === "sql" ? weighted([["A", 3], ["B", 2]]) : weighted([["B", 2], ["C", 3], ["D", 1]]);
  const source = weighted(sources);
  const campaign = pick(campaigns[source]);
  const queue = lifecycle === "nurture";
  const owner = queue ? "sdr_triage" : pick(owners);
  const name = special ? "<img src=x onerror=alert(1)>" : `${pick(first)} ${pick(last)}`;
  const company = pick(companies);
  const email = `${name.split(" ")[0].toLowerCase().replace(/[^a-z]/g, "x")}.${i}@${company.toLowerCase().replace(/[^a-z]/g, "")}.example`;
  const fired = rules.filter(() => random() < 0.35);
  const breakdown = fired.map((r) => ({ dimension: "fit", rule: r, label: r, points: 10 }));
  const evaluation = { score: { fit: 10 * fired.length, engagement: 0, intent: 0, total: 10 * fired.length, breakdown } };
  const attribution = { utm: { ...(source ? { source } : {}), ...(campaign ? { campaign } : {}) } };
  // The last day's leads are newer; the newest untouched ones are at risk right now.
  const recent = i >= COUNT - 12;
  const createdAt = recent ? NOW - (5 + (COUNT - i) * 7) * MIN : created;
  const arm = hasArm && lifecycle === "mql" ? (random() < 0.5 ? "fast" : "relaxed") : null;
  const speed = recent && i % 3 === 0 ? null : weighted(speeds)();
  const firstTouch = speed == null || queue ? null : createdAt + Math.round(speed * MIN);
  const rejected = !special && random() < (lifecycle === "sql" ? 0.08 : 0.18) ? weighted(reasons) : null;
  // Faster touches convert better.
  const tierBoost = speed == null ? 0 : speed < 5 ? 0.45 : speed < 30 ? 0.3 : speed < 60 ? 0.2 : speed < 240 ? 0.12 : 0.06;
  const meeting = !rejected && firstTouch != null && random() < tierBoost * (lifecycle === "sql" ? 1.3 : 0.8);
  const opportunity = meeting && random() < 0.45;
  const status = rejected ? "rejected" : "open";
  const cols = ["id", "form_id", "email", "answers", "bundle_version", "created_at", "score", "grade", "lifecycle",
    "evaluation", "attribution", "owner_kind", "owner_id", "status", "updated_at", ...(hasArm ? ["experiment", "arm"] : [])];
  const vals = [id, "demo", email, JSON.stringify({ email, company, name }), "demo-history", createdAt, 10 * fired.length, grade,
    lifecycle, JSON.stringify(evaluation), JSON.stringify(attribution), queue ? "queue" : "owner", owner, status, createdAt,
    ...(hasArm ? [arm ? "mql-first-touch" : null, arm] : [])];
  sql.push(`INSERT INTO leads (${cols.join(", ")}) VALUES (${vals.map(q).join(", ")});`);
  const events = [["created", createdAt, { form: "demo", lifecycle }],
    ["routed", createdAt, { assignee: queue ? { queue: owner } : { owner }, summary: "demo history" }]];
  const sla = lifecycle === "sql" ? 5 : lifecycle === "mql" ? (arm === "fast" ? 15 : 60) : null;
  const due = sla == null ? null : createdAt + sla * MIN;
  if (due) events.push(["sla_started", createdAt, { policy: lifecycle, first_touch_due_ms: due }]);
  events.push(["notified", createdAt + 800 + Math.floor(random() * 3000), { channel: "sales" }]);
  if (firstTouch) {
    events.push(["first_touch", firstTouch, { via: pick(["link", "events", "crm"]) }]);
    events.push(["touch", firstTouch, { type: "touch", channel: pick(["call", "email"]), actor: owner }]);
  }
  if (due && !firstTouch && !queue) events.push(["escalated", due + 120 * MIN, { level: 1, policy: lifecycle }]);
  if (meeting) events.push(["touch", (firstTouch ?? createdAt) + 60 * MIN, { type: "touch", channel: "meeting_booked", actor: owner }]);
  if (opportunity) events.push(["outcome", (firstTouch ?? createdAt) + 3 * 24 * 60 * MIN, { type: "outcome", outcome: "opportunity", actor: owner }]);
  if (rejected) events.push(["outcome", (firstTouch ?? createdAt) + 30 * MIN, { type: "outcome", outcome: "rejected", reason: rejected, actor: owner }]);
  for (const [kind, at, detail] of events.filter(([, at]) => at <= NOW).sort((a, b) => a[1] - b[1]))
    sql.push(`INSERT INTO lead_events (lead_id, at, kind, actor, detail) VALUES (${[id, at, kind, "system", JSON.stringify(detail)].map(q).join(", ")});`);
  if (due && !firstTouch && !rejected && !queue && recent) {
    const steps = [{ level: 1, due_ms: due + 120 * MIN, to: "team_lead", reassign: false }];
    const summary = { name, email, company, lifecycle, score: 10 * fired.length };
    sql.push(`INSERT INTO sla_clocks (lead_id, policy, pool, started_at, first_touch_due, steps, summary, level, next_at, updated_at) VALUES (${
      [id, lifecycle, "na_ae", createdAt, due, JSON.stringify(steps), JSON.stringify(summary), 0, due + 120 * MIN, createdAt].map(q).join(", ")});`);
  }
}

const dir = await mkdtemp(join(tmpdir(), "handoff-history-"));
try {
  const file = join(dir, "history.sql");
  await writeFile(file, sql.join("\n") + "\n");
  // The file runs as one D1 batch, one transaction. Local D1 has been seen to fail now and then
  // after the batch ran (wrangler's "false == true", results not read back): ask whether the
  // history is there before trying again, so it is added once at most.
  const had = once ? false : await seeded();
  for (let attempt = 1; ; attempt++) {
    try {
      await d1("--file", file);
      break;
    } catch (error) {
      if (!had && (await seeded())) break;
      if (attempt === 3) throw error;
      console.error(`seed-history: local D1 failed (${error.message.split("\n")[0]}); trying again`);
    }
  }
  console.log(`seed-history: ${COUNT} demo leads with their event logs over the last 30 days`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
