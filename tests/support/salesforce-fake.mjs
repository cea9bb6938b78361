// A loopback fake of the Salesforce calls Handoff makes: an access token by the OAuth 2.0 client
// credentials flow, the upsert of a Lead by an external ID, and the creation and update of a Task.
// Every request is checked against tests/fixtures/salesforce-rest.json, a description written by
// hand from Salesforce's REST API Developer Guide (its x-source note lists the pages, and what the
// fake checks beyond the schemas): a request Salesforce would refuse gets Salesforce's error answer
// (a JSON list of `{ message, errorCode, fields? }`, or OAuth's `{ error, error_description }` from
// the token endpoint) and a sentence in `violations`, which a test asserts is empty at its end. The
// fake's own answers are checked against the description too.
import { createHmac, randomBytes } from "node:crypto";
import { answer, loadFixture, parseBody, readBody, resolve, serve, validate } from "./spec.mjs";

const API = "/services/data/v61.0";
/** The operations: name → [verb, path in the description]. */
const OPERATIONS = {
  token: ["post", "/services/oauth2/token"],
  "lead.upsert": ["patch", `${API}/sobjects/Lead/{fieldName}/{fieldValue}`],
  "task.create": ["post", `${API}/sobjects/Task`],
  "task.update": ["patch", `${API}/sobjects/Task/{id}`],
};
/** The key prefixes of the records the fake makes or knows. */
const PREFIX = { lead: "00Q", task: "00T", user: "005", queue: "00G", org: "00D" };
/** The integration user the client credentials flow runs as (its identity URL names it). */
const INTEGRATION_USER = recordId(PREFIX.user, 1);
const ORG = recordId(PREFIX.org, 1);
/** Salesforce's answers to calls over limits and outages, as the status codes page describes them. */
const CANNED = {
  401: ["INVALID_SESSION_ID", "Session expired or invalid"],
  403: ["REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."],
  404: ["NOT_FOUND", "The requested resource does not exist"],
  500: ["UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support."],
  503: ["SERVER_UNAVAILABLE", "Server temporarily unavailable"],
};

/** A request Salesforce refuses: `why` the violation to record (after `where`), `body` the answer. */
class Refusal extends Error {
  constructor(where, why, status, body) {
    super(`${where}: ${why}`);
    this.status = status;
    this.body = body;
  }
}

/** Salesforce's API error answer: a list of errors. */
const apiErrors = (errorCode, message, fields) => [{ message, errorCode, ...(fields && { fields }) }];
/** A refusal with one API error. */
const refuse = (where, why, status, errorCode, message = why, fields = undefined) =>
  new Refusal(where, why, status, apiErrors(errorCode, message, fields));
/** A refusal from the token endpoint, in OAuth's shape. */
const refuseToken = (where, why, error, description) =>
  new Refusal(where, why, 400, { error, error_description: description });

/**
 * Starts the fake. `clientId` and `clientSecret` are the external client app's consumer key and
 * secret; `users` (`{ id }`, 18-character ids starting 005) the org's users, the only owners a
 * record may have besides queues (any 00G id); `externalIdField` the Lead field Handoff upserts by.
 * Resolves to:
 * - `url`: both the My Domain login URL and the instance URL (`http://127.0.0.1:PORT`);
 * - `leads` (`{ id, fields }`, the external ID in `fields[externalIdField]`) and `tasks`
 *   (`{ id, fields }`): the org, changed in place by the calls;
 * - `requests`: every call that passed the checks and was answered, `{ method, path, body }` (the
 *   token call's body without client_secret);
 * - `violations`: one sentence per refused request (and per answer of the fake's that broke the
 *   description). A call with a token `expireTokens()` ended is answered 401 without one: sessions
 *   end on Salesforce's side, and a client is expected to get another token;
 * - `tokensIssued`: how many access tokens the token endpoint gave;
 * - `expireTokens()`: every token given so far stops working (401 INVALID_SESSION_ID);
 * - `duplicateLead(value)`: adds a second Lead with the external ID `value` (a copy of the first,
 *   if any), so that the next upsert of `value` is ambiguous (300); returns it;
 * - `failNext(nameOrPathPrefix, { status = 500, body, headers })`: the next call that passes the
 *   checks of the operation so named ("token", "lead.upsert", "task.create", "task.update") or whose
 *   path starts with the prefix is answered with this instead and changes nothing (a 403 gets
 *   REQUEST_LIMIT_EXCEEDED, a 503 SERVER_UNAVAILABLE unless told otherwise);
 * - `down(on)`: while on, every call is answered 503 (SERVER_UNAVAILABLE) and changes nothing;
 * - `close()`.
 */
