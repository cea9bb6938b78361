#!/usr/bin/env node
// `make dev`'s secrets: makes sure `.dev.vars` (git-ignored, local only) holds every secret the
// demo needs, each a new random value: ADMIN_TOKEN and REPORTS_TOKEN (the two roles), LINK_SECRET
// (the signed "I've got it" and "Not a fit" links), RATE_LIMIT_KEY (the rate limits' keyed client
// hashes), PEOPLE_INDEX_KEY (the archive's index of people), and every secret the active
// configuration names (a webhook channel's signing
// secret, a CRM intake's token). Values already there are kept. A Slack channel's secret is the
// channel's incoming-webhook URL, and the Slack app's token and signing secret and the email API's
// key come from those services: no random value can stand for them, so they are named, not made.
//   node scripts/dev-secrets.mjs BUNDLE_JSON [DEV_VARS]
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const [bundlePath, varsPath = ".dev.vars"] = process.argv.slice(2);
const rules = JSON.parse(readFileSync(bundlePath, "utf8")).rules ?? {};
const text = existsSync(varsPath) ? readFileSync(varsPath, "utf8") : "";
const have = new Set(text.split("\n").map((l) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(l)?.[1]).filter(Boolean));

const hex = (n) => randomBytes(n).toString("hex");
const wanted = [
  ["ADMIN_TOKEN", () => hex(24)],
  ["REPORTS_TOKEN", () => hex(24)],
  ["LINK_SECRET", () => hex(32)],
  ["RATE_LIMIT_KEY", () => hex(32)],
  ["PEOPLE_INDEX_KEY", () => hex(32)],
];
const unset = [];
for (const channel of rules.notify?.channels ?? []) {
  if (channel.kind === "webhook" && channel.secret) wanted.push([channel.secret, () => `whsec_${randomBytes(24).toString("base64")}`]);
  if (channel.kind === "slack" && channel.url_secret && !have.has(channel.url_secret)) unset.push(channel.url_secret);
}
for (const intake of rules.crm?.intakes ?? []) if (intake.secret) wanted.push([intake.secret, () => hex(24)]);
// The Slack app's token and signing secret, and the email API's key, come from those services.
const app = rules.notify?.slack;
if (app) for (const name of [app.bot_token, app.signing_secret]) if (!have.has(name)) unset.push(name);
const mail = rules.notify?.email;
if (mail && !have.has(mail.api_key)) unset.push(mail.api_key);

const added = [];
for (const [name, make] of wanted) {
  if (have.has(name)) continue;
  added.push(`${name}=${make()}`);
  have.add(name);
}
if (added.length) {
  writeFileSync(varsPath, `${text}${text && !text.endsWith("\n") ? "\n" : ""}${added.join("\n")}\n`, { mode: 0o600 });
  console.log(`dev: ${varsPath} now holds ${added.map((l) => l.split("=")[0]).join(", ")} (random, local only)`);
}
for (const name of unset) console.log(`dev: set ${name} in ${varsPath} (from Slack or the email provider; see README) to see those messages`);
