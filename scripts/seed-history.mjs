#!/usr/bin/env node
// Demo data, and says so: ~600 leads over the 30 days before now, with event logs shaped exactly as
// the Worker writes them (created, routed, sla_started, notified, accepted, first_touch, touch,
// outcome, status_changed, escalated), so that the dashboard of `make dev` has a history to show.
// Deterministic (a fixed seed). Each lead lives as sales would work it: its owner accepts it
// (usually minutes after routing; a queue member takes a queue's lead), first contact comes later,
// some never; a meeting is booked and held, an opportunity opened with a value in EUR, USD or GBP,
// then won or lost, or the lead is rejected with a reason. Every step that moves the lead is a
// `status_changed`, and the lead's stored status is where its log stands at NOW. Conversion falls
// with slower contact. Every lead's id starts with `demo-`; nothing here is ever written by the
// product itself.
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
// Who takes leads from the nurture queue.
const sdrs = ["noah", "zoe"];
const sources = [["google", 5], ["linkedin", 3], ["newsletter", 2], [null, 2], ["partner", 1]];
const campaigns = { google: ["brand", "pipelines-q4"], linkedin: ["data-leaders"], newsletter: ["november"], partner: [null], null: [null] };
const first = ["Ada", "Grace", "Alan", "Maria", "Jun", "Priya", "Tom", "Lea", "Omar", "Sofia", "Ken", "Ines"];
const last = ["Lovelace", "Hopper", "Turing", "Lopez", "Tanaka", "Shah", "Berg", "Moreau", "Haddad", "Rossi"];
const companies = ["Acme Analytics", "Globex", "Initech", "Umbrella Data", "Stark Pipelines", "Wayne Cloud", "Tyrell Labs"];
const reasons = [["not_a_fit", 4], ["student", 2], ["competitor", 1], ["wrong_contact", 2], ["no_budget", 2], ["duplicate", 1]];
const lostReasons = [["price", 3], ["no_budget", 3], ["competitor", 2], ["timing", 2], ["no_decision", 2]];
const currencies = [["EUR", 55], ["USD", 35], ["GBP", 10]];
const rules = ["size-midmarket", "size-enterprise", "role-buyer", "country-served", "big-team", "wants-demo", "wants-pricing"];
// Time to accept after routing, minutes; null: nobody took it.
const acceptDelays = [[() => 0.5 + random() * 4.5, 46], [() => 5 + random() * 25, 24], [() => 30 + random() * 90, 10],
  [() => 120 + random() * 480, 6], [() => null, 14]];
// From acceptance to the first real contact (a call or an email), minutes; null: never reached.
const contactDelays = [[() => 1 + random() * 4, 16], [() => 5 + random() * 25, 26], [() => 30 + random() * 90, 20],
  [() => 120 + random() * 360, 14], [() => 480 + random() * 2400, 10], [() => null, 10]];
// A deal's value by grade, in the currency's unit, rounded to 100.
const values = { A: [15_000, 60_000], B: [6_000, 25_000], C: [2_000, 10_000], D: [1_000, 5_000] };
const HOUR = 60 * MIN, DAY = 24 * HOUR;
const between = (lo, hi) => lo + random() * (hi - lo);
const hundreds = (x) => Math.round(x / 100) * 100;

// SLA targets per policy, minutes: accept, then first contact (the MQL experiment's arms differ).
const targets = (lifecycle, arm) =>
  lifecycle === "sql" ? { accept: 5, contact: 30 } : lifecycle === "mql" ? { accept: 15, contact: arm === "fast" ? 60 : 240 } : null;

/** One lead's life after routing: [kind, at, detail] events (any order, some after NOW). The
 * status moves are `status_changed` events in the order they happen. */