export async function startSalesforceFake({
  clientId,
  clientSecret,
  users = [],
  externalIdField = "Handoff_Lead_Id__c",
}) {
  const spec = await loadFixture("salesforce-rest.json");
  const operations = describe(spec);
  const leads = [];
  const tasks = [];
  const requests = [];
  const violations = [];
  /** Queued failures, `{ match, failure }`, taken in order by the first call they match. */
  const failures = [];
  const live = new Set();
  const ended = new Set();
  const counters = { lead: 0, task: 0 };
  let tokensIssued = 0;
  let origin;
  let isDown = false;

  const sameId = (a, b) => typeof a === "string" && (a === b || a === b.slice(0, 15));
  const leadOf = (id) => leads.find((lead) => sameId(id, lead.id));
  const isUser = (id) => users.some((user) => sameId(id, user.id));
  const isQueue = (id) => new RegExp(`^${PREFIX.queue}[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?$`).test(id);
  /** The Leads whose external ID is `value` (case-insensitively, as a non-case-sensitive external ID matches). */
  const byExternalId = (value) =>
    leads.filter((lead) => String(lead.fields[externalIdField]).toLowerCase() === value.toLowerCase());

  function newRecord(kind, fields) {
    counters[kind] += 1;
    return { id: recordId(PREFIX[kind], counters[kind]), fields: withoutNulls(fields) };
  }

  // Each operation checks what the description cannot say, then returns its change and answer as a
  // function, run only when no failure is queued: `{ status, body }`, body undefined for none.
  const prepare = {
    token({ body, where }) {
      if (body.grant_type !== "client_credentials") {
        const why = `grant_type ${JSON.stringify(body.grant_type)} is not client_credentials`;
        throw refuseToken(where, why, "unsupported_grant_type", "grant type not supported");
      }
      if (body.client_id !== clientId || body.client_secret !== clientSecret) {
        const why = "the client id or secret is not the fake's";
        throw refuseToken(where, why, "invalid_client", "invalid client credentials");
      }
      return () => {
        const accessToken = `${ORG.slice(0, 15)}!${randomBytes(24).toString("base64url")}`;
        live.add(accessToken);
        tokensIssued += 1;
        const issuedAt = String(Date.now());
        const id = `${origin}/id/${ORG}/${INTEGRATION_USER}`;
        const signature = createHmac("sha256", clientSecret).update(`${id}${issuedAt}`).digest("base64");
        const token = { access_token: accessToken, signature, scope: "api", instance_url: origin, id };
        return { status: 200, body: { ...token, token_type: "Bearer", issued_at: issuedAt } };
      };
    },
    "lead.upsert"({ body, params, where }) {
      if (params.fieldName !== externalIdField) {
        const why = `${params.fieldName} is not the external ID field ${externalIdField}`;
        throw refuse(where, why, 404, ...CANNED[404]);
      }
      const value = params.fieldValue;
      for (const name of Object.keys(body)) {
        if (name.toLowerCase() === "id" || name.toLowerCase() === externalIdField.toLowerCase()) {
          const why = `the body holds ${name}: an upsert takes neither Id nor the external ID field in its body`;
          throw refuse(where, why, 400, "INVALID_FIELD", why, [name]);
        }
      }
      checkFields(spec.components.schemas.LeadFields, body, "Lead", where);
      checkOwner(body.OwnerId, where, { queues: true });
      const matches = byExternalId(value);
      if (matches.length > 1) {
        return () => ({ status: 300, body: matches.map((lead) => `${API}/sobjects/Lead/${lead.id}`) });
      }
      const [found] = matches;
      requireOnCreate(found ? { ...found.fields, ...body } : body, where);
      return () => {
        if (found) applyFields(found.fields, body);
        const lead = found ?? newRecord("lead", { ...body, [externalIdField]: value });
        if (!found) leads.push(lead);
        return { status: found ? 200 : 201, body: { id: lead.id, success: true, errors: [], created: !found } };
      };
    },
    "task.create"({ body, where }) {
      checkTask(body, where);
      return () => {
        const task = newRecord("task", body);
        tasks.push(task);
        return { status: 201, body: { id: task.id, success: true, errors: [] } };
      };
    },
    "task.update"({ body, params, where }) {
      const task = tasks.find((t) => sameId(params.id, t.id));
      if (!task) throw refuse(where, `no Task has the id ${params.id}`, 404, ...CANNED[404]);
      checkTask(body, where);
      return () => {
        applyFields(task.fields, body);
        return { status: 204, body: undefined };
      };
    },
  };

  /** Refuses fields the schema does not list or allow, each error as Salesforce codes it. */
  function checkFields(schema, fields, sobject, where) {
    const errors = fieldErrors(schema, fields, sobject);
    if (errors.length) {
      const why = errors.map((e) => `${e.errorCode}: ${e.message}`).join("; ");
      throw new Refusal(where, why, 400, errors);
    }
  }

  function fieldErrors(schema, fields, sobject) {
    const errors = [];
    for (const [name, value] of Object.entries(fields)) {
      const field = fieldSchema(schema, name);
      if (!field) {
        errors.push(apiErrors("INVALID_FIELD", `No such column '${name}' on sobject of type ${sobject}`, [name])[0]);
        continue;
      }
      const problems = validate(field, value, spec, name);
      if (problems.length) errors.push(apiErrors(errorCodeFor(field, value), problems.join("; "), [name])[0]);
    }
    return errors;
  }

  /** A Lead needs LastName and Company: on create, and an update cannot clear them. */
  function requireOnCreate(fields, where) {
    const required = spec.components.schemas.LeadFields["x-requiredOnCreate"];
    // Salesforce stores an empty string as null.
    const missing = required.filter((name) => [undefined, null, ""].includes(fields[name]));
    if (missing.length) {
      const message = `Required fields are missing: [${missing.join(", ")}]`;
      throw refuse(where, message, 400, "REQUIRED_FIELD_MISSING", message, missing);
    }
  }

  /** An OwnerId, when given, is a user of the org (or, where `queues`, a queue). */
  function checkOwner(ownerId, where, { queues }) {
    if (ownerId === undefined || ownerId === null || isUser(ownerId) || (queues && isQueue(ownerId))) return;
    const why = `OwnerId ${ownerId} is no user${queues ? " or queue" : ""} of the fake`;
    throw refuse(where, why, 400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["OwnerId"]);
  }

  /** A Task's fields: the schema's, a Lead as WhoId, a user as OwnerId, real dates. */
  function checkTask(body, where) {
    checkFields(spec.components.schemas.TaskFields, body, "Task", where);
    if (body.WhoId !== undefined && body.WhoId !== null && !leadOf(body.WhoId)) {
      const why = `WhoId ${body.WhoId} is no Lead of the fake`;
      throw refuse(where, why, 400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["WhoId"]);
    }
    checkOwner(body.OwnerId, where, { queues: false });
    if (typeof body.ActivityDate === "string" && !isCalendarDate(body.ActivityDate)) {
      const why = `ActivityDate ${body.ActivityDate} is no calendar date`;
      throw refuse(where, why, 400, "JSON_PARSER_ERROR", why, ["ActivityDate"]);
    }
    if (typeof body.ReminderDateTime === "string" && !Number.isFinite(Date.parse(body.ReminderDateTime))) {
      const why = `ReminderDateTime ${body.ReminderDateTime} is no instant`;
      throw refuse(where, why, 400, "JSON_PARSER_ERROR", why, ["ReminderDateTime"]);
    }
  }

  /** The operation, path parameters and body of a request that passes the description's checks. */
  async function checkRequest(req) {
    const url = new URL(req.url, "http://fake");
    const where = `${req.method} ${url.pathname}`;
    const route = routeOf(operations, url.pathname);
    if (!route) throw refuse(where, "not a path the fake serves", 404, ...CANNED[404]);
    const { op, params } = route;
    if (req.method !== op.verb.toUpperCase()) {
      const why = `HTTP Method '${req.method}' not allowed. Allowed are ${op.verb.toUpperCase()}`;
      throw refuse(where, why, 405, "METHOD_NOT_ALLOWED");
    }
    if (op.name !== "token") authenticate(req.headers.authorization, where);
    const text = await readBody(req);
    if (text === null) throw refuse(where, "the body is larger than the fake reads", 413, "REQUEST_TOO_LARGE");
    const contentType = req.headers["content-type"];
    const body = op.name === "token" ? tokenBody(op, contentType, text, where) : jsonBody(op, contentType, text, where);
    return { op, params, body, where, path: `${url.pathname}${url.search}` };
  }

  /** Refuses an API call without a live access token. */
  function authenticate(authorization, where) {
    const given = /^Bearer (\S+)$/i.exec(authorization ?? "")?.[1];
    if (live.has(given)) return;
    const why = given === undefined ? "no Authorization: Bearer header" : "the token is not one the fake gave";
    const refusal = refuse(where, ended.has(given) ? "the token has expired" : why, 401, ...CANNED[401]);
    refusal.expected = ended.has(given);
    throw refusal;
  }

  /** The token request's form fields, when they are the description's. */
  function tokenBody(op, contentType, text, where) {
    const parsed = parseBody(contentType, text, op.consumes);
    if (parsed.problem) throw refuseToken(where, parsed.message, "invalid_request", parsed.message);
    // A missing or wrong grant_type or client is the token operation's to answer, as Salesforce does.
    const unknown = Object.keys(parsed.fields).filter((name) => !Object.hasOwn(op.request.properties, name));
    if (unknown.length) {
      const why = `${unknown.map((name) => `\`${name}\``).join(", ")}: not a field of the token request`;
      throw refuseToken(where, why, "invalid_request", why);
    }
    return parsed.fields;
  }

  /** A JSON body: an object whose fields the operation checks one by one. */
  function jsonBody(op, contentType, text, where) {
    const parsed = parseBody(contentType, text, op.consumes);
    if (parsed.problem === "no_content_type" || parsed.problem === "unsupported_content_type") {
      throw refuse(where, parsed.message, 415, "UNSUPPORTED_MEDIA_TYPE");
    }
    if (parsed.problem) throw refuse(where, parsed.message, 400, "JSON_PARSER_ERROR");
    return parsed.fields;
  }

  /**
   * The fake's answer checked against the description's schema for its status; a refusal whose
   * status the operation does not list (405, 415) against the shape of Salesforce's errors.
   */
  function checkAnswer(op, status, body, where, { refusal = false } = {}) {
    const response = op?.responses[status];
    if (!response && !refusal) {
      violations.push(`the fake answered ${where} with ${status}, which the description does not list`);
      return;
    }
    const errors = `#/components/schemas/${Array.isArray(body) ? "Errors" : "OAuthError"}`;
    const schema = response ? response.content?.["application/json"]?.schema : { $ref: errors };
    const bodiless = body === undefined ? [] : ["a body where none is described"];
    const problems = schema ? validate(schema, body, spec) : bodiless;
    for (const problem of problems) violations.push(`the fake's answer to ${where} breaks the description: ${problem}`);
  }

  function takeFailure(op, path) {
    const i = failures.findIndex(({ match }) => match === op.name || (match.startsWith("/") && path.startsWith(match)));
    return i < 0 ? undefined : failures.splice(i, 1)[0].failure;
  }

  const server = await serve(async (req, res) => {
    if (isDown) {
      await readBody(req);
      return answer(res, 503, apiErrors(...CANNED[503]));
    }
    let op;
    try {
      const request = await checkRequest(req);
      op = request.op;
      const commit = prepare[op.name](request);
      const failure = takeFailure(op, request.path);
      if (failure) return answer(res, failure.status, failure.body, failure.headers);
      const { status, body } = commit();
      checkAnswer(op, status, body, request.where);
      requests.push({ method: req.method, path: request.path, body: redacted(request.body) });
      if (body === undefined) return res.writeHead(status).end();
      answer(res, status, body);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      if (!err.expected) violations.push(err.message);
      checkAnswer(op, err.status, err.body, `${req.method} ${req.url}`, { refusal: true });
      answer(res, err.status, err.body);
    }
  }, violations);
  origin = server.origin;

  function failNext(nameOrPathPrefix, { status = 500, body, headers = {} } = {}) {
    const known = nameOrPathPrefix in OPERATIONS || nameOrPathPrefix.startsWith("/");
    if (!known) {
      throw new Error(`failNext: ${nameOrPathPrefix} is neither a path nor one of ${Object.keys(OPERATIONS)}`);
    }
    const [errorCode, message] = CANNED[status] ?? ["UNKNOWN_EXCEPTION", `HTTP ${status}`];
    const failure = { status, body: body ?? apiErrors(errorCode, message), headers };
    failures.push({ match: nameOrPathPrefix, failure });
  }

  function expireTokens() {
    for (const token of live) ended.add(token);
    live.clear();
  }

  function duplicateLead(value) {
    const [first] = byExternalId(value);
    const fields = { LastName: "Duplicate", Company: "Duplicate", ...first?.fields, [externalIdField]: value };
    const lead = newRecord("lead", fields);
    leads.push(lead);
    return lead;
  }

  return {
    url: origin,
    leads,
    tasks,
    requests,
    violations,
    get tokensIssued() {
      return tokensIssued;
    },
    expireTokens,
    duplicateLead,
    failNext,
    down(on) {
      isDown = Boolean(on);
    },
    close: server.close,
  };
}

