// A loopback fake of the four Slack Web API methods Handoff calls (chat.postMessage, chat.update,
// chat.postEphemeral, users.lookupByEmail). Every request is checked against Slack's own description of them
// (tests/fixtures/slack-web-api.json; its x-source note lists where the fake deviates): a request
// Slack would refuse gets Slack's answer (HTTP 200, `{ ok: false, error }`) and a sentence in
// `violations`, which a test asserts is empty at its end. The fake's own successful answers are
// checked against the description's 200 schemas too.
import { createHash } from "node:crypto";
import {
  answer, failureQueue, formFields, loadFixture, mediaType, parseBody, readBody, serve, validate,
} from "./spec.mjs";

/** Slack's error names for a body parseBody refuses. */
const BODY_ERRORS = {
  no_content_type: "missing_post_type",
  unsupported_content_type: "invalid_post_type",
  invalid_json: "invalid_json",
  not_an_object: "json_not_object",
  repeated_field: "invalid_arguments",
};
/** Parameters the description types as (JSON-encoded) strings that Slack takes as JSON arrays in a
 * JSON body. */
const JSON_ARRAY_PARAMS = new Set(["blocks", "attachments"]);
/** The workspace id in the users the fake answers with. */
const TEAM = "T0HANDOFF1";

/** A request Slack refuses: `error` is Slack's error name, `why` the violation to record. */
class Refusal extends Error {
  constructor(error, why, status = 200) {
    super(why);
    this.error = error;
    this.status = status;
  }
}

/**
 * Starts the fake. `token` is the only token it accepts; `users` (`{ id, email, name, real_name? }`)
 * are the workspace's members, found by users.lookupByEmail and the only user ids chat.postMessage
 * can open a direct message with; the array is kept, so a test may push more users later.
 * Resolves to:
 * - `url`: the API base, `${url}/chat.postMessage` being a method's URL (ends with the
 *   description's basePath, /api);
 * - `requests`: every call that passed the checks, `{ method, params, headers }`, params typed per
 *   the description (booleans as booleans, `blocks` parsed), the token left out;
 * - `violations`: one sentence per refused request (and per answer of the fake's that broke the
 *   description);
 * - `messages`: the messages posted, `{ channel, ts, text, blocks, user }` (`user`: the user id of a
 *   direct message, else null), updated in place by chat.update;
 * - `users`: the array given;
 * - `failNext(method, { status = 500, body, headers })`: the next call of `method` that passes the
 *   checks is answered with this instead and changes nothing (a 429 gets `retry-after: 1` and
 *   Slack's `ratelimited` body unless told otherwise);
 * - `close()`.
 */
