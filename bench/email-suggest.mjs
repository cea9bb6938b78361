// Side by side, in one run and on the same inputs: Handoff's email typo suggestion (handoff-core
// compiled to wasm, as the browser runs it) against mailcheck (npm), through Node.
//   make bench-email        (builds the form module first)
// Prints, for each: correct suggestions on mistyped provider domains, wrong suggestions there,
// false suggestions on real business domains, and the time per value; then our/their ratio.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";

const ROOT = resolve(import.meta.dirname, "..");
const require = createRequire(import.meta.url);
const Mailcheck = require("mailcheck");
const handoff = await import(join(ROOT, "www/form/handoff_form.js"));
handoff.initSync({ module: readFileSync(join(ROOT, "www/form/handoff_form_bg.wasm")) });

// Popular providers worldwide (the intended domains of the generated typos).
const PROVIDERS = [
  "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "googlemail.com",
  "gmx.de", "web.de", "t-online.de", "yahoo.co.uk", "hotmail.co.uk", "orange.fr", "wanadoo.fr",
  "laposte.net", "libero.it", "virgilio.it", "mail.ru", "yandex.ru", "comcast.net", "verizon.net",
  "protonmail.com", "rediffmail.com", "seznam.cz", "telenet.be", "sympatico.ca", "yahoo.fr",
];
const NEIGHBOURS = { a: "qs", e: "wr", i: "uo", o: "ip", m: "n", n: "bm", l: "k", t: "ry", c: "xv", r: "et", h: "gj", y: "tu", g: "fh" };

/** Deterministic single-edit typos of a domain's name, plus common TLD slips. */
function typos(domain) {
  const dot = domain.indexOf(".");
  const [name, tld] = [domain.slice(0, dot), domain.slice(dot + 1)];
  const out = new Set();
  for (let i = 0; i < name.length; i++) {
    out.add(name.slice(0, i) + name.slice(i + 1)); // deletion
    if (i + 1 < name.length) out.add(name.slice(0, i) + name[i + 1] + name[i] + name.slice(i + 2)); // swap
    for (const n of NEIGHBOURS[name[i]] ?? "") out.add(name.slice(0, i) + n + name.slice(i + 1)); // neighbour key
    out.add(name.slice(0, i) + name[i] + name.slice(i)); // doubled letter
  }
  const names = [...out].filter((n) => n.length >= 2 && n !== name).map((n) => `${n}.${tld}`);
  return names.concat(tldSlips(tld).map((t) => `${name}.${t}`));
}

/** Common slips of a top-level domain: the usual suspects for com and net, a doubled last letter,
 * and each pair of neighbours in its last label swapped (`ocm`, `cmo`, `ed`, `co.ku`). */
function tldSlips(tld) {
  const out = new Set(tld === "com" ? ["con", "cmo", "comm", "vom", "xom"] : tld === "net" ? ["nte", "nett"] : [`${tld}${tld.at(-1)}`]);
  const dot = tld.lastIndexOf(".");
  const [head, last] = [tld.slice(0, dot + 1), tld.slice(dot + 1)];
  for (let i = 0; i + 1 < last.length; i++) out.add(head + last.slice(0, i) + last[i + 1] + last[i] + last.slice(i + 2));
  out.delete(tld);
  return [...out];
}

const typoCases = [];
for (const provider of PROVIDERS) for (const t of typos(provider)) if (!PROVIDERS.includes(t)) typoCases.push([t, provider]);
// The hand-made table's sections, by their heading: typos (with their intended domain; mistyped
// names and top-level domains), the providers themselves, and real business domains that look
// like providers (any suggestion there is false).
let [section, inComment] = ["", false];
const business = [];
for (const line of readFileSync(join(ROOT, "crates/core/test_data/email_suggest.tsv"), "utf8").split("\n")) {
  // A section's heading is the first of the comment lines before its rows.
  if (line.startsWith("#") && !inComment) section = line;
  inComment = line.startsWith("#");
  if (!line || inComment) continue;
  const [typed, meant] = line.split("\t");
  if (section.startsWith("# Real business domains")) business.push(typed);
  else if (!section.startsWith("# The providers themselves") && meant !== "-") typoCases.push([typed, meant]);
}

const ours = (domain) => { const s = handoff.suggestEmail(`maria@${domain}`); return s ? s.split("@")[1] : null; };
// mailcheck's own defaults, as `Mailcheck.run` would pass them.
const theirs = (domain) => {
  const s = Mailcheck.suggest(`maria@${domain}`, Mailcheck.defaultDomains, Mailcheck.defaultSecondLevelDomains, Mailcheck.defaultTopLevelDomains);
  return s ? s.domain : null;
};

function score(suggest) {
  let correct = 0, wrong = 0, missed = 0, falsePositives = 0;
  for (const [typed, meant] of typoCases) {
    const s = suggest(typed);
    if (s === meant) correct++; else if (s) wrong++; else missed++;
  }
  const falseOn = [];
  for (const d of business) if (suggest(d)) { falsePositives++; falseOn.push(`${d}→${suggest(d)}`); }
  const inputs = typoCases.map(([t]) => t).concat(business);
  const rounds = 200;
  for (const d of inputs) suggest(d); // warm up
  const start = performance.now();
  for (let r = 0; r < rounds; r++) for (const d of inputs) suggest(d);
  const nsPerValue = ((performance.now() - start) * 1e6) / (rounds * inputs.length);
  return { correct, wrong, missed, falsePositives, falseOn, nsPerValue };
}

const a = score(ours), b = score(theirs);
const row = (name, r) =>
  `${name.padEnd(10)} ${String(r.correct).padStart(8)} ${String(r.wrong).padStart(6)} ${String(r.missed).padStart(7)} ${String(r.falsePositives).padStart(16)} ${r.nsPerValue.toFixed(0).padStart(10)}`;
console.log(`typo cases: ${typoCases.length} (generated single edits and top-level slips of ${PROVIDERS.length} providers + the hand-made table); business domains: ${business.length}`);
console.log(`${"".padEnd(10)} ${"correct".padStart(8)} ${"wrong".padStart(6)} ${"missed".padStart(7)} ${"false (business)".padStart(16)} ${"ns/value".padStart(10)}`);
console.log(row("handoff", a));
console.log(row("mailcheck", b));
console.log(`time ratio handoff/mailcheck: ${(a.nsPerValue / b.nsPerValue).toFixed(2)}`);
if (b.falseOn.length) console.log(`mailcheck's false suggestions: ${b.falseOn.slice(0, 12).join(", ")}${b.falseOn.length > 12 ? ", …" : ""}`);
if (a.falseOn.length) console.log(`handoff's false suggestions: ${a.falseOn.join(", ")}`);