/**
 * The description's operations as the fake routes them: `{ name, verb, pattern, consumes, request,
 * responses }`. Throws on what the fake does not handle, so that an edited fixture cannot slip past.
 */
function describe(spec) {
  return Object.entries(OPERATIONS).map(([name, [verb, path]]) => {
    const op = spec.paths[path]?.[verb];
    if (!op) throw new Error(`salesforce-rest.json has no ${verb} ${path}`);
    const content = op.requestBody.content;
    const consumes = Object.keys(content);
    const request = content[consumes[0]].schema;
    const pattern = new RegExp(`^${path.replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}$`);
    const fields = request.$ref ? resolve(spec, request.$ref) : request;
    return { name, verb, pattern, consumes, request: fields, responses: op.responses };
  });
}

/** The operation whose path `pathname` is, with its path parameters decoded; null for none. */
function routeOf(operations, pathname) {
  for (const op of operations) {
    const match = op.pattern.exec(pathname);
    if (!match) continue;
    try {
      const params = Object.entries({ ...match.groups }).map(([name, value]) => [name, decodeURIComponent(value)]);
      return { op, params: Object.fromEntries(params) };
    } catch {
      return null;
    }
  }
  return null;
}

/** The schema of field `name`: listed, or matching a pattern (custom fields); undefined for none. */
function fieldSchema(schema, name) {
  if (Object.hasOwn(schema.properties, name)) return schema.properties[name];
  const patterns = Object.entries(schema.patternProperties ?? {});
  return patterns.find(([re]) => new RegExp(re, "u").test(name))?.[1];
}