export async function startSlackFake({ token, users = [] }) {
  const spec = await loadFixture("slack-web-api.json");
  const methods = operations(spec);
  const { defs_channel: channelId, defs_user_id: userId } = spec.definitions;
  const requests = [];
  const violations = [];
  const messages = [];
  // What chat.postEphemeral showed to one user: { channel, user, text, ts }.
  const ephemerals = [];
  const failures = failureQueue();
  let sent = 0;

  /** A new message timestamp, "1700000000.000100" and up, unique in this fake. */
  function nextTs() {
    sent += 1;
    const micros = sent * 100;
    return `${1_700_000_000 + Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, "0")}`;
  }

  /** Where chat.postMessage's `channel` posts: a channel id, or a member's user id (a DM). */
  function destination(channel, where) {
    if (!validate(channelId, channel, spec).length) return { channel, user: null };
    if (!validate(userId, channel, spec).length) {
      if (!users.some((user) => user.id === channel)) {
        throw new Refusal("channel_not_found", `${where}: no user of the fake has the id ${channel}`);
      }
      return { channel: dmChannel(channel), user: channel };
    }
    throw new Refusal(
      "channel_not_found",
      `${where}: channel ${JSON.stringify(channel)} is neither a channel id (${channelId.pattern}) ` +
        `nor a user id (${userId.pattern}); the fake knows no channel names`,
    );
  }

  // Each method checks what the description cannot say, then returns the change it makes and its
  // answer as a function, run only when no failure is queued.
  const prepare = {
    "chat.postMessage"(params, where) {
      requireContent(params, where);
      const { channel, user } = destination(params.channel, where);
      return () => {
        const ts = nextTs();
        const text = params.text ?? "";
        const blocks = params.blocks ?? null;
        messages.push({ channel, ts, text, blocks, user });
        const message = { type: "message", text, ts, ...(blocks && { blocks }) };
        return { ok: true, channel, ts, message };
      };
    },
    "chat.update"(params, where) {
      requireContent(params, where);
      const message = messages.find((m) => m.channel === params.channel && m.ts === params.ts);
      if (!message) {
        const why = `${where}: no message ${params.ts} in channel ${params.channel}`;
        throw new Refusal("message_not_found", why);
      }
      return () => {
        if ("text" in params) message.text = params.text;
        if ("blocks" in params) message.blocks = params.blocks;
        // The description types the answer's message.blocks as an object, which blocks never are:
        // the answer leaves them out rather than break the schema.
        const { channel, ts, text } = message;
        return { ok: true, channel, ts, text, message: { text } };
      };
    },
    "chat.postEphemeral"(params, where) {
      requireContent(params, where);
      destination(params.channel, where);
      if (!users.some((u) => u.id === params.user)) {
        throw new Refusal("user_not_in_channel", `${where}: no user of the fake has the id ${params.user}`);
      }
      return () => {
        const ts = nextTs();
        ephemerals.push({ channel: params.channel, user: params.user, text: params.text ?? "", ts });
        return { ok: true, message_ts: ts };
      };
    },
    "users.lookupByEmail"(params) {
      return () => {
        const email = params.email.toLowerCase();
        const user = users.find((u) => u.email.toLowerCase() === email);
        return user ? { ok: true, user: slackUser(user) } : { ok: false, error: "users_not_found" };
      };
    },
  };

  /** The method and typed parameters of a request that passes the description's checks. */
  async function checkRequest(req) {
    const url = new URL(req.url, "http://fake");
    const where = `${req.method} ${url.pathname}`;
    const prefix = `${spec.basePath}/`;
    const name = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : "";
    const op = methods.get(name);
    if (!op) {
      const known = [...methods.keys()].join(", ");
      throw new Refusal("unknown_method", `${where}: not a method of the description (${known})`, 404);
    }
    if (req.method !== op.verb) {
      throw new Refusal("invalid_arguments", `${where}: the description has ${name} as ${op.verb} only`);
    }
    const text = await readBody(req);
    if (text === null) throw new Refusal("invalid_arguments", `${where}: the body is larger than the fake reads`);
    const query = formFields(url.searchParams);
    if (query.problem) throw new Refusal("invalid_arguments", `${where}: ${query.message}`);
    let body = { fields: {} };
    if (op.verb === "GET") {
      const why = `${where}: a GET has no body; ${name} takes its parameters in the query`;
      if (text) throw new Refusal("invalid_arguments", why);
    } else {
      body = parseBody(req.headers["content-type"], text, op.consumes);
      if (body.problem) throw new Refusal(BODY_ERRORS[body.problem], `${where}: ${body.message}`);
    }
    authenticate(op, token, req.headers, query.fields, where);
    const json = mediaType(req.headers["content-type"]) === "application/json";
    const params = parameters(op, { query: query.fields, formData: body.fields }, json, where);
    if ("blocks" in params) params.blocks = blockKit(params.blocks, where);
    return { op, params, where };
  }

  const { origin, close } = await serve(async (req, res) => {
    try {
      const { op, params, where } = await checkRequest(req);
      const commit = prepare[op.name](params, where);
      const failure = failures.take(op.name);
      if (failure) return answer(res, failure.status, failure.body, failure.headers);
      const reply = commit();
      if (reply.ok) {
        for (const problem of validate(op.success, reply, spec)) {
          violations.push(`the fake's answer to ${where} breaks the description: ${problem}`);
        }
      }
      requests.push({ method: op.name, params, headers: req.headers });
      answer(res, 200, reply);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      violations.push(err.message);
      answer(res, err.status, { ok: false, error: err.error });
    }
  }, violations);

  function failNext(method, { status = 500, body, headers } = {}) {
    if (!methods.has(method)) throw new Error(`failNext: ${method} is not one of ${[...methods.keys()]}`);
    const limited = status === 429;
    failures.add(method, {
      status,
      body: body ?? { ok: false, error: limited ? "ratelimited" : "fatal_error" },
      headers: headers ?? (limited ? { "retry-after": "1" } : {}),
    });
  }

  return { url: `${origin}${spec.basePath}`, requests, violations, messages, ephemerals, users, failNext, close };
}

/**
 * The description's operations by method name: `{ name, verb, consumes, params, token, success }`,
 * `token` being the parameter the description puts the token in and `success` the 200 schema.
 * Throws on what the checks below do not handle, so a regenerated fixture cannot slip past them.
 */
function operations(spec) {
  const methods = new Map();
  for (const [path, verbs] of Object.entries(spec.paths)) {
    for (const [verb, op] of Object.entries(verbs)) {
      const name = path.slice(1);
      const token = op.parameters.find((p) => p.name === "token");
      const params = op.parameters.filter((p) => p !== token);
      for (const p of params) {
        if (!["query", "formData"].includes(p.in) || !["string", "boolean"].includes(p.type)) {
          throw new Error(`${name}: the fake handles no parameter ${p.name} in ${p.in} of type ${p.type}`);
        }
      }
      if (!["header", "query"].includes(token?.in)) throw new Error(`${name}: no token the fake can take`);
      const success = op.responses["200"].schema;
      methods.set(name, { name, verb: verb.toUpperCase(), consumes: op.consumes, params, token, success });
    }
  }
  return methods;
}

