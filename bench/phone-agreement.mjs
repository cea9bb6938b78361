#!/usr/bin/env node
// handoff-core's phone parser against libphonenumber-js (max metadata), side by side in one Node run
// and on the same inputs: do they agree on validity, E.164 and extension (the Worker must), and
// which is faster per value?
//
//   make bench-phone        (builds handoff-core's parser for wasm32 into .build/probe/ first:
//                            crates/probe with `--features phone`, then wasm-bindgen --target web)
//   node bench/phone-agreement.mjs [--show N] [--passes N] [--fresh N]
//
// The corpus is built deterministically from the package's own example numbers (examples.mobile.json,
// one mobile number per country): each written internationally and nationally with varied
// separators, with the international prefix of the country, and mutated (a digit dropped, added or
// changed) so that invalid numbers are judged too. Every input is parsed with its country as the
// default country, as a form's country field would give it.
//
// Timing: both sides do the same work per value (parse with the default country, decide validity,
// produce "E.164[;ext=…]" or ""): ours is handoff-core compiled to wasm and called through its
// wasm-bindgen export (string in, string out, as a browser or the Worker would call it); theirs is
// parsePhoneNumberFromString + isValid. Two warm-up passes over the whole corpus, then --passes
// (default 9) timed passes, alternating ours and theirs; the median pass gives ns per value.
// The first parse is measured in --fresh (default 5) fresh Node processes each: ours compiles and
// instantiates the module, then parses one number; theirs imports the package, then parses it.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const GLUE = join(root, ".build/probe/handoff_probe.js");
const WASM = join(root, ".build/probe/handoff_probe_bg.wasm");
// The first parse, as crates/core/benches/phone_first.rs measures it natively.
const FIRST = ["(415) 555-0100", "US"];
const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
};

// Child mode: one fresh process, one first parse, one JSON line on stdout.
if (arg("--first-parse")) {
  const side = arg("--first-parse");
  let setupMs, parseMs, result;
  if (side === "ours") {
    const bytes = readFileSync(WASM);
    const glue = await import(pathToFileURL(GLUE).href);
    let t = performance.now();
    glue.initSync({ module: bytes }); // compile and instantiate
    setupMs = performance.now() - t;
    t = performance.now();
    result = glue.parsePhone(...FIRST);
    parseMs = performance.now() - t;
  } else {
    let t = performance.now();
    const lib = await import("libphonenumber-js/max");
    setupMs = performance.now() - t;
    t = performance.now();
    const n = lib.parsePhoneNumberFromString(...FIRST);
    result = n && n.isValid() ? n.number : "";
    parseMs = performance.now() - t;
  }
  process.stdout.write(JSON.stringify({ setupMs, parseMs, result }) + "\n");
  process.exit(0);
}

const { parsePhoneNumberFromString, getCountryCallingCode } = await import("libphonenumber-js/max");
const require = createRequire(join(root, "package.json"));
const packageDir = dirname(require.resolve("libphonenumber-js/package.json"));
const examples = JSON.parse(readFileSync(join(packageDir, "examples.mobile.json"), "utf8"));
const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
const show = Number(arg("--show")) || 15;
const passes = Number(arg("--passes")) || 9;
const fresh = Number(arg("--fresh")) || 5;

let wasmBytes;
try {
  wasmBytes = readFileSync(WASM);
} catch {
  console.error(`${WASM} is missing: run \`make bench-phone\`, which builds it`);
  process.exit(1);
}
const handoff = await import(pathToFileURL(GLUE).href);
handoff.initSync({ module: wasmBytes });

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

// Both sides produce the same string per value: "E.164", "E.164;ext=…", or "" when invalid.
const ours = (input, country) => handoff.parsePhone(input, country);
const theirs = (input, country) => {
  const n = parsePhoneNumberFromString(input, country);
  if (!n || !n.isValid()) return "";
  return n.ext ? `${n.number};ext=${n.ext}` : n.number;
};
const verdict = (s) => {
  if (!s) return { valid: false, e164: null, ext: null };
  const [e164, ext] = s.split(";ext=");
  return { valid: true, e164, ext: ext ?? null };
};

