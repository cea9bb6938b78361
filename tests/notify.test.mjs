// Notifications on real workerd (Miniflare) with real local D1/KV and a real HTTP receiver on
// loopback: Slack and Standard Webhooks deliveries from the outbox, retries with backoff under the
// same webhook-id, dead letters after the horizon, a missing secret, and the one-click claim link.
// The cron works on its scheduled minute, so the tests drive time through `scheduledTime`; every
// request carries the test's clock (EPOCH-based), so a link made "a week ago" is judged by it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { EPOCH, HANDOFF, HOUR, iso, MINUTE, randomToken, startReceiver, startWorker } from "./support/edge.mjs";
import { consented } from "./support/consent.mjs";

let worker, mf, db, receiver, tick, events;
const LINK_SECRET = randomToken();
const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString("base64")}`;
// What the receiver got, and what it answers: per webhook-id, a list of statuses to answer in
// turn (the last one repeats), or ["hang"] for no answer at all; 200 for anything else.
// The base time of every test here: leads, messages and clicks happen at or after it.
const T = EPOCH;
let received;
const plan = new Map();

before(async () => {
  receiver = await startReceiver(({ headers }) => {
    const statuses = plan.get(headers["webhook-id"]) ?? [200];
    if (statuses[0] === "hang") return "hang"; // never answers: the Worker's timeout must end it
    return statuses.length > 1 ? statuses.shift() : statuses[0];
  });
  received = receiver.received;
  // The demo configuration with channels: Slack (URL in a secret), a signed webhook, and a Slack
  // channel whose secret was never set. A one-hour horizon keeps the dead-letter walk short.
  worker = await startWorker({
    extraToml: `
[notify]
dead_after_hours = 1

[[notify.channels]]
id = "sales"
kind = "slack"
url_secret = "SLACK_WEBHOOK_TEST"

[[notify.channels]]
id = "crm"
kind = "webhook"
url = "${receiver.url("/hook")}"
secret = "WEBHOOK_SECRET_TEST"

[[notify.channels]]
id = "ops"
kind = "slack"
url_secret = "SLACK_NOT_SET"
`,
    bindings: {
      SLACK_WEBHOOK_TEST: receiver.url("/slack"),
      WEBHOOK_SECRET_TEST: WEBHOOK_SECRET,
      LINK_SECRET,
      PUBLIC_URL: "http://localhost:8787",
    },
  });
  ({ mf, db, tick, events } = worker);
});
after(async () => {
  await worker?.dispose();
  await receiver?.close();
});

const claimToken = (lead, owner, exp, secret = LINK_SECRET) =>
  createHmac("sha256", secret)
    .update(`handoff-claim-v1:${lead.length}:${lead}:${owner.length}:${owner}:${exp}`)
    .digest("base64url");
const claimUrl = (lead, owner, exp, sig = claimToken(lead, owner, exp)) =>
  `http://localhost:8787/v1/leads/${lead}/claim?owner=${owner}&exp=${exp}&sig=${sig}`;

/** A routed lead owned by `owner`, as the intake stores it. */
const addLead = async (owner = "ana") => {
  const id = crypto.randomUUID();
  await db.prepare("INSERT INTO leads (id, form_id, answers, bundle_version, created_at, owner_kind, owner_id) " +
    "VALUES (?1, 'demo', '{}', 'sha256:test', ?2, 'owner', ?3)").bind(id, T, owner).run();
  return id;
};
/** An outbox row as `outbox::enqueue` writes it: due at once, payload built now. */
const addMessage = async (lead, channel, kind, payload, at) => {
  const id = crypto.randomUUID();
  await db.prepare("INSERT INTO outbox (id, lead_id, channel, kind, payload, state, attempts, next_at, created_at) " +
    "VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6)").bind(id, lead, channel, kind, JSON.stringify(payload), at).run();
  return id;
};
const row = (id) => db.prepare("SELECT * FROM outbox WHERE id = ?1").bind(id).first();
const hits = (id) => received.filter((r) => r.headers["webhook-id"] === id);