function life({ createdAt, owner, queue, lifecycle, grade, arm, untouched, special }) {
  const events = [];
  let status = "new";
  const move = (at, to, via, extra = {}) => {
    events.push(["status_changed", at, { from: status, to, via, ...extra }]);
    status = to;
  };
  const taker = queue ? pick(sdrs) : owner;
  const acceptIn = untouched ? null : weighted(acceptDelays)();
  let accepted = acceptIn == null || (queue && random() < 0.4) ? null : createdAt + Math.round(acceptIn * MIN);
  const contactIn = accepted == null ? null : weighted(contactDelays)();
  let contact = contactIn == null || (queue && random() < 0.5) ? null
    : accepted + Math.round(contactIn * (arm === "fast" ? 0.75 : 1) * MIN);
  // Some reps call without pressing "I've got it": the call takes the lead.
  if (contact != null && !queue && random() < 0.1) accepted = null;
  if (accepted != null) {
    const via = queue ? "admin" : weighted([["link", 6], ["events", 3], ["crm", 1]]);
    events.push(["accepted", accepted, { type: "accept", actor: taker, via, ...(queue ? { queue: owner } : {}) }]);
    move(accepted, "accepted", via);
  }
  const rejected = !special && random() < (lifecycle === "sql" ? 0.08 : 0.18) ? weighted(reasons) : null;
  if (rejected) contact = contact != null && random() < 0.5 ? contact : null;
  if (contact != null) {
    const via = weighted([["events", 3], ["crm", 2]]);
    events.push(["first_touch", contact, { via, actor: taker }]);
    events.push(["touch", contact, { type: "touch", channel: pick(["call", "email"]), actor: taker }]);
    move(contact, "working", via);
  }
  if (rejected) {
    const at = (contact ?? accepted ?? createdAt + 3 * HOUR) + 30 * MIN;
    events.push(["outcome", at, { type: "outcome", outcome: "rejected", reason: rejected, actor: taker }]);
    move(at, "rejected", "events", { reason: rejected });
    return { events, taker, accepted, contact, rejectedAt: at };
  }
  // Faster contact converts better.
  const speed = contact == null ? null : (contact - createdAt) / MIN;
  const boost = speed == null ? 0 : speed < 5 ? 0.5 : speed < 30 ? 0.36 : speed < 60 ? 0.25 : speed < 240 ? 0.15 : 0.07;
  if (queue || contact == null || random() >= boost * (lifecycle === "sql" ? 1.4 : 0.9)) return { events, taker, accepted, contact };
  const booked = contact + Math.round(between(20, 120)) * MIN;
  events.push(["touch", booked, { type: "touch", channel: "meeting_booked", actor: taker }]);
  const held = booked + Math.round(between(1, 4) * DAY);
  events.push(["outcome", held, { type: "outcome", outcome: "meeting_held", actor: taker }]);
  move(held, "meeting", "events");
  if (random() >= 0.55) return { events, taker, accepted, contact };
  const [lo, hi] = values[grade];
  const deal = { amount: hundreds(between(lo, hi)), currency: weighted(currencies) };
  const opened = held + Math.round(between(0.5, 3) * DAY);
  events.push(["outcome", opened, { type: "outcome", outcome: "opportunity", ...deal, actor: taker }]);
  move(opened, "opportunity", "crm", deal);
  const closed = opened + Math.round(between(3, 16) * DAY);
  const r = random();
  if (r < 0.42) {
    const won = { amount: hundreds(deal.amount * between(0.8, 1.15)), currency: deal.currency };
    events.push(["outcome", closed, { type: "outcome", outcome: "won", ...won, actor: taker }]);
    move(closed, "won", "crm", won);
  } else if (r < 0.75) {
    const reason = weighted(lostReasons);
    events.push(["outcome", closed, { type: "outcome", outcome: "lost", reason, ...deal, actor: taker }]);
    move(closed, "lost", "crm", { reason, ...deal });
  }
  return { events, taker, accepted, contact };
}

const { stdout: columns } = await d1("--json", "--command", "PRAGMA table_info(leads)");
const leadColumns = JSON.parse(columns)[0].results.map((c) => c.name);
const hasArm = leadColumns.includes("arm");
const hasDeal = leadColumns.includes("deal_amount");
const { stdout: clockColumns } = await d1("--json", "--command", "PRAGMA table_info(sla_clocks)");
const hasAcceptClock = JSON.parse(clockColumns)[0].results.some((c) => c.name === "accept_due");

/** A lead's answers to the demo form, complete (a preview replays them, docs/CONFIG.md "What a
 * change would have done"), and in keeping with its stage and owner: the country of the owner's
 * territory, a bigger company and a demo for a sales-qualified lead. Drawn from `i`, not from the
 * random sequence, so the history's other draws stay as they were. */
