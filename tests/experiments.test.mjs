// Experiments on real workerd (Miniflare) with real local D1: each lead's arm comes from a stable
// hash of its id, is stored on the lead and in its `routed` event, and changes what the arm says:
// the SLA deadline (5 against 15 minutes) or the pool (first against second); reports compare the
// arms with their sample sizes. The bundle is tests/fixtures/experiments.toml.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { EPOCH, HOUR, MINUTE, ROOT, startWorker } from "./support/edge.mjs";

let worker, mf, db;
// Tuesday 09:00 UTC.
const T0 = EPOCH - HOUR;

before(async () => {
  worker = await startWorker({ config: join(ROOT, "tests/fixtures/experiments.toml"), bindings: { RATE_LIMIT_PER_MINUTE: "100000" } });
  ({ mf, db } = worker);
});
after(() => worker?.dispose());

let n = 0;
async function submit(country) {
  const r = await mf.dispatchFetch("http://localhost/v1/leads", {
    method: "POST",
    headers: { "content-type": "application/json", "x-test-now-ms": String(T0) },
    body: JSON.stringify({ form: "contact", answers: { email: `lead-${++n}@example.com`, country }, context: { fill_ms: 60_000 } }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  return (await r.json()).id;
}
// The arm an independent computation gives: SHA-256 of "experiment:lead id", first 8 bytes, mod 2.
const expected = (experiment, id, arms) =>
  arms[Number(createHash("sha256").update(`${experiment}:${id}`).digest().readBigUInt64BE(0) % 2n)];
const row = (id) => db.prepare("SELECT experiment, arm, owner_id FROM leads WHERE id = ?").bind(id).first();

test("an SLA experiment: each lead's arm is stored, and its deadline is the arm's", async () => {
  const ids = [];
  for (let i = 0; i < 40; i++) ids.push(await submit("US"));
  const seen = { fast: 0, relaxed: 0 };
  for (const id of ids) {
    const lead = await row(id);
    assert.equal(lead.experiment, "first-touch");
    assert.equal(lead.arm, expected("first-touch", id, ["fast", "relaxed"]), id);
    seen[lead.arm]++;
    const clock = await db.prepare("SELECT first_touch_due FROM sla_clocks WHERE lead_id = ?").bind(id).first();
    assert.equal(clock.first_touch_due, T0 + (lead.arm === "fast" ? 5 : 15) * MINUTE);
    const routed = JSON.parse((await db.prepare("SELECT detail FROM lead_events WHERE lead_id = ? AND kind = 'routed'").bind(id).first()).detail);
    assert.deepEqual(routed.experiment, { experiment: "first-touch", arm: lead.arm });
  }
  // Each id's arm is checked against the hash above; this only shows both arms in use. Ids are
  // random, so the split is too: 31/9 was seen once with a bound of 10. Fewer than 4 of 40 on a
  // fair split happens about once in 10^8 runs.
  assert.ok(seen.fast >= 4 && seen.relaxed >= 4, JSON.stringify(seen));
  const shown = await (await worker.fetch(`/v1/leads/${ids[0]}`, { admin: true, now: T0 })).json();
  assert.deepEqual([shown.experiment, shown.arm], ["first-touch", (await row(ids[0])).arm], "the admin view shows the arm");
});

test("a routing experiment: the arm's pool takes the lead; a lead in no experiment has no arm", async () => {
  const owners = { control: new Set(), second: new Set() };
  for (let i = 0; i < 20; i++) {
    const id = await submit("FR");
    const lead = await row(id);
    assert.equal(lead.arm, expected("second-pool", id, ["control", "second"]));
    owners[lead.arm].add(lead.owner_id);
  }
  assert.deepEqual([...owners.control], ["ana"]);
  assert.deepEqual([...owners.second], ["ben"]);
  const german = await row(await submit("DE"));
  assert.deepEqual([german.experiment, german.arm], [null, null]);
});

test("reports compare the arms, with sample sizes", async () => {
  const r = await worker.fetch(`/v1/metrics?from=${T0 - MINUTE}&to=${T0 + MINUTE}&group_by=arm`, { admin: true, now: T0 + HOUR });
  const m = await r.json();
  const keys = m.groups.map((g) => g.key).sort();
  assert.deepEqual(keys, ["(none)", "first-touch/fast", "first-touch/relaxed", "second-pool/control", "second-pool/second"]);
  assert.equal(m.total.leads, 61);
  assert.equal(m.significance.baseline, "first-touch/fast");
  assert.ok(m.significance.comparisons.every((c) => c.baseline_n > 0 && c.arm_n > 0));
});