// The payloads as `outbox::enqueue` stores them, built by the same handoff-core functions
// (`handoff notify preview`), for a lead summary with text a visitor could have typed.
const summary = (lead, claim) => ({
  lead_id: lead, name: "Maria <@U1> López", email: "maria@acme.example", company: "Acme & Sons <!channel>",
  source: "newsletter / spring", asked: [{ label: "Interest", value: "A demo" }], score: 80,
  breakdown: [{ label: "Company of 201–1000 people", points: 50 }, { label: "Asked for a demo", points: 30 }],
  lifecycle: "sql", owner: { id: "ana", name: "Ana Silva", kind: "person" }, why: "Acme is Ana's account.",
  claim_url: claim,
});
const preview = (lead, claim = "") =>
  JSON.parse(execFileSync(HANDOFF, ["notify", "preview", "--now", iso(T)],
    { input: JSON.stringify(summary(lead, claim)) }).toString());
const slackPayload = (lead, claim) => preview(lead, claim).slack;
const webhookPayload = (lead) => preview(lead).webhook;

/** Verifies a Standard Webhooks delivery as a receiver would, with node:crypto only. */
const verifyWebhook = ({ headers, body }) => {
  const key = Buffer.from(WEBHOOK_SECRET.slice("whsec_".length), "base64");
  const signed = `${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`;
  const expected = createHmac("sha256", key).update(signed).digest("base64");
  return headers["webhook-signature"].split(" ").some((s) => s === `v1,${expected}`);
};


