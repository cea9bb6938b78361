// `handoff route` and the Worker agree: leads submitted to real workerd (Miniflare, local D1/KV)
// over a day and a half, at their own times, are routed again offline by `handoff route` from the
// same starting state (empty), each with its id and arrival time, and every lead's assignee,
// merge, SLA deadline, ladder and experiment arm must be the Worker's. The configuration is
// crates/cli/tests/data/route.toml: territories, an account, a 3:2:1 pool, owners with hours in
// New York and Berlin, a fallback, a working-hours SLA with a ladder, and an SLA experiment.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { EPOCH, HANDOFF, MINUTE, iso, ROOT, startWorker } from "./support/edge.mjs";

const CONFIG = join(ROOT, "crates/cli/tests/data/route.toml");
let worker;

before(async () => {
  worker = await startWorker({ config: CONFIG, bindings: { RATE_LIMIT_PER_MINUTE: "100000" } });
});
after(() => worker?.dispose());

/** `handoff route` over `lines`, its output lines parsed. */
function route(lines) {
  return new Promise((resolve, reject) => {
    const child = spawn(HANDOFF, ["route", "--form", "contact", "--config", CONFIG, "--now", iso(EPOCH)]);
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out.trim().split("\n").map((l) => JSON.parse(l))) : reject(new Error(`route exited ${code}: ${err}`))));
    child.stdin.end(lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  });
}

test("the Worker and handoff route place every lead of a recorded run alike", async () => {
  const countries = ["US", "DE", "FR", "GB", "JP", "FR"];
  const sizes = ["1000+", "1-50", "51-1000", "1000+"];
  const sent = [];
  for (let i = 0; i < 48; i++) {
    // Every ten minutes to every hour and a half: nights, a morning, a second working day.
    const at = EPOCH + i * 41 * MINUTE;
    // Every eighth lead is the person before it again, within the merge window.
    const who = i % 8 === 7 ? i - 1 : i;
    const answers = {
      email: i === 5 ? "buyer@acme.example" : `person${who}@co${who % 5}.example`,
      company_size: sizes[i % sizes.length],
      country: countries[i % countries.length],
      interest: i % 5 === 0 ? "Newsletter" : "A demo",
    };
    const context = i === 11 ? { honeypot: "https://spam.example" } : { fill_ms: 30_000 };
    const id = await worker.submit({ form: "contact", answers, context }, { now: at });
    sent.push({ id, at, answers, context });
  }
  const offline = await route(sent.map((s) => ({ id: s.id, at: iso(s.at), answers: s.answers, context: s.context })));
  assert.equal(offline.length, sent.length);

  const place = async (id) => {
    const lead = await worker.db.prepare("SELECT owner_kind, owner_id, merged_into, experiment, arm FROM leads WHERE id = ?").bind(id).first();
    const clock = await worker.db.prepare("SELECT policy, first_touch_due, steps FROM sla_clocks WHERE lead_id = ?").bind(id).first();
    return {
      assignee: lead.owner_id ? `${lead.owner_kind}:${lead.owner_id}` : null,
      merged_into: lead.merged_into,
      arm: lead.experiment ? `${lead.experiment}/${lead.arm}` : null,
      sla: clock && { policy: clock.policy, due: clock.first_touch_due, ladder: JSON.parse(clock.steps).map((s) => [s.level, s.due_ms, s.to]) },
    };
  };
  // A lead's clock offline: its own line's, or the last clock a repeat folded into it started
  // (a repeat that raises its lead's stage starts the lead's clock again, as the Worker does).
  const clocks = new Map();
  for (const o of offline) {
    const holder = o.merged_into ?? o.id;
    if (o.sla || !o.merged_into) clocks.set(holder, o.sla);
  }
  const kinds = new Set();
  for (const [i, s] of sent.entries()) {
    const online = await place(s.id);
    const o = offline[i];
    const sla = clocks.get(s.id);
    const mine = {
      assignee: o.assignee && `${o.assignee.kind}:${o.assignee.id}`,
      merged_into: o.merged_into,
      arm: o.arm && `${o.arm.experiment}/${o.arm.arm}`,
      sla: sla ? { policy: sla.policy, due: Date.parse(sla.first_touch_due), ladder: sla.ladder.map((x) => [x.level, Date.parse(x.at), x.to]) } : null,
    };
    assert.deepEqual(mine, online, `lead ${i} (${JSON.stringify(s.answers)} at ${iso(s.at)})`);
    kinds.add(online.merged_into ? "merged" : online.assignee ? online.assignee.split(":")[0] : "unrouted");
    if (online.arm) kinds.add("arm");
    if (online.sla) kinds.add("sla");
  }
  // The run covered every kind of place.
  assert.deepEqual([...kinds].sort(), ["arm", "merged", "owner", "queue", "sla", "unrouted"]);
});