function answers(i, { email, company, name, lifecycle, grade, routedTo }) {
  const country = { oliver: "United Kingdom", lena: ["Germany", "France", "Netherlands"][i % 3], sam: "United States" }[routedTo]
    ?? (["maya", "diego", "priya"].includes(routedTo) ? ["United States", "Canada"][i % 2] : ["Other", "United States", "Germany"][i % 3]);
  const byStage = {
    sql: { company_size: grade === "A" ? "201-1000" : "51-200", role: ["Engineering", "Executive", "Data"][i % 3], interest: "A demo", team_size: 4 + (i % 20) },
    mql: { company_size: ["11-50", "51-200"][i % 2], role: ["Marketing", "Data"][i % 2], interest: "Pricing", team_size: 1 + (i % 6) },
    nurture: { company_size: "1-10", role: ["Other", "Student"][i % 2], interest: "Just exploring" },
  }[lifecycle];
  return { email, company, name, ...byStage, country, consent: true };
}

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
  const routedTo = queue ? "sdr_triage" : pick(owners);
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
  const lived = life({ createdAt, owner: routedTo, queue, lifecycle, grade, arm, special,
    untouched: special || (recent && i % 3 === 0) });
  const target = targets(lifecycle, arm);
  const due = target && createdAt + target.contact * MIN;
  const acceptDue = target && createdAt + target.accept * MIN;
  const events = [["created", createdAt, { form: "demo", lifecycle }],
    ["routed", createdAt, { assignee: queue ? { queue: routedTo } : { owner: routedTo }, summary: "demo history" }],
    ["notified", createdAt + 800 + Math.floor(random() * 3000), { channel: "sales" }], ...lived.events];
  if (due) events.push(["sla_started", createdAt, { policy: lifecycle, first_touch_due_ms: due, accept_due_ms: acceptDue }]);
  const late = due && (lived.contact == null || lived.contact > due + 30 * MIN);
  if (late && !queue && !(lived.rejectedAt <= due + 30 * MIN)) events.push(["escalated", due + 30 * MIN, { level: 1, policy: lifecycle }]);
  // What has happened by NOW, in order; the lead stands where its last status change put it.
  const past = events.filter(([, at]) => at <= NOW).sort((a, b) => a[1] - b[1]);
  const moves = past.filter(([kind]) => kind === "status_changed");
  const status = moves.length ? moves.at(-1)[2].to : "new";
  const priced = past.filter(([, , d]) => d.amount != null);
  const deal = priced.length ? priced.at(-1)[2] : null;
  // A queue's lead taken by a member is that member's.
  const taken = queue && lived.accepted != null && lived.accepted <= NOW;
  const owner = taken ? lived.taker : routedTo;
  const cols = ["id", "form_id", "email", "answers", "bundle_version", "created_at", "score", "grade", "lifecycle",
    "evaluation", "attribution", "owner_kind", "owner_id", "status", "updated_at", ...(hasArm ? ["experiment", "arm"] : []),
    ...(hasDeal ? ["deal_amount", "deal_currency"] : [])];
  const vals = [id, "demo", email, JSON.stringify(answers(i, { email, company, name, lifecycle, grade, routedTo })), "demo-history", createdAt, 10 * fired.length, grade,
    lifecycle, JSON.stringify(evaluation), JSON.stringify(attribution), queue && !taken ? "queue" : "owner", owner, status,
    past.at(-1)[1], ...(hasArm ? [arm ? "mql-first-touch" : null, arm] : []),
    ...(hasDeal ? [deal?.amount ?? null, deal?.currency ?? null] : [])];
  sql.push(`INSERT INTO leads (${cols.join(", ")}) VALUES (${vals.map(q).join(", ")});`);
  for (const [kind, at, detail] of past) {
    const actor = kind === "accepted" || kind === "touch" || kind === "outcome" ? detail.actor : "system";
    sql.push(`INSERT INTO lead_events (lead_id, at, kind, actor, detail) VALUES (${[id, at, kind, actor, JSON.stringify(detail)].map(q).join(", ")});`);
  }
  // The newest leads nobody has reached yet still run their clock (the dashboard's "at risk").
  const open = status === "new" || status === "accepted";
  if (due && open && !queue && recent) {
    const steps = [{ level: 1, due_ms: due + 30 * MIN, to: "team_lead", reassign: false }];
    const summary = { name, email, company, lifecycle, score: 10 * fired.length };
    const accepted = lived.accepted != null && lived.accepted <= NOW ? lived.accepted : null;
    const clock = { lead_id: id, policy: lifecycle, pool: "na_ae", started_at: createdAt, first_touch_due: due,
      steps: JSON.stringify(steps), summary: JSON.stringify(summary), level: 0, next_at: due + 30 * MIN, updated_at: createdAt,
      ...(hasAcceptClock ? { accept_due: acceptDue, accepted_at: accepted } : {}) };
    sql.push(`INSERT INTO sla_clocks (${Object.keys(clock).join(", ")}) VALUES (${Object.values(clock).map(q).join(", ")});`);
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
