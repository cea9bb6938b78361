// The loopback fakes of Slack's Web API and Resend's POST /emails (tests/support/slack-fake.mjs,
// email-fake.mjs): they accept what the vendors' descriptions allow, refuse the rest with the
// vendor's answer, and every refusal (and only a refusal) lands in `violations`. Plain fetch, no
// build: each test starts its own fake on loopback and closes it.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { HUBSPOT, RESEND, SLACK, subset } from "./fixtures/extract-specs.mjs";
import { startEmailFake } from "./support/email-fake.mjs";
import { startSlackFake } from "./support/slack-fake.mjs";
import { loadFixture, resolve, validate } from "./support/spec.mjs";

const TOKEN = "xoxb-test-token";
const API_KEY = "re_test_key";
const ALICE = { id: "U01ALICE", email: "alice@example.com", name: "alice" };
const CHANNEL = "C0123ABCDE";
/** Bounds every test; each request also gives up after REQUEST_MS. */
const TIMEOUT = { timeout: 10_000 };
const REQUEST_MS = 5_000;

// ---- helpers

/** Runs `fn` with a fresh Slack fake (Alice its one user), closing it whatever happens. */
async function withSlack(fn) {
  const fake = await startSlackFake({ token: TOKEN, users: [{ ...ALICE }] });
  try {
    return await fn(fake);
  } finally {
    await fake.close();
  }
}

async function withEmail(fn) {
  const fake = await startEmailFake({ apiKey: API_KEY });
  try {
    return await fn(fake);
  } finally {
    await fake.close();
  }
}

/** A request's answer: status, headers and the JSON body. */
async function send(url, { method = "POST", headers = {}, body } = {}) {
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(REQUEST_MS) });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

