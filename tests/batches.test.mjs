// Bounded batches and a fair outbox (issue 20) on real workerd (Miniflare) with real local D1/KV
// and real webhook receivers on loopback: a tick of 1,000 due clocks completes over ticks that
// each stay within the plan's documented D1 limits (plan.rs: 50 queries per invocation on the
// free plan, 1,000 on the paid; the SLA run takes two fifths), in batches of at most 40
// statements; an unreadable clock is flagged with an event, counted by /v1/health and skipped
// while the others escalate; a receiver down for an hour (answering 500, or refusing
// connections) never delays another channel's escalation. Every instant comes from EPOCH.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DAY, EPOCH, HOUR, MINUTE, freePort, ROOT, startReceiver, startWorker } from "./support/edge.mjs";

// plan.rs: queries per invocation, the SLA run's share, the most statements of one batch.
const FREE = 50;
const PAID = 1000;
const SLA_SHARE = (queries) => Math.floor((queries * 2) / 5);
const BATCH_STATEMENTS = 40;

const secret = () => `whsec_${randomBytes(24).toString("base64")}`;
let live, down, paid, free;

const channels = (refusedPort) => `
[[notify.channels]]
id = "live"
kind = "webhook"
url = "${live.url("/live")}"
secret = "LIVE_SECRET"

[[notify.channels]]
id = "down"
kind = "webhook"
url = "${down.url("/down")}"
secret = "DOWN_SECRET"

[[notify.channels]]
id = "refused"
kind = "webhook"
url = "http://127.0.0.1:${refusedPort}/refused"
secret = "REFUSED_SECRET"
`;

before(async () => {
  live = await startReceiver(() => 200);
  down = await startReceiver(() => 500);
  // Nothing listens on this port: every connection is refused.
  const refusedPort = await freePort();
  const common = {
    config: join(ROOT, "tests/fixtures/sla.toml"),
    extraToml: channels(refusedPort),
  };
  const bindings = {
    SLA_TICK_LIMIT: "1000",
    RATE_LIMIT_PER_MINUTE: "100000",
    LIVE_SECRET: secret(),
    DOWN_SECRET: secret(),
    REFUSED_SECRET: secret(),
  };
  paid = await startWorker({ ...common, bindings: { ...bindings, WORKER_PLAN: "paid" } });
  free = await startWorker({ ...common, bindings });
});
after(async () => {
  await paid?.dispose();
  await free?.dispose();
  await live?.close();
  await down?.close();
});

// `n` open leads owned by Ana, each on a clock whose first step (to the team lead) falls due at
// `due - i` ms for the i-th, oldest first, heard of by the `live` channel: as the intake stores
// them, written in two statements.
async function fill(db, prefix, n, due) {
  await db.prepare(
    `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
     INSERT INTO leads (id, form_id, email, answers, bundle_version, created_at, score, grade, lifecycle,
       evaluation, owner_kind, owner_id, status, updated_at)
     SELECT ?3 || i, 'contact', ?3 || i || '@example.com', '{}', 'test', ?2 - HOUR_MS, 80, 'A', 'sql', '{}',
       'owner', 'ana', 'new', ?2 FROM k`.replace("HOUR_MS", String(HOUR)),
  ).bind(n, due, prefix).run();
  const summary = JSON.stringify({ name: "Batch Lead", lifecycle: "sql", score: 80, channels: ["live"] });
  await db.prepare(
    `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
     INSERT INTO sla_clocks (lead_id, policy, pool, started_at, first_touch_due, steps, summary, level,
       next_at, updated_at)
     SELECT ?3 || i, 'us', 'na', ?2 - 20 * 60000, ?2 - 10 * 60000,
       json_array(json_object('level', 1, 'due_ms', CAST(?2 - i AS INTEGER), 'to', 'team_lead', 'reassign', json('false')),
                  json_object('level', 2, 'due_ms', CAST(?2 + 86400000 AS INTEGER), 'to', 'owner:max', 'reassign', json('false'))),
       ?4, 0, ?2 - i, ?2 FROM k`,
  ).bind(n, due, prefix, summary).run();
}

