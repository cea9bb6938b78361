#!/usr/bin/env node
// handoff-core's phone parser against libphonenumber-js (max metadata), side by side: do they agree
// on validity and on the E.164 output? The Worker must, so this is the check that it does.
//
// Run after `npm ci` and `cargo build --release -p handoff-cli`:
//   node bench/phone-agreement.mjs [--show N]
// The corpus is built deterministically from the package's own example numbers (examples.mobile.json,
// one mobile number per country): each written internationally and nationally with varied
// separators, with the international prefix of the country, and mutated (a digit dropped, added or
// changed) so that invalid numbers are judged too. Every input is parsed with its country as the
// default country, as a form's country field would give it.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";

import { parsePhoneNumberFromString, getCountryCallingCode } from "libphonenumber-js/max";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const packageDir = dirname(require.resolve("libphonenumber-js/package.json"));
const examples = JSON.parse(readFileSync(join(packageDir, "examples.mobile.json"), "utf8"));
const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
const binary = join(root, "target/release/handoff");
const show = Number(process.argv[process.argv.indexOf("--show") + 1]) || 15;

// Group digits as people do: 3-3-4, pairs, or 4-3-…, with one separator per variant.
const group = (digits, sizes, sep) => {
  const out = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= digits.length) break;
    out.push(digits.slice(at, at + size));
    at += size;
  }
  if (at < digits.length) out.push(digits.slice(at));
  return out.join(sep);
};
const IDD = { US: "011", CA: "011", JP: "010", AU: "0011", BR: "0021", KR: "001", CO: "009" };

const corpus = []; // [country, input]
for (const country of Object.keys(examples).sort()) {
  const nsn = examples[country];
  let code;
  try {
    code = getCountryCallingCode(country);
  } catch {
    continue;
  }
  const parsed = parsePhoneNumberFromString(`+${code}${nsn}`);
  const national = parsed ? parsed.formatNational() : nsn;
  const nationalDigits = national.replace(/\D/g, "");
  const variants = [
    `+${code}${nsn}`,
    `+${code} ${group(nsn, [3, 3, 4], " ")}`,
    `+${code}-${group(nsn, [2, 2, 2, 2, 2], "-")}`,
    `+${code} (${nsn.slice(0, 3)}) ${nsn.slice(3)}`,
    `00${code} ${group(nsn, [4, 3], " ")}`,
    `${IDD[country] ?? "00"} ${code} ${nsn}`,
    national,
    nationalDigits,
    group(nationalDigits, [3, 3, 4], "."),
    group(nationalDigits, [4, 3, 3], "/"),
    `tel:+${code}-${group(nsn, [3, 3], "-")}`,
    `+${code} ${nsn} ext. 12`,
    `${national} x345`,
    // Mutations: judged too, whatever the verdict.
    `+${code}${nsn.slice(0, -1)}`,
    `+${code}${nsn}7`,
    `${nationalDigits.slice(0, -1)}`,
    `${nationalDigits}1`,
    `+${code}${nsn.slice(0, 1)}${(Number(nsn[1]) + 5) % 10}${nsn.slice(2)}`,
    `${code}${nsn}`,
  ];
  // A variant may coincide with another (a number whose national form has no prefix): judged once.
  for (const input of new Set(variants)) corpus.push([country, input]);
}

// libphonenumber-js, timed over the whole corpus after one warm-up parse.
parsePhoneNumberFromString("+14155550100");
const theirs = new Map();
let t0 = performance.now();
for (const [country, input] of corpus) {
  const n = parsePhoneNumberFromString(input, country);
  const valid = Boolean(n && n.isValid());
  theirs.set(`${country}\t${input}`, { valid, e164: valid ? n.number : null, ext: valid ? n.ext ?? null : null });
}
const theirTime = performance.now() - t0;

// Ours: one process per default country, every input of that country on its stdin.
const byCountry = new Map();
for (const [country, input] of corpus) {
  if (!byCountry.has(country)) byCountry.set(country, []);
  byCountry.get(country).push(input);
}
const ours = new Map();
t0 = performance.now();
for (const [country, inputs] of byCountry) {
  const run = spawnSync(binary, ["normalize", "phone", "--country", country], {
    input: inputs.join("\n") + "\n",
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`${binary} failed for ${country}: ${run.stderr || run.error}`);
  const lines = run.stdout.trim().split("\n");
  lines.forEach((line, i) => {
    const r = JSON.parse(line);
    ours.set(`${country}\t${inputs[i]}`, { valid: r.valid, e164: r.e164, ext: r.extension });
  });
}
const ourTime = performance.now() - t0;

let agree = 0;
const disagreements = [];
for (const [key, them] of theirs) {
  const us = ours.get(key);
  if (us && us.valid === them.valid && us.e164 === them.e164 && (us.ext ?? null) === (them.ext ?? null)) agree += 1;
  else disagreements.push({ key, them, us });
}

const n = corpus.length;
console.log(`corpus: ${n} inputs over ${byCountry.size} default countries (libphonenumber-js ${version} examples.mobile.json)`);
console.log(`valid per libphonenumber-js: ${[...theirs.values()].filter((t) => t.valid).length}`);
console.log(`agreement (validity, E.164 and extension): ${agree}/${n} = ${((100 * agree) / n).toFixed(2)}%`);
console.log(`libphonenumber-js: ${((1000 * theirTime) / n).toFixed(1)} µs per value (in process, warm)`);
console.log(
  `handoff normalize phone: ${((1000 * ourTime) / n).toFixed(1)} µs per value (wall time including ${byCountry.size} process starts and JSON)`,
);
for (const d of disagreements.slice(0, show)) {
  console.log(`  ${JSON.stringify(d.key)}: libphonenumber-js ${JSON.stringify(d.them)}, ours ${JSON.stringify(d.us)}`);
}
if (disagreements.length > show) console.log(`  … ${disagreements.length - show} more (--show N)`);
