// The admin API on real workerd (Miniflare) with real local D1 and KV: the OpenAPI document
// against the routes the Worker answers, configuration upload/history/rollback, listing, reading
// and reassigning leads, dead letters, and the per-client rate limit of lead intake. One fresh
// state folder for the file; the rate-limit window is shortened to 2 s through Worker vars.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { HANDOFF, ROOT, randomToken, startWorker } from "./support/edge.mjs";
import { consented } from "./support/consent.mjs";

const LIMIT = 3;
const WINDOW_SECONDS = 2;
// Failed sign-ins per client and window (seconds).
const AUTH_LIMIT = 3;
const AUTH_WINDOW_SECONDS = 2;
const RATE_LIMIT_KEY = randomToken();

let worker, mf, db, kv, token, scratch, demoToml, seeded;

before(async () => {
  // The real clock: the rate limit's windows are seconds that pass, and nothing here is dated.
  worker = await startWorker({
    testClock: false,
    bindings: {
      RATE_LIMIT_PER_MINUTE: String(LIMIT), RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS), RATE_LIMIT_KEY,
      AUTH_FAILURES_PER_WINDOW: String(AUTH_LIMIT), AUTH_WINDOW_SECONDS: String(AUTH_WINDOW_SECONDS),
    },
  });
  ({ mf, db, kv, adminToken: token } = worker);
  scratch = await mkdtemp(join(tmpdir(), "handoff-admin-"));
  demoToml = await readFile(join(ROOT, "config/demo.toml"), "utf8");
  seeded = JSON.parse(await readFile(join(ROOT, ".build/bundle.json"), "utf8")).version;
});
after(async () => {
  await worker?.dispose();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const call = async (path, { method = "GET", body, headers = {}, auth = true } = {}) => {
  const all = { ...headers };
  if (auth === true) all.authorization = `Bearer ${token}`;
  else {
    if (typeof auth === "string") all.authorization = auth;
    // Each call without the right token from a client of its own, so that only the throttling
    // tests fill a client's window of failed sign-ins.
    all["cf-connecting-ip"] ??= randomIp();
  }
  return worker.json(path, { method, body, headers: all });
};
const sendJson = (path, value, opts = {}) =>
  call(path, { method: "POST", body: JSON.stringify(value), ...opts, headers: { "content-type": "application/json", ...opts.headers } });
const putConfig = (text, contentType = "application/toml", auth = true) =>
  call("/v1/config", { method: "PUT", body: text, headers: { "content-type": contentType }, auth });
// A lead from its own client address, so that only the rate-limit tests share a client.
let clients = 0;
const randomIp = () => `198.51.100.${(clients++ % 250) + 1}`;
const goodLead = (email = `lead${Math.random().toString(36).slice(2)}@example.com`) =>
  consented({ form: "demo", answers: { email, interest: "Pricing", consent: true } });
const postLead = (body = goodLead(), headers = {}) =>
  sendJson("/v1/leads", body, { auth: false, headers: { "cf-connecting-ip": randomIp(), ...headers } });

/** `handoff check` on `text`: its problems as the API reports them. */
async function checkWithCli(name, text) {
  const file = join(scratch, name);
  await writeFile(file, text);
  const output = await new Promise((ok) =>
    execFile(HANDOFF, ["check", file], (error, stdout, stderr) => ok({ code: error?.code ?? 0, text: stdout + stderr })));
  assert.equal(output.code, 1, output.text);
  return output.text.split("\n").flatMap((line) => {
    const m = line.match(/^.*?:(\d+):(\d+): (.*) \[([^\]\s]+)\]$/);
    return m ? [{ code: m[4], message: m[3], line: Number(m[1]), column: Number(m[2]) }] : [];
  });
}

const withTitle = (title) => demoToml.replace('title = "Talk to Northwind Cloud"', `title = ${JSON.stringify(title)}`);

describe("openapi", { timeout: 60_000 }, () => {
  const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
  const BAD_IDS = { id: "no-such-id" };
  // A request for each documented operation that the Worker can answer without other set-up.
  const requestFor = (method, path) => {
    const url = path.replace(/\{(\w+)\}/g, (_, name) => (path.startsWith("/v1/forms") ? "demo" : BAD_IDS[name]));
    if (method === "POST" && path === "/v1/leads") return [url, { method, body: JSON.stringify(goodLead()), headers: { "content-type": "application/json", "cf-connecting-ip": randomIp() } }];
    if (method === "PUT") return [url, { method, body: demoToml, headers: { "content-type": "application/toml" } }];
    if (method === "POST" && path.endsWith("/reassign")) return [url, { method, body: JSON.stringify({ owner_kind: "queue", owner_id: "sdr_triage", reason: "test" }), headers: { "content-type": "application/json" } }];
    if (path === "/v1/profile") return [`${url}?visitor=${"v".repeat(20)}`, { method }];
    if (method === "OPTIONS") return [url, { method, headers: { origin: "https://www.northwind.example", "access-control-request-method": "POST" } }];
    return [url, { method }];
  };

  test("the document is OpenAPI 3.1 and every operation answers one of its documented statuses", async () => {
    const r = await call("/v1/openapi.json", { auth: false });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type"), /^application\/json/);
    const doc = r.json;
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(typeof doc.info.title, "string");
    assert.equal(typeof doc.info.version, "string");
    for (const role of ["admin", "reports"]) {
      assert.equal(doc.components.securitySchemes[role].scheme, "bearer");
      assert.match(doc.components.securitySchemes[role].description, new RegExp(`${role.toUpperCase()}_TOKEN`));
    }
    const paths = Object.entries(doc.paths);
    assert.ok(paths.length >= 10);
    let operations = 0;
    for (const [path, item] of paths) {
      for (const [lower, op] of Object.entries(item)) {
        const method = lower.toUpperCase();
        assert.ok(METHODS.includes(method), `${method} ${path}`);
        operations++;
        const documented = Object.keys(op.responses);
        const schemes = (op.security ?? []).map((s) => Object.keys(s)[0]).join();
        const admin = schemes === "admin" || schemes === "reports,admin";
        const [url, init] = requestFor(method, path);
        // Every error a documented operation can give is documented with an error schema.
        for (const [code, response] of Object.entries(op.responses)) {
          // A page a person opens (the claim link) answers HTML, never JSON.
          if (Number(code) < 400 || response.content?.["text/html"]) continue;
          const resolved = doc.components.responses[response.$ref?.replace("#/components/responses/", "")];
          const schema = resolved?.content?.["application/json"]?.schema?.$ref;
          assert.ok(["#/components/schemas/Error", "#/components/schemas/ConfigInvalid"].includes(schema), `${method} ${path} ${code}`);
        }
        const authorized = await call(url, { ...init, auth: admin });
        assert.ok(documented.includes(String(authorized.status)), `${method} ${path}: ${authorized.status} ${authorized.text} not in ${documented}`);
        if (admin) {
          assert.ok(documented.includes("401"), `${method} ${path} documents 401`);
          assert.ok(documented.includes("429"), `${method} ${path} documents 429`);
          const anonymous = await call(url, { ...init, auth: false });
          assert.equal(anonymous.status, 401, `${method} ${path} without a token`);
          assert.equal(anonymous.json.error.code, "unauthorized");
          const wrong = await call(url, { ...init, auth: `Bearer ${token}x` });
          assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
          // The reports token opens the reports routes, and only them.
          const reports = await call(url, { ...init, auth: `Bearer ${worker.reportsToken}` });
          if (schemes === "admin") assert.equal(reports.status, 401, `${method} ${path} with the reports token`);
          else assert.equal(reports.status, authorized.status, `${method} ${path} with the reports token`);
        }
        // Every failure body has the documented error shape.
        if (authorized.status >= 400 && !op.responses[authorized.status].content?.["text/html"]) {
          assert.equal(typeof authorized.json.error.code, "string");
        }
      }
      // Every method the path does not document is a 405 with the error shape.
      for (const method of METHODS.filter((m) => !(m.toLowerCase() in item))) {
        const [url] = requestFor(method, path);
        const r = await call(url, { method, body: method === "GET" ? undefined : "{}" });
        assert.equal(r.status, 405, `${method} ${path}`);
        assert.equal(r.json.error.code, "method_not_allowed");
      }
    }
    assert.ok(operations >= 16, `${operations} operations`);
    // And what is not documented at all is a 404.
    assert.equal((await call("/v1/leads/x/y")).status, 404);
    assert.equal((await call("/v1/config/history")).status, 404);
  });
});

describe("configuration", { timeout: 120_000 }, () => {
  test("a freshly seeded edge has one active version and nothing to roll back to", async () => {
    const r = await call("/v1/config");
    assert.equal(r.status, 200);
    const { forms, ...rest } = r.json;
    assert.deepEqual(rest, { active: seeded, history: [{ version: seeded, activated_at: null }] });
    // The active forms with their questions: what a lead tried on the dashboard answers.
    assert.deepEqual(forms.map((f) => f.id), ["demo"]);
    const fields = Object.fromEntries(forms[0].fields.map((f) => [f.id, f]));
    assert.deepEqual(fields.email, { id: "email", label: "Work email", type: "email", required: true, options: [] });
    assert.deepEqual(fields.interest.options, ["A demo", "Pricing", "Just exploring"]);
    assert.equal(fields.consent.type, "consent");
    const rollback = await call("/v1/config/rollback", { method: "POST" });
    assert.equal(rollback.status, 409);
    assert.equal(rollback.json.error.code, "no_previous");
  });

  test("uploading the active configuration again changes nothing", async () => {
    const r = await putConfig(demoToml);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { version: seeded, previous: seeded, changed: false });
    assert.equal((await call("/v1/config")).json.history.length, 1);
  });

  // (file name, TOML from the demo's): each is refused with exactly the problems `handoff check` prints.
  const bad = [
    ["syntax.toml", () => '[[forms]\nid = "demo"\n'],
    ["wrong-type.toml", (demo) => demo.replace("max_new_questions = 2", 'max_new_questions = "two"')],
    ["several.toml", (demo) => demo
      .replace(`visible_if = 'interest in ["A demo", "Pricing"]'`, `visible_if = 'nosuch == "x"'`)
      .replace('id = "email"', 'id = "Email Address"')],
    // Regression (issue 21): a CRM intake could name the admin token as its secret.
    ["reserved-secret.toml", (demo) => `${demo}
[[crm.intakes]]
id = "vendor"
secret = "ADMIN_TOKEN"
email = "/email"
event = "/type"
[crm.intakes.events]
"email.sent" = "contacted"
`],
  ];
  for (const [name, make] of bad) {
    test(`a bad configuration (${name}) is a 422 with the problems handoff check reports, and changes nothing`, async () => {
      const text = make(demoToml);
      const expected = await checkWithCli(name, text);
      assert.ok(expected.length >= 1);
      const r = await putConfig(text, "text/plain; charset=utf-8");
      assert.equal(r.status, 422, r.text);
      assert.equal(r.json.error.code, "config_invalid");
      assert.deepEqual(r.json.error.problems, expected);
      if (name === "reserved-secret.toml") assert.deepEqual(expected.map((p) => p.code), ["config.reserved_secret"]);
      assert.equal((await call("/v1/config")).json.active, seeded);
    });
  }

  test("uploads are refused without the token, in another media type, or over 256 KB", async () => {
    for (const [auth, status] of [[false, 401], [`Bearer ${token}0`, 401], [`Basic ${token}`, 401]]) {
      assert.equal((await putConfig(demoToml, "application/toml", auth)).status, status);
    }
    const json = await putConfig(demoToml, "application/json");
    assert.equal(json.status, 415);
    assert.equal(json.json.error.code, "unsupported_media_type");
    const huge = await putConfig(`${demoToml}\n${"# padding\n".repeat(27_000)}`);
    assert.equal(huge.status, 413);
    assert.equal(huge.json.error.code, "body_too_large");
    assert.equal((await call("/v1/config")).json.active, seeded);
  });

  test("a new configuration is served at once, and rollback serves the earlier one again", async () => {
    const started = Date.now();
    const up = await putConfig(withTitle("Talk to us, version two"));
    assert.equal(up.status, 200, up.text);
    const second = up.json.version;
    assert.match(second, /^sha256:[0-9a-f]{16}$/);
    assert.deepEqual(up.json, { version: second, previous: seeded, changed: true });
    let form = await call("/v1/forms/demo", { auth: false });
    assert.equal(form.json.bundle_version, second);
    assert.equal(form.json.form.title, "Talk to us, version two");
    assert.equal(JSON.parse(await kv.get(`bundle/${second}`)).version, second);

    const history = (await call("/v1/config")).json;
    assert.equal(history.active, second);
    assert.deepEqual(history.history.map((h) => h.version), [second, seeded]);
    assert.ok(Number.isInteger(history.history[0].activated_at));
    assert.ok(history.history[0].activated_at >= started && history.history[0].activated_at <= Date.now());
    assert.doesNotMatch((await call("/v1/config")).text, /"activated_at":\d+\./);

    // Without a body: back to the previous version.
    const back = await call("/v1/config/rollback", { method: "POST" });
    assert.equal(back.status, 200, back.text);
    assert.deepEqual(back.json, { version: seeded, previous: second, changed: true });
    form = await call("/v1/forms/demo", { auth: false });
    assert.equal(form.json.bundle_version, seeded);
    assert.equal(form.json.form.title, "Talk to Northwind Cloud");
    // A lead is now judged by the rolled-back bundle.
    const lead = await postLead();
    assert.equal(lead.status, 201, lead.text);
    assert.equal(lead.json.bundle_version, seeded);
    assert.deepEqual((await call("/v1/config")).json.history.map((h) => h.version), [seeded, second, seeded]);

    // To a named version.
    const forward = await sendJson("/v1/config/rollback", { version: second });
    assert.deepEqual(forward.json, { version: second, previous: seeded, changed: true });
    assert.equal((await call("/v1/forms/demo", { auth: false })).json.bundle_version, second);

    for (const [body, status, code] of [
      [JSON.stringify({ version: "sha256:0000000000000000" }), 404, "unknown_version"],
      ["{not json", 400, "bad_json"],
      [JSON.stringify({ other: 1 }), 400, "bad_json"],
    ]) {
      const r = await call("/v1/config/rollback", { method: "POST", body, headers: { "content-type": "application/json" } });
      assert.equal(r.status, status, r.text);
      assert.equal(r.json.error.code, code);
    }
    assert.equal((await call("/v1/config")).json.active, second);
    const back2 = await call("/v1/config/rollback", { method: "POST" });
    assert.equal(back2.json.version, seeded);
  });

  test("history keeps the last 50 activations and deletes bundles nothing names any more", async () => {
    const versions = [];
    for (let i = 0; i < 52; i++) {
      const r = await putConfig(withTitle(`Title ${i}`));
      assert.equal(r.status, 200, r.text);
      versions.push(r.json.version);
    }
    const { json } = await call("/v1/config");
    assert.equal(json.history.length, 50);
    assert.deepEqual(json.history.map((h) => h.version), versions.slice(2).reverse());
    assert.equal(json.active, versions.at(-1));
    // The seeded bundle and the first two uploads fell out of history: their bundles are gone.
    for (const gone of [seeded, versions[0], versions[1]]) assert.equal(await kv.get(`bundle/${gone}`), null, gone);
    for (const kept of versions.slice(2)) assert.notEqual(await kv.get(`bundle/${kept}`), null, kept);
    // Back to the demo configuration for the tests that follow.
    const restore = await putConfig(demoToml);
    assert.equal(restore.json.version, seeded);
    assert.equal((await call("/v1/forms/demo", { auth: false })).json.bundle_version, seeded);
  });
});