/** A Slack method called as the Worker calls it: form-urlencoded, Bearer token. */
function slackForm(fake, method, fields, headers = bearer()) {
  return send(`${fake.url}/${method}`, {
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

function slackJson(fake, method, fields, headers = bearer()) {
  return send(`${fake.url}/${method}`, {
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(fields),
  });
}

/** users.lookupByEmail; `token` puts a token in the query, where the description has it. */
function lookup(fake, email, headers = bearer(), token) {
  const query = new URLSearchParams({ email, ...(token && { token }) });
  return send(`${fake.url}/users.lookupByEmail?${query}`, { method: "GET", headers });
}

function sendEmail(fake, body, headers = {}) {
  return send(`${fake.url}/emails`, {
    headers: { "content-type": "application/json", ...bearer(API_KEY), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const button = (label, extra = {}) => ({
  type: "button",
  action_id: "claim",
  text: { type: "plain_text", text: label },
  ...extra,
});
/** Blocks like the Worker's lead notification: header, section with fields, actions. */
const LEAD_BLOCKS = [
  { type: "header", text: { type: "plain_text", text: "New lead: Ada Lovelace" } },
  {
    type: "section",
    text: { type: "mrkdwn", text: "*Acme Corp* wants a demo" },
    fields: [
      { type: "mrkdwn", text: "*Email*\nada@example.com" },
      { type: "plain_text", text: "Score 87" },
    ],
  },
  {
    type: "actions",
    elements: [
      button("Claim", { style: "primary", value: "lead-1" }),
      button("Open", { action_id: "open", url: "https://handoff.example/leads/1" }),
      {
        type: "static_select",
        action_id: "assign",
        placeholder: { type: "plain_text", text: "Assign to" },
        options: [{ text: { type: "plain_text", text: "Alice" }, value: "U01ALICE" }],
      },
    ],
  },
];
const EMAIL = { from: "Handoff <leads@handoff.example>", to: "alice@example.com", subject: "New lead", text: "Ada" };

// ---- the fixtures

// The fixtures cut from vendors' descriptions; tests/crm-fakes.test.mjs checks the hand-written
// salesforce-rest.json.
describe("fixtures", () => {
  for (const spec of [SLACK, RESEND, ...HUBSPOT]) {
    test(`${spec.out}: its source named, every $ref resolving, exactly its own subset`, TIMEOUT, async () => {
      const fixture = await loadFixture(spec.out);
      // The later fixtures also say when they were cut.
      const dated = "date" in spec.source ? ["date"] : [];
      assert.deepEqual(Object.keys(fixture["x-source"]), ["repository", "file", "commit", ...dated, "note"]);
      assert.deepEqual(fixture["x-source"], spec.source);
      const refs = JSON.stringify(fixture).match(/"\$ref":"[^"]+"/g).map((ref) => ref.slice(8, -1));
      for (const ref of refs) assert.doesNotThrow(() => resolve(fixture, ref), ref);
      // What extract-specs.mjs takes from the fixture is the whole fixture: no schema is left over.
      assert.deepEqual(subset(fixture, spec), fixture);
    });
  }
});

// ---- the schema validator

describe("spec.mjs validate", () => {
  const root = { definitions: { id: { type: "string", pattern: "^U[A-Z0-9]{2,}$" } } };
  const rows = [
    { name: "a $ref and its pattern", schema: { $ref: "#/definitions/id" }, good: "U01ALICE", bad: "alice" },
    { name: "a list of types", schema: { type: ["null", "string"] }, good: null, bad: 3 },
    { name: "an enum", schema: { type: "boolean", enum: [true] }, good: true, bad: false },
    {
      name: "required fields",
      schema: { type: "object", required: ["id"], properties: { id: { type: "string" } } },
      good: { id: "x" },
      bad: {},
    },
    {
      name: "an object listing properties is closed unless it says otherwise",
      schema: { type: "object", properties: { id: { type: "string" } } },
      good: { id: "x" },
      bad: { id: "x", extra: 1 },
    },
    { name: "an object without properties is open", schema: { type: "object" }, good: { anything: 1 }, bad: [] },
    {
      name: "additionalProperties as a schema",
      schema: { type: "object", additionalProperties: { type: "number" } },
      good: { a: 1 },
      bad: { a: "1" },
    },
    {
      name: "items, minItems, maxItems",
      schema: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 2 },
      good: ["a"],
      bad: ["a", "b", "c"],
    },
    { name: "maxLength counts characters", schema: { type: "string", maxLength: 2 }, good: "é😀", bad: "abc" },
    {
      name: "oneOf needs exactly one",
      schema: { oneOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
      good: ["a"],
      bad: 1,
    },
    {
      name: "allOf needs all",
      schema: { allOf: [{ type: "object", required: ["a"] }, { type: "object", required: ["b"] }] },
      good: { a: 1, b: 2 },
      bad: { a: 1 },
    },
    {
      name: "patternProperties check the names they match and close the object",
      schema: { type: "object", properties: { a: { type: "string" } }, patternProperties: { "__c$": { type: "number" } } },
      good: { a: "x", Score__c: 1 },
      bad: { a: "x", Score: 1 },
    },
    {
      name: "Slack's `items` list without a type is any of",
      schema: { items: [{ $ref: "#/definitions/id" }, { type: "null" }] },
      good: null,
      bad: "B123",
    },
  ];
  for (const { name, schema, good, bad } of rows) {
    test(name, TIMEOUT, () => {
      assert.deepEqual(validate(schema, good, root), []);
      assert.notDeepEqual(validate(schema, bad, root), []);
    });
  }
});

// ---- Slack: what it accepts

describe("Slack fake accepts", () => {
  let description;
  before(async () => {
    description = await loadFixture("slack-web-api.json");
  });
  /** The 200 schema of a method (each path of the description has one operation). */
  const success = (method) => Object.values(description.paths[`/${method}`])[0].responses["200"].schema;
  const post = (fields, headers) => (fake) => slackForm(fake, "chat.postMessage", fields, headers);
  const postJson = (fields, headers) => (fake) => slackJson(fake, "chat.postMessage", fields, headers);
  const booleans = { link_names: "true", mrkdwn: "false", reply_broadcast: "false", unfurl_links: "true" };
  // [what is right, the call, the method it is if not chat.postMessage]
  const rows = [
    ["chat.postMessage with text only", post({ channel: CHANNEL, text: "hi" })],
    ["chat.postMessage to a private channel", post({ channel: "G0123ABCDE", text: "hi" })],
    ["chat.postMessage to a user id (a DM)", post({ channel: ALICE.id, text: "hi" })],
    ["chat.postMessage with booleans as true/false", post({ channel: CHANNEL, text: "hi", ...booleans })],
    ["chat.postMessage in a thread", post({ channel: CHANNEL, text: "hi", thread_ts: "1700000000.000100" })],
    ["chat.postMessage as JSON, blocks as an array", postJson({ channel: CHANNEL, blocks: LEAD_BLOCKS })],
    [
      "chat.postMessage as JSON, blocks as a string",
      postJson({ channel: CHANNEL, text: "hi", blocks: JSON.stringify(LEAD_BLOCKS), mrkdwn: true }),
    ],
    ["chat.postMessage, the token in a `token` header", post({ channel: CHANNEL, text: "hi" }, { token: TOKEN })],
    ["users.lookupByEmail with Bearer", (fake) => lookup(fake, ALICE.email), "users.lookupByEmail"],
    ["users.lookupByEmail with the token in the query", (fake) => lookup(fake, ALICE.email, {}, TOKEN), "users.lookupByEmail"],
  ];
  for (const [name, call, method = "chat.postMessage"] of rows) {
    test(name, TIMEOUT, () =>
      withSlack(async (fake) => {
        const { status, body } = await call(fake);
        assert.equal(status, 200);
        assert.equal(body.ok, true, JSON.stringify(body));
        // Checked here too, not only by the fake itself.
        assert.deepEqual(validate(success(method), body, description), []);
        assert.deepEqual(fake.requests.map((r) => r.method), [method]);
        assert.deepEqual(fake.violations, []);
      }));
  }

  test("chat.postMessage as the Worker sends it: form-urlencoded, Bearer token, blocks as JSON", TIMEOUT, () =>
    withSlack(async (fake) => {
      const fields = { channel: CHANNEL, text: "New lead", blocks: JSON.stringify(LEAD_BLOCKS), unfurl_links: "false" };
      const { status, body } = await slackForm(fake, "chat.postMessage", fields);
      assert.equal(status, 200);
      assert.equal(body.ok, true);
      assert.equal(body.channel, CHANNEL);
      assert.match(body.ts, /^\d{10}\.\d{6}$/);
      assert.deepEqual(body.message.blocks, LEAD_BLOCKS);
      const stored = { channel: CHANNEL, ts: body.ts, text: "New lead", blocks: LEAD_BLOCKS, user: null };
      assert.deepEqual(fake.messages, [stored]);
      assert.equal(fake.requests.length, 1);
      const [{ method, params, headers }] = fake.requests;
      assert.equal(method, "chat.postMessage");
      assert.deepEqual(params, { ...fields, blocks: LEAD_BLOCKS, unfurl_links: false });
      assert.equal(headers.authorization, `Bearer ${TOKEN}`);
      assert.deepEqual(fake.violations, []);
    }));

  test("a direct message to a user id: a stable D… channel, unique timestamps", TIMEOUT, () =>
    withSlack(async (fake) => {
      const first = await slackForm(fake, "chat.postMessage", { channel: ALICE.id, text: "one" });
      const second = await slackForm(fake, "chat.postMessage", { channel: ALICE.id, text: "two" });
      assert.match(first.body.channel, /^D[A-Z0-9]{8,}$/);
      assert.equal(second.body.channel, first.body.channel);
      assert.notEqual(second.body.ts, first.body.ts);
      assert.deepEqual(fake.messages.map((m) => [m.channel, m.user, m.text]), [
        [first.body.channel, ALICE.id, "one"],
        [first.body.channel, ALICE.id, "two"],
      ]);
      assert.deepEqual(fake.violations, []);
    }));

  test("chat.update of a posted message changes it in place", TIMEOUT, () =>
    withSlack(async (fake) => {
      const lead = { channel: ALICE.id, text: "New lead", blocks: JSON.stringify(LEAD_BLOCKS) };
      const posted = await slackForm(fake, "chat.postMessage", lead);
      const { channel, ts } = posted.body;
      const claimed = [LEAD_BLOCKS[0], { type: "section", text: { type: "mrkdwn", text: "Claimed by <@U01ALICE>" } }];
      const update = { channel, ts, text: "Claimed", blocks: JSON.stringify(claimed) };
      const { body } = await slackForm(fake, "chat.update", update);
      assert.deepEqual(body, { ok: true, channel, ts, text: "Claimed", message: { text: "Claimed" } });
      assert.deepEqual(fake.messages, [{ channel, ts, text: "Claimed", blocks: claimed, user: ALICE.id }]);
      assert.deepEqual(fake.violations, []);
    }));

  test("users.lookupByEmail: found (any case), not found (no violation), users added later, counted", TIMEOUT, () =>
    withSlack(async (fake) => {
      const found = await lookup(fake, "Alice@Example.com");
      assert.equal(found.body.ok, true);
      assert.equal(found.body.user.id, ALICE.id);
      assert.equal(found.body.user.profile.email, ALICE.email);
      const missing = await lookup(fake, "bob@example.com");
      assert.deepEqual(missing.body, { ok: false, error: "users_not_found" });
      fake.users.push({ id: "U02BOB", email: "bob@example.com", name: "bob" });
      const later = await lookup(fake, "bob@example.com", {}, TOKEN);
      assert.equal(later.body.user.id, "U02BOB");
      assert.deepEqual(fake.requests.map((r) => [r.method, r.params.email]), [
        ["users.lookupByEmail", "Alice@Example.com"],
        ["users.lookupByEmail", "bob@example.com"],
        ["users.lookupByEmail", "bob@example.com"],
      ]);
      assert.deepEqual(fake.violations, []);
    }));

  test("failNext: a 429 with retry-after, then a 500, then the call goes through", TIMEOUT, () =>
    withSlack(async (fake) => {
      fake.failNext("chat.postMessage", { status: 429 });
      fake.failNext("chat.postMessage", { status: 500, body: { ok: false, error: "internal_error" } });
      const fields = { channel: CHANNEL, text: "retry me" };
      const limited = await slackForm(fake, "chat.postMessage", fields);
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get("retry-after"), "1");
      assert.deepEqual(limited.body, { ok: false, error: "ratelimited" });
      assert.equal((await slackForm(fake, "chat.postMessage", fields)).status, 500);
      assert.equal((await slackForm(fake, "chat.postMessage", fields)).body.ok, true);
      assert.equal(fake.messages.length, 1);
      assert.equal(fake.requests.length, 1);
      assert.deepEqual(fake.violations, []);
    }));
});

// ---- Slack: what it refuses, with Slack's answer and a violation

describe("Slack fake refuses", () => {
  const post = (fields, headers) => (fake) => slackForm(fake, "chat.postMessage", fields, headers);
  const postBlocks = (blocks) => post({ channel: CHANNEL, blocks: JSON.stringify(blocks) });
  const actions = (...elements) => postBlocks([{ type: "actions", elements }]);
  const raw = (path, init) => (fake) => send(`${fake.url}${path}`, init);
  const hi = { channel: CHANNEL, text: "hi" };
  const formType = { "content-type": "application/x-www-form-urlencoded" };
  const placeholder = { type: "plain_text", text: "Pick" };
  // [what is wrong, the call, Slack's error, the violation, HTTP status if not 200]
  const rows = [
    ["a missing channel", post({ text: "hi" }), "invalid_arguments", /missing required parameter `channel`/],
    ["an unknown parameter", post({ ...hi, colour: "red" }), "invalid_arguments", /`colour` is not a parameter/],
    [
      "a parameter in the query instead of the body",
      raw(`/chat.postMessage?channel=${CHANNEL}`, { headers: { ...bearer(), ...formType }, body: "text=hi" }),
      "invalid_arguments",
      /`channel` belongs in formData, not query/,
    ],
    ["a boolean other than true/false", post({ ...hi, unfurl_links: "yes" }), "invalid_arguments", /`unfurl_links` must/],
    [
      "a JSON string where the description has a boolean",
      (fake) => slackJson(fake, "chat.postMessage", { ...hi, mrkdwn: "true" }),
      "invalid_arguments",
      /`mrkdwn` must be a boolean/,
    ],
    ["a wrong token", post(hi, bearer("xoxb-wrong")), "invalid_auth", /not the fake's/],
    ["no token", post(hi, {}), "not_authed", /no token/],
    ["the token in the body (not where the description has it)", post({ ...hi, token: TOKEN }, {}), "not_authed", /no token/],
    [
      "a wrong token in the query",
      raw("/users.lookupByEmail?email=a%40b.c&token=no", { method: "GET" }),
      "invalid_auth",
      /the token is not the fake's/,
    ],
    [
      "a wrong content type",
      raw("/chat.postMessage", { headers: { ...bearer(), "content-type": "text/plain" }, body: "text=hi" }),
      "invalid_post_type",
      /text\/plain is not one the operation consumes/,
    ],
    [
      "no content type", // a Blob without a type makes fetch send none
      raw("/chat.postMessage", { headers: bearer(), body: new Blob(["text=hi"]) }),
      "missing_post_type",
      /the body has no Content-Type/,
    ],
    [
      "a JSON body that does not parse",
      raw("/chat.postMessage", { headers: { ...bearer(), "content-type": "application/json" }, body: "{" }),
      "invalid_json",
      /does not parse/,
    ],
    ["bad blocks JSON", post({ channel: CHANNEL, blocks: "[{" }), "invalid_blocks_format", /`blocks` is not JSON/],
    ["blocks that are not an array", post({ channel: CHANNEL, blocks: "{}" }), "invalid_blocks_format", /not a JSON array/],
    [
      "a button with a 100-character label",
      actions(button("x".repeat(100))),
      "invalid_blocks",
      /elements\[0\]\.text\.text has 100 characters, 1 to 75 allowed/,
    ],
    [
      "a button without action_id, in a style Slack lacks",
      actions({ ...button("Go"), action_id: undefined, style: "secondary" }),
      "invalid_blocks",
      /action_id is not a string.*style is "secondary"/,
    ],
    [
      "a static_select without options",
      actions({ type: "static_select", action_id: "a", placeholder, options: [] }),
      "invalid_blocks",
      /options has 0 items, 1 to 100 allowed/,
    ],
    [
      "a mrkdwn header",
      postBlocks([{ type: "header", text: { type: "mrkdwn", text: "*hi*" } }]),
      "invalid_blocks",
      /text\.type is "mrkdwn", not plain_text/,
    ],
    ["51 blocks", postBlocks(Array(51).fill({ type: "divider" })), "invalid_blocks", /has 51 blocks, at most 50/],
    [
      "a section with 11 fields",
      postBlocks([{ type: "section", fields: Array(11).fill({ type: "mrkdwn", text: "a" }) }]),
      "invalid_blocks",
      /fields has 11 items, 1 to 10 allowed/,
    ],
    ["neither text nor blocks", post({ channel: CHANNEL }), "no_text", /none of `text`, `blocks`/],
    ["a channel name", post({ ...hi, channel: "#sales" }), "channel_not_found", /neither a channel id/],
    ["a DM to a user the workspace lacks", post({ ...hi, channel: "U09NOBODY" }), "channel_not_found", /U09NOBODY/],
    [
      "chat.update of an unknown ts",
      (fake) => slackForm(fake, "chat.update", { ...hi, ts: "1700000000.000100" }),
      "message_not_found",
      /no message 1700000000\.000100/,
    ],
    [
      "chat.update without ts",
      (fake) => slackForm(fake, "chat.update", hi),
      "invalid_arguments",
      /missing required parameter `ts`/,
    ],
    [
      "users.lookupByEmail without email",
      raw("/users.lookupByEmail", { method: "GET", headers: bearer() }),
      "invalid_arguments",
      /missing required parameter `email`/,
    ],
    [
      "chat.postMessage as GET",
      raw(`/chat.postMessage?${new URLSearchParams(hi)}`, { method: "GET", headers: bearer() }),
      "invalid_arguments",
      /chat.postMessage as POST only/,
    ],
    [
      "a method outside the description (HTTP 404)",
      (fake) => slackForm(fake, "chat.delete", hi),
      "unknown_method",
      /not a method of the description/,
      404,
    ],
  ];
  for (const [name, call, error, why, status = 200] of rows) {
    test(name, TIMEOUT, () =>
      withSlack(async (fake) => {
        const answer = await call(fake);
        assert.equal(answer.status, status);
        assert.deepEqual(answer.body, { ok: false, error });
        assert.equal(fake.violations.length, 1, fake.violations.join("\n"));
        assert.match(fake.violations[0], why);
        assert.deepEqual(fake.requests, []);
        assert.deepEqual(fake.messages, []);
      }));
  }

  test("an answer of the fake's own that breaks the description (a user id Slack never gives)", TIMEOUT, () =>
    withSlack(async (fake) => {
      fake.users.push({ id: "bob", email: "bob@example.com", name: "bob" });
      assert.equal((await lookup(fake, "bob@example.com")).body.ok, true);
      assert.equal(fake.violations.length, 1);
      assert.match(fake.violations[0], /answer to GET \/api\/users.lookupByEmail breaks the description: .*"bob"/);
    }));
});

// ---- Resend: what it accepts

describe("email fake accepts", () => {
  const rows = [
    { name: "the fields it requires and a text body", email: EMAIL },
    {
      name: "every field of SendEmailRequest the Worker may use",
      email: {
        ...EMAIL,
        to: ["alice@example.com", "Bob <bob@example.com>"],
        cc: "carol@example.com",
        bcc: ["audit@handoff.example"],
        reply_to: "sales@example.com",
        html: "<p>Ada</p>",
        headers: { "X-Entity-Ref-ID": "lead-1" },
        scheduled_at: "2026-05-01T09:00:00Z",
        tags: [{ name: "kind", value: "lead_alert" }],
      },
    },
    {
      name: "a template instead of html and text",
      email: {
        from: EMAIL.from,
        to: EMAIL.to,
        subject: EMAIL.subject,
        template: { id: "lead-alert", variables: { name: "Ada", score: 87 } },
      },
    },
  ];
  for (const { name, email } of rows) {
    test(name, TIMEOUT, () =>
      withEmail(async (fake) => {
        const { status, body } = await sendEmail(fake, email);
        assert.equal(status, 200);
        assert.match(body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        assert.equal(fake.emails.length, 1);
        assert.deepEqual(fake.emails[0].body, email);
        assert.equal(fake.emails[0].id, body.id);
        assert.deepEqual(fake.violations, []);
      }));
  }

  test("a repeated Idempotency-Key answers the first answer again and sends nothing more", TIMEOUT, () =>
    withEmail(async (fake) => {
      const key = { "idempotency-key": "lead-1/alert" };
      const first = await sendEmail(fake, EMAIL, key);
      const again = await sendEmail(fake, EMAIL, key);
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, first.body);
      assert.equal(fake.emails.length, 1);
      assert.equal(fake.emails[0].headers["idempotency-key"], "lead-1/alert");
      assert.notEqual((await sendEmail(fake, EMAIL, { "idempotency-key": "lead-2/alert" })).body.id, first.body.id);
      assert.equal(fake.emails.length, 2);
      assert.deepEqual(fake.violations, []);
    }));

  test("failNext: a 500, then the retry with the same Idempotency-Key goes through", TIMEOUT, () =>
    withEmail(async (fake) => {
      fake.failNext();
      const key = { "idempotency-key": "lead-1/alert" };
      const failed = await sendEmail(fake, EMAIL, key);
      assert.equal(failed.status, 500);
      assert.equal(failed.body.name, "application_error");
      assert.equal((await sendEmail(fake, EMAIL, key)).status, 200);
      assert.equal(fake.emails.length, 1);
      assert.deepEqual(fake.violations, []);
    }));
});

// ---- Resend: what it refuses, with Resend's answer and a violation

describe("email fake refuses", () => {
  const { subject, ...noSubject } = EMAIL;
  const email = (body, headers) => (fake) => sendEmail(fake, body, headers);
  const raw = (init) => (fake) => send(`${fake.url}/emails`, init);
  const formBody = email(new URLSearchParams(EMAIL).toString(), { "content-type": "application/x-www-form-urlencoded" });
  const tag = (fields) => email({ ...EMAIL, tags: [{ name: "kind", value: "lead", ...fields }] });
  const keyed = (key) => ({ "idempotency-key": key });
  /** The HTTP status of each error, from Resend's error reference. */
  const STATUS = {
    validation_error: 400,
    invalid_idempotency_key: 400,
    missing_api_key: 401,
    invalid_api_key: 403,
    method_not_allowed: 405,
    invalid_idempotent_request: 409,
    missing_required_field: 422,
  };
  const reused = async (fake) => {
    await sendEmail(fake, EMAIL, keyed("k1"));
    return sendEmail(fake, { ...EMAIL, subject: "Other" }, keyed("k1"));
  };
  // [what is wrong, the call, Resend's error, the violation, emails sent before it]
  const rows = [
    ["an email without subject", email(noSubject), "missing_required_field", /missing required field `subject`/],
    ["an email with an unknown field", email({ ...EMAIL, priority: "high" }), "validation_error", /body\.priority: not/],
    ["a number for `to`", email({ ...EMAIL, to: 42 }), "validation_error", /body\.to: must match exactly one of 2/],
    ["51 recipients", email({ ...EMAIL, to: Array(51).fill("a@example.com") }), "validation_error", /51 items, at most 50/],
    ["an unknown field in a tag", tag({ colour: "red" }), "validation_error", /tags\[0\]\.colour: not a field/],
    ["a tag value with a space", tag({ value: "lead alert" }), "validation_error", /tags\[0\]\.value: only ASCII/],
    ["a template beside html", email({ ...EMAIL, template: { id: "t" } }), "validation_error", /`template` excludes/],
    [
      "no Authorization header",
      raw({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(EMAIL) }),
      "missing_api_key",
      /no Authorization: Bearer/,
    ],
    ["a wrong API key", email(EMAIL, bearer("re_wrong")), "invalid_api_key", /not the fake's/],
    ["a form body", formBody, "validation_error", /x-www-form-urlencoded is not one the operation consumes/],
    ["JSON that does not parse", email("{"), "validation_error", /does not parse/],
    ["an Idempotency-Key of 257 characters", email(EMAIL, keyed("k".repeat(257))), "invalid_idempotency_key", /257 char/],
    ["an Idempotency-Key reused with another body", reused, "invalid_idempotent_request", /used before with another body/, 1],
    ["GET /emails", raw({ method: "GET", headers: bearer(API_KEY) }), "method_not_allowed", /only POST/],
  ];
  for (const [name, call, error, why, sent = 0] of rows) {
    test(name, TIMEOUT, () =>
      withEmail(async (fake) => {
        const answer = await call(fake);
        assert.equal(answer.status, STATUS[error]);
        assert.equal(answer.body.statusCode, STATUS[error]);
        assert.equal(answer.body.name, error);
        assert.equal(typeof answer.body.message, "string");
        assert.equal(fake.violations.length, 1, fake.violations.join("\n"));
        assert.match(fake.violations[0], why);
        assert.equal(fake.emails.length, sent);
      }));
  }
});
