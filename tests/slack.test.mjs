// Alerts that reach the person (issue 16), on workerd with local D1 and KV, against loopback fakes
// of Slack's Web API and Resend's email API that check every request against the vendors' own
// descriptions (tests/fixtures/slack-web-api.json, resend-emails.json): a routed lead reaches its
// owner by direct message (their Slack id looked up by email once, then cached) or by email; a
// click on Accept, "Not a fit" or "Take it" is verified, carried out as the clicking owner and
// shown in the message; forged, stale and replayed clicks, and clicks by someone else, record
// nothing; channels hear only the leads their condition holds for; an untouched lead's ladder
// reaches the team lead and the head of sales by name; a mail scanner's GET of a link records
// nothing. The bundle is tests/fixtures/slack.toml; every time comes from the test clock.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { EPOCH, MINUTE, randomToken, ROOT, startWorker } from "./support/edge.mjs";
import { startEmailFake } from "./support/email-fake.mjs";
import { startSlackFake } from "./support/slack-fake.mjs";

const SLACK_BOT_TOKEN = `xoxb-${randomToken()}`;
const SLACK_SIGNING_SECRET = randomToken();
const EMAIL_API_KEY = `re_${randomToken()}`;
const LINK_SECRET = randomToken();
const USERS = {
  dana: { id: "U0DANA00001", email: "dana@sales.example", name: "dana" },
  eli: { id: "U0ELI00001", email: "eli@sales.example", name: "eli" },
  tom: { id: "U0TOM00001", email: "tom@sales.example", name: "tom" },
  hana: { id: "U0HANA0001", email: "hana@sales.example", name: "hana" },
  stranger: { id: "U0STRANGE01", email: "someone@else.example", name: "someone" },
};

let worker, db, events, slack, mail;

before(async () => {
  slack = await startSlackFake({ token: SLACK_BOT_TOKEN, users: Object.values(USERS) });
  mail = await startEmailFake({ apiKey: EMAIL_API_KEY });
  worker = await startWorker({
    config: join(ROOT, "tests/fixtures/slack.toml"),
    bindings: {
      RATE_LIMIT_PER_MINUTE: "100000",
      SLACK_BOT_TOKEN,
      SLACK_SIGNING_SECRET,
      EMAIL_API_KEY,
      SLACK_API_URL: slack.url,
      EMAIL_API_URL: mail.url,
      LINK_SECRET,
      PUBLIC_URL: "http://localhost",
    },
  });
  ({ db, events } = worker);
});
after(async () => {
  await worker?.dispose();
  await slack?.close();
  await mail?.close();
  // Every request the Worker made was one Slack or Resend would take.
  assert.deepEqual(slack?.violations, []);
  assert.deepEqual(mail?.violations, []);
});

let n = 0;
const email = (who = "lead") => `${who}-${++n}@buyer.example`;
const SQL = { company_size: "1000+", interest: "A demo", country: "US" };
const QUEUED = { company_size: "1000+", interest: "Newsletter", country: "DE" };
const NURTURE = { company_size: "1-50", interest: "Newsletter", country: "US" };
const submit = (answers, now) => worker.submit({ form: "contact", answers, context: { fill_ms: 60_000 } }, { now });
const lead = (id) => db.prepare("SELECT owner_kind, owner_id, status FROM leads WHERE id = ?").bind(id).first();
/** A signed "Take it" link for `owner` on lead `id`, as a member's email carries it. */
const takeLink = (id, owner, exp) => {
  const sig = createHmac("sha256", LINK_SECRET)
    .update(`handoff-take-link-v1:${id.length}:${id}:${owner.length}:${owner}:${exp}`)
    .digest("base64url");
  return `/v1/leads/${id}/take-link?owner=${owner}&exp=${exp}&sig=${sig}`;
};

/** Waits (bounded) until `find()` answers something, ticking the cron at `now` so that whatever
 * the intake's own delivery has not sent yet is sent. */
async function until(find, now) {
  for (let i = 0; i < 40; i++) {
    const found = find();
    if (found) return found;
    await worker.tick(now);
    await new Promise((ok) => setTimeout(ok, 50));
  }
  assert.fail("nothing arrived within 40 ticks");
}
/** The Slack messages that speak of lead `id` (its buttons carry the id; its text its email). */
const about = (id, address) => slack.messages.filter((m) => JSON.stringify(m.blocks).includes(id) || JSON.stringify(m.blocks).includes(address));
const dmTo = (user, id, address) => about(id, address).filter((m) => m.user === user);
const inChannel = (channel, id, address) => about(id, address).filter((m) => m.channel === channel);
const actionsOf = (message) => message.blocks.find((b) => b.type === "actions" && b.block_id?.startsWith("handoff:"));