describe("leads", { timeout: 60_000 }, () => {
  // Leads created far in the future, so that `since` isolates them from every other test's.
  const T = 4_000_000_000_000;
  const rows = [];
  before(async () => {
    const times = [T, T, T, T + 1, T + 1, T + 2, T + 3, T + 3, T + 3, T + 4, T + 5];
    const statements = times.map((at, i) => {
      const row = {
        id: `lead-${String(i).padStart(2, "0")}-${crypto.randomUUID().slice(0, 8)}`,
        at,
        lifecycle: i % 3 === 0 ? "mql" : "sql",
        owner: i % 4 === 0 ? "ana" : null,
      };
      rows.push(row);
      return db.prepare(
        "INSERT INTO leads (id, form_id, answers, bundle_version, created_at, lifecycle, owner_kind, owner_id) VALUES (?1, 'demo', '{}', ?2, ?3, ?4, ?5, ?6)",
      ).bind(row.id, seeded, at, row.lifecycle, row.owner ? "owner" : null, row.owner);
    });
    await db.batch(statements);
  });
  const newestFirst = (list) => [...list].sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).map((r) => r.id);

  async function allPages(query, limit) {
    const ids = [];
    let cursor = null;
    let pages = 0;
    do {
      const r = await call(`/v1/leads?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.leads.length <= limit);
      ids.push(...r.json.leads.map((l) => l.id));
      cursor = r.json.next_cursor;
      pages++;
      assert.ok(pages < 50);
    } while (cursor);
    return { ids, pages };
  }

  test("pages of leads, newest first, cover every lead once, ties included", async () => {
    const { ids, pages } = await allPages(`since=${T}`, 3);
    assert.equal(pages, 4);
    assert.deepEqual(ids, newestFirst(rows));
    const one = await call(`/v1/leads?since=${T}&limit=100`);
    assert.deepEqual(one.json.leads.map((l) => l.id), newestFirst(rows));
    assert.equal(one.json.next_cursor, null);
    const first = one.json.leads[0];
    assert.deepEqual(Object.keys(first).sort(), ["created_at_ms", "disqualify_reason", "email", "form", "grade", "id",
      "lifecycle", "owner_id", "owner_kind", "score", "status"]);
    assert.equal(first.created_at_ms, T + 5);
    assert.equal(first.status, "new");
  });

  test("filters by lifecycle and owner, paginated", async () => {
    const mql = await allPages(`since=${T}&lifecycle=mql`, 2);
    assert.deepEqual(mql.ids, newestFirst(rows.filter((r) => r.lifecycle === "mql")));
    assert.ok(mql.pages > 1);
    const ana = await allPages(`since=${T}&owner=ana`, 1);
    assert.deepEqual(ana.ids, newestFirst(rows.filter((r) => r.owner === "ana")));
    // Without `since` the newest leads come first whatever else is stored.
    const latest = await call("/v1/leads?limit=2");
    assert.deepEqual(latest.json.leads.map((l) => l.id), newestFirst(rows).slice(0, 2));
  });

  test("bad list parameters are a 400 bad_query", async () => {
    for (const query of ["limit=0", "limit=101", "limit=ten", "lifecycle=hot", "owner=Not%20An%20Id", "since=yesterday",
      "cursor=nonsense", "cursor=12_", `cursor=x_${"a".repeat(10)}`]) {
      const r = await call(`/v1/leads?${query}`);
      assert.equal(r.status, 400, query);
      assert.equal(r.json.error.code, "bad_query", query);
    }
    assert.equal((await call("/v1/leads", { auth: false })).status, 401);
  });

  test("a lead is read with its owner and its events in order", async () => {
    const created = await postLead();
    assert.equal(created.status, 201, created.text);
    const r = await call(`/v1/leads/${created.json.id}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.id, created.json.id);
    // Owned the moment it was stored, with the routing decision as its second event.
    const stored = await db.prepare("SELECT owner_kind, owner_id FROM leads WHERE id = ?1").bind(created.json.id).first();
    assert.ok(["owner", "queue"].includes(r.json.owner_kind));
    assert.deepEqual([r.json.owner_kind, r.json.owner_id], [stored.owner_kind, stored.owner_id]);
    assert.equal(r.json.status, "new");
    assert.equal(r.json.merged_into, null);
    assert.deepEqual(r.json.events.map((e) => [e.kind, e.actor]), [["created", "system"], ["routed", "system"]]);
    assert.equal(r.json.events[1].detail.summary.length > 0, true);
    // Events come in the order they were appended (seq), whatever their times say.
    await db.batch([
      db.prepare("INSERT INTO lead_events (lead_id, at, kind, actor, detail) VALUES (?1, 2, 'noted', 'admin', '{\"note\":\"x\"}')").bind(created.json.id),
      db.prepare("INSERT INTO lead_events (lead_id, at, kind) VALUES (?1, 1, 'touched')").bind(created.json.id),
    ]);
    const again = await call(`/v1/leads/${created.json.id}`);
    assert.deepEqual(again.json.events.slice(2).map((e) => [e.kind, e.actor, e.at_ms, e.detail]),
      [["noted", "admin", 2, { note: "x" }], ["touched", "system", 1, {}]]);
    assert.ok(again.json.events[2].seq < again.json.events[3].seq);
    assert.equal((await call("/v1/leads/no-such-lead")).json.error.code, "lead_not_found");
  });

  test("reassigning updates the owner and appends one event, from and to", async () => {
    const id = rows[1].id;
    const first = await sendJson(`/v1/leads/${id}/reassign`, { owner_kind: "queue", owner_id: "sdr_triage", reason: "  Territory\nchange " });
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.json, { id, owner_kind: "queue", owner_id: "sdr_triage" });
    const second = await sendJson(`/v1/leads/${id}/reassign`, { owner_kind: "owner", owner_id: "maya", reason: "Named account" });
    assert.equal(second.status, 200, second.text);
    const lead = (await call(`/v1/leads/${id}`)).json;
    assert.equal(lead.owner_kind, "owner");
    assert.equal(lead.owner_id, "maya");
    assert.ok(lead.updated_at_ms > 0);
    assert.deepEqual(lead.events.map((e) => [e.kind, e.actor, e.detail]), [
      ["reassigned", "admin", { from: { kind: null, id: null }, to: { kind: "queue", id: "sdr_triage" }, reason: "Territory change" }],
      ["reassigned", "admin", { from: { kind: "queue", id: "sdr_triage" }, to: { kind: "owner", id: "maya" }, reason: "Named account" }],
    ]);
  });

  test("a refused reassignment changes nothing", async () => {
    const id = rows[2].id;
    // (body, status, code)
    const cases = [
      [{ owner_kind: "owner", owner_id: "Ana Lopez", reason: "x" }, 422, "unknown_owner"],
      [{ owner_kind: "owner", owner_id: "", reason: "x" }, 422, "unknown_owner"],
      // Well formed, but not an owner of the configuration's routing (a queue's id is not an owner).
      [{ owner_kind: "owner", owner_id: "nobody", reason: "x" }, 422, "unknown_owner"],
      [{ owner_kind: "owner", owner_id: "sdr_triage", reason: "x" }, 422, "unknown_owner"],
      [{ owner_kind: "team", owner_id: "maya", reason: "x" }, 400, "bad_body"],
      [{ owner_kind: "owner", owner_id: "maya", reason: "x".repeat(501) }, 400, "bad_body"],
      [{ owner_id: "maya" }, 400, "bad_json"],
      ["{", 400, "bad_json"],
    ];
    for (const [body, status, code] of cases) {
      const r = await call(`/v1/leads/${id}/reassign`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.error.code, code);
    }
    const lead = (await call(`/v1/leads/${id}`)).json;
    assert.equal(lead.owner_id, null);
    assert.deepEqual(lead.events, []);
    const unknown = await sendJson("/v1/leads/no-such-lead/reassign", { owner_kind: "owner", owner_id: "maya", reason: "x" });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, "lead_not_found");
    const { n } = await db.prepare("SELECT COUNT(*) AS n FROM lead_events WHERE lead_id = 'no-such-lead'").first();
    assert.equal(n, 0);
    assert.equal((await sendJson(`/v1/leads/${id}/reassign`, { owner_kind: "owner", owner_id: "maya" }, { auth: false })).status, 401);
  });
});