const reports = async (db, at) => {
  const row = await db.prepare("SELECT sla, outbox FROM cron_ticks WHERE scheduled_at = ?").bind(at).first();
  return { sla: row?.sla ? JSON.parse(row.sla) : null, outbox: row?.outbox ? JSON.parse(row.outbox) : null };
};
const stepsDone = async (db, prefix, level = 1) =>
  (await db.prepare("SELECT COUNT(*) AS n FROM sla_steps WHERE level = ?2 AND lead_id LIKE ?1 || '%'")
    .bind(prefix, level).first()).n;

// Ticks once a minute from `at` until nothing is left due, each tick held to `share` statements
// for SLA and `batch` per batch; answers the reports.
async function drain(worker, at, share, { most = 12 } = {}) {
  const all = [];
  for (let i = 0; i < most; i++) {
    const minute = at + i * MINUTE;
    await worker.tick(minute);
    const { sla, outbox } = await reports(worker.db, minute);
    assert.ok(sla, `tick ${i} reported`);
    all.push({ sla, outbox });
    assert.ok(sla.statements <= share, `tick ${i}: ${sla.statements} SLA statements, share ${share}`);
    assert.ok(sla.largest_batch <= BATCH_STATEMENTS, `tick ${i}: a batch of ${sla.largest_batch}`);
    if (!sla.more) return all;
  }
  assert.fail(`still more due after ${most} ticks`);
}