/** Slack's request signature on `body` at `seconds`. */
const sign = (body, seconds, secret = SLACK_SIGNING_SECRET) =>
  `v0=${createHmac("sha256", secret).update(`v0:${seconds}:${body}`).digest("hex")}`;
/** A click on `actionId` in `message` by `user`, as Slack posts it (`option`: the menu's choice). */
function clickBody(message, user, actionId, option) {
  const block = actionsOf(message);
  const element = block.elements.find((e) => e.action_id === actionId);
  assert.ok(element, `the message has no ${actionId}`);
  const action = { action_id: actionId, block_id: block.block_id, type: element.type, action_ts: "1.2" };
  if (element.value) action.value = element.value;
  if (option) action.selected_option = element.options.find((o) => o.value === option);
  const payload = {
    type: "block_actions", user: { id: user }, api_app_id: "A0HANDOFF",
    container: { type: "message", channel_id: message.channel, message_ts: message.ts },
    channel: { id: message.channel }, message: { ts: message.ts, blocks: message.blocks }, actions: [action],
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}
/** Posts `body` to the interactivity URL at `now`, signed as Slack would (or with `headers`). */
async function post(body, now, headers) {
  const seconds = String(Math.floor(now / 1000));
  const r = await worker.json("/v1/slack/interactions", {
    method: "POST",
    now,
    headers: headers ?? {
      "content-type": "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": seconds,
      "x-slack-signature": sign(body, seconds),
    },
    body,
  });
  return { status: r.status, json: r.json };
}
const click = (message, user, actionId, now, option) => post(clickBody(message, user, actionId, option), now);

test("a routed SQL reaches its owner by direct message; Accept in Slack accepts it and the message says so", async () => {
  const t0 = EPOCH;
  const address = email("accept");
  const id = await submit({ ...SQL, email: address }, t0);
  const [dm] = await until(() => dmTo(USERS.dana.id, id, address).length && dmTo(USERS.dana.id, id, address), t0);
  // Dana's Slack id came from her email, once.
  const lookups = slack.requests.filter((r) => r.method === "users.lookupByEmail");
  assert.deepEqual(lookups.map((r) => r.params.email), [USERS.dana.email]);
  // Her message: the lead, and her buttons: Accept, and Not a fit with the configured reasons.
  assert.equal(dm.text, `New lead: ${address}`);
  const buttons = actionsOf(dm).elements;
  assert.deepEqual(buttons.map((b) => b.action_id), ["accept", "reject"]);
  assert.equal(buttons[0].value, id);
  assert.deepEqual(buttons[1].options.map((o) => [o.value, o.text.text]), [["student", "Student"], ["competitor", "Competitor"]]);
  // The sales floor hears of it too (an SQL), with the same message.
  const [floor] = inChannel("C0SALES0001", id, address);
  assert.equal(floor.text, dm.text);

  const r = await click(dm, USERS.dana.id, "accept", t0 + 2 * MINUTE);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual([r.json.ok, r.json.code, r.json.status], [true, "recorded", "accepted"]);
  assert.equal((await lead(id)).status, "accepted");
  const [accepted] = await events(id, "accepted");
  assert.deepEqual([accepted.actor, accepted.at, accepted.detail.via], ["dana", t0 + 2 * MINUTE, "slack"]);
  // The message is updated in place: its buttons give way to who took it, and when.
  const updated = slack.messages.find((m) => m.ts === dm.ts && m.channel === dm.channel);
  assert.equal(actionsOf(updated), undefined);
  const line = updated.blocks.at(-1).elements[0].text;
  assert.match(line, /Accepted by Dana Diaz/);
  assert.match(line, new RegExp(`<!date\\^${Math.floor((t0 + 2 * MINUTE) / 1000)}\\^`));

  // Her next lead needs no lookup: the id is cached.
  const next = await submit({ ...SQL, email: email("accept") }, t0 + 3 * MINUTE);
  await until(() => dmTo(USERS.dana.id, next, "-").length, t0 + 3 * MINUTE);
  assert.equal(slack.requests.filter((q) => q.method === "users.lookupByEmail").length, 1);
});

test("forged, stale and replayed clicks are refused with 401 and record nothing", async () => {
  const t0 = EPOCH + 10 * MINUTE;
  const address = email("forged");
  const id = await submit({ ...SQL, email: address }, t0);
  const [dm] = await until(() => dmTo(USERS.dana.id, id, address).length && dmTo(USERS.dana.id, id, address), t0);
  const body = clickBody(dm, USERS.dana.id, "accept");
  const at = t0 + MINUTE;
  const seconds = String(Math.floor(at / 1000));
  const form = { "content-type": "application/x-www-form-urlencoded" };
  const cases = [
    ["no signature", { ...form, "x-slack-request-timestamp": seconds }, "slack.unsigned"],
    ["no timestamp", { ...form, "x-slack-signature": sign(body, seconds) }, "slack.unsigned"],
    ["another secret", { ...form, "x-slack-request-timestamp": seconds, "x-slack-signature": sign(body, seconds, "not-the-secret") }, "slack.bad_signature"],
    ["another body", { ...form, "x-slack-request-timestamp": seconds, "x-slack-signature": sign(`${body}&x=1`, seconds) }, "slack.bad_signature"],
    ["six minutes old", { ...form, "x-slack-request-timestamp": String(Number(seconds) - 360), "x-slack-signature": sign(body, String(Number(seconds) - 360)) }, "slack.stale"],
  ];
  for (const [name, headers, code] of cases) {
    const r = await post(body, at, headers);
    assert.deepEqual([r.status, r.json?.error?.code], [401, code], name);
  }
  assert.equal((await lead(id)).status, "new");
  assert.deepEqual(await events(id, "accepted"), []);
  // The genuine click works once; the same request again is a replay.
  const signed = { ...form, "x-slack-request-timestamp": seconds, "x-slack-signature": sign(body, seconds) };
  assert.equal((await post(body, at, signed)).status, 200);
  const replay = await post(body, at + 1000, signed);
  assert.deepEqual([replay.status, replay.json?.error?.code], [401, "slack.replayed"]);
  assert.equal((await events(id, "accepted")).length, 1);
});

test("a Slack user who does not hold the lead is refused, told privately, and nothing is recorded", async () => {
  const t0 = EPOCH + 20 * MINUTE;
  const address = email("notmine");
  const id = await submit({ ...SQL, email: address }, t0);
  const [floor] = await until(() => inChannel("C0SALES0001", id, address).length && inChannel("C0SALES0001", id, address), t0);
  const cases = [
    [USERS.eli.id, "lead_reassigned", /not eli's: Dana Diaz has it/],
    [USERS.stranger.id, "slack.unknown_user", /not linked to a Handoff owner/],
  ];
  for (const [user, code, said] of cases) {
    const before = slack.ephemerals.length;
    const r = await click(floor, user, "accept", t0 + MINUTE);
    assert.deepEqual([r.status, r.json.ok, r.json.code], [200, false, code], user);
    const told = slack.ephemerals.slice(before);
    assert.deepEqual(told.map((e) => [e.channel, e.user]), [["C0SALES0001", user]]);
    assert.match(told[0].text, said);
  }
  assert.equal((await lead(id)).status, "new");
  assert.deepEqual(await events(id, "accepted"), []);
  assert.ok(actionsOf(slack.messages.find((m) => m.ts === floor.ts)), "the channel's buttons stay for the owner");
});

test("Not a fit from the menu rejects the lead with the chosen reason", async () => {
  const t0 = EPOCH + 30 * MINUTE;
  const address = email("nofit");
  const id = await submit({ ...SQL, email: address }, t0);
  const [dm] = await until(() => dmTo(USERS.dana.id, id, address).length && dmTo(USERS.dana.id, id, address), t0);
  const r = await click(dm, USERS.dana.id, "reject", t0 + MINUTE, "competitor");
  assert.deepEqual([r.status, r.json.code, r.json.status], [200, "recorded", "rejected"]);
  const [outcome] = await events(id, "outcome");
  assert.deepEqual(outcome.detail, { type: "outcome", outcome: "rejected", reason: "competitor", actor: "dana", via: "slack" });
  const updated = slack.messages.find((m) => m.ts === dm.ts && m.channel === dm.channel);
  assert.match(updated.blocks.at(-1).elements[0].text, /Not a fit \(Competitor\): Dana Diaz/);
});

test("a queue's lead reaches each member with Take it; one takes it, the other is told someone has it", async () => {
  const t0 = EPOCH + 40 * MINUTE;
  const address = email("queue");
  const id = await submit({ ...QUEUED, email: address }, t0);
  assert.deepEqual(Object.values(await lead(id)).slice(0, 2), ["queue", "inbound"]);
  const dms = await until(() => {
    const got = [USERS.dana.id, USERS.eli.id].map((u) => dmTo(u, id, address)[0]);
    return got.every(Boolean) && got;
  }, t0);
  for (const dm of dms) assert.deepEqual(actionsOf(dm).elements.map((b) => b.action_id), ["take"]);
  // Eli's Slack id is configured: no lookup for him.
  assert.ok(!slack.requests.some((r) => r.method === "users.lookupByEmail" && r.params.email === USERS.eli.email));
  // The inbound team's channel hears of its queue's lead.
  assert.equal(inChannel("C0INBND0001", id, address).length, 1);
  const taken = await click(dms[1], USERS.eli.id, "take", t0 + MINUTE);
  assert.deepEqual([taken.json.code, taken.json.status], ["recorded", "accepted"]);
  assert.deepEqual(Object.values(await lead(id)), ["owner", "eli", "accepted"]);
  const late = await click(dms[0], USERS.dana.id, "take", t0 + 2 * MINUTE);
  assert.deepEqual([late.json.ok, late.json.code], [false, "not_in_queue"]);
  assert.deepEqual(Object.values(await lead(id)), ["owner", "eli", "accepted"]);
  assert.match(slack.messages.find((m) => m.ts === dms[1].ts).blocks.at(-1).elements[0].text, /Taken by Eli Evans/);
});

test("a nurture lead: no channel whose condition excludes it hears of it, and nobody is messaged", async () => {
  const t0 = EPOCH + 50 * MINUTE;
  const address = email("nurture");
  const id = await submit({ ...NURTURE, email: address }, t0);
  assert.deepEqual(Object.values(await lead(id)).slice(0, 2), ["queue", "nurture"]);
  await worker.tick(t0);
  const rows = await db.prepare("SELECT channel FROM outbox WHERE lead_id = ?").bind(id).all();
  assert.deepEqual(rows.results, []);
  assert.deepEqual(about(id, address), []);
});

test("an untouched SQL: a reminder to its owner, then the team lead, then the head of sales, each by name", async () => {
  const t0 = EPOCH + 24 * 60 * MINUTE;
  const address = email("ladder");
  const id = await submit({ ...SQL, email: address }, t0);
  await until(() => dmTo(USERS.dana.id, id, address).length, t0);
  const steps = [
    [t0 + 16 * MINUTE, USERS.dana.id, 1, ["accept", "reject"]],
    [t0 + 30 * MINUTE, USERS.tom.id, 2, undefined],
    [t0 + 60 * MINUTE, USERS.hana.id, 3, undefined],
  ];
  for (const [at, user, level, buttons] of steps) {
    await worker.tick(at);
    const [alert] = await until(() => {
      const got = dmTo(user, id, address).filter((m) => m.text.startsWith("SLA missed"));
      return got.length && got.slice(-1);
    }, at);
    assert.match(alert.text, new RegExp(`level ${level}$`));
    // Only the lead's owner may act on it; the others read and can open it.
    assert.deepEqual(actionsOf(alert)?.elements.map((b) => b.action_id), buttons, `level ${level}`);
  }
  const tom = dmTo(USERS.tom.id, id, address).find((m) => m.text.startsWith("SLA missed"));
  assert.match(JSON.stringify(tom.blocks), /Dana's lead is still untouched/);
  // The channel that heard of the lead hears of each step.
  const floor = inChannel("C0SALES0001", id, address).filter((m) => m.text.startsWith("SLA missed"));
  assert.equal(floor.length, 3);
  assert.deepEqual((await events(id, "escalated")).map((e) => [e.detail.level, e.detail.to.id]), [[1, "dana"], [2, "tom"], [3, "hana"]]);
});

test("email: the owner who does not use Slack gets the same alert by email; a scanner's GET of its link records nothing", async () => {
  const t0 = EPOCH + 2 * 24 * 60 * MINUTE;
  const address = email("mail");
  const id = await submit({ ...SQL, country: "DE", email: address }, t0);
  assert.deepEqual(Object.values(await lead(id)).slice(0, 2), ["owner", "erin"]);
  const sent = await until(() => mail.emails.find((e) => e.body.text.includes(id)), t0);
  assert.deepEqual(sent.body.to, ["erin@sales.example"]);
  assert.equal(sent.body.from, "Handoff <alerts@handoff.example>");
  // The same alert as the channel's Slack message: its title, its fields.
  const [floor] = inChannel("C0SALES0001", id, address);
  assert.equal(sent.body.subject, floor.text);
  assert.match(sent.body.text, new RegExp(`Email: ${address}`));
  assert.match(sent.body.text, /Score: 75 \(sql\)/);
  assert.ok(sent.headers["idempotency-key"], "retries send one email");
  assert.deepEqual(dmTo("U0ERIN", id, address), [], "no Slack message for Erin");
  // Her links: Accept and Not a fit, signed for her.
  const accept = new URL(sent.body.text.match(/^Accept: (\S+)$/m)[1]);
  assert.equal(accept.pathname, `/v1/leads/${id}/claim`);
  assert.equal(accept.searchParams.get("owner"), "erin");
  assert.match(sent.body.text, /^Not a fit: \S+\/reject\?owner=erin&/m);
  assert.match(sent.body.html, new RegExp(`href="${accept.href.replaceAll("&", "&amp;").replaceAll("?", "\\?")}"`));
  // A mail security scanner opens the link first: a page with a button, nothing recorded.
  const local = `${accept.pathname}${accept.search}`;
  const scanned = await worker.fetch(local, { now: t0 + MINUTE });
  assert.equal(scanned.status, 200);
  assert.equal(scanned.headers.get("x-handoff-code"), "confirm");
  assert.equal((await lead(id)).status, "new");
  assert.deepEqual(await events(id, "accepted"), []);
  // Erin presses the button.
  const pressed = await worker.fetch(local, { method: "POST", now: t0 + 2 * MINUTE });
  assert.equal(pressed.headers.get("x-handoff-code"), "recorded");
  const [accepted] = await events(id, "accepted");
  assert.deepEqual([accepted.actor, accepted.detail.via], ["erin", "link"]);
});

test("the Take it link: its page records nothing, its button gives the lead to a member, never to anyone else", async () => {
  const t0 = EPOCH + 3 * 24 * 60 * MINUTE;
  const id = await submit({ ...QUEUED, email: email("takelink") }, t0);
  const exp = t0 + 60 * MINUTE;
  const at = (method, owner, minutes) => worker.fetch(takeLink(id, owner, exp), { method, now: t0 + minutes * MINUTE });
  const cases = [
    ["GET", "dana", 1, 200, "confirm"],
    ["GET", "erin", 2, 403, "not_a_member"],
    ["POST", "erin", 2, 403, "not_a_member"],
    ["POST", "dana", 3, 200, "recorded"],
    ["GET", "eli", 4, 409, "not_in_queue"],
    ["POST", "eli", 5, 409, "not_in_queue"],
  ];
  for (const [method, owner, minutes, status, code] of cases) {
    const r = await at(method, owner, minutes);
    assert.deepEqual([r.status, r.headers.get("x-handoff-code")], [status, code], `${method} ${owner}`);
    if (minutes < 3) assert.deepEqual(Object.values(await lead(id)), ["queue", "inbound", "new"], `${method} ${owner}`);
  }
  assert.deepEqual(Object.values(await lead(id)), ["owner", "dana", "accepted"]);
  assert.deepEqual((await events(id, "accepted")).map((e) => [e.actor, e.detail.via]), [["dana", "link"]]);
});

// Last in the file: its leads' SLA ladders are never ticked, so they take no other test's turn.
test("a link a visitor typed never becomes one in Slack: no URL, no domain, no mention in the message", async () => {
  const t0 = EPOCH + 5 * MINUTE;
  for (const company of ["https://evil.example", "evil.example/login", "<https://evil.example|Acme> @channel <!here>"]) {
    const address = email("link");
    const id = await submit({ ...SQL, email: address, company }, t0);
    const [dm] = await until(() => dmTo(USERS.dana.id, id, address).length && dmTo(USERS.dana.id, id, address), t0);
    const [floor] = inChannel("C0SALES0001", id, address);
    for (const message of [dm, floor]) {
      // No URL or domain anywhere; no link or mention markup in any text Slack parses (a header
      // is plain_text, shown as it is).
      const sent = JSON.stringify(message);
      assert.doesNotMatch(sent, /evil\.example|https?:\/\/evil/, company);
      assert.match(sent, /evil\[\.\]example/, company);
      const parsed = JSON.stringify([message.text, message.blocks.filter((b) => b.type !== "header")]);
      assert.doesNotMatch(parsed, /<https|<!here>|<!channel>/, company);
      // Every text object that shows the company is verbatim: Slack parses no link or mention in it.
      const fields = message.blocks.find((b) => b.type === "section").fields;
      assert.ok(fields.every((f) => f.verbatim === true), company);
    }
    // And no preview of anything: unfurling is off.
    const posted = slack.requests.filter((r) => r.method === "chat.postMessage" && JSON.stringify(r.params.blocks).includes(id));
    assert.ok(posted.length >= 2);
    assert.ok(posted.every((r) => r.params.unfurl_links === false && r.params.unfurl_media === false));
  }
});
