// Retention and the archive on real workerd (Miniflare) with real local D1 and R2: each cron tick
// deletes what is past its table's retention (idempotency keys, delivered notifications, rotation
// history; cron ticks), exactly that and at most a bounded batch per table, and leaves pending
// work and dead letters; closed leads past ARCHIVE_AFTER_DAYS leave D1 a month at a time as JSON
// lines in the bucket (the replayable export's lines, the metrics' records, every event), and
// only they; the reports keep them; and `handoff metrics` and `handoff simulate` read the archive
// back, beside a live export, to the same numbers. Times are the test clock's (EPOCH-based):
// submissions carry it, ticks are scheduled at it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { DAY, EPOCH, HANDOFF, iso, MINUTE, ROOT, startWorker } from "./support/edge.mjs";
import { DEMO_CONSENT } from "./support/consent.mjs";

const run = promisify(execFile);

let worker, db, tick;
const T = EPOCH;

before(async () => {
  worker = await startWorker({
    bindings: {
      RATE_LIMIT_PER_MINUTE: "100000",
      RETAIN_IDEMPOTENCY_DAYS: "30",
      RETAIN_DELIVERED_DAYS: "10",
      RETAIN_ROTATION_LOG_DAYS: "20",
      ARCHIVE_AFTER_DAYS: "90",
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
  attribution: { consent: DEMO_CONSENT },
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

const submitClosed = (who, at) => worker.submit({
  form: "demo",
  answers: {
    email: `${who}@archive.example`, company: "Archive Co", company_size: "201-1000", role: "Data",
    country: "United States", interest: "A demo", consent: true,
  },
  context: { fill_ms: 40_000 },
  attribution: { consent: DEMO_CONSENT },
}, { now: at, headers: { "idempotency-key": `archive-${who}` } });
const won = async (id, at) => {
  const r = await worker.json(`/v1/leads/${id}/events`, {
    method: "POST", admin: true, now: at, headers: { "content-type": "application/json" },
    body: JSON.stringify({ type: "outcome", outcome: "won", amount: 1200, currency: "EUR", actor: "maya" }),
  });
  assert.equal(r.status, 201, r.text);
};
const ids = async (table, column = "lead_id") =>
  (await db.prepare(`SELECT DISTINCT ${column} AS id FROM ${table} ORDER BY 1`).all()).results.map((r) => r.id);

test("closed leads past the horizon move to R2 a month at a time, and read back to the same numbers", async () => {
  // Two months of old leads (one of them still open), and a recent closed one.
  const jan = [await submitClosed("a1", T - 200 * DAY), await submitClosed("a2", T - 200 * DAY + MINUTE)];
  const open = await submitClosed("open", T - 200 * DAY + 2 * MINUTE);
  const feb = await submitClosed("b1", T - 150 * DAY);
  const recent = await submitClosed("c1", T - 10 * DAY);
  for (const id of [...jan, feb]) await won(id, T - 140 * DAY);
  await won(recent, T - 9 * DAY);
  const everyone = [...jan, open, feb, recent].sort();
  const range = `from=${T - 399 * DAY}&to=${T + DAY}`;
  const metrics = async () => (await worker.json(`/v1/metrics?${range}&group_by=source`, { admin: true, now: T })).json;
  const before = await metrics();
  assert.ok(before.total.leads >= everyone.length);
  // Every lead of the range, this test's and the others': what a replay must find.
  const inRange = (await db.prepare("SELECT COUNT(*) AS n FROM leads WHERE created_at >= ?1 AND created_at < ?2")
    .bind(T - 399 * DAY, T + DAY).first()).n;
  const logged = (await db.prepare("SELECT COUNT(*) AS n FROM lead_events WHERE lead_id IN (?1, ?2, ?3)").bind(...jan, feb).first()).n;

  // Each tick folds the reports, then archives one month's chunk.
  for (let minute = 0; minute < 4; minute++) await worker.tick(T + minute * MINUTE);
  const archived = [...jan, feb];
  const left = await ids("leads", "id");
  assert.deepEqual(everyone.filter((id) => left.includes(id)), [open, recent].sort(), "only the old closed leads left D1");
  for (const table of ["lead_events", "sla_clocks", "idempotency_keys"]) {
    const rows = await ids(table);
    assert.ok(rows.every((id) => !archived.includes(id)), `${table}: nothing of the archived leads`);
  }
  // One chunk per month the archived leads were created in (the two January leads are a minute
  // apart: a month may begin between them).
  const month = (at) => iso(at).slice(0, 7);
  const months = [...new Set([T - 200 * DAY, T - 200 * DAY + MINUTE, T - 150 * DAY].map(month))];
  const chunks = (await db.prepare("SELECT key, done_at IS NOT NULL AS done FROM archive_chunks ORDER BY key").all()).results;
  assert.deepEqual(chunks.map((c) => c.key.slice(0, 7)), months, "one chunk per month");
  assert.ok(chunks.every((c) => c.done));

  // The bucket: three files per chunk, under the month the leads were created in.
  const bucket = await worker.mf.getR2Bucket("ARCHIVE");
  const keys = (await bucket.list()).objects.map((o) => o.key).sort();
  assert.deepEqual(keys.map((k) => k.split("/").slice(0, 2).join("/")),
    ["events", "leads", "log"].flatMap((f) => months.map((m) => `${f}/${m}`)));
  const read = async (key) => (await (await bucket.get(key)).text()).trim().split("\n").map((l) => JSON.parse(l));
  const files = {};
  for (const key of keys) files[key] = await read(key);
  const of = (folder) => keys.filter((k) => k.startsWith(`${folder}/`)).flatMap((k) => files[k]);
  assert.deepEqual(of("leads").map((l) => l.id), [...jan, feb], "the export's lines, oldest first");
  assert.ok(of("leads").every((l) => l.outcome.status === "won"));
  assert.deepEqual(of("events").map((r) => r.lead_id), [...jan, feb]);
  assert.equal(of("log").length, logged, "every event of every archived lead");
  assert.ok(of("log").some((e) => e.kind === "routed" && typeof e.detail === "object"));

  // The reports keep the archived leads.
  assert.deepEqual(await metrics(), before);

  // Read back offline: the archive as downloaded, then a live export of what D1 still holds.
  const dir = await mkdtemp(join(tmpdir(), "handoff-archive-"));
  try {
    for (const key of keys) {
      await mkdir(dirname(join(dir, key)), { recursive: true });
      await writeFile(join(dir, key), files[key].map((l) => JSON.stringify(l)).join("\n") + "\n");
    }
    const live = async (path) => (await worker.fetch(`${path}?${range}`, { admin: true, now: T })).text();
    await writeFile(join(dir, "live-events.jsonl"), await live("/v1/export/events.jsonl"));
    await writeFile(join(dir, "live-leads.jsonl"), await live("/v1/export/leads.jsonl"));
    const { stdout } = await run(HANDOFF, ["metrics", "--events", join(dir, "events"), "--events", join(dir, "live-events.jsonl"),
      "--from", String(T - 399 * DAY), "--to", String(T + DAY), "--group-by", "source", "--format", "json"], { cwd: ROOT });
    assert.deepEqual(JSON.parse(stdout), before, "the archive and the live export give the API's numbers");
    const simulated = await run(HANDOFF, ["simulate", "--config", join(ROOT, "config/demo.toml"), "--leads", join(dir, "leads"),
      "--leads", join(dir, "live-leads.jsonl"), "--now", iso(T)], { cwd: ROOT, maxBuffer: 16 << 20 });
    const lines = simulated.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.at(-1).summary.leads, inRange, "every lead replays, archived or not");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