test("a 1,000-clock tick on the paid plan: within its limits, every step once, an unreadable clock flagged", async () => {
  const { db } = paid;
  const due = EPOCH + DAY;
  await fill(db, "k-", 1000, due);
  // Two clocks the cron cannot read, first in line: a ladder that is not JSON, and one whose
  // steps do not deserialize.
  await fill(db, "bad-", 2, due - HOUR);
  await db.prepare("UPDATE sla_clocks SET steps = '[{\"level\": 1, oops' WHERE lead_id = 'bad-1'").run();
  await db.prepare("UPDATE sla_clocks SET steps = '[{\"level\": \"first\"}]' WHERE lead_id = 'bad-2'").run();
  const health = async () => (await paid.json("/v1/health")).json.sla_unreadable_clocks;
  assert.equal(await health(), 0);

  const ticks = await drain(paid, due, SLA_SHARE(PAID));
  for (const { sla, outbox } of ticks) {
    assert.ok(sla.statements + (outbox?.statements ?? 0) <= PAID, "the invocation within the paid plan's queries");
  }
  assert.equal(await stepsDone(db, "k-"), 1000, "every clock's first step, once");
  assert.equal(ticks.reduce((n, t) => n + t.sla.escalated, 0), 1000);
  assert.equal(ticks.reduce((n, t) => n + t.sla.unreadable, 0), 2);
  const escalated = (await db.prepare(
    "SELECT COUNT(*) AS n FROM lead_events WHERE kind = 'escalated' AND lead_id LIKE 'k-%'").first()).n;
  assert.equal(escalated, 1000);
  const queued = (await db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'live' AND lead_id LIKE 'k-%'").first()).n;
  assert.equal(queued, 1000, "one message per step, on the channel that heard of the lead");
  const levels = (await db.prepare("SELECT level, next_at FROM sla_clocks WHERE lead_id LIKE 'k-%' GROUP BY level, next_at").all()).results;
  assert.deepEqual(levels, [{ level: 1, next_at: due + DAY }]);

  // The unreadable clocks: flagged, out of the due line, each with its event and code.
  for (const [id, code] of [["bad-1", "sla.steps_unreadable"], ["bad-2", "sla.steps_unreadable"]]) {
    const clock = await db.prepare("SELECT stopped, next_at FROM sla_clocks WHERE lead_id = ?").bind(id).first();
    assert.deepEqual(clock, { stopped: "unreadable", next_at: null });
    assert.deepEqual((await paid.events(id, "sla_unreadable")).map((e) => e.detail.code), [code]);
  }
  assert.equal(await health(), 2);

  // A repeated tick of the same minute changes nothing.
  await paid.tick(due);
  assert.equal(await stepsDone(db, "k-"), 1000);
  assert.equal((await db.prepare("SELECT COUNT(*) AS n FROM lead_events WHERE kind = 'escalated' AND lead_id LIKE 'k-%'").first()).n, 1000);
});

test("on the free plan the same work spreads over ticks, each within 50 queries, oldest due first", async () => {
  const { db } = free;
  const due = EPOCH + 2 * DAY;
  await fill(db, "f-", 1000, due);
  await free.tick(due);
  const first = await reports(db, due);
  assert.ok(first.sla.more, "more than one tick's share");
  // The oldest due (the highest numbers: due - i) went first.
  const taken = (await db.prepare("SELECT lead_id FROM sla_steps WHERE lead_id LIKE 'f-%'").all()).results
    .map((r) => Number(r.lead_id.slice(2)));
  assert.equal(taken.length, first.sla.escalated);
  assert.equal(Math.min(...taken), 1000 - taken.length + 1);
  const ticks = [first, ...(await drain(free, due + MINUTE, SLA_SHARE(FREE), { most: 40 }))];
  for (const { sla, outbox } of ticks) {
    assert.ok(sla.statements <= SLA_SHARE(FREE));
    assert.ok(sla.statements + (outbox?.statements ?? 0) <= FREE, "the invocation within the free plan's queries");
  }
  assert.equal(await stepsDone(db, "f-"), 1000);
});

test("a receiver down for an hour never delays another channel's escalation", async () => {
  const { db } = free;
  const t0 = EPOCH + 3 * DAY;
  // The earlier test's thousand clocks and alerts are not this test's subject.
  await db.prepare("UPDATE outbox SET state = 'delivered' WHERE state = 'pending'").run();
  await db.prepare("UPDATE sla_clocks SET next_at = NULL WHERE lead_id LIKE 'f-%'").run();
  const id = await free.submit({ form: "contact", answers: { email: "urgent@example.com", country: "US" }, context: { fill_ms: 60_000 } }, { now: t0 });
  // An hour of failures on the two dead channels: 60 messages each, failed three times, every
  // retry due by the time the lead escalates.
  await db.prepare(
    `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 60)
     INSERT INTO outbox (id, lead_id, channel, kind, payload, state, attempts, next_at, created_at, last_error)
     SELECT 'backlog-' || c.value || '-' || i, ?1, c.value, 'webhook', '{"type":"lead.created"}', 'pending', 3,
       ?2 - 3600000 + i * 60000, ?2 - 3600000 + i * 60000, 'http_status 500'
     FROM k, json_each('["down", "refused"]') AS c`,
  ).bind(id, t0).run();
  const escalatedAt = t0 + 15 * MINUTE;
  const downBefore = down.received.length;
  await free.tick(escalatedAt);
  const heard = live.received.filter((r) => r.path === "/live").map((r) => JSON.parse(r.body))
    .filter((m) => m.type === "lead.sla_escalated" && m.data.lead_id === id);
  assert.equal(heard.length, 1, "the live channel hears of the escalation in the tick it falls due");
  assert.ok(down.received.length - downBefore <= 1, "a channel in backoff takes one slot at most");
  const { outbox } = await reports(db, escalatedAt);
  assert.ok(outbox.sent <= 10, "the free plan's share of subrequests");
  // The dead channels' messages are still pending, retried by the core's policy, none lost.
  const pending = (await db.prepare(
    "SELECT COUNT(*) AS n FROM outbox WHERE lead_id = ?1 AND channel IN ('down', 'refused') AND state = 'pending'").bind(id).first()).n;
  assert.ok(pending >= 120);
});