describe("dead letters", { timeout: 60_000 }, () => {
  let lead;
  before(async () => {
    lead = (await postLead()).json.id;
    const insert = (id, state, attempts, created) =>
      db.prepare(
        "INSERT INTO outbox (id, lead_id, channel, kind, payload, state, attempts, next_at, created_at, last_error) VALUES (?1, ?2, 'sales-slack', 'slack', '{}', ?3, ?4, 0, ?5, ?6)",
      ).bind(id, lead, state, attempts, created, state === "dead" ? "http_500" : null);
    await db.batch([insert("dl-old", "dead", 8, 1000), insert("dl-new", "dead", 9, 2000), insert("pending-1", "pending", 1, 3000),
      insert("delivered-1", "delivered", 1, 4000)]);
  });

  test("only dead notifications are listed, newest first", async () => {
    const r = await call("/v1/dead-letters");
    assert.equal(r.status, 200);
    assert.match(r.text, /"attempts":9,"created_at":2000,/);
    assert.deepEqual(r.json.dead_letters, [
      { id: "dl-new", lead_id: lead, channel: "sales-slack", kind: "slack", attempts: 9, created_at: 2000, last_error: "http_500" },
      { id: "dl-old", lead_id: lead, channel: "sales-slack", kind: "slack", attempts: 8, created_at: 1000, last_error: "http_500" },
    ]);
    assert.deepEqual((await call("/v1/dead-letters?limit=1")).json.dead_letters.map((d) => d.id), ["dl-new"]);
    assert.equal((await call("/v1/dead-letters?limit=500")).status, 400);
    assert.equal((await call("/v1/dead-letters", { auth: false })).status, 401);
    // Health warns of them, by count, for anyone watching the Worker.
    const health = (await call("/v1/health", { auth: false })).json;
    assert.equal(health.dead_letters, 2);
    assert.ok(health.warnings.some((w) => w.code === "dead_letters_waiting" && w.message.startsWith("2 ")), JSON.stringify(health.warnings));
  });

  test("a retry queues the dead letter again, due now, and records it on the lead", async () => {
    const started = Date.now();
    const r = await call("/v1/dead-letters/dl-old/retry", { method: "POST" });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { id: "dl-old", state: "pending" });
    const row = await db.prepare("SELECT state, attempts, next_at FROM outbox WHERE id = 'dl-old'").first();
    assert.equal(row.state, "pending");
    assert.equal(row.attempts, 8);
    assert.ok(row.next_at >= started && row.next_at <= Date.now(), String(row.next_at));
    // After the lead's own created and routed events.
    const events = (await call(`/v1/leads/${lead}`)).json.events.filter((e) => e.actor === "admin");
    assert.deepEqual(events.map((e) => [e.kind, e.actor, e.detail]),
      [["retry_requested", "admin", { outbox_id: "dl-old", channel: "sales-slack", attempts: 8 }]]);
    assert.deepEqual((await call("/v1/dead-letters")).json.dead_letters.map((d) => d.id), ["dl-new"]);
    // Not dead (any more), or unknown: 404, and nothing recorded.
    for (const id of ["dl-old", "pending-1", "delivered-1", "nope"]) {
      const again = await call(`/v1/dead-letters/${id}/retry`, { method: "POST" });
      assert.equal(again.status, 404, id);
      assert.equal(again.json.error.code, "dead_letter_not_found");
    }
    assert.equal((await call(`/v1/leads/${lead}`)).json.events.filter((e) => e.actor === "admin").length, 1);
    assert.equal((await call("/v1/dead-letters/dl-new/retry", { method: "POST", auth: false })).status, 401);
  });
});

