// A loopback fake of Resend's POST /emails, the one call Handoff makes to send email. Every request
// is checked against Resend's description of it (tests/fixtures/resend-emails.json): a request
// Resend would refuse gets Resend's documented error (`{ statusCode, message, name }`, per
// https://resend.com/docs/api-reference/errors, as the description lists no errors) and a sentence
// in `violations`, which a test asserts is empty at its end. The fake's own successful answers are
// checked against the description's 200 schema too.
import { randomUUID } from "node:crypto";
import { answer, failureQueue, loadFixture, parseBody, readBody, resolve, serve, validate } from "./spec.mjs";

const PATH = "/emails";
/** Tag names and values, as the description of the Tag schema words them (not in its schema). */
const TAG = /^[A-Za-z0-9_-]{1,256}$/;
/** The errors of Resend's error reference the fake answers: name → [status, message]. */
const ERRORS = {
  validation_error: [400, "We found an error with one or more fields in the request."],
  invalid_idempotency_key: [400, "The key must be between 1-256 chars."],
  missing_api_key: [401, "Missing API key in the authorization header."],
  invalid_api_key: [403, "API key is invalid."],
  not_found: [404, "The requested endpoint does not exist."],
  method_not_allowed: [405, "Method is not allowed for the requested path."],
  invalid_idempotent_request: [409, "Same idempotency key used with a different request payload."],
  missing_required_field: [422, "The request body is missing one or more required fields."],
  rate_limit_exceeded: [429, "Too many requests. Please limit the number of requests per second."],
  application_error: [500, "An unexpected error occurred."],
};

/** A request Resend refuses with the error `name`; `why` is the violation to record. */
class Refusal extends Error {
  constructor(name, why, message = ERRORS[name][1]) {
    super(why);
    this.body = { statusCode: ERRORS[name][0], message, name };
  }
}

/**
 * Starts the fake. `apiKey` is the only key it accepts. Resolves to:
 * - `url`: the API base, `${url}/emails` being the endpoint;
 * - `emails`: every email sent, `{ id, body, headers }` (the parsed JSON body, the request headers);
 * - `violations`: one sentence per refused request (and per answer of the fake's that broke the
 *   description);
 * - `failNext({ status = 500, body, headers })`: the next request that passes the checks is answered
 *   with this instead and sends nothing (a 429 gets `retry-after: 1` and Resend's
 *   rate_limit_exceeded body unless told otherwise);
 * - `close()`.
 * A repeated `Idempotency-Key` with the same body gets the first answer again and sends nothing;
 * with another body it is refused (409), as Resend documents.
 */
export async function startEmailFake({ apiKey }) {
  const spec = await loadFixture("resend-emails.json");
  const op = spec.paths[PATH].post;
  const consumes = Object.keys(op.requestBody.content);
  const request = op.requestBody.content["application/json"].schema;
  const required = (request.$ref ? resolve(spec, request.$ref) : request).required ?? [];
  const success = op.responses["200"].content["application/json"].schema;
  const keyParam = op.parameters.find((p) => p.in === "header" && p.name === "Idempotency-Key");
  const emails = [];
  const violations = [];
  const failures = failureQueue();
  /** Idempotency-Key → { text: the body it came with, reply: the answer given }. */
  const sentByKey = new Map();

  async function handle(req) {
    const url = new URL(req.url, "http://fake");
    const where = `${req.method} ${url.pathname}`;
    if (url.pathname !== PATH) throw new Refusal("not_found", `${where}: the fake has only POST ${PATH}`);
    if (req.method !== "POST") throw new Refusal("method_not_allowed", `${where}: only POST`);
    authenticate(req.headers.authorization, where);
    const text = await readBody(req);
    if (text === null) throw new Refusal("validation_error", `${where}: the body is larger than the fake reads`);
    const parsed = parseBody(req.headers["content-type"], text, consumes);
    if (parsed.problem) throw new Refusal("validation_error", `${where}: ${parsed.message}`);
    const body = parsed.fields;
    const key = idempotencyKey(req.headers["idempotency-key"], where);
    checkEmail(body, where);

    const canonical = JSON.stringify(body);
    const earlier = key === undefined ? undefined : sentByKey.get(key);
    if (earlier && earlier.text !== canonical) {
      const why = `${where}: Idempotency-Key ${JSON.stringify(key)} was used before with another body`;
      throw new Refusal("invalid_idempotent_request", why);
    }
    if (earlier) return { status: 200, body: earlier.reply };
    const failure = failures.take(PATH);
    if (failure) return failure;

    const reply = { id: randomUUID() };
    for (const problem of validate(success, reply, spec)) {
      violations.push(`the fake's answer to ${where} breaks the description: ${problem}`);
    }
    emails.push({ id: reply.id, body, headers: req.headers });
    if (key !== undefined) sentByKey.set(key, { text: canonical, reply });
    return { status: 200, body: reply };
  }

  /** Refuses a request without `Authorization: Bearer <apiKey>`, as Resend does. */
  function authenticate(authorization, where) {
    const given = /^Bearer (\S+)$/i.exec(authorization ?? "")?.[1];
    if (given === undefined) throw new Refusal("missing_api_key", `${where}: no Authorization: Bearer header`);
    if (given !== apiKey) throw new Refusal("invalid_api_key", `${where}: the API key is not the fake's`);
  }

  /** The Idempotency-Key header, if any, when its schema (and Resend's 1 character minimum) allows it. */
  function idempotencyKey(key, where) {
    if (key === undefined) return undefined;
    const problems = validate(keyParam.schema, key, spec, "Idempotency-Key");
    if (key === "") problems.push("Idempotency-Key: empty");
    if (problems.length) throw new Refusal("invalid_idempotency_key", `${where}: ${problems.join("; ")}`);
    return key;
  }

  /** Refuses a body that breaks SendEmailRequest, or the rules its descriptions state in words. */
  function checkEmail(body, where) {
    const missing = required.filter((field) => !(field in body));
    if (missing.length) {
      const fields = missing.map((field) => `\`${field}\``);
      const why = `${where}: missing required field${missing.length > 1 ? "s" : ""} ${fields.join(", ")}`;
      throw new Refusal("missing_required_field", why, `Missing ${fields[0]} field.`);
    }
    const problems = validate(request, body, spec, "body");
    for (const [i, tag] of (Array.isArray(body.tags) ? body.tags : []).entries()) {
      for (const field of ["name", "value"]) {
        if (typeof tag?.[field] === "string" && !TAG.test(tag[field])) {
          problems.push(`body.tags[${i}].${field}: only ASCII letters, digits, _ and - (1 to 256) allowed`);
        }
      }
    }
    if (body.template !== undefined && (body.html !== undefined || body.text !== undefined)) {
      problems.push("body: `template` excludes `html` and `text`");
    }
    if (problems.length) throw new Refusal("validation_error", `${where}: ${problems.join("; ")}`);
  }

  const { origin, close } = await serve(async (req, res) => {
    try {
      const { status, body, headers } = await handle(req);
      answer(res, status, body, headers);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      violations.push(err.message);
      answer(res, err.body.statusCode, err.body);
    }
  }, violations);

  function failNext({ status = 500, body, headers } = {}) {
    const limited = status === 429;
    const name = limited ? "rate_limit_exceeded" : "application_error";
    failures.add(PATH, {
      status,
      body: body ?? { statusCode: status, message: ERRORS[name][1], name },
      headers: headers ?? (limited ? { "retry-after": "1" } : {}),
    });
  }

  return { url: origin, emails, violations, failNext, close };
}
