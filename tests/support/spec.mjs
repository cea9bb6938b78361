// What the loopback fakes of third-party APIs (slack-fake.mjs, email-fake.mjs, hubspot-fake.mjs,
// salesforce-fake.mjs) share: the API descriptions in tests/fixtures, a small JSON Schema validator for them, request body parsing, the
// loopback server, and forced failures for retry tests.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";

const FIXTURES = join(import.meta.dirname, "../fixtures");
/** Request bodies above this are refused unread: no test sends anything near it. */
const MAX_BODY = 1 << 20;

/** An API description from tests/fixtures (made by tests/fixtures/extract-specs.mjs). */
export async function loadFixture(name) {
  return JSON.parse(await readFile(join(FIXTURES, name), "utf8"));
}

/** The schema a local `$ref` ("#/definitions/x", "#/components/schemas/x") names in `root`. */
export function resolve(root, ref) {
  if (!ref.startsWith("#/")) throw new Error(`only local $refs are supported, not ${ref}`);
  const node = ref
    .slice(2)
    .split("/")
    .reduce((at, key) => at?.[key.replaceAll("~1", "/").replaceAll("~0", "~")], root);
  if (node === undefined) throw new Error(`$ref ${ref} names nothing in the description`);
  return node;
}

/**
 * Where `value` breaks `schema` (a Swagger 2.0 / OpenAPI 3 schema whose `$ref`s point into `root`),
 * as readable strings, e.g. `$.to: expected string, got number`; empty when it conforms.
 *
 * A subset of JSON Schema: $ref, type (one or a list), enum, allOf, anyOf, oneOf, required,
 * properties, patternProperties, additionalProperties (false or a schema), items, minItems, maxItems,
 * minLength, maxLength, pattern. Annotations and the rest (format, uniqueItems, ...) are not checked.
 * Two readings differ from JSON Schema, both toward what the vendors' descriptions mean:
 * - Stricter: an object schema that lists `properties` and says nothing of `additionalProperties`
 *   is closed (Resend's SendEmailRequest lists its fields but never says `false`; a fake that let
 *   unknown fields through would hide a misspelt field the vendor silently ignores). Say
 *   `additionalProperties: true` to open one; a schema without `properties` (`headers: {type:
 *   object}`) stays open. `patternProperties` close an object the same way. (So an allOf whose parts list different properties of one object would
 *   refuse every object; neither fixture has one.)
 * - Slack's description writes "one of" as a list under `items` with no `type` (objs_user, bot_id,
 *   tz); that is read as anyOf, where JSON Schema would ignore it for a non-array.
 */
export function validate(schema, value, root, at = "$") {
  const errors = [];
  check(schema, value, root, at, errors);
  return errors;
}

function check(schema, value, root, at, errors) {
  if (schema.$ref) return check(resolve(root, schema.$ref), value, root, at, errors);
  const slackOneOf = Array.isArray(schema.items) && schema.type === undefined;
  const anyOf = schema.anyOf ?? (slackOneOf ? schema.items : null);
  if (anyOf) alternatives(anyOf, value, root, at, errors, (n) => n >= 1, "any of");
  if (schema.oneOf) alternatives(schema.oneOf, value, root, at, errors, (n) => n === 1, "exactly one of");
  for (const part of schema.allOf ?? []) check(part, value, root, at, errors);
  if (schema.type !== undefined) {
    const types = [schema.type].flat();
    if (!types.some((type) => isType(type, value))) {
      errors.push(`${at}: expected ${types.join(" or ")}, got ${typeOf(value)}`);
      return;
    }
  }
  if (schema.enum && !schema.enum.includes(value)) {
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (typeof value === "string") checkString(schema, value, at, errors);
  if (Array.isArray(value)) checkArray(schema, value, root, at, errors);
  if (typeOf(value) === "object") checkObject(schema, value, root, at, errors);
}

function alternatives(schemas, value, root, at, errors, enough, what) {
  const results = schemas.map((schema) => validate(schema, value, root, at));
  const matching = results.filter((result) => result.length === 0).length;
  if (!enough(matching)) {
    const why = matching ? `it matches ${matching}` : results.map((result) => result.join(", ")).join(" | ");
    errors.push(`${at}: must match ${what} ${schemas.length} schemas (${why})`);
  }
}

function checkString(schema, value, at, errors) {
  const length = [...value].length; // characters (code points), as JSON Schema counts them
  if (schema.minLength !== undefined && length < schema.minLength) {
    errors.push(`${at}: ${length} characters, at least ${schema.minLength} expected`);
  }
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    errors.push(`${at}: ${length} characters, at most ${schema.maxLength} allowed`);
  }
  if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
    errors.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
}