let agree = 0;
let valid = 0;
const disagreements = [];
for (const [country, input] of corpus) {
  const us = ours(input, country);
  const them = theirs(input, country);
  if (them) valid += 1;
  if (us === them) agree += 1;
  else disagreements.push({ key: `${country}\t${input}`, them: verdict(them), us: verdict(us) });
}

/** One pass over the whole corpus: ns per value (and a checksum, so no call is dead code). */
function pass(parse) {
  let sum = 0;
  const t = performance.now();
  for (const [country, input] of corpus) sum += parse(input, country).length;
  return { ns: ((performance.now() - t) * 1e6) / corpus.length, sum };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (let i = 0; i < 2; i++) pass(ours), pass(theirs); // warm-up
const oursNs = [], theirsNs = [];
for (let i = 0; i < passes; i++) {
  oursNs.push(pass(ours).ns);
  theirsNs.push(pass(theirs).ns);
}

function firstParse(side) {
  const runs = [];
  for (let i = 0; i < fresh; i++) {
    const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--first-parse", side], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`first parse (${side}) failed: ${run.stderr || run.error}`);
    runs.push(JSON.parse(run.stdout));
  }
  return { setupMs: median(runs.map((r) => r.setupMs)), parseMs: median(runs.map((r) => r.parseMs)), result: runs[0].result };
}
const firstOurs = firstParse("ours");
const firstTheirs = firstParse("theirs");

const n = corpus.length;
const countries = new Set(corpus.map(([c]) => c)).size;
const fmt = (x) => Math.round(x).toLocaleString("en-US");
const spread = (xs) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
const ratio = median(oursNs) / median(theirsNs);
console.log(`corpus: ${n} inputs over ${countries} default countries (libphonenumber-js ${version} examples.mobile.json)`);
console.log(`valid per libphonenumber-js: ${valid}`);
console.log(`agreement (validity, E.164 and extension): ${agree}/${n} = ${((100 * agree) / n).toFixed(2)}%`);
console.log(`per value, warm: median of ${passes} timed passes over the corpus, after 2 warm-up passes`);
console.log(`  ${"".padEnd(32)} ${"ns/value".padStart(9)}  ${"passes (min–max)".padStart(16)}`);
console.log(`  ${"handoff-core (wasm, parsePhone)".padEnd(32)} ${fmt(median(oursNs)).padStart(9)}  ${spread(oursNs).padStart(16)}`);
console.log(`  ${"libphonenumber-js (max)".padEnd(32)} ${fmt(median(theirsNs)).padStart(9)}  ${spread(theirsNs).padStart(16)}`);
console.log(`time ratio handoff/libphonenumber-js: ${ratio.toFixed(2)} (budget: below 1, ${ratio < 1 ? "met" : "NOT met"})`);
console.log(`first parse of ${JSON.stringify(FIRST[0])} (${FIRST[1]}), median of ${fresh} fresh Node processes:`);
console.log(
  `  handoff-core (wasm, ${fmt(wasmBytes.length)} bytes): compile and instantiate ${firstOurs.setupMs.toFixed(2)} ms, then first parse ${firstOurs.parseMs.toFixed(2)} ms → ${JSON.stringify(firstOurs.result)}`,
);
console.log(
  `  libphonenumber-js (max): import ${firstTheirs.setupMs.toFixed(2)} ms, then first parse ${firstTheirs.parseMs.toFixed(2)} ms → ${JSON.stringify(firstTheirs.result)}`,
);
for (const d of disagreements.slice(0, show)) {
  console.log(`  ${JSON.stringify(d.key)}: libphonenumber-js ${JSON.stringify(d.them)}, ours ${JSON.stringify(d.us)}`);
}
if (disagreements.length > show) console.log(`  … ${disagreements.length - show} more (--show N)`);
if (agree < 0.995 * n) {
  console.error(`agreement below 99.5%`);
  process.exit(1);
}