/** Salesforce's error code for a value its field's schema refuses. */
function errorCodeFor(field, value) {
  if (typeof value === "string" && field.maxLength !== undefined && [...value].length > field.maxLength) {
    return "STRING_TOO_LONG";
  }
  if (typeof value === "string" && field.enum) return "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST";
  return "JSON_PARSER_ERROR";
}

/**
 * An 18-character Salesforce id: the 3-character key prefix, the number `n` in 12 digits, and the
 * 3 characters that encode which of the 15 are upper case (so ids look and check like real ones).
 */
export function recordId(prefix, n) {
  const id15 = `${prefix}${String(n).padStart(12, "0")}`;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
  let suffix = "";
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) if (/[A-Z]/.test(id15[chunk * 5 + i])) bits |= 1 << i;
    suffix += alphabet[bits];
  }
  return id15 + suffix;
}

function withoutNulls(fields) {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null));
}

/** Writes `changes` into a record's fields in place, a null clearing its field. */
function applyFields(fields, changes) {
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) delete fields[name];
    else fields[name] = value;
  }
}

function isCalendarDate(text) {
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === text;
}

/** A request body as `requests` keeps it: the token call's secret left out. */
function redacted(body) {
  if (body === null || typeof body !== "object" || !("client_secret" in body)) return body;
  const { client_secret: _, ...rest } = body;
  return rest;
}
