// Retention on real workerd (Miniflare) with real local D1: each cron tick deletes what is past
// its table's retention (idempotency keys, delivered notifications, rotation history; cron ticks),
// exactly that and at most a bounded batch per table, and leaves pending work and dead letters.
// Times are the test clock's (EPOCH-based): submissions carry it, ticks are scheduled at it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DAY, EPOCH, MINUTE, startWorker } from "./support/edge.mjs";

let worker, db, tick;
const T = EPOCH;

before(async () => {
  worker = await startWorker({
    bindings: {
      RATE_LIMIT_PER_MINUTE: "100000",
      RETAIN_IDEMPOTENCY_DAYS: "30",
      RETAIN_DELIVERED_DAYS: "10",
      RETAIN_ROTATION_LOG_DAYS: "20",
    },
  });
  ({ db, tick } = worker);
});
after(() => worker?.dispose());

// A sales-ready lead from the US.
const lead = (who) => ({
  form: "demo",
  answers: {
    email: `${who}@retention.example`, company: "Retention Co", company_size: "201-1000", role: "Data",
    country: "United States", interest: "A demo", consent: true,
  },
  context: { fill_ms: 40_000 },
});
const submitAt = (who, at, key) => worker.json("/v1/leads", {
  method: "POST",
  now: at,
  headers: { "content-type": "application/json", "idempotency-key": key },
  body: JSON.stringify(lead(who)),
});
const count = async (sql, ...binds) => (await db.prepare(sql).bind(...binds).first()).n;
// An outbox row made at `at`; a pending one is due again in a month (no tick here sends it).
const message = (leadId, state, at) => db.prepare(
  "INSERT INTO outbox (id, lead_id, channel, kind, payload, state, attempts, next_at, created_at, delivered_at) " +
  "VALUES (?1, ?2, 'sales', 'webhook', '{}', ?3, 1, ?4, ?5, ?6)",
).bind(crypto.randomUUID(), leadId, state, state === "pending" ? T + 30 * DAY : at, at, state === "delivered" ? at : null).run();

test("a tick deletes exactly what is past each table's retention, and leaves work and dead letters", async () => {
  const old = await submitAt("old", T - 40 * DAY, "key-old");
  const recent = await submitAt("recent", T - 5 * DAY, "key-recent");
  assert.deepEqual([old.status, recent.status], [201, 201]);
  const [oldId, recentId] = [old.json.id, recent.json.id];
  // Rotation turns of a pool, as the intake logs them (the demo routes these leads by the hour
  // and the holidays of the test clock's day, not always by a pool).
  for (const [seq, id, at] of [[1, oldId, T - 40 * DAY], [2, recentId, T - 5 * DAY]]) {
    await db.prepare("INSERT INTO rotation_log (pool, seq, owner, lead_id, at) VALUES ('history', ?1, 'maya', ?2, ?3)")
      .bind(seq, id, at).run();
  }
  // Notifications as the outbox leaves them: delivered long ago and lately; a dead letter and a
  // pending retry from long ago, which are work, not history.
  await message(oldId, "delivered", T - 40 * DAY);
  await message(recentId, "delivered", T - 5 * DAY);
  await message(oldId, "dead", T - 40 * DAY);
  await message(oldId, "pending", T - 40 * DAY);
  await tick(T - 40 * DAY);
  await tick(T - 5 * DAY);
  await tick(T);

  const keys = (await db.prepare("SELECT key FROM idempotency_keys WHERE key LIKE 'key-%' ORDER BY key").all()).results.map((r) => r.key);
  assert.deepEqual(keys, ["key-recent"], "keys older than 30 days are gone");
  const outbox = (await db.prepare("SELECT lead_id = ?1 AS old, state FROM outbox ORDER BY old, state").bind(oldId).all()).results;
  assert.deepEqual(outbox.map((r) => [r.old, r.state]), [[0, "delivered"], [1, "dead"], [1, "pending"]],
    "delivered messages older than 10 days are gone; the dead letter and the pending one stay");
  assert.deepEqual((await db.prepare("SELECT lead_id FROM rotation_log WHERE pool = 'history'").all()).results,
    [{ lead_id: recentId }], "turns older than 20 days are gone");
  const ticks = (await db.prepare("SELECT scheduled_at FROM cron_ticks ORDER BY scheduled_at").all()).results.map((r) => r.scheduled_at);
  assert.deepEqual(ticks, [T], "ticks older than a day are gone");
  // Leads stay: they leave D1 only through the archive.
  assert.equal(await count("SELECT COUNT(*) AS n FROM leads WHERE id IN (?1, ?2)", oldId, recentId), 2);

  // A retry within the retention still gets its first answer; one past it is a new submission.
  const again = await submitAt("recent", T, "key-recent");
  assert.equal(again.json.id, recentId);
});

test("a backlog is pruned a bounded batch per tick, oldest first, never all at once", async () => {
  const lead = (await db.prepare("SELECT id FROM leads LIMIT 1").first()).id;
  await db.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
    INSERT INTO idempotency_keys (key, body_sha256, lead_id, status, response, created_at)
    SELECT 'backlog-' || i, 'x', ?1, 201, '{}', ?2 FROM n`).bind(lead, T - 60 * DAY).run();
  const left = () => count("SELECT COUNT(*) AS n FROM idempotency_keys WHERE key LIKE 'backlog-%'");
  const seen = [];
  for (let minute = 1; minute <= 3; minute++) {
    await tick(T + minute * MINUTE);
    seen.push(await left());
  }
  assert.deepEqual(seen, [1500, 500, 0]);
});
