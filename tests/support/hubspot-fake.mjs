// A loopback fake of the HubSpot CRM calls Handoff makes: batch upsert of contacts, search and batch
// create of companies, default contact-to-company associations (v4), batch create and update of
// tasks, and the owners list. Every request is checked against HubSpot's own descriptions of them
// (tests/fixtures/hubspot-*.json; each x-source note lists where the fake deviates and what it
// checks beyond the schemas): a request HubSpot would refuse gets HubSpot's error answer (the Error
// schema: `{ status: "error", message, correlationId, category, ... }`) and a sentence in
// `violations`, which a test asserts is empty at its end. The fake's own answers are checked against
// the descriptions' schemas too.
import { randomUUID } from "node:crypto";
import { answer, failureQueue, formFields, loadFixture, parseBody, readBody, serve, validate } from "./spec.mjs";

/** Inputs one batch call takes at most (HubSpot's CRM guides; the schemas set no maxItems). */
const MAX_BATCH = 100;
/** A HubSpot internal property name: what the API takes, never a label. */
const PROPERTY_NAME = /^[a-z][a-z0-9_]*$/;
/** An email address as far as the fake cares: something, @, something with a dot. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** An RFC 3339 instant, or milliseconds since the epoch: the two ways HubSpot takes a datetime. */
const DATETIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})|\d{1,15})$/;
/** HubSpot's search guide: filter groups, filters per group and in all, results per page. */
const SEARCH = { filterGroups: 5, filtersPerGroup: 6, filters: 18, limit: 200 };
/** The operators the fake's search implements; HubSpot has more (BETWEEN, GT, ...). */
const OPERATORS = ["EQ", "NEQ", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"];
/** What a company search answers with when it names no properties (as HubSpot does). */
const DEFAULT_COMPANY_PROPERTIES = ["name", "domain"];
/** At most this many owners in one page (HubSpot's owners reference). */
const MAX_OWNERS = 500;
/** The values HubSpot's tasks guide gives for the task enumerations. */
const TASK_OPTIONS = {
  hs_task_status: ["NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"],
  hs_task_priority: ["LOW", "MEDIUM", "HIGH"],
  hs_task_type: ["EMAIL", "CALL", "TODO"],
};
const TASK_TO_CONTACT = { associationCategory: "HUBSPOT_DEFINED", associationTypeId: 204 };
const CONTACT_TO_COMPANY = { associationCategory: "HUBSPOT_DEFINED", associationTypeId: 279 };
/** How a v4 associations path may name contacts and companies. */
const OBJECT_TYPE = { contact: ["contact", "contacts", "0-1"], company: ["company", "companies", "0-2"] };
/** The first id of each kind of record: distinct ranges, so that a test mixing them up sees it. */
const FIRST_ID = { contacts: 1001, companies: 5001, tasks: 9001 };

/** The operations, where their descriptions are, and the success status each answers. */
const OPERATIONS = [
  ["contacts.upsert", "hubspot-contacts.json", "post", "/crm/v3/objects/contacts/batch/upsert", "200"],
  ["companies.search", "hubspot-companies.json", "post", "/crm/v3/objects/companies/search", "200"],
  ["companies.create", "hubspot-companies.json", "post", "/crm/v3/objects/companies/batch/create", "201"],
  [
    "associations.default",
    "hubspot-associations.json",
    "post",
    "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/associate/default",
    "200",
  ],
  ["tasks.create", "hubspot-tasks.json", "post", "/crm/v3/objects/tasks/batch/create", "201"],
  ["tasks.update", "hubspot-tasks.json", "post", "/crm/v3/objects/tasks/batch/update", "200"],
  ["owners.list", "hubspot-owners.json", "get", "/crm/v3/owners", "200"],
];

/**
 * A request HubSpot refuses. `why` is the violation to record (after `where`); the answer is
 * HubSpot's Error with `message` (default: `why`), `category`, and `context`/`errors` when given.
 */
class Refusal extends Error {
  constructor(where, why, { status = 400, category = "VALIDATION_ERROR", message = why, context, errors } = {}) {
    super(`${where}: ${why}`);
    this.status = status;
    this.body = errorBody(category, message, { context, errors });
  }
}

/** HubSpot's error answer: the Error schema's fields, and `status: "error"` as HubSpot sends. */
function errorBody(category, message, { context, errors } = {}) {
  return {
    status: "error",
    message,
    correlationId: randomUUID(),
    category,
    ...(context && { context }),
    ...(errors && { errors }),
  };
}

/**
 * Starts the fake. `token` is the only private-app token it accepts; `owners` (`{ id, email,
 * firstName, lastName }`) are the portal's owners, listed by GET /crm/v3/owners and the only values
 * `hubspot_owner_id` may take; the array is kept, so a test may push more later. Resolves to:
 * - `url`: the API base (`http://127.0.0.1:PORT`), `${url}/crm/v3/...` being an operation's URL;
 * - `contacts` (`{ id, properties }`), `companies` (`{ id, properties }`), `associations`
 *   (`[contactId, companyId]`), `tasks` (`{ id, properties, contactId }`): the portal, changed in
 *   place by the calls;
 * - `requests`: every call that passed the checks and was answered, `{ method, path, body }` (`path`
 *   as requested, with its query string; `body` parsed, null for a GET);
 * - `violations`: one sentence per refused request (and per answer of the fake's that broke the
 *   description);
 * - `owners`: the array given;
 * - `failNext(path, { status = 500, body, headers })`: the next call of that operation (any path
 *   it answers, e.g. "/crm/v3/objects/contacts/batch/upsert") that passes the checks is answered
 *   with this instead and changes nothing (a 429 gets `retry-after: 10` and HubSpot's rate-limit body
 *   unless told otherwise);
 * - `down(on)`: while on, every call is answered 503 with a JSON error and changes nothing;
 * - `close()`.
 */
export async function startHubspotFake({ token, owners = [] }) {
  const operations = await describe();
  const portal = { contacts: [], companies: [], tasks: [], associations: [] };
  /** Record id → { createdAt, updatedAt }, kept beside the records so that they stay `{ id, properties }`. */
  const stamps = new Map();
  const counters = { ...FIRST_ID };
  const requests = [];
  const violations = [];
  const failures = failureQueue();
  const ownersSince = new Date().toISOString();
  let isDown = false;

  /** A new record of `kind` with `properties`, stored in the portal. */
  function create(kind, properties, extra = {}) {
    const record = { id: String(counters[kind]++), properties: { ...properties }, ...extra };
    const now = new Date().toISOString();
    stamps.set(record.id, { createdAt: now, updatedAt: now });
    portal[kind].push(record);
    return record;
  }

  function update(record, properties) {
    Object.assign(record.properties, properties);
    stamps.get(record.id).updatedAt = new Date().toISOString();
  }

  /** A record as HubSpot answers it (SimplePublicObject), its properties narrowed to `names` if given. */
  function publicObject(record, names) {
    const all = Object.entries(record.properties);
    const shown = names ? all.filter(([name]) => names.includes(name)) : all;
    const properties = { ...Object.fromEntries(shown), hs_object_id: record.id };
    return { id: record.id, properties, ...stamps.get(record.id), archived: false };
  }

  const contactOf = (id) => portal.contacts.find((c) => c.id === id);
  const companyOf = (id) => portal.companies.find((c) => c.id === id);

  /** Refuses properties HubSpot would: not internal names, an owner the portal lacks, an option
   * outside `options`, a datetime that is not one. */
  function checkProperties(properties, at, where, options = {}) {
    const problems = [];
    for (const [name, value] of Object.entries(properties)) {
      const fail = (error, message) => problems.push({ isValid: false, message, error, name });
      if (!PROPERTY_NAME.test(name)) fail("PROPERTY_DOESNT_EXIST", `Property "${name}" does not exist`);
      else if (name === "hubspot_owner_id" && value !== "" && !owners.some((o) => o.id === value)) {
        fail("INVALID_OWNER_ID", `${value} is not a valid owner id`);
      } else if (options[name] && !options[name].includes(value)) {
        fail("INVALID_OPTION", `${value} was not one of the allowed options: [${options[name].join(", ")}]`);
      } else if (name === "hs_timestamp" && !isDatetime(value)) {
        fail("INVALID_DATETIME", `${JSON.stringify(value)} is not a valid datetime`);
      }
    }
    if (problems.length) {
      const why = problems.map((p) => `${at}.properties.${p.name}: ${p.message} (${p.error})`).join("; ");
      throw new Refusal(where, why, { message: `Property values were not valid: ${JSON.stringify(problems)}` });
    }
  }

  // Each operation checks what the description cannot say, then returns its change and answer as a
  // function, run only when no failure is queued. An answer is `{ body, refused? }`, `refused` being
  // the violation of an answer that reports errors inside a success.
  const prepare = {
    "contacts.upsert"({ body, where }) {
      const inputs = batch(body.inputs, where);
      inputs.forEach((input, i) => {
        const at = `inputs[${i}]`;
        if (input.idProperty !== "email") {
          const given =
            input.idProperty === undefined ? "no idProperty" : `idProperty ${JSON.stringify(input.idProperty)}`;
          const why = `${at}: ${given}; the fake upserts contacts by the unique property \`email\` only`;
          throw new Refusal(where, why);
        }
        if (!EMAIL.test(input.id)) {
          throw new Refusal(where, `${at}.id: ${JSON.stringify(input.id)} is not an email address`, {
            message: `Email address ${input.id} is invalid`,
          });
        }
        checkProperties(input.properties, at, where);
      });
      distinct(inputs.map((input) => input.id.toLowerCase()), where);
      return () => {
        const results = inputs.map((input) => {
          const email = input.id.toLowerCase();
          const found = portal.contacts.find((c) => c.properties.email?.toLowerCase() === email);
          const contact = found ?? create("contacts", { email: input.id });
          update(contact, input.properties);
          return { ...publicObject(contact), new: !found, ...traceId(input) };
        });
        return { body: batchAnswer(results) };
      };
    },
    "companies.search"({ body, where }) {
      const matches = searchFilter(body, where);
      const limit = body.limit ?? 10;
      const offset = offsetOf(body.after, where);
      const names = body.properties?.length ? body.properties : DEFAULT_COMPANY_PROPERTIES;
      return () => {
        const found = portal.companies.filter(matches);
        const page = found.slice(offset, offset + limit).map((company) => publicObject(company, names));
        return { body: { total: found.length, results: page, ...paging(offset, limit, found.length) } };
      };
    },
    "companies.create"({ body, where }) {
      const inputs = batch(body.inputs, where);
      inputs.forEach((input, i) => {
        if (input.associations.length) {
          const why = `inputs[${i}].associations: the fake associates companies only through the v4 associations call`;
          throw new Refusal(where, why);
        }
        checkProperties(input.properties, `inputs[${i}]`, where);
      });
      // No deduplication by domain: HubSpot creates a second company, and so does the fake.
      return () => {
        const created = inputs.map((input) => [create("companies", input.properties), input]);
        const results = created.map(([company, input]) => ({ ...publicObject(company), ...traceId(input) }));
        return { body: batchAnswer(results) };
      };
    },
    "associations.default"({ body, where, params }) {
      if (!OBJECT_TYPE.contact.includes(params.fromObjectType) || !OBJECT_TYPE.company.includes(params.toObjectType)) {
        const { fromObjectType: from, toObjectType: to } = params;
        throw new Refusal(where, `the fake associates contacts to companies only, not ${from} to ${to}`);
      }
      const inputs = batch(body.inputs, where);
      return () => associate(inputs, where);
    },
    "tasks.create"({ body, where }) {
      const inputs = batch(body.inputs, where);
      inputs.forEach((input, i) => {
        const at = `inputs[${i}]`;
        if (!("hs_timestamp" in input.properties)) {
          throw new Refusal(where, `${at}.properties: no hs_timestamp, which a task requires`);
        }
        checkProperties(input.properties, at, where, TASK_OPTIONS);
        checkTaskAssociations(input.associations, at, where);
      });
      return () => {
        const results = inputs.map((input) => {
          const contactId = input.associations[0]?.to.id ?? null;
          return { ...publicObject(create("tasks", input.properties, { contactId })), ...traceId(input) };
        });
        return { body: batchAnswer(results) };
      };
    },
    "tasks.update"({ body, where }) {
      const inputs = batch(body.inputs, where);
      inputs.forEach((input, i) => {
        if (input.idProperty !== undefined) {
          throw new Refusal(where, `inputs[${i}].idProperty: the fake updates tasks by their id only`);
        }
        checkProperties(input.properties, `inputs[${i}]`, where, TASK_OPTIONS);
      });
      distinct(inputs.map((input) => input.id), where);
      const unknown = inputs.map((input) => input.id).filter((id) => !portal.tasks.some((t) => t.id === id));
      if (unknown.length) {
        throw new Refusal(where, `no task has the id ${unknown.join(", ")}`, {
          status: 404,
          category: "OBJECT_NOT_FOUND",
          message: "Could not get some TASK objects, they may be deleted or not exist. Check that ids are valid.",
          context: { ids: unknown },
        });
      }
      return () => {
        const results = inputs.map((input) => {
          const task = portal.tasks.find((t) => t.id === input.id);
          update(task, input.properties);
          return { ...publicObject(task), ...traceId(input) };
        });
        return { body: batchAnswer(results) };
      };
    },
    "owners.list"({ query, where }) {
      const limit = query.limit ?? 100;
      if (limit < 1 || limit > MAX_OWNERS) throw new Refusal(where, `limit ${limit} is not 1 to ${MAX_OWNERS}`);
      const offset = offsetOf(query.after, where);
      return () => {
        const email = query.email?.toLowerCase();
        const matching = owners.filter((o) => email === undefined || o.email.toLowerCase() === email);
        // The fake's owners are all active: none is archived.
        const listed = query.archived ? [] : matching;
        const results = listed.slice(offset, offset + limit).map((owner) => publicOwner(owner, ownersSince));
        return { body: { results, ...paging(offset, limit, listed.length) } };
      };
    },
  };

  /** Default associations for `inputs`: known pairs kept (once), unknown ids reported in `errors`. */
  function associate(inputs, where) {
    const results = [];
    const errors = [];
    for (const { from, to } of inputs) {
      const missing = [!contactOf(from.id) && `contact ${from.id}`, !companyOf(to.id) && `company ${to.id}`];
      if (missing.some(Boolean)) {
        const message = `No ${missing.filter(Boolean).join(" and no ")} exists`;
        errors.push(standardError(message, { fromId: [from.id], toId: [to.id] }));
        continue;
      }
      const known = portal.associations.some(([contact, company]) => contact === from.id && company === to.id);
      if (!known) portal.associations.push([from.id, to.id]);
      results.push({ from: { id: from.id }, to: { id: to.id }, associationSpec: { ...CONTACT_TO_COMPANY } });
    }
    const body = batchAnswer(results);
    if (!errors.length) return { body };
    const refused = `${where}: ${errors.map((e) => e.message).join("; ")}`;
    return { body: { ...body, numErrors: errors.length, errors }, refused };
  }

  /** A task's associations: at most one, to a contact of the portal, as type 204 only. */
  function checkTaskAssociations(associations, at, where) {
    if (associations.length > 1) {
      const why = `${at}.associations: the fake keeps one association per task, not ${associations.length}`;
      throw new Refusal(where, why);
    }
    for (const [j, { to, types }] of associations.entries()) {
      const here = `${at}.associations[${j}]`;
      if (!contactOf(to.id)) {
        throw new Refusal(where, `${here}.to.id: no contact has the id ${to.id}`, {
          message: `One or more associations are invalid: no contact ${to.id}`,
        });
      }
      const only204 = types.length === 1 && sameSpec(types[0], TASK_TO_CONTACT);
      if (!only204) {
        const wanted = JSON.stringify([TASK_TO_CONTACT]);
        const why = `${here}.types: ${JSON.stringify(types)} is not ${wanted} (task to contact)`;
        throw new Refusal(where, why);
      }
    }
  }

  /** The operation, typed parameters and body of a request that passes the description's checks. */
  async function checkRequest(req) {
    const url = new URL(req.url, "http://fake");
    const where = `${req.method} ${url.pathname}`;
    const route = routeOf(operations, url.pathname);
    if (!route) {
      const known = operations.map((op) => op.path).join(", ");
      throw new Refusal(where, `not a path the fake serves (${known})`, { status: 404, category: "OBJECT_NOT_FOUND" });
    }
    const { op, params } = route;
    if (req.method !== op.verb.toUpperCase()) {
      throw new Refusal(where, `the description has ${op.path} as ${op.verb.toUpperCase()} only`, {
        status: 405,
        category: "METHOD_NOT_ALLOWED",
      });
    }
    authenticate(req.headers.authorization, where);
    const text = await readBody(req);
    if (text === null) throw new Refusal(where, "the body is larger than the fake reads");
    const query = queryParameters(op, url.searchParams, where);
    const body = op.verb === "get" ? noBody(text, where) : jsonBody(op, req.headers["content-type"], text, where);
    return { op, params, query, body, where, path: `${url.pathname}${url.search}` };
  }

  /** Refuses a request without `Authorization: Bearer <token>`. */
  function authenticate(authorization, where) {
    const given = /^Bearer (\S+)$/i.exec(authorization ?? "")?.[1];
    if (given === token) return;
    const why = given === undefined ? "no Authorization: Bearer header" : "the token is not the fake's";
    throw new Refusal(where, why, {
      status: 401,
      category: "INVALID_AUTHENTICATION",
      message:
        given === undefined
          ? "Authentication credentials not found. This API supports OAuth 2.0 authentication."
          : "The access token provided is not valid.",
    });
  }

  /** The fake's answer checked against the operation's success schema, or (a refusal's) Error. */
  function checkAnswer(where, body, { spec, success } = { spec: operations[0].spec }) {
    // HubSpot's errors carry `status: "error"`, which the Error schema does not list.
    const { status: _, ...error } = body;
    const [schema, checked] = success ? [success, body] : [{ $ref: "#/components/schemas/Error" }, error];
    for (const problem of validate(schema, checked, spec)) {
      violations.push(`the fake's answer to ${where} breaks the description: ${problem}`);
    }
  }

  const { origin, close } = await serve(async (req, res) => {
    if (isDown) {
      await readBody(req);
      return answer(res, 503, errorBody("SERVICE_UNAVAILABLE", "Service Unavailable"));
    }
    try {
      const request = await checkRequest(req);
      const { op, where } = request;
      const commit = prepare[op.name](request);
      const failure = failures.take(op.name);
      if (failure) return answer(res, failure.status, failure.body, failure.headers);
      const { body, refused } = commit();
      checkAnswer(where, body, op);
      if (refused) violations.push(refused);
      else requests.push({ method: req.method, path: request.path, body: request.body });
      answer(res, Number(op.status), body);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      violations.push(err.message);
      checkAnswer(`${req.method} ${req.url}`, err.body);
      answer(res, err.status, err.body);
    }
  }, violations);

  function failNext(path, { status = 500, body, headers } = {}) {
    const route = routeOf(operations, path);
    if (!route) throw new Error(`failNext: ${path} is not one of ${operations.map((op) => op.path).join(", ")}`);
    const limited = status === 429;
    const error =
      status === 503
        ? errorBody("SERVICE_UNAVAILABLE", "Service Unavailable")
        : errorBody("INTERNAL_ERROR", "internal error");
    failures.add(route.op.name, {
      status,
      body: body ?? (limited ? rateLimited() : error),
      headers: headers ?? (limited ? { "retry-after": "10" } : {}),
    });
  }

  function down(on) {
    isDown = Boolean(on);
  }

  return {
    url: origin,
    ...portal,
    requests,
    violations,
    owners,
    failNext,
    down,
    close,
  };
}

/**
 * The operations as the fake routes them: `{ name, verb, path, pattern, status, spec, request,
 * consumes, parameters, success }`, from the fixtures, read as their notes say (the search
 * request's `after` and `sorts` optional). Throws on what the checks below do not handle, so that a
 * regenerated fixture cannot slip past them.
 */
async function describe() {
  const specs = {};
  for (const [, fixture] of OPERATIONS) specs[fixture] ??= await loadFixture(fixture);
  const search = specs["hubspot-companies.json"].components.schemas.PublicObjectSearchRequest;
  search.required = search.required.filter((field) => field !== "after" && field !== "sorts");
  return OPERATIONS.map(([name, fixture, verb, path, status]) => {
    const spec = specs[fixture];
    const op = spec.paths[path]?.[verb];
    if (!op) throw new Error(`${fixture} has no ${verb} ${path}`);
    const content = op.requestBody?.content;
    if (content && !content["application/json"]) throw new Error(`${name}: the fake reads JSON bodies only`);
    const success = op.responses[status]?.content["application/json"].schema;
    if (!success) throw new Error(`${name}: the description has no ${status} answer`);
    // The owners list is documented as /crm/v3/owners/ too: both are answered.
    const tail = name === "owners.list" ? "/?" : "";
    const pattern = new RegExp(`^${path.replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}${tail}$`);
    return {
      name,
      verb,
      path,
      pattern,
      status,
      spec,
      request: content?.["application/json"].schema,
      consumes: Object.keys(content ?? {}),
      parameters: op.parameters.filter((p) => p.in === "query"),
      success,
    };
  });
}

/** The operation whose path `pathname` is, and its path parameters; null for none. */
function routeOf(operations, pathname) {
  for (const op of operations) {
    const match = op.pattern.exec(pathname);
    if (match) return { op, params: { ...match.groups } };
  }
  return null;
}

/** The query parameters, typed as the description types them; refuses one it does not list. */
function queryParameters(op, searchParams, where) {
  const given = formFields(searchParams);
  if (given.problem) throw new Refusal(where, given.message);
  const typed = {};
  for (const [name, text] of Object.entries(given.fields)) {
    const param = op.parameters.find((p) => p.name === name);
    if (!param) throw new Refusal(where, `\`${name}\` is not a query parameter of ${op.path}`);
    const value = typedValue(param.schema.type, text);
    const problems =
      value === undefined ? [`not a ${param.schema.type}`] : validate(param.schema, value, op.spec, name);
    if (problems.length) {
      throw new Refusal(where, `query parameter \`${name}\` ${JSON.stringify(text)}: ${problems.join("; ")}`);
    }
    typed[name] = value;
  }
  return typed;
}

/** A query parameter's text as `type`, or undefined when it is not one. */
function typedValue(type, text) {
  if (type === "integer") return /^-?\d+$/.test(text) ? Number(text) : undefined;
  if (type === "boolean") return { true: true, false: false }[text];
  return text;
}

function noBody(text, where) {
  if (text) throw new Refusal(where, "a GET has no body");
  return null;
}

/** The JSON body when it parses and the description's request schema allows it. */
function jsonBody(op, contentType, text, where) {
  const parsed = parseBody(contentType, text, op.consumes);
  if (parsed.problem === "no_content_type" || parsed.problem === "unsupported_content_type") {
    throw new Refusal(where, parsed.message, { status: 415, message: "Unsupported Media Type" });
  }
  if (parsed.problem) throw new Refusal(where, parsed.message, { message: `Invalid input JSON: ${parsed.message}` });
  const problems = validate(op.request, parsed.fields, op.spec, "body");
  if (problems.length) {
    throw new Refusal(where, problems.join("; "), {
      message: `Invalid input: ${problems.join("; ")}`,
      errors: problems.map((message) => ({ message })),
    });
  }
  return parsed.fields;
}

/** A batch's inputs, refused when there are more than HubSpot takes in one call. */
function batch(inputs, where) {
  if (inputs.length > MAX_BATCH) {
    throw new Refusal(where, `${inputs.length} inputs, at most ${MAX_BATCH} in one batch`, {
      message: `Batch input limit exceeded: ${inputs.length} inputs, the limit is ${MAX_BATCH}`,
    });
  }
  return inputs;
}

/** Refuses a batch naming one record twice, as HubSpot does. */
function distinct(ids, where) {
  const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (repeated.length) {
    throw new Refusal(where, `the batch names ${[...new Set(repeated)].join(", ")} more than once`, {
      message: `Duplicate IDs found in batch input: [${[...new Set(repeated)].join(", ")}]. IDs must be unique`,
    });
  }
}

/** The offset an `after` cursor stands for (the fake's cursors are offsets). */
function offsetOf(after, where) {
  if (after === undefined || after === "") return 0;
  if (!/^\d+$/.test(after)) throw new Refusal(where, `after ${JSON.stringify(after)} is not a cursor the fake gave`);
  return Number(after);
}

/** The `paging` of a page at `offset` of `limit` results out of `total`: a next page's cursor, if any. */
function paging(offset, limit, total) {
  return offset + limit < total ? { paging: { next: { after: String(offset + limit) } } } : {};
}

/** A company search as a predicate, refused beyond HubSpot's limits or what the fake implements. */
function searchFilter(body, where) {
  if (body.query !== undefined) throw new Refusal(where, "the fake does not implement `query` (full-text search)");
  const groups = body.filterGroups;
  const all = groups.flatMap((group) => group.filters);
  if (groups.length > SEARCH.filterGroups || all.length > SEARCH.filters) {
    const most = `at most ${SEARCH.filterGroups} and ${SEARCH.filters}`;
    throw new Refusal(where, `${groups.length} filterGroups and ${all.length} filters, ${most}`);
  }
  if (groups.some((group) => group.filters.length > SEARCH.filtersPerGroup)) {
    throw new Refusal(where, `a filter group with more than ${SEARCH.filtersPerGroup} filters`);
  }
  if (body.limit !== undefined && (body.limit < 1 || body.limit > SEARCH.limit)) {
    throw new Refusal(where, `limit ${body.limit} is not 1 to ${SEARCH.limit}`);
  }
  const tests = groups.map((group) => group.filters.map((filter) => filterTest(filter, where)));
  // No group matches everything, as HubSpot's search does without filters.
  return (record) => !tests.length || tests.some((group) => group.every((test) => test(record.properties)));
}

/** One filter as a test of a record's properties; values compared case-insensitively. */
function filterTest({ propertyName, operator, value, values }, where) {
  if (!OPERATORS.includes(operator)) throw new Refusal(where, `the fake does not implement the operator ${operator}`);
  const needs = ["IN", "NOT_IN"].includes(operator) ? "values" : ["EQ", "NEQ"].includes(operator) ? "value" : null;
  if (needs && { values, value }[needs] === undefined) {
    throw new Refusal(where, `${operator} on ${propertyName} without \`${needs}\``);
  }
  const wanted = (values ?? [value]).map((v) => v?.toLowerCase());
  const has = (properties) => properties[propertyName] !== undefined && properties[propertyName] !== "";
  const equal = (properties) => has(properties) && wanted.includes(properties[propertyName].toLowerCase());
  return {
    EQ: equal,
    IN: equal,
    NEQ: (properties) => !equal(properties),
    NOT_IN: (properties) => !equal(properties),
    HAS_PROPERTY: has,
    NOT_HAS_PROPERTY: (properties) => !has(properties),
  }[operator];
}

/** A batch answer with all of `results` done. */
function batchAnswer(results) {
  const now = new Date().toISOString();
  return { status: "COMPLETE", results, startedAt: now, completedAt: now };
}

/** The input's objectWriteTraceId, echoed in its result as HubSpot does. */
function traceId(input) {
  return input.objectWriteTraceId === undefined ? {} : { objectWriteTraceId: input.objectWriteTraceId };
}

/** One error of a batch answer (StandardError). */
function standardError(message, context) {
  return { status: "error", category: "OBJECT_NOT_FOUND", message, context, errors: [], links: {} };
}

/** An owner as the owners list answers it (PublicOwner). */
function publicOwner({ id, email, firstName, lastName, userId }, since) {
  const person = { id, email, firstName, lastName, ...(userId !== undefined && { userId }) };
  return { ...person, type: "PERSON", archived: false, createdAt: since, updatedAt: since, teams: [] };
}

/** HubSpot's answer to a call over its ten-secondly or secondly limit. */
function rateLimited() {
  return {
    status: "error",
    message: "You have reached your secondly limit.",
    errorType: "RATE_LIMIT",
    correlationId: randomUUID(),
    policyName: "SECONDLY",
  };
}

function sameSpec(a, b) {
  return a.associationCategory === b.associationCategory && a.associationTypeId === b.associationTypeId;
}

function isDatetime(value) {
  return DATETIME.test(value) && Number.isFinite(/^\d+$/.test(value) ? Number(value) : Date.parse(value));
}
