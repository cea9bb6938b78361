// The archive on real workerd (Miniflare) with real local D1 and R2: closed leads past
// ARCHIVE_AFTER_DAYS leave D1 a month at a time as JSON lines in the bucket (the replayable
// export's lines, the metrics' records, every event), and only they; the reports keep them; and
// `handoff metrics` and `handoff simulate` read the archive back, beside a live export, to the
// same numbers. Times are the test clock's (EPOCH-based).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { DAY, EPOCH, HANDOFF, iso, MINUTE, ROOT, startWorker } from "./support/edge.mjs";

const run = promisify(execFile);
const T = EPOCH;
let worker, db;

before(async () => {
  worker = await startWorker({ bindings: { ARCHIVE_AFTER_DAYS: "90", RATE_LIMIT_PER_MINUTE: "100000" } });
  ({ db } = worker);
});
after(() => worker?.dispose());

const submit = (who, at) => worker.submit({
  form: "demo",
  answers: {
    email: `${who}@archive.example`, company: "Archive Co", company_size: "201-1000", role: "Data",
    country: "United States", interest: "A demo", consent: true,
  },
  context: { fill_ms: 40_000 },
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
  const jan = [await submit("a1", T - 200 * DAY), await submit("a2", T - 200 * DAY + MINUTE)];
  const open = await submit("open", T - 200 * DAY + 2 * MINUTE);
  const feb = await submit("b1", T - 150 * DAY);
  const recent = await submit("c1", T - 10 * DAY);
  for (const id of [...jan, feb]) await won(id, T - 140 * DAY);
  await won(recent, T - 9 * DAY);
  const everyone = [...jan, open, feb, recent].sort();
  const range = `from=${T - 399 * DAY}&to=${T + DAY}`;
  const metrics = async () => (await worker.json(`/v1/metrics?${range}&group_by=source`, { admin: true, now: T })).json;
  const before = await metrics();
  assert.equal(before.groups[0].leads, 5);
  const logged = (await db.prepare("SELECT COUNT(*) AS n FROM lead_events WHERE lead_id IN (?1, ?2, ?3)").bind(...jan, feb).first()).n;

  // Each tick folds the reports, then archives one month's chunk.
  for (let minute = 0; minute < 4; minute++) await worker.tick(T + minute * MINUTE);
  assert.deepEqual(await ids("leads", "id"), [open, recent].sort(), "only the old closed leads left D1");
  for (const table of ["lead_events", "sla_clocks", "idempotency_keys"]) {
    const left = await ids(table);
    assert.ok(left.every((id) => id === open || id === recent), `${table}: nothing of the archived leads`);
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
    assert.equal(lines.at(-1).summary.leads, everyone.length, "every lead replays, archived or not");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