/**
 * Refuses a request without the right token: from where the description puts it (a `token` header
 * or query parameter, taken out of `query`) or, as Slack documents and the Worker does, from
 * `Authorization: Bearer <token>`.
 */
function authenticate(op, token, headers, query, where) {
  const presented = [];
  if (op.token.in === "header" && headers.token !== undefined) presented.push(headers.token);
  if (op.token.in === "query" && query.token !== undefined) {
    presented.push(query.token);
    delete query.token;
  }
  if (headers.authorization !== undefined) {
    presented.push(/^Bearer (\S+)$/i.exec(headers.authorization)?.[1] ?? headers.authorization);
  }
  if (!presented.length) {
    const why = `${where}: no token (no Authorization: Bearer, no \`token\` ${op.token.in} as the description has)`;
    throw new Refusal("not_authed", why);
  }
  if (presented.some((given) => given !== token)) {
    throw new Refusal("invalid_auth", `${where}: the token is not the fake's`);
  }
}

/**
 * The request's parameters, typed, when each is one the description lists where it was given
 * (`query` or `formData`, which a JSON body stands for), of its type, and the required ones are
 * all there; otherwise an invalid_arguments refusal listing every problem.
 */
function parameters(op, given, json, where) {
  const problems = [];
  const params = {};
  for (const [location, fields] of Object.entries(given)) {
    for (const [name, value] of Object.entries(fields)) {
      const param = op.params.find((p) => p.name === name && p.in === location);
      const elsewhere = op.params.find((p) => p.name === name);
      if (!param) {
        if (elsewhere) problems.push(`\`${name}\` belongs in ${elsewhere.in}, not ${location}`);
        else problems.push(`\`${name}\` is not a parameter of ${op.name}`);
        continue;
      }
      const typed = typedValue(param, value, json && location === "formData");
      if (typed === undefined) problems.push(`\`${name}\` must be a ${param.type}, not ${JSON.stringify(value)}`);
      else params[name] = typed;
    }
  }
  for (const param of op.params) {
    if (param.required && !(param.name in given[param.in])) {
      problems.push(`missing required parameter \`${param.name}\``);
    }
  }
  if (problems.length) throw new Refusal("invalid_arguments", `${where}: ${problems.join("; ")}`);
  return params;
}

/** `value` as the parameter's type, or undefined when it is not one: a form or query gives strings
 * (booleans as `true`/`false`), a JSON body JSON values (and arrays for JSON_ARRAY_PARAMS). */
function typedValue(param, value, json) {
  if (json) {
    if (param.type === "string" && JSON_ARRAY_PARAMS.has(param.name) && Array.isArray(value)) return value;
    return typeof value === param.type ? value : undefined;
  }
  if (param.type === "boolean") return { true: true, false: false }[value];
  return value;
}

/** chat.* need one of `text`, `blocks` or `attachments`, as Slack documents. */
function requireContent(params, where) {
  if (!params.text && !params.blocks?.length && !params.attachments) {
    throw new Refusal("no_text", `${where}: none of \`text\`, \`blocks\` or \`attachments\` is given`);
  }
}

/** A stable direct-message channel id for a user id (matching the description's defs_channel). */
function dmChannel(user) {
  return `D${createHash("sha256").update(user).digest("hex").slice(0, 10).toUpperCase()}`;
}

/** A member as users.lookupByEmail answers it: every field the description requires. */
function slackUser({ id, email, name, real_name = name }) {
  const profile = {
    email,
    real_name,
    real_name_normalized: real_name,
    display_name: name,
    display_name_normalized: name,
    avatar_hash: "",
    title: "",
    phone: "",
    skype: "",
    status_text: "",
    status_emoji: "",
    fields: null,
    team: TEAM,
  };
  const flags = { deleted: false, is_bot: false, is_app_user: false };
  return { id, team_id: TEAM, name, real_name, ...flags, updated: 1_700_000_000, profile };
}

// Block Kit limits the description cannot say (it types `blocks` as a string), from Slack's Block
// Kit reference: https://api.slack.com/reference/block-kit/blocks (header, section, actions),
// https://api.slack.com/reference/block-kit/block-elements (button, static_select) and
// https://api.slack.com/reference/block-kit/composition-objects (text and option objects).
const MAX = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  elements: 25,
  actionId: 255,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  placeholder: 150,
  options: 100,
  optionText: 75,
  optionValue: 150,
};