describe("delivery", () => {
  let lead, slackId, hookId, claim;
  test("a Slack message and a signed webhook are delivered on the next tick and recorded", async () => {
    lead = await addLead();
    claim = claimUrl(lead, "ana", T + 7 * 24 * HOUR);
    slackId = await addMessage(lead, "sales", "slack", slackPayload(lead, claim), T);
    hookId = await addMessage(lead, "crm", "webhook", webhookPayload(lead), T);
    plan.set(hookId, [200]);
    const before = received.length;
    const sentAfter = Math.floor(Date.now() / 1000);
    await tick(T);
    const got = received.slice(before);
    // Slack: the stored Block Kit JSON, posted to the URL from the secret.
    const slack = got.filter((r) => r.path === "/slack");
    assert.equal(slack.length, 1);
    assert.equal(slack[0].headers["content-type"], "application/json");
    const message = JSON.parse(slack[0].body);
    assert.deepEqual(message.blocks.map((b) => b.type), ["header", "section", "section", "context", "context", "actions"]);
    // What the visitor typed reaches Slack inert: no mention, no channel ping, no link.
    assert.equal(message.blocks[1].fields[1].text, "*Company*\nAcme &amp; Sons &lt;!channel&gt;");
    assert.doesNotMatch(JSON.stringify(message.blocks.slice(1)), /<@U1>|<!channel>/);
    assert.equal(message.blocks[0].text.type, "plain_text");
    const button = message.blocks.at(-1).elements[0];
    assert.equal(button.text.text, "I've got it");
    assert.equal(button.url, claim);
    assert.equal(slack[0].headers["webhook-id"], undefined, "Slack gets no webhook headers");
    // Webhook: Standard Webhooks headers, the signature checked independently.
    const hook = got.filter((r) => r.path === "/hook");
    assert.equal(hook.length, 1);
    assert.equal(hook[0].headers["webhook-id"], hookId);
    assert.equal(hook[0].headers["content-type"], "application/json");
    assert.match(hook[0].headers["webhook-timestamp"], /^\d{10}$/);
    // The real clock's seconds (the receiver compares them with its own), not the scheduled minute.
    assert.ok(Math.abs(Number(hook[0].headers["webhook-timestamp"]) - sentAfter) < 60);
    assert.match(hook[0].headers["webhook-signature"], /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.ok(verifyWebhook(hook[0]), "signature verifies with the shared secret");
    assert.ok(!verifyWebhook({ ...hook[0], body: hook[0].body + " " }), "and not for another body");
    assert.deepEqual(JSON.parse(hook[0].body), webhookPayload(lead));
    for (const id of [slackId, hookId]) {
      const r = await row(id);
      assert.deepEqual([r.state, r.attempts, r.delivered_at, r.last_error], ["delivered", 1, T, null]);
    }
    const ev = await events(lead);
    assert.deepEqual(ev.map((e) => [e.kind, e.actor, e.detail.channel, e.detail.message]).sort(), [
      ["notified", "system", "crm", hookId], ["notified", "system", "sales", slackId],
    ].sort());
    // Delivered messages are never sent again.
    await tick(T + 2 * HOUR);
    assert.equal(received.slice(before).filter((r) => r.path === "/slack").length, 1);
    assert.equal(hits(hookId).length, 1);
  });

  test("the button's link shows a page whose button accepts the lead once (not a first touch)", async () => {
    // A link scanner (or the person) opening the link records nothing: one button, posting back.
    const opened = await worker.fetch(claim, { now: T + 2 * HOUR });
    const html = await opened.text();
    assert.equal(opened.status, 200, html);
    assert.equal(opened.headers.get("x-handoff-code"), "confirm");
    assert.match(opened.headers.get("content-security-policy"), /form-action 'self'/);
    assert.match(html, /<form method="post"><p><button>Accept it<\/button><\/p><\/form>/);
    assert.equal((await events(lead, "accepted")).length, 0, "opening the link records nothing");
    // Clicked within the link's week, by the test's clock.
    const first = await worker.fetch(claim, { method: "POST", now: T + 2 * HOUR });
    const text = await first.text();
    assert.equal(first.status, 200, text);
    assert.match(first.headers.get("content-type"), /^text\/html/);
    assert.equal(first.headers.get("x-handoff-code"), "recorded");
    assert.equal(first.headers.get("content-security-policy"), "default-src 'none'");
    assert.match(text, /accepted for ana/);
    const kinds = async (kind) => (await events(lead)).filter((e) => e.kind === kind);
    assert.deepEqual((await kinds("accepted")).map((e) => [e.actor, e.at, e.detail]),
      [["ana", T + 2 * HOUR, { type: "accept", actor: "ana", via: "link" }]]);
    assert.deepEqual((await kinds("status_changed")).map((e) => e.detail), [{ from: "new", to: "accepted", via: "link" }]);
    assert.deepEqual(await kinds("first_touch"), [], "accepting is not contact");
    const again = await worker.fetch(claim, { method: "POST", now: T + 3 * HOUR });
    assert.equal(again.status, 200);
    assert.equal(again.headers.get("x-handoff-code"), "already_recorded");
    assert.match(await again.text(), /Already recorded/);
    assert.equal((await kinds("status_changed")).length, 1);
  });

  test("a tampered or expired link is refused with 403 link_invalid and records nothing", async () => {
    const other = await addLead();
    const exp = T + HOUR;
    const sig = claimToken(other, "ana", exp);
    const flipped = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
    const cases = [
      [claimUrl(other, "ana", exp, flipped), /not valid/],
      [claimUrl(other, "bob", exp, sig), /not valid/],
      [claimUrl(other, "ana", exp + 1, sig), /not valid/],
      [claimUrl(other, "ana", exp, claimToken(other, "ana", exp, "another-secret")), /not valid/],
      [claimUrl(other, "ana", exp).replace(/&sig=.*/, ""), /not valid/],
      [claimUrl(other, "ana", T - 1000), /expired/],
    ];
    for (const [url, message] of cases) {
      const r = await worker.fetch(url, { now: T });
      const text = await r.text();
      assert.equal(r.status, 403, url);
      assert.equal(r.headers.get("x-handoff-code"), "link_invalid");
      assert.match(text, message);
    }
    assert.deepEqual(await events(other), []);
    // Authentic, but the lead now belongs to someone else: nothing recorded for the old owner,
    // whether the page is opened or its button posted.
    for (const method of ["GET", "POST"]) {
      const moved = await worker.fetch(claimUrl(other, "bob", exp, claimToken(other, "bob", exp)), { method, now: T });
      assert.equal(moved.status, 409, method);
      assert.equal(moved.headers.get("x-handoff-code"), "lead_reassigned");
    }
    assert.deepEqual(await events(other), []);
    // Nothing a visitor or a link carries is put into the page as HTML.
    const odd = await worker.fetch(claimUrl("<b>x</b>", "ana", exp).replace("<b>x</b>", "%3Cb%3Ex%3C%2Fb%3E"), { now: T });
    assert.doesNotMatch(await odd.text(), /<b>/);
  });
});

describe("retries", () => {
  test("500 twice then 200: backoff respected, the same webhook-id every time, delivered once", async () => {
    const t = T + 10 * HOUR;
    const lead = await addLead();
    const id = await addMessage(lead, "crm", "webhook", webhookPayload(lead), t);
    plan.set(id, [500, 500, 200]);
    await tick(t);
    let r = await row(id);
    assert.deepEqual([r.state, r.attempts, r.next_at, r.last_error], ["pending", 1, t + 30_000, "http_status 500"]);
    // Not due yet: nothing is sent.
    await tick(t + 20_000);
    assert.equal(hits(id).length, 1);
    await tick(t + 30_000);
    r = await row(id);
    assert.deepEqual([r.state, r.attempts, r.next_at], ["pending", 2, t + 90_000]);
    await tick(t + 60_000);
    assert.equal(hits(id).length, 2);
    await tick(t + 90_000);
    r = await row(id);
    assert.deepEqual([r.state, r.attempts, r.delivered_at, r.last_error], ["delivered", 3, t + 90_000, null]);
    await tick(t + 3 * HOUR);
    const sent = hits(id);
    assert.equal(sent.length, 3);
    assert.ok(sent.every((h) => h.headers["webhook-id"] === id && h.body === sent[0].body && verifyWebhook(h)));
    const ev = await events(lead);
    assert.deepEqual(ev.map((e) => [e.kind, e.detail.attempts, e.detail.error ?? null, e.detail.status ?? null, e.detail.next_at ?? null]), [
      ["notify_failed", 1, "http_status", 500, t + 30_000],
      ["notify_failed", 2, "http_status", 500, t + 90_000],
      ["notified", 3, null, null, null],
    ]);
  });

  test("a receiver that always fails is dead-lettered after the horizon, then left alone", async () => {
    const t = T + 20 * HOUR;
    const lead = await addLead();
    const id = await addMessage(lead, "crm", "webhook", webhookPayload(lead), t);
    plan.set(id, [503]);
    // 30 s, then twice as long each time; the retry after 1890 s would land at 3810 s, past 1 h.
    const schedule = [0, 30, 90, 210, 450, 930, 1890];
    for (const [i, s] of schedule.entries()) {
      await tick(t + s * 1000);
      assert.equal(hits(id).length, i + 1, `attempt ${i + 1} at ${s} s`);
    }
    const r = await row(id);
    assert.deepEqual([r.state, r.attempts, r.last_error, r.delivered_at], ["dead", 7, "http_status 503", null]);
    await tick(t + 2 * HOUR);
    assert.equal(hits(id).length, 7);
    const kinds = (await events(lead)).map((e) => e.kind);
    assert.deepEqual(kinds, [...Array(6).fill("notify_failed"), "dead_lettered"]);
    const dead = (await events(lead)).at(-1).detail;
    assert.deepEqual([dead.channel, dead.attempts, dead.error, dead.status], ["crm", 7, "http_status", 503]);
    // Visible to an admin, and retried on request: due at once, delivered by the next tick.
    // The admin retries it two hours later (the test's clock): due then, sent by the next tick.
    const admin = (path, init = {}) => worker.fetch(path, { ...init, admin: true, now: t + 2 * HOUR });
    const letters = (await (await admin("/v1/dead-letters")).json()).dead_letters;
    assert.deepEqual(letters.find((d) => d.id === id), { id, lead_id: lead, channel: "crm", kind: "webhook", attempts: 7,
      created_at: t, last_error: "http_status 503" });
    plan.set(id, [200]);
    assert.equal((await admin(`/v1/dead-letters/${id}/retry`, { method: "POST" })).status, 200);
    await tick(t + 2 * HOUR + MINUTE);
    assert.equal((await row(id)).state, "delivered");
    assert.equal(hits(id).length, 8, "the same webhook-id once more");
  });

  test("a channel whose secret is not set fails with secret_missing, and says nothing else", async () => {
    const t = T + 30 * HOUR;
    const lead = await addLead();
    const id = await addMessage(lead, "ops", "slack", slackPayload(lead, "http://localhost:8787/x"), t);
    const gone = await addMessage(lead, "removed", "webhook", webhookPayload(lead), t);
    const before = received.length;
    await tick(t);
    assert.equal(received.length, before, "nothing was sent anywhere");
    let r = await row(id);
    assert.deepEqual([r.state, r.attempts, r.last_error, r.next_at], ["pending", 1, "secret_missing", t + 30_000]);
    r = await row(gone);
    assert.deepEqual([r.state, r.attempts, r.last_error], ["pending", 1, "channel_missing"]);
    const ev = await events(lead);
    assert.deepEqual(ev.map((e) => [e.kind, e.detail.channel, e.detail.error]).sort(), [
      ["notify_failed", "ops", "secret_missing"], ["notify_failed", "removed", "channel_missing"],
    ]);
    // No secret's name or value and no URL in what is stored.
    const stored = JSON.stringify(ev) + r.last_error;
    assert.doesNotMatch(stored, /SLACK|whsec|127\.0\.0\.1/);
  });

  test("a receiver that never answers times out without stalling the tick for the others", async () => {
    const t = T + 40 * HOUR;
    const lead = await addLead();
    const slow = await addMessage(lead, "crm", "webhook", webhookPayload(lead), t - 1000);
    const fast = await addMessage(lead, "crm", "webhook", webhookPayload(lead), t);
    plan.set(slow, ["hang"]);
    const started = Date.now();
    await tick(t);
    const took = Date.now() - started;
    assert.ok(took >= 9_000 && took < 20_000, `the tick took ${took} ms`);
    let r = await row(slow);
    assert.deepEqual([r.state, r.attempts, r.last_error, r.next_at], ["pending", 1, "timeout", t + 30_000]);
    r = await row(fast);
    assert.deepEqual([r.state, r.attempts], ["delivered", 1]);
  });
});

describe("intake", () => {
  // Two days after T: nothing above reaches this far.
  const submit = (answers) => worker.fetch("/v1/leads", {
    method: "POST",
    now: T + 48 * HOUR,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(consented({ form: "demo", answers, context: { fill_ms: 40_000 } })),
  });
  const lead = {
    email: "jo.park@intake-notify.example", company: "Intake <b>Co</b>", company_size: "201-1000", role: "Data",
    country: "Germany", interest: "A demo", team_size: "8", consent: true,
  };

  test("a stored lead is announced at once, after the answer: Slack and a signed webhook, with its owner", async () => {
    const r = await submit(lead);
    const { id } = await r.json();
    assert.equal(r.status, 201);
    // The lead's batch holds its outbox rows: one per channel.
    const rows = (await db.prepare("SELECT channel, kind FROM outbox WHERE lead_id = ?1 ORDER BY channel").bind(id).all()).results;
    assert.deepEqual(rows.map((x) => x.channel), ["crm", "ops", "sales"]);
    // waitUntil sends them without a tick; give it a few seconds at most.
    const deadline = Date.now() + 5_000;
    // The webhook names the lead; the Slack message shows the person (and links the lead only
    // through an owner's claim button).
    const mine = () => received.filter((x) => x.body.includes(id) || x.body.includes("jo.park@intake-notify.example"));
    while (mine().length < 2 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 50));
    const [slack, hook] = [mine().find((x) => x.path === "/slack"), mine().find((x) => x.path === "/hook")];
    assert.ok(slack && hook, `delivered: ${mine().map((x) => x.path)}`);
    assert.ok(verifyWebhook(hook));
    const owner = await db.prepare("SELECT owner_kind, owner_id FROM leads WHERE id = ?1").bind(id).first();
    const data = JSON.parse(hook.body).data;
    assert.equal(data.owner.id, owner.owner_id);
    assert.equal(data.lead_id, id);
    assert.match(data.why, /^(Assigned to|Queued in) /);
    // Visitor text reaches Slack inert: escaped wherever Slack reads markup (mrkdwn), verbatim only
    // in plain_text, which Slack never interprets.
    const mrkdwn = [];
    JSON.stringify(JSON.parse(slack.body), (k, v) => (v && v.type === "mrkdwn" && mrkdwn.push(v.text), v));
    assert.ok(mrkdwn.some((t) => t.includes("Intake &lt;b&gt;Co&lt;/b&gt;")));
    assert.ok(mrkdwn.every((t) => !t.includes("<b>")), mrkdwn.join("\n"));
    const kinds = (await events(id)).map((e) => e.kind);
    assert.deepEqual(kinds.slice(0, 2), ["created", "routed"]);
    assert.equal(kinds.filter((k) => k === "notified").length, 2);
  });

  test("a returning person's repeat is merged and announced to nobody", async () => {
    const before = (await db.prepare("SELECT COUNT(*) AS n FROM outbox").first()).n;
    const r = await submit({ ...lead, interest: "Pricing" });
    assert.equal(r.status, 201);
    const { id } = await r.json();
    const stored = await db.prepare("SELECT status, merged_into FROM leads WHERE id = ?1").bind(id).first();
    assert.equal(stored.status, "merged");
    assert.ok(stored.merged_into);
    assert.equal((await db.prepare("SELECT COUNT(*) AS n FROM outbox").first()).n, before, "no second alert");
  });
});