function checkArray(schema, value, root, at, errors) {
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    errors.push(`${at}: ${value.length} items, at least ${schema.minItems} expected`);
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    errors.push(`${at}: ${value.length} items, at most ${schema.maxItems} allowed`);
  }
  if (schema.items && !Array.isArray(schema.items)) {
    value.forEach((item, i) => check(schema.items, item, root, `${at}[${i}]`, errors));
  }
}

function checkObject(schema, value, root, at, errors) {
  for (const key of schema.required ?? []) {
    if (!(key in value)) errors.push(`${at}: missing required field \`${key}\``);
  }
  const properties = schema.properties ?? {};
  const patterns = Object.entries(schema.patternProperties ?? {}).map(([re, item]) => [new RegExp(re, "u"), item]);
  const listed = schema.properties || schema.patternProperties;
  const extra = schema.additionalProperties ?? (listed ? false : true);
  for (const [key, item] of Object.entries(value)) {
    const where = `${at}.${key}`;
    const matching = patterns.filter(([re]) => re.test(key));
    if (Object.hasOwn(properties, key)) check(properties[key], item, root, where, errors);
    for (const [, pattern] of matching) check(pattern, item, root, where, errors);
    if (Object.hasOwn(properties, key) || matching.length) continue;
    if (extra === false) errors.push(`${where}: not a field the description lists`);
    else if (extra !== true) check(extra, item, root, where, errors);
  }
}

function isType(type, value) {
  if (type === "integer") return Number.isInteger(value);
  if (type === "number") return Number.isFinite(value);
  return typeOf(value) === type;
}

/** JSON's name for the type of `value`. */
function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** The request's body as text (UTF-8), or null when it is larger than MAX_BODY. */
export async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The media type of a Content-Type header without its parameters ("application/json"), or "". */
export function mediaType(header = "") {
  return header.split(";")[0].trim().toLowerCase();
}

/**
 * A request body as an object of fields, for a body whose Content-Type is one of `consumes`:
 * `{ fields }` (form fields are strings; a JSON body must be an object), or `{ problem, message }`
 * where problem is `no_content_type`, `unsupported_content_type`, `invalid_json`, `not_an_object`
 * or `repeated_field` (a form field given twice, which neither vendor documents).
 */
export function parseBody(contentType, text, consumes) {
  const type = mediaType(contentType);
  if (!type) return { problem: "no_content_type", message: "the body has no Content-Type" };
  if (!consumes.includes(type)) {
    return {
      problem: "unsupported_content_type",
      message: `Content-Type ${type} is not one the operation consumes (${consumes.join(", ")})`,
    };
  }
  if (type === "application/x-www-form-urlencoded") {
    return formFields(new URLSearchParams(text), "form field");
  }
  if (type === "application/json") {
    let fields;
    try {
      fields = JSON.parse(text);
    } catch (err) {
      return { problem: "invalid_json", message: `the JSON body does not parse: ${err.message}` };
    }
    if (typeOf(fields) !== "object") {
      return { problem: "not_an_object", message: `the JSON body is ${typeOf(fields)}, not an object` };
    }
    return { fields };
  }
  throw new Error(`no parser for ${type}`);
}

/** URL-encoded pairs (a form body or a query string) as an object, refusing a repeated name. */
export function formFields(pairs, what = "query parameter") {
  const fields = {};
  for (const [name, value] of pairs) {
    if (Object.hasOwn(fields, name)) {
      return { problem: "repeated_field", message: `${what} \`${name}\` is given twice` };
    }
    fields[name] = value;
  }
  return { fields };
}

/** Sends `body` (an object, as JSON) with `status` and extra `headers`. */
export function answer(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

/**
 * An HTTP server on 127.0.0.1 and a free port, calling `async handle(req, res)` for each request.
 * A fake that throws answers 500 and says why in `violations`. Resolves to `{ origin, close }`.
 */
export async function serve(handle, violations) {
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      violations.push(`the fake itself failed on ${req.method} ${req.url}: ${err.stack}`);
      if (!res.headersSent) answer(res, 500, { error: "fake failed" });
      else res.end();
    });
  });
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", ok);
  });
  const close = () => {
    server.closeAllConnections();
    return new Promise((ok) => server.close(ok));
  };
  return { origin: `http://127.0.0.1:${server.address().port}`, close };
}

/**
 * Failures queued by a fake's `failNext`, per operation, each answered once in order instead of
 * the next call of that operation that passes every check (so retries can be tested).
 */
export function failureQueue() {
  const queued = new Map();
  return {
    add(operation, failure) {
      queued.set(operation, [...(queued.get(operation) ?? []), failure]);
    },
    /** The next failure queued for `operation`, removed from the queue, or undefined. */
    take(operation) {
      return queued.get(operation)?.shift();
    },
  };
}