/** `blocks` (a JSON-encoded string, or an array from a JSON body) parsed and checked against the
 * Block Kit limits; an invalid_blocks_format or invalid_blocks refusal otherwise. */
function blockKit(blocks, where) {
  if (typeof blocks === "string") {
    try {
      blocks = JSON.parse(blocks);
    } catch (err) {
      throw new Refusal("invalid_blocks_format", `${where}: \`blocks\` is not JSON: ${err.message}`);
    }
  }
  if (!Array.isArray(blocks)) {
    throw new Refusal("invalid_blocks_format", `${where}: \`blocks\` is not a JSON array`);
  }
  const problems = [];
  const say = (at, what) => problems.push(`blocks${at} ${what}`);
  if (blocks.length > MAX.blocks) say("", `has ${blocks.length} blocks, at most ${MAX.blocks} allowed`);
  blocks.forEach((block, i) => checkBlock(block, `[${i}]`, say));
  if (problems.length) throw new Refusal("invalid_blocks", `${where}: ${problems.join("; ")}`);
  return blocks;
}

function checkBlock(block, at, say) {
  if (!isObject(block) || typeof block.type !== "string") return say(at, "is not an object with a string `type`");
  if (block.type === "header") {
    textObject(block.text, `${at}.text`, say, { plain: true, max: MAX.headerText });
  }
  if (block.type === "section") {
    if (block.text === undefined && block.fields === undefined) say(at, "has neither `text` nor `fields`");
    if (block.text !== undefined) textObject(block.text, `${at}.text`, say, { max: MAX.sectionText });
    if (block.fields !== undefined) {
      if (!list(block.fields, `${at}.fields`, say, 1, MAX.fields)) return;
      block.fields.forEach((field, i) => {
        textObject(field, `${at}.fields[${i}]`, say, { max: MAX.fieldText });
      });
    }
    if (block.accessory !== undefined) checkElement(block.accessory, `${at}.accessory`, say);
  }
  if (block.type === "actions" && list(block.elements, `${at}.elements`, say, 1, MAX.elements)) {
    block.elements.forEach((element, i) => checkElement(element, `${at}.elements[${i}]`, say));
  }
}

function checkElement(element, at, say) {
  if (!isObject(element) || typeof element.type !== "string") {
    return say(at, "is not an object with a string `type`");
  }
  if (element.type === "button") {
    string(element.action_id, `${at}.action_id`, say, { max: MAX.actionId });
    textObject(element.text, `${at}.text`, say, { plain: true, max: MAX.buttonText });
    if (element.value !== undefined) string(element.value, `${at}.value`, say, { max: MAX.buttonValue });
    if (element.url !== undefined) string(element.url, `${at}.url`, say, { max: MAX.buttonUrl });
    if (element.style !== undefined && !["primary", "danger"].includes(element.style)) {
      say(`${at}.style`, `is ${JSON.stringify(element.style)}, not primary or danger`);
    }
  }
  if (element.type === "static_select") {
    string(element.action_id, `${at}.action_id`, say, { max: MAX.actionId });
    textObject(element.placeholder, `${at}.placeholder`, say, { plain: true, max: MAX.placeholder });
    if (!list(element.options, `${at}.options`, say, 1, MAX.options)) return;
    element.options.forEach((option, i) => {
      if (!isObject(option)) return say(`${at}.options[${i}]`, "is not an object");
      textObject(option.text, `${at}.options[${i}].text`, say, { plain: true, max: MAX.optionText });
      string(option.value, `${at}.options[${i}].value`, say, { max: MAX.optionValue });
    });
  }
}

/** A text object: `{ type: "plain_text" | "mrkdwn", text }` (plain_text only where `plain`). */
function textObject(value, at, say, { plain = false, max }) {
  if (!isObject(value)) return say(at, "is not a text object");
  const types = plain ? ["plain_text"] : ["plain_text", "mrkdwn"];
  if (!types.includes(value.type)) {
    say(`${at}.type`, `is ${JSON.stringify(value.type)}, not ${types.join(" or ")}`);
  }
  string(value.text, `${at}.text`, say, { max });
}

/** A string of 1 to `max` characters. */
function string(value, at, say, { max }) {
  if (typeof value !== "string") return say(at, "is not a string");
  const length = [...value].length;
  if (length < 1 || length > max) say(at, `has ${length} characters, 1 to ${max} allowed`);
}

/** Whether `value` is an array, whose items can then be checked; says so when it is not one of
 * `min` to `max` items. */
function list(value, at, say, min, max) {
  if (!Array.isArray(value)) {
    say(at, "is not an array");
    return false;
  }
  if (value.length < min || value.length > max) {
    say(at, `has ${value.length} items, ${min} to ${max} allowed`);
  }
  return true;
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
