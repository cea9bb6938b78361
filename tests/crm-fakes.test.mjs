// The loopback fakes of HubSpot's CRM API and Salesforce's REST API (tests/support/hubspot-fake.mjs,
// salesforce-fake.mjs): they accept the calls the Worker makes and what else the descriptions allow,
// refuse the rest with the vendor's answer, and every refusal (and only a refusal) lands in
// `violations`; their answers fit the descriptions; failNext and down answer as the vendors do when
// limited or down. Plain fetch, no build: each test starts its own fake on loopback and closes it.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { startHubspotFake } from "./support/hubspot-fake.mjs";
import { recordId, startSalesforceFake } from "./support/salesforce-fake.mjs";
import { loadFixture, resolve, validate } from "./support/spec.mjs";

const TOKEN = "pat-na1-test-token";
const OWNER = { id: "201", email: "alice@example.com", firstName: "Alice", lastName: "Able" };
const CLIENT = { clientId: "3MVG9-handoff", clientSecret: "handoff-secret" };
const USER = recordId("005", 42);
const QUEUE = recordId("00G", 7);
const EXTERNAL_ID = "Handoff_Lead_Id__c";
/** Bounds every test; each request also gives up after REQUEST_MS. */
const TIMEOUT = { timeout: 10_000 };
const REQUEST_MS = 5_000;

// ---- helpers

async function withHubspot(fn) {
  const fake = await startHubspotFake({ token: TOKEN, owners: [{ ...OWNER }] });
  try {
    return await fn(fake);
  } finally {
    await fake.close();
  }
}

async function withSalesforce(fn) {
  const fake = await startSalesforceFake({ ...CLIENT, users: [{ id: USER }] });
  try {
    return await fn(fake);
  } finally {
    await fake.close();
  }
}

