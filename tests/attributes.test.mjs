// Normalized attributes at intake (issue 17), on workerd with local D1/KV: conditions compare
// country and region codes, whatever the visitor typed, and the lead stores the codes. The bundle
// is tests/fixtures/places.toml; every time comes from the test clock.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { EPOCH, MINUTE, ROOT, startWorker } from "./support/edge.mjs";

let worker;
before(async () => {
  worker = await startWorker({ config: join(ROOT, "tests/fixtures/places.toml"), bindings: { RATE_LIMIT_PER_MINUTE: "100000" } });
});
after(() => worker?.dispose());

test("a German lead is routed by its country code, whether it says Deutschland, DE or Germany", async () => {
  const cases = [
    ["Deutschland", undefined, "dieter", "DE", null],
    ["DE", undefined, "dieter", "DE", null],
    ["Germany", undefined, "dieter", "DE", null],
    ["Österreich", undefined, "dieter", "AT", null],
    ["USA", "California", "cali", "US", "CA"],
    ["United States", "New York", "triage", "US", "NY"],
  ];
  let n = 0;
  for (const [country, state, owner, countryCode, regionCode] of cases) {
    const answers = { email: `lead${n}@acme.com`, country, ...(state ? { state } : {}) };
    const id = await worker.submit({ form: "f", answers, context: { fill_ms: 60_000 } }, { now: EPOCH + n++ * MINUTE });
    const lead = await worker.db.prepare("SELECT owner_id, answers, evaluation FROM leads WHERE id = ?").bind(id).first();
    assert.equal(lead.owner_id, owner, country);
    // The answer is kept as typed; the codes are stored beside it.
    assert.equal(JSON.parse(lead.answers).country, country);
    const evaluation = JSON.parse(lead.evaluation);
    assert.deepEqual([evaluation.country_code, evaluation.region_code], [countryCode, regionCode], country);
  }
});