describe("rate limit", { timeout: 60_000 }, () => {
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");
  // The client's key as the Worker derives it (handoff_core::client): HMAC-SHA-256 of its network
  // under a key for the UTC day, itself the HMAC of the day under RATE_LIMIT_KEY.
  const clientKey = (network, ms = Date.now()) => {
    const dayKey = createHmac("sha256", RATE_LIMIT_KEY).update(`handoff client day ${Math.floor(ms / 86_400_000)}`).digest();
    return createHmac("sha256", dayKey).update(network).digest("hex");
  };
  // Starts a burst early in a window, so that it cannot straddle two.
  const windowStart = async (seconds = WINDOW_SECONDS) => {
    const ms = seconds * 1000;
    while (Date.now() % ms > 200) await new Promise((r) => setTimeout(r, 20));
  };

  test(`a client gets ${LIMIT} submissions per window, then 429 with Retry-After, then the next window`, async () => {
    const ip = "203.0.113.7";
    await windowStart();
    const keyed = { "idempotency-key": crypto.randomUUID() };
    const body = goodLead();
    const first = await postLead(body, { "cf-connecting-ip": ip, ...keyed });
    assert.equal(first.status, 201, first.text);
    for (let i = 1; i < LIMIT; i++) assert.equal((await postLead(goodLead(), { "cf-connecting-ip": ip })).status, 201);
    const limited = await postLead(goodLead(), { "cf-connecting-ip": ip });
    assert.equal(limited.status, 429, limited.text);
    assert.equal(limited.json.error.code, "rate_limited");
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= WINDOW_SECONDS, String(retryAfter));
    // Another client is not affected; a retry of a stored submission still gets its first answer.
    assert.equal((await postLead(goodLead(), { "cf-connecting-ip": "203.0.113.8" })).status, 201);
    const replay = await postLead(body, { "cf-connecting-ip": ip, ...keyed });
    assert.equal(replay.status, 201);
    assert.equal(replay.text, first.text);
    // Nothing of the refused submissions was stored.
    const { n } = await db.prepare("SELECT COUNT(*) AS n FROM leads WHERE json_extract(answers, '$.email') = ?1")
      .bind(body.answers.email).first();
    assert.equal(n, 1);
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 50));
    const next = await postLead(goodLead(), { "cf-connecting-ip": ip });
    assert.equal(next.status, 201, next.text);
  });

  test("malformed, invalid and oversized submissions count like any other, before their body is read", async () => {
    const ip = "203.0.113.9";
    await windowStart();
    const refused = [
      ["{not json", "application/json", 400],
      [JSON.stringify({ form: "demo", answers: { email: "nobody@" } }), "application/json", 422],
      [JSON.stringify(goodLead()), "text/plain", 415],
    ];
    for (const [body, type, status] of refused) {
      const r = await call("/v1/leads", { method: "POST", body, auth: false, headers: { "content-type": type, "cf-connecting-ip": ip } });
      assert.equal(r.status, status, r.text);
    }
    const limited = await postLead(goodLead(), { "cf-connecting-ip": ip });
    assert.equal(limited.status, 429, limited.text);
    // Over the limit, even a body over the cap is answered 429: it is never read.
    const huge = await call("/v1/leads", { method: "POST", body: "x".repeat(40_000), auth: false,
      headers: { "content-type": "application/json", "cf-connecting-ip": ip } });
    assert.equal(huge.status, 429);
  });

  test("the addresses of one IPv6 /64 are one client; the next /64 is another", async () => {
    await windowStart();
    for (let i = 1; i <= LIMIT; i++) {
      assert.equal((await postLead(goodLead(), { "cf-connecting-ip": `2001:db8:5:6::${i}` })).status, 201);
    }
    const sameNetwork = await postLead(goodLead(), { "cf-connecting-ip": "2001:db8:5:6:ffff:1:2:3" });
    assert.equal(sameNetwork.status, 429, sameNetwork.text);
    assert.equal((await postLead(goodLead(), { "cf-connecting-ip": "2001:db8:5:7::1" })).status, 201);
  });

  test("the client is stored as a keyed hash of its network, never the address or its plain hash", async () => {
    const ip = "203.0.113.7";
    const { results } = await db.prepare("SELECT key, count FROM rate_limits").all();
    assert.ok(results.length > 0);
    assert.ok(results.every((r) => /^(lead|auth):[0-9a-f]{64}$/.test(r.key)), JSON.stringify(results));
    assert.ok(results.every((r) => !r.key.includes(ip) && !r.key.includes(sha256(ip))));
    assert.ok(results.some((r) => r.key === `lead:${clientKey(ip)}`));
    assert.ok(results.some((r) => r.key === `lead:${clientKey("2001:db8:5:6::/64")}`));
  });

  // Miniflare sets CF-Connecting-IP to 127.0.0.1 on requests that do not send their own (the
  // Worker's "unknown" for requests without one is covered by the unit tests of handoff_core::client).
  test("requests without their own CF-Connecting-IP share one client", async () => {
    await windowStart();
    const plain = () => sendJson("/v1/leads", goodLead(), { auth: true });
    for (let i = 0; i < LIMIT; i++) assert.equal((await plain()).status, 201);
    assert.equal((await plain()).status, 429);
    const { count } = await db.prepare("SELECT MAX(count) AS count FROM rate_limits WHERE key = ?1").bind(`lead:${clientKey("127.0.0.1")}`).first();
    assert.equal(count, LIMIT + 1);
  });

  test(`${AUTH_LIMIT} failed sign-ins fill a client's window: then even the right token waits, other clients do not`, async () => {
    const ip = "192.0.2.77";
    await windowStart(AUTH_WINDOW_SECONDS);
    const from = (auth, path = "/v1/metrics") => call(path, { auth, headers: { "cf-connecting-ip": ip } });
    for (let i = 0; i < AUTH_LIMIT; i++) {
      // Near misses that can never be the token itself (a replaced last character could be).
      const wrong = await from(i === 0 ? false : `Bearer ${token}${i}`);
      assert.equal(wrong.status, 401, wrong.text);
    }
    const right = await from(true, "/v1/config");
    assert.equal(right.status, 429, right.text);
    assert.equal(right.json.error.code, "too_many_attempts");
    const retryAfter = Number(right.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= AUTH_WINDOW_SECONDS, String(retryAfter));
    assert.equal((await call("/v1/config", { headers: { "cf-connecting-ip": "192.0.2.78" } })).status, 200);
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 50));
    assert.equal((await from(true, "/v1/config")).status, 200);
  });

  test("the scheduled handler deletes windows that have ended", async () => {
    await new Promise((r) => setTimeout(r, WINDOW_SECONDS * 1000 + 50));
    const cutoff = Date.now();
    const ended = "SELECT COUNT(*) AS n FROM rate_limits WHERE expires_at < ?1";
    assert.ok((await db.prepare(ended).bind(cutoff).first()).n > 0);
    const result = await (await mf.getWorker()).scheduled({ cron: "* * * * *", scheduledTime: new Date() });
    assert.equal(result.outcome, "ok");
    assert.equal((await db.prepare(ended).bind(cutoff).first()).n, 0);
  });
});