/** A request's answer: status, headers and the JSON body (undefined for none). */
async function send(url, { method = "POST", headers = {}, body } = {}) {
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(REQUEST_MS) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
const JSON_TYPE = { "content-type": "application/json" };

/** A HubSpot call as the Worker makes it: JSON, Bearer token. */
function hubspot(fake, path, body, headers = bearer()) {
  return send(`${fake.url}${path}`, {
    headers: { ...JSON_TYPE, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const UPSERT = "/crm/v3/objects/contacts/batch/upsert";
const SEARCH = "/crm/v3/objects/companies/search";
const COMPANIES = "/crm/v3/objects/companies/batch/create";
const ASSOCIATE = "/crm/v4/associations/contact/company/batch/associate/default";
const TASKS = "/crm/v3/objects/tasks/batch/create";
const TASK_UPDATE = "/crm/v3/objects/tasks/batch/update";
const OWNERS = "/crm/v3/owners/";

/** A contact input as the Worker sends it. */
const contactInput = (email, properties = {}, leadId = "lead-1") => ({
  idProperty: "email",
  id: email,
  objectWriteTraceId: leadId,
  properties: { email, firstname: "Ada", lastname: "Lovelace", ...properties },
});
const upsert = (fake, ...inputs) => hubspot(fake, UPSERT, { inputs });
const searchDomains = (fake, domains) =>
  hubspot(fake, SEARCH, {
    filterGroups: [{ filters: [{ propertyName: "domain", operator: "IN", values: domains }] }],
    properties: ["domain", "name"],
    limit: 100,
  });
const createCompany = (fake, domain, name) =>
  hubspot(fake, COMPANIES, {
    inputs: [{ objectWriteTraceId: domain, associations: [], properties: { domain, ...(name && { name }) } }],
  });
const associate = (fake, contactId, companyId, path = ASSOCIATE) =>
  hubspot(fake, path, { inputs: [{ from: { id: contactId }, to: { id: companyId } }] });
const TASK_PROPERTIES = {
  hs_timestamp: "2026-12-08T10:00:00Z",
  hs_task_subject: "Call Ada Lovelace (Acme)",
  hs_task_body: "Score 87. Wants a demo.",
  hubspot_owner_id: OWNER.id,
  hs_task_status: "NOT_STARTED",
  hs_task_priority: "HIGH",
  hs_task_type: "CALL",
};
const TO_CONTACT = [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 204 }];
const taskInput = (contactId, properties = {}, types = TO_CONTACT) => ({
  objectWriteTraceId: "lead-1",
  properties: { ...TASK_PROPERTIES, ...properties },
  associations: [{ to: { id: contactId }, types }],
});
const createTask = (fake, contactId, properties, types) =>
  hubspot(fake, TASKS, { inputs: [taskInput(contactId, properties, types)] });
const updateTask = (fake, id, properties) => hubspot(fake, TASK_UPDATE, { inputs: [{ id, properties }] });
const owners = (fake, query = "") => send(`${fake.url}${OWNERS}${query}`, { method: "GET", headers: bearer() });

/** A contact (1001) and a task on it (9001), as a lead's handoff leaves them. */
async function contactWithTask(fake) {
  await upsert(fake, contactInput("ada@example.com"));
  await createTask(fake, "1001");
}

/** The Salesforce token call as the Worker makes it. */
const CREDENTIALS = {
  grant_type: "client_credentials",
  client_id: CLIENT.clientId,
  client_secret: CLIENT.clientSecret,
};
function sfToken(fake, fields = CREDENTIALS) {
  return send(`${fake.url}/services/oauth2/token`, {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
}

/** A Salesforce API call with a fresh token (or `token`), JSON body. */
async function salesforce(fake, method, path, body, token) {
  const access = token ?? (await sfToken(fake)).body.access_token;
  return send(`${fake.url}/services/data/v61.0${path}`, {
    method,
    headers: { ...JSON_TYPE, ...bearer(access) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const LEAD = { FirstName: "Ada", LastName: "Lovelace", Company: "Acme", Email: "ada@example.com", OwnerId: USER };
const upsertLead = (fake, value, fields = LEAD, token) =>
  salesforce(fake, "PATCH", `/sobjects/Lead/${EXTERNAL_ID}/${encodeURIComponent(value)}`, fields, token);
const SF_TASK = {
  Subject: "Call Ada Lovelace (Acme)",
  Description: "Score 87. Wants a demo.",
  ActivityDate: "2026-12-08",
  ReminderDateTime: "2026-12-08T10:00:00.000Z",
  IsReminderSet: true,
  Status: "Not Started",
  Priority: "High",
  OwnerId: USER,
};
const createSfTask = (fake, whoId, fields = {}, token = undefined) =>
  salesforce(fake, "POST", "/sobjects/Task", { WhoId: whoId, ...SF_TASK, ...fields }, token);

/** A Lead ("lead-1") and a Task on it, as a lead's handoff leaves them. */
async function leadWithTask(fake, token) {
  const { body } = await upsertLead(fake, "lead-1", LEAD, token);
  await createSfTask(fake, body.id, {}, token);
}

/** The success schema of a HubSpot operation: in `fixture`, at `path`, answered with `status`. */
async function hubspotSchema(fixture, path, status, verb = "post") {
  const spec = await loadFixture(fixture);
  return { spec, schema: spec.paths[path][verb].responses[status].content["application/json"].schema };
}

// ---- the hand-written Salesforce description

describe("salesforce-rest.json", () => {
  test("names its pages and date, every $ref resolving, each call with its request and answers", TIMEOUT, async () => {
    const spec = await loadFixture("salesforce-rest.json");
    const { pages, date, note } = spec["x-source"];
    const titles = pages.map((page) => page.title);
    const cited = ["a Record Using an External ID", "sObject Rows", "Create a Record", "Status Codes and Error"];
    for (const title of cited) assert.ok(titles.some((t) => t.includes(title)), title);
    assert.ok(titles.some((t) => t.startsWith("OAuth 2.0 Client Credentials Flow")));
    for (const page of pages) assert.match(page.url, /^https:\/\//);
    assert.match(date, /^\d{4}-\d{2}-\d{2}$/);
    assert.match(note, /Do not specify Id or an external ID field/);
    for (const ref of JSON.stringify(spec).match(/"\$ref":"[^"]+"/g).map((r) => r.slice(8, -1))) {
      assert.doesNotThrow(() => resolve(spec, ref), ref);
    }
    const operations = Object.values(spec.paths).flatMap((verbs) => Object.values(verbs));
    assert.equal(operations.length, 4);
    for (const op of operations) {
      assert.ok(op.requestBody.content, op.summary);
      assert.ok(Object.keys(op.responses).some((status) => status.startsWith("2")), op.summary);
    }
  });
});

// ---- HubSpot: what it accepts

describe("HubSpot fake accepts", () => {
  // [what is right, the calls (the last one's answer is checked), fixture, path in it, status, verb]
  const rows = [
    [
      "a contact upsert as the Worker sends it",
      (f) => upsert(f, contactInput("ada@example.com")),
      "contacts",
      UPSERT,
      200,
    ],
    [
      "an upsert of 100 contacts, an owner, an empty string",
      (f) => {
        const owned = { hubspot_owner_id: "201", fax: "" };
        return upsert(f, ...Array.from({ length: 100 }, (_, i) => contactInput(`c${i}@x.io`, owned)));
      },
      "contacts",
      UPSERT,
      200,
    ],
    ["an empty batch (the description allows it)", (f) => upsert(f), "contacts", UPSERT, 200],
    ["a company search by domains", (f) => searchDomains(f, ["acme.com", "example.org"]), "companies", SEARCH, 200],
    [
      "a search without filters, with paging",
      async (f) => {
        for (const d of ["a.com", "b.com", "c.com"]) await createCompany(f, d);
        return hubspot(f, SEARCH, { filterGroups: [], properties: [], limit: 2, after: "2", sorts: [] });
      },
      "companies",
      SEARCH,
      200,
    ],
    ["a company create", (f) => createCompany(f, "acme.com", "Acme"), "companies", COMPANIES, 201],
    [
      "a default association",
      async (f) => {
        await upsert(f, contactInput("ada@acme.com"));
        await createCompany(f, "acme.com");
        return associate(f, "1001", "5001");
      },
      "associations",
      "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/associate/default",
      200,
    ],
    [
      "a default association by plural object names",
      async (f) => {
        await upsert(f, contactInput("ada@acme.com"));
        await createCompany(f, "acme.com");
        return associate(f, "1001", "5001", "/crm/v4/associations/contacts/companies/batch/associate/default");
      },
      "associations",
      "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/associate/default",
      200,
    ],
    [
      "a task as the Worker creates it",
      async (f) => {
        await upsert(f, contactInput("ada@example.com"));
        return createTask(f, "1001");
      },
      "tasks",
      TASKS,
      201,
    ],
    [
      "a task with hs_timestamp in ms",
      async (f) => {
        await upsert(f, contactInput("ada@example.com"));
        return createTask(f, "1001", { hs_timestamp: "1796724000000" });
      },
      "tasks",
      TASKS,
      201,
    ],
    [
      "a task reassigned and rescheduled",
      async (f) => {
        await contactWithTask(f);
        const changes = { hubspot_owner_id: "201", hs_timestamp: "2026-12-09T09:00:00Z", hs_task_body: "again" };
        return updateTask(f, "9001", changes);
      },
      "tasks",
      TASK_UPDATE,
      200,
    ],
    [
      "a task completed",
      async (f) => {
        await contactWithTask(f);
        return updateTask(f, "9001", { hs_task_status: "COMPLETED" });
      },
      "tasks",
      TASK_UPDATE,
      200,
    ],
    ["the owners list", (f) => owners(f), "owners", "/crm/v3/owners", 200, "get"],
    [
      "the owners list by email, limit and after",
      (f) => owners(f, "?email=ALICE%40example.com&limit=1&after=0"),
      "owners",
      "/crm/v3/owners",
      200,
      "get",
    ],
    [
      "the owners list without the slash",
      (f) => send(`${f.url}/crm/v3/owners?archived=false`, { method: "GET", headers: bearer() }),
      "owners",
      "/crm/v3/owners",
      200,
      "get",
    ],
  ];
  for (const [name, call, fixture, path, status, verb] of rows) {
    test(name, TIMEOUT, () =>
      withHubspot(async (fake) => {
        const answer = await call(fake);
        assert.equal(answer.status, status, JSON.stringify(answer.body));
        const { spec, schema } = await hubspotSchema(`hubspot-${fixture}.json`, path, status, verb);
        // Checked here too, not only by the fake itself.
        assert.deepEqual(validate(schema, answer.body, spec), []);
        assert.deepEqual(fake.violations, []);
      }));
  }

  test("an upsert creates, then updates the same contact by email in any case", TIMEOUT, () =>
    withHubspot(async (fake) => {
      const created = await upsert(fake, contactInput("Ada@Example.com", { hubspot_owner_id: "201" }, "lead-1"));
      assert.equal(created.body.status, "COMPLETE");
      assert.equal(created.body.results.length, 1);
      const [first] = created.body.results;
      assert.equal(first.id, "1001");
      assert.equal(first.new, true);
      assert.equal(first.archived, false);
      assert.equal(first.objectWriteTraceId, "lead-1");
      assert.equal(first.properties.firstname, "Ada");
      const changes = { lastname: "King", jobtitle: "CTO" };
      const updated = await upsert(fake, contactInput("ada@example.com", changes, "lead-2"));
      const [second] = updated.body.results;
      assert.equal(second.id, "1001");
      assert.equal(second.new, false);
      assert.equal(second.objectWriteTraceId, "lead-2");
      const properties = {
        email: "ada@example.com",
        firstname: "Ada",
        lastname: "King",
        hubspot_owner_id: "201",
        jobtitle: "CTO",
      };
      assert.deepEqual(fake.contacts, [{ id: "1001", properties }]);
      const other = await upsert(fake, contactInput("grace@example.com"));
      assert.equal(other.body.results[0].id, "1002");
      assert.equal(other.body.results[0].new, true);
      assert.deepEqual(fake.requests.map((r) => [r.method, r.path, r.body.inputs[0].id]), [
        ["POST", UPSERT, "Ada@Example.com"],
        ["POST", UPSERT, "ada@example.com"],
        ["POST", UPSERT, "grace@example.com"],
      ]);
      assert.deepEqual(fake.violations, []);
    }));

  test("companies: one domain created twice (HubSpot does not deduplicate), found by lower-case domain", TIMEOUT, () =>
    withHubspot(async (fake) => {
      const first = await createCompany(fake, "Acme.com", "Acme");
      assert.equal(first.body.results[0].objectWriteTraceId, "Acme.com");
      await createCompany(fake, "acme.com");
      await createCompany(fake, "other.org");
      assert.deepEqual(fake.companies.map((c) => [c.id, c.properties.domain]), [
        ["5001", "Acme.com"],
        ["5002", "acme.com"],
        ["5003", "other.org"],
      ]);
      const found = await searchDomains(fake, ["acme.com"]);
      assert.equal(found.body.total, 2);
      assert.deepEqual(found.body.results.map((c) => c.properties), [
        { domain: "Acme.com", name: "Acme", hs_object_id: "5001" },
        { domain: "acme.com", hs_object_id: "5002" },
      ]);
      assert.equal((await searchDomains(fake, ["nowhere.net"])).body.total, 0);
      assert.deepEqual(fake.violations, []);
    }));

  test("associations: kept once however often they are made", TIMEOUT, () =>
    withHubspot(async (fake) => {
      await upsert(fake, contactInput("ada@acme.com"));
      await createCompany(fake, "acme.com");
      const first = await associate(fake, "1001", "5001");
      const associationSpec = { associationCategory: "HUBSPOT_DEFINED", associationTypeId: 279 };
      assert.deepEqual(first.body.results, [{ from: { id: "1001" }, to: { id: "5001" }, associationSpec }]);
      await associate(fake, "1001", "5001");
      assert.deepEqual(fake.associations, [["1001", "5001"]]);
      assert.deepEqual(fake.violations, []);
    }));

  test("tasks: created on a contact, then updated in place", TIMEOUT, () =>
    withHubspot(async (fake) => {
      await upsert(fake, contactInput("ada@example.com"));
      const created = await createTask(fake, "1001");
      assert.equal(created.body.results[0].id, "9001");
      assert.equal(created.body.results[0].objectWriteTraceId, "lead-1");
      assert.deepEqual(fake.tasks, [{ id: "9001", properties: TASK_PROPERTIES, contactId: "1001" }]);
      await updateTask(fake, "9001", { hs_task_status: "COMPLETED" });
      assert.equal(fake.tasks[0].properties.hs_task_status, "COMPLETED");
      assert.equal(fake.tasks[0].properties.hs_task_subject, TASK_PROPERTIES.hs_task_subject);
      assert.deepEqual(fake.violations, []);
    }));

  test("owners: filtered by email, paged by `after`, owners added later", TIMEOUT, () =>
    withHubspot(async (fake) => {
      fake.owners.push({ id: "202", email: "bob@example.com", firstName: "Bob", lastName: "Baker" });
      const all = await owners(fake);
      assert.deepEqual(all.body.results.map((o) => [o.id, o.email, o.type, o.archived]), [
        ["201", OWNER.email, "PERSON", false],
        ["202", "bob@example.com", "PERSON", false],
      ]);
      const page = await owners(fake, "?limit=1");
      assert.deepEqual(page.body.results.map((o) => o.id), ["201"]);
      assert.equal(page.body.paging.next.after, "1");
      const next = await owners(fake, `?limit=1&after=${page.body.paging.next.after}`);
      assert.deepEqual(next.body.results.map((o) => o.id), ["202"]);
      assert.equal(next.body.paging, undefined);
      assert.deepEqual((await owners(fake, "?email=bob%40example.com")).body.results.map((o) => o.id), ["202"]);
      const last = { method: "GET", path: "/crm/v3/owners/?email=bob%40example.com", body: null };
      assert.deepEqual(fake.requests.at(-1), last);
      assert.deepEqual(fake.violations, []);
    }));
});

// ---- HubSpot: what it refuses, with HubSpot's error and a violation

describe("HubSpot fake refuses", () => {
  let errorSchema;
  before(async () => {
    errorSchema = await loadFixture("hubspot-contacts.json");
  });
  const call = (path, body, headers) => (fake) => hubspot(fake, path, body, headers);
  const ada = contactInput("ada@example.com");
  const search = (filter, extra = {}) => {
    const filterGroups = [{ filters: [{ propertyName: "domain", ...filter }] }];
    return call(SEARCH, { filterGroups, properties: ["domain"], limit: 10, ...extra });
  };
  // [what is wrong, the call, HTTP status, category, the violation, a setup before the call]
  const rows = [
    [
      "a number as a property value",
      call(UPSERT, { inputs: [{ ...ada, properties: { email: "a@b.co", age: 3 } }] }),
      400,
      "VALIDATION_ERROR",
      /properties\.age: expected string, got number/,
    ],
    ["no inputs", call(UPSERT, {}), 400, "VALIDATION_ERROR", /missing required field `inputs`/],
    [
      "an unknown field in an input",
      call(UPSERT, { inputs: [{ ...ada, email: "a@b.co" }] }),
      400,
      "VALIDATION_ERROR",
      /inputs\[0\]\.email: not a field the description lists/,
    ],
    [
      "an input without id",
      call(UPSERT, { inputs: [{ idProperty: "email", properties: {} }] }),
      400,
      "VALIDATION_ERROR",
      /missing required field `id`/,
    ],
    [
      "101 inputs",
      call(UPSERT, { inputs: Array.from({ length: 101 }, (_, i) => contactInput(`c${i}@example.com`)) }),
      400,
      "VALIDATION_ERROR",
      /101 inputs, at most 100/,
    ],
    [
      "one email twice in a batch",
      call(UPSERT, { inputs: [ada, contactInput("ADA@example.com")] }),
      400,
      "VALIDATION_ERROR",
      /ada@example.com more than once/,
    ],
    [
      "an upsert without idProperty",
      call(UPSERT, { inputs: [{ id: "a@b.co", properties: {} }] }),
      400,
      "VALIDATION_ERROR",
      /no idProperty/,
    ],
    [
      "an upsert by a property that is not unique",
      call(UPSERT, { inputs: [{ ...ada, idProperty: "phone" }] }),
      400,
      "VALIDATION_ERROR",
      /idProperty "phone"/,
    ],
    [
      "an id that is no email address",
      call(UPSERT, { inputs: [{ ...ada, id: "ada" }] }),
      400,
      "VALIDATION_ERROR",
      /"ada" is not an email address/,
    ],
    [
      "a property label for a name",
      call(UPSERT, { inputs: [contactInput("a@b.co", { FirstName: "Ada" })] }),
      400,
      "VALIDATION_ERROR",
      /FirstName.*PROPERTY_DOESNT_EXIST/,
    ],
    [
      "an unknown owner on a contact",
      call(UPSERT, { inputs: [contactInput("a@b.co", { hubspot_owner_id: "999" })] }),
      400,
      "VALIDATION_ERROR",
      /hubspot_owner_id: 999 is not a valid owner id \(INVALID_OWNER_ID\)/,
    ],
    [
      "a wrong token",
      call(UPSERT, { inputs: [ada] }, bearer("pat-na1-wrong")),
      401,
      "INVALID_AUTHENTICATION",
      /the token is not the fake's/,
    ],
    ["no token", call(UPSERT, { inputs: [ada] }, {}), 401, "INVALID_AUTHENTICATION", /no Authorization: Bearer/],
    [
      "a text/plain body",
      call(UPSERT, JSON.stringify({ inputs: [] }), { ...bearer(), "content-type": "text/plain" }),
      415,
      "VALIDATION_ERROR",
      /text\/plain is not one the operation consumes/,
    ],
    ["JSON that does not parse", call(UPSERT, "{"), 400, "VALIDATION_ERROR", /does not parse/],
    [
      "a search operator the fake lacks",
      search({ operator: "CONTAINS_TOKEN", value: "acme" }),
      400,
      "VALIDATION_ERROR",
      /does not implement the operator CONTAINS_TOKEN/,
    ],
    [
      "a search operator HubSpot lacks",
      search({ operator: "LIKE", value: "acme" }),
      400,
      "VALIDATION_ERROR",
      /"LIKE" is not one of/,
    ],
    [
      "IN without values",
      search({ operator: "IN", value: "acme.com" }),
      400,
      "VALIDATION_ERROR",
      /IN on domain without `values`/,
    ],
    [
      "a search limit of 201",
      search({ operator: "IN", values: ["a.com"] }, { limit: 201 }),
      400,
      "VALIDATION_ERROR",
      /limit 201 is not 1 to 200/,
    ],
    [
      "a full-text search",
      search({ operator: "IN", values: ["a.com"] }, { query: "acme" }),
      400,
      "VALIDATION_ERROR",
      /does not implement `query`/,
    ],
    [
      "a company without associations",
      call(COMPANIES, { inputs: [{ properties: { domain: "a.com" } }] }),
      400,
      "VALIDATION_ERROR",
      /missing required field `associations`/,
    ],
    [
      "a task without hs_timestamp",
      call(TASKS, { inputs: [{ ...taskInput("1001"), properties: { hs_task_subject: "x" } }] }),
      400,
      "VALIDATION_ERROR",
      /no hs_timestamp/,
      contactWithTask,
    ],
    [
      "a task due 'tomorrow'",
      (f) => createTask(f, "1001", { hs_timestamp: "tomorrow" }),
      400,
      "VALIDATION_ERROR",
      /INVALID_DATETIME/,
      contactWithTask,
    ],
    [
      "a task for an unknown owner",
      (f) => createTask(f, "1001", { hubspot_owner_id: "999" }),
      400,
      "VALIDATION_ERROR",
      /INVALID_OWNER_ID/,
      contactWithTask,
    ],
    [
      "a task status HubSpot lacks",
      (f) => createTask(f, "1001", { hs_task_status: "OPEN" }),
      400,
      "VALIDATION_ERROR",
      /INVALID_OPTION/,
      contactWithTask,
    ],
    [
      "a task on an unknown contact",
      (f) => createTask(f, "4242"),
      400,
      "VALIDATION_ERROR",
      /no contact has the id 4242/,
      contactWithTask,
    ],
    [
      "a task association of the wrong type",
      (f) => createTask(f, "1001", {}, [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 1 }]),
      400,
      "VALIDATION_ERROR",
      /is not \[.*204.*\] \(task to contact\)/,
      contactWithTask,
    ],
    [
      "an update of an unknown task",
      (f) => updateTask(f, "9999", { hs_task_status: "COMPLETED" }),
      404,
      "OBJECT_NOT_FOUND",
      /no task has the id 9999/,
      contactWithTask,
    ],
    [
      "an update to an unknown owner",
      (f) => updateTask(f, "9001", { hubspot_owner_id: "7" }),
      400,
      "VALIDATION_ERROR",
      /INVALID_OWNER_ID/,
      contactWithTask,
    ],
    [
      "an association of deals",
      call("/crm/v4/associations/deal/company/batch/associate/default", { inputs: [] }),
      400,
      "VALIDATION_ERROR",
      /contacts to companies only/,
    ],
    [
      "an owners query parameter the description lacks",
      (f) => owners(f, "?idProperty=email"),
      400,
      "VALIDATION_ERROR",
      /`idProperty` is not a query parameter/,
    ],
    ["an owners limit of 0", (f) => owners(f, "?limit=0"), 400, "VALIDATION_ERROR", /limit 0 is not 1 to 500/],
    [
      "an owners limit that is no integer",
      (f) => owners(f, "?limit=ten"),
      400,
      "VALIDATION_ERROR",
      /`limit` "ten": not a integer/,
    ],
    ["owners by POST", call(OWNERS, {}), 405, "METHOD_NOT_ALLOWED", /as GET only/],
    [
      "a path the fake lacks",
      call("/crm/v3/objects/deals/batch/create", { inputs: [] }),
      404,
      "OBJECT_NOT_FOUND",
      /not a path the fake serves/,
    ],
  ];
  for (const [name, call, status, category, why, setup] of rows) {
    test(name, TIMEOUT, () =>
      withHubspot(async (fake) => {
        await setup?.(fake);
        const snapshot = () => structuredClone([fake.contacts, fake.companies, fake.tasks, fake.associations]);
        const [portal, requests] = [snapshot(), fake.requests.length];
        const answer = await call(fake);
        assert.equal(answer.status, status, JSON.stringify(answer.body));
        const { status: error, ...body } = answer.body;
        assert.equal(error, "error");
        assert.equal(body.category, category);
        assert.deepEqual(validate({ $ref: "#/components/schemas/Error" }, body, errorSchema), []);
        assert.equal(fake.violations.length, 1, fake.violations.join("\n"));
        assert.match(fake.violations[0], why);
        // The refused call is not among the requests and changed nothing.
        assert.equal(fake.requests.length, requests);
        assert.deepEqual(snapshot(), portal);
      }));
  }

  test("unknown ids in an association: HTTP 200 with the errors, the known pair kept, a violation", TIMEOUT, () =>
    withHubspot(async (fake) => {
      await upsert(fake, contactInput("ada@acme.com"));
      await createCompany(fake, "acme.com");
      const inputs = [{ from: { id: "1001" }, to: { id: "5001" } }, { from: { id: "4242" }, to: { id: "5001" } }];
      const answer = await hubspot(fake, ASSOCIATE, { inputs });
      assert.equal(answer.status, 200);
      assert.equal(answer.body.numErrors, 1);
      assert.equal(answer.body.errors[0].category, "OBJECT_NOT_FOUND");
      assert.deepEqual(answer.body.results.map((r) => [r.from.id, r.to.id]), [["1001", "5001"]]);
      const { spec, schema } = await hubspotSchema(
        "hubspot-associations.json",
        "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/associate/default",
        200,
      );
      assert.deepEqual(validate(schema, answer.body, spec), []);
      assert.deepEqual(fake.associations, [["1001", "5001"]]);
      assert.equal(fake.violations.length, 1);
      assert.match(fake.violations[0], /No contact 4242 exists/);
      assert.equal(fake.requests.length, 2);
    }));

  test("a task update naming one unknown id changes none of the batch", TIMEOUT, () =>
    withHubspot(async (fake) => {
      await contactWithTask(fake);
      const inputs = [{ id: "9001", properties: { hs_task_status: "COMPLETED" } }, { id: "9002", properties: {} }];
      assert.equal((await hubspot(fake, TASK_UPDATE, { inputs })).status, 404);
      assert.equal(fake.tasks[0].properties.hs_task_status, "NOT_STARTED");
    }));

  test("an answer of the fake's own that breaks the description (an owner id that is no string)", TIMEOUT, () =>
    withHubspot(async (fake) => {
      fake.owners.push({ id: 202, email: "bob@example.com", firstName: "Bob", lastName: "Baker" });
      assert.equal((await owners(fake)).status, 200);
      assert.equal(fake.violations.length, 1);
      assert.match(fake.violations[0], /answer to GET \/crm\/v3\/owners\/ breaks the description: .*results\[1\]\.id/);
    }));
});

// ---- HubSpot: limits and outages

describe("HubSpot fake fails on request", () => {
  test("failNext: a 429 with Retry-After and the rate-limit body, a 500, then the call goes through", TIMEOUT, () =>
    withHubspot(async (fake) => {
      fake.failNext(UPSERT, { status: 429 });
      fake.failNext(UPSERT);
      const limited = await upsert(fake, contactInput("ada@example.com"));
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get("retry-after"), "10");
      const { correlationId, ...rest } = limited.body;
      assert.match(correlationId, /^[0-9a-f-]{36}$/);
      assert.deepEqual(rest, {
        status: "error",
        message: "You have reached your secondly limit.",
        errorType: "RATE_LIMIT",
        policyName: "SECONDLY",
      });
      const failed = await upsert(fake, contactInput("ada@example.com"));
      assert.equal(failed.status, 500);
      assert.equal(failed.body.status, "error");
      assert.deepEqual(fake.contacts, []);
      const done = await upsert(fake, contactInput("ada@example.com"));
      assert.equal(done.status, 200);
      assert.equal(done.body.results[0].new, true);
      assert.equal(fake.contacts.length, 1);
      assert.equal(fake.requests.length, 1);
      assert.deepEqual(fake.violations, []);
    }));

  test("failNext: one operation only, whatever path names it, with the body and headers given", TIMEOUT, () =>
    withHubspot(async (fake) => {
      await upsert(fake, contactInput("ada@acme.com"));
      await createCompany(fake, "acme.com");
      fake.failNext("/crm/v4/associations/contacts/companies/batch/associate/default", {
        status: 502,
        body: { status: "error", message: "Bad gateway", correlationId: "x", category: "INTERNAL_ERROR" },
        headers: { "x-test": "yes" },
      });
      assert.equal((await createCompany(fake, "other.org")).status, 201);
      const failed = await associate(fake, "1001", "5001");
      assert.equal(failed.status, 502);
      assert.equal(failed.headers.get("x-test"), "yes");
      assert.deepEqual(fake.associations, []);
      assert.equal((await associate(fake, "1001", "5001")).status, 200);
      assert.deepEqual(fake.violations, []);
      assert.throws(() => fake.failNext("/crm/v3/objects/deals"), /not one of/);
    }));

  test("down: every call answers 503 with a JSON error and changes nothing, until it is up again", TIMEOUT, () =>
    withHubspot(async (fake) => {
      fake.down(true);
      for (const answer of [
        await upsert(fake, contactInput("ada@example.com")),
        await createCompany(fake, "acme.com"),
        await owners(fake),
        await hubspot(fake, UPSERT, "{", {}),
      ]) {
        assert.equal(answer.status, 503);
        assert.equal(answer.headers.get("content-type"), "application/json; charset=utf-8");
        assert.equal(answer.body.status, "error");
      }
      assert.deepEqual([fake.contacts, fake.companies, fake.requests, fake.violations], [[], [], [], []]);
      fake.down(false);
      assert.equal((await upsert(fake, contactInput("ada@example.com"))).status, 200);
      assert.equal(fake.contacts.length, 1);
    }));
});

// ---- Salesforce: what it accepts

describe("Salesforce fake accepts", () => {
  let spec;
  before(async () => {
    spec = await loadFixture("salesforce-rest.json");
  });
  const schemaOf = (name) => ({ $ref: `#/components/schemas/${name}` });
  // [what is right, the calls (the last one's answer is checked), status, answer schema]
  const rows = [
    ["a token by client credentials", (f) => sfToken(f), 200, "TokenResponse"],
    ["a Lead created by its external ID", (f) => upsertLead(f, "lead-1"), 201, "UpsertResult"],
    [
      "a Lead updated by its external ID, null clearing a field",
      async (f) => {
        await upsertLead(f, "lead-1");
        return upsertLead(f, "lead-1", { Title: "CTO", Email: null });
      },
      200,
      "UpsertResult",
    ],
    [
      "numbers, booleans, custom fields, a queue as owner",
      (f) => {
        const extra = { NumberOfEmployees: 250, AnnualRevenue: 1.5e6, DoNotCall: false, Score__c: 87, Routed__c: true };
        return upsertLead(f, "lead-2", { ...LEAD, ...extra, OwnerId: QUEUE });
      },
      201,
      "UpsertResult",
    ],
    ["an external ID needing encoding", (f) => upsertLead(f, "lead 3/é"), 201, "UpsertResult"],
    [
      "a Task as the Worker creates it",
      async (f) => {
        const { body } = await upsertLead(f, "lead-1");
        return createSfTask(f, body.id);
      },
      201,
      "SaveResult",
    ],
    [
      "a Task with a 15-character WhoId",
      async (f) => {
        const { body } = await upsertLead(f, "lead-1");
        return createSfTask(f, body.id.slice(0, 15));
      },
      201,
      "SaveResult",
    ],
    [
      "a Lead with two matches: 300",
      async (f) => {
        await upsertLead(f, "lead-1");
        f.duplicateLead("lead-1");
        return upsertLead(f, "lead-1");
      },
      300,
      "MatchingRecords",
    ],
  ];
  for (const [name, call, status, schema] of rows) {
    test(name, TIMEOUT, () =>
      withSalesforce(async (fake) => {
        const answer = await call(fake);
        assert.equal(answer.status, status, JSON.stringify(answer.body));
        assert.deepEqual(validate(schemaOf(schema), answer.body, spec), []);
        assert.deepEqual(fake.violations, []);
      }));
  }

  test("the token: the fake's URL as instance, counted, its secret kept out of `requests`", TIMEOUT, () =>
    withSalesforce(async (fake) => {
      const { body } = await sfToken(fake);
      assert.equal(body.instance_url, fake.url);
      assert.equal(body.token_type, "Bearer");
      assert.match(body.issued_at, /^\d{13}$/);
      assert.equal(fake.tokensIssued, 1);
      await sfToken(fake);
      assert.equal(fake.tokensIssued, 2);
      assert.deepEqual(fake.requests[0], {
        method: "POST",
        path: "/services/oauth2/token",
        body: { grant_type: "client_credentials", client_id: CLIENT.clientId },
      });
    }));

  test("an upsert creates, then updates the same Lead: created flags, stable id", TIMEOUT, () =>
    withSalesforce(async (fake) => {
      const { body: token } = await sfToken(fake);
      const created = await upsertLead(fake, "lead-1", LEAD, token.access_token);
      assert.equal(created.status, 201);
      assert.match(created.body.id, /^00Q[A-Za-z0-9]{15}$/);
      assert.deepEqual(created.body, { id: created.body.id, success: true, errors: [], created: true });
      const updated = await upsertLead(fake, "LEAD-1", { Title: "CTO", Email: null }, token.access_token);
      assert.equal(updated.status, 200);
      assert.deepEqual(updated.body, { id: created.body.id, success: true, errors: [], created: false });
      const { Email, ...rest } = LEAD;
      const fields = { ...rest, Title: "CTO", [EXTERNAL_ID]: "lead-1" };
      assert.deepEqual(fake.leads, [{ id: created.body.id, fields }]);
      assert.equal(fake.tokensIssued, 1);
      assert.deepEqual(fake.violations, []);
    }));

  test("a Task created on a Lead, then completed: 204 without a body", TIMEOUT, () =>
    withSalesforce(async (fake) => {
      await leadWithTask(fake);
      const [task] = fake.tasks;
      assert.match(task.id, /^00T[A-Za-z0-9]{15}$/);
      assert.deepEqual(task.fields, { WhoId: fake.leads[0].id, ...SF_TASK });
      const done = await salesforce(fake, "PATCH", `/sobjects/Task/${task.id}`, { Status: "Completed", OwnerId: USER });
      assert.equal(done.status, 204);
      assert.equal(done.body, undefined);
      assert.equal(fake.tasks[0].fields.Status, "Completed");
      assert.deepEqual(fake.violations, []);
    }));

  test("300 for an ambiguous external ID: the matches' URLs, nothing changed, no violation", TIMEOUT, () =>
    withSalesforce(async (fake) => {
      const { body } = await upsertLead(fake, "lead-1");
      const copy = fake.duplicateLead("lead-1");
      const answer = await upsertLead(fake, "lead-1", { Title: "CTO" });
      assert.equal(answer.status, 300);
      const url = (id) => `/services/data/v61.0/sobjects/Lead/${id}`;
      assert.deepEqual(answer.body, [url(body.id), url(copy.id)]);
      assert.ok(fake.leads.every((lead) => lead.fields.Title === undefined));
      assert.deepEqual(fake.violations, []);
    }));

  test("expireTokens: the next call is 401 INVALID_SESSION_ID without a violation; a new token works", TIMEOUT, () =>
    withSalesforce(async (fake) => {
      const { body: token } = await sfToken(fake);
      fake.expireTokens();
      const expired = await upsertLead(fake, "lead-1", LEAD, token.access_token);
      assert.equal(expired.status, 401);
      assert.deepEqual(expired.body, [{ message: "Session expired or invalid", errorCode: "INVALID_SESSION_ID" }]);
      assert.deepEqual(fake.leads, []);
      assert.equal((await upsertLead(fake, "lead-1")).status, 201);
      assert.equal(fake.tokensIssued, 2);
      assert.deepEqual(fake.violations, []);
    }));
});

// ---- Salesforce: what it refuses, with Salesforce's error and a violation

describe("Salesforce fake refuses", () => {
  let spec;
  before(async () => {
    spec = await loadFixture("salesforce-rest.json");
  });
  const lead = (fields, value = "lead-9") => (f, t) => upsertLead(f, value, fields, t);
  const task = (fields) => (f, t) => createSfTask(f, f.leads[0].id, fields, t);
  const CLIENT_FIELDS = { client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret };
  const tokenWith = (fields) => (f) => sfToken(f, { grant_type: "client_credentials", ...CLIENT_FIELDS, ...fields });
  const raw = (path, headers, body = "{}") => (f, t) =>
    send(`${f.url}${path}`, { headers: { ...(t && bearer(t)), ...headers }, body });
  const TASK_PATH = "/services/data/v61.0/sobjects/Task";
  // [what is wrong, the call (with a token the test got), HTTP status, errorCode (or OAuth error),
  //  the violation, a setup before the call]
  const rows = [
    [
      "a wrong client secret",
      tokenWith({ client_secret: "nope" }),
      400,
      "invalid_client",
      /client id or secret is not the fake's/,
    ],
    [
      "the password grant",
      tokenWith({ grant_type: "password" }),
      400,
      "unsupported_grant_type",
      /"password" is not client_credentials/,
    ],
    [
      "a token request field the flow lacks",
      tokenWith({ scope: "api" }),
      400,
      "invalid_request",
      /`scope`: not a field of the token request/,
    ],
    [
      "a JSON token request",
      (f) => raw("/services/oauth2/token", JSON_TYPE, JSON.stringify(CREDENTIALS))(f),
      400,
      "invalid_request",
      /application\/json is not one the operation consumes/,
    ],
    ["no token", (f) => raw(TASK_PATH, JSON_TYPE)(f), 401, "INVALID_SESSION_ID", /no Authorization: Bearer/],
    [
      "a made-up token",
      (f) => upsertLead(f, "lead-1", LEAD, "00Dmadeup"),
      401,
      "INVALID_SESSION_ID",
      /not one the fake gave/,
    ],
    [
      "the external ID in the body",
      lead({ ...LEAD, [EXTERNAL_ID]: "lead-9" }),
      400,
      "INVALID_FIELD",
      /neither Id nor the external ID field/,
    ],
    ["Id in the body", lead({ ...LEAD, Id: "00Q000000000001EAA" }), 400, "INVALID_FIELD", /body holds Id/],
    [
      "a new Lead without LastName",
      lead({ Company: "Acme" }),
      400,
      "REQUIRED_FIELD_MISSING",
      /Required fields are missing: \[LastName\]/,
    ],
    [
      "an update clearing Company",
      lead({ Company: null }, "lead-1"),
      400,
      "REQUIRED_FIELD_MISSING",
      /missing: \[Company\]/,
      leadWithTask,
    ],
    [
      "a field Lead lacks",
      lead({ ...LEAD, Score: 87 }),
      400,
      "INVALID_FIELD",
      /No such column 'Score' on sobject of type Lead/,
    ],
    [
      "an object as a field value",
      lead({ ...LEAD, City: { name: "Paris" } }),
      400,
      "JSON_PARSER_ERROR",
      /City: expected string or null, got object/,
    ],
    [
      "a number as a string",
      lead({ ...LEAD, NumberOfEmployees: "250" }),
      400,
      "JSON_PARSER_ERROR",
      /NumberOfEmployees: expected integer or null/,
    ],
    [
      "an 81-character LastName",
      lead({ ...LEAD, LastName: "x".repeat(81) }),
      400,
      "STRING_TOO_LONG",
      /81 characters, at most 80/,
    ],
    [
      "an owner the org lacks",
      lead({ ...LEAD, OwnerId: recordId("005", 999) }),
      400,
      "INVALID_CROSS_REFERENCE_KEY",
      /is no user or queue/,
    ],
    [
      "a field that is not the external ID in the path",
      (f, t) => salesforce(f, "PATCH", "/sobjects/Lead/Email/ada%40example.com", LEAD, t),
      404,
      "NOT_FOUND",
      /Email is not the external ID field/,
    ],
    [
      "another API version",
      raw("/services/data/v60.0/sobjects/Task", JSON_TYPE),
      404,
      "NOT_FOUND",
      /not a path the fake serves/,
    ],
    [
      "a Task on a Lead the org lacks",
      (f, t) => createSfTask(f, recordId("00Q", 77), {}, t),
      400,
      "INVALID_CROSS_REFERENCE_KEY",
      /WhoId 00Q000000000077EAA is no Lead/,
    ],
    [
      "a Task status the org lacks",
      task({ Status: "Done" }),
      400,
      "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
      /Status: "Done" is not one of/,
      leadWithTask,
    ],
    [
      "a Task owned by a queue",
      task({ OwnerId: QUEUE }),
      400,
      "INVALID_CROSS_REFERENCE_KEY",
      /is no user of the fake/,
      leadWithTask,
    ],
    [
      "a Task due on 30 February",
      task({ ActivityDate: "2026-02-30" }),
      400,
      "JSON_PARSER_ERROR",
      /2026-02-30 is no calendar date/,
      leadWithTask,
    ],
    [
      "a reminder without a zone",
      task({ ReminderDateTime: "2026-12-08T10:00:00" }),
      400,
      "JSON_PARSER_ERROR",
      /ReminderDateTime: "2026-12-08T10:00:00" does not match/,
      leadWithTask,
    ],
    [
      "an update of a Task the org lacks",
      (f, t) => salesforce(f, "PATCH", `/sobjects/Task/${recordId("00T", 404)}`, { Status: "Completed" }, t),
      404,
      "NOT_FOUND",
      /no Task has the id/,
    ],
    [
      "a Task read by GET",
      (f, t) => send(`${f.url}${TASK_PATH}/${recordId("00T", 1)}`, { method: "GET", headers: bearer(t) }),
      405,
      "METHOD_NOT_ALLOWED",
      /Allowed are PATCH/,
    ],
    [
      "a text/plain body",
      raw(TASK_PATH, { "content-type": "text/plain" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      /text\/plain is not one the operation consumes/,
    ],
    [
      "JSON that is a list",
      (f, t) => salesforce(f, "POST", "/sobjects/Task", "[]", t),
      400,
      "JSON_PARSER_ERROR",
      /the JSON body is array, not an object/,
    ],
  ];
  for (const [name, call, status, code, why, setup] of rows) {
    test(name, TIMEOUT, () =>
      withSalesforce(async (fake) => {
        const token = (await sfToken(fake)).body.access_token;
        await setup?.(fake, token);
        const [org, requests] = [structuredClone([fake.leads, fake.tasks]), fake.requests.length];
        const answer = await call(fake, token);
        assert.equal(answer.status, status, JSON.stringify(answer.body));
        if (Array.isArray(answer.body)) {
          assert.equal(answer.body[0].errorCode, code);
          assert.deepEqual(validate({ $ref: "#/components/schemas/Errors" }, answer.body, spec), []);
        } else {
          assert.equal(answer.body.error, code);
          assert.deepEqual(validate({ $ref: "#/components/schemas/OAuthError" }, answer.body, spec), []);
        }
        assert.equal(fake.violations.length, 1, fake.violations.join("\n"));
        assert.match(fake.violations[0], why);
        // The refused call is not among the requests and changed nothing.
        assert.equal(fake.requests.length, requests);
        assert.deepEqual([fake.leads, fake.tasks], org);
      }));
  }

  test("a refused upsert changes nothing", TIMEOUT, () =>
    withSalesforce(async (fake) => {
      await upsertLead(fake, "lead-1");
      const before = structuredClone(fake.leads);
      await upsertLead(fake, "lead-1", { Title: "x".repeat(129), OwnerId: recordId("005", 9) });
      assert.deepEqual(fake.leads, before);
      assert.equal(fake.violations.length, 1);
    }));
});

// ---- Salesforce: limits and outages

describe("Salesforce fake fails on request", () => {
  test("failNext: 403 REQUEST_LIMIT_EXCEEDED by name, 503 by path prefix, then the upsert goes through", TIMEOUT, () =>
    withSalesforce(async (fake) => {
      const { body: token } = await sfToken(fake);
      fake.failNext("lead.upsert", { status: 403 });
      fake.failNext("/services/data/v61.0/sobjects/Lead/", { status: 503 });
      const limited = await upsertLead(fake, "lead-1", LEAD, token.access_token);
      assert.equal(limited.status, 403);
      const limit = { message: "TotalRequests Limit exceeded.", errorCode: "REQUEST_LIMIT_EXCEEDED" };
      assert.deepEqual(limited.body, [limit]);
      const unavailable = await upsertLead(fake, "lead-1", LEAD, token.access_token);
      assert.equal(unavailable.status, 503);
      assert.equal(unavailable.body[0].errorCode, "SERVER_UNAVAILABLE");
      assert.deepEqual(fake.leads, []);
      assert.equal((await upsertLead(fake, "lead-1", LEAD, token.access_token)).status, 201);
      assert.equal(fake.leads.length, 1);
      const paths = ["/services/oauth2/token", `/services/data/v61.0/sobjects/Lead/${EXTERNAL_ID}/lead-1`];
      assert.deepEqual(fake.requests.map((r) => r.path), paths);
      assert.deepEqual(fake.violations, []);
    }));

  test("failNext: the token call, and a prefix that leaves other paths alone", TIMEOUT, () =>
    withSalesforce(async (fake) => {
      fake.failNext("token", { status: 503 });
      assert.equal((await sfToken(fake)).status, 503);
      assert.equal(fake.tokensIssued, 0);
      fake.failNext("/services/data/v61.0/sobjects/Task", { status: 500 });
      assert.equal((await upsertLead(fake, "lead-1")).status, 201);
      const failed = await createSfTask(fake, fake.leads[0].id);
      assert.equal(failed.status, 500);
      assert.equal(failed.body[0].errorCode, "UNKNOWN_EXCEPTION");
      assert.deepEqual(fake.tasks, []);
      assert.deepEqual(fake.violations, []);
      assert.throws(() => fake.failNext("lead.delete"), /neither a path nor one of/);
    }));

  test("down: every call answers 503 SERVER_UNAVAILABLE and changes nothing, until it is up again", TIMEOUT, () =>
    withSalesforce(async (fake) => {
      const { body: token } = await sfToken(fake);
      fake.down(true);
      for (const answer of [await sfToken(fake), await upsertLead(fake, "lead-1", LEAD, token.access_token)]) {
        assert.equal(answer.status, 503);
        assert.deepEqual(answer.body, [{ message: "Server temporarily unavailable", errorCode: "SERVER_UNAVAILABLE" }]);
      }
      assert.deepEqual([fake.leads, fake.violations, fake.requests.length, fake.tokensIssued], [[], [], 1, 1]);
      fake.down(false);
      assert.equal((await upsertLead(fake, "lead-1", LEAD, token.access_token)).status, 201);
    }));
});