describe("tokens", { timeout: 60_000 }, () => {
  test("a short token is refused at start-up, a token stored as its SHA-256 works, and health says what to fix", async () => {
    const reports = randomToken();
    const misconfigured = await startWorker({
      adminToken: "short-admin-token",
      reportsToken: null,
      bindings: { REPORTS_TOKEN_SHA256: createHash("sha256").update(reports).digest("hex") },
    });
    try {
      const now = Date.now();
      const ask = (path, auth) => misconfigured.json(path, { now, headers: auth ? { authorization: `Bearer ${auth}` } : {} });
      const short = await ask("/v1/config", "short-admin-token");
      assert.equal(short.status, 503, short.text);
      assert.equal(short.json.error.code, "token_too_short");
      assert.equal((await ask("/v1/metrics", reports)).status, 200);
      assert.equal((await ask("/v1/config", reports)).status, 503);
      assert.equal((await ask("/v1/metrics", "short-admin-token")).status, 401);
      const health = (await ask("/v1/health")).json;
      assert.equal(health.ok, true);
      const warned = health.warnings.map((w) => `${w.code} ${w.message.split(" ").slice(0, 3).join(" ")}`);
      assert.deepEqual(warned, [
        "secret_missing The secret LINK_SECRET",
        "token_too_short The secret ADMIN_TOKEN",
        "public_url_default PUBLIC_URL is not",
        "cron_stalled The cron has",
      ]);
      assert.ok(!JSON.stringify(health).includes("short-admin-token") && !JSON.stringify(health).includes(reports));
      // A tick silences the cron's warning; five quiet minutes later it is back.
      await misconfigured.tick(now);
      assert.ok(!(await ask("/v1/health")).json.warnings.some((w) => w.code === "cron_stalled"));
      const later = await misconfigured.json("/v1/health", { now: now + 5 * 60_000 + 1 });
      assert.ok(later.json.warnings.some((w) => w.code === "cron_stalled"), later.text);
    } finally {
      await misconfigured.dispose();
    }
  });
});
