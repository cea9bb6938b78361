#!/usr/bin/env node
// Checks two of ARCHITECTURE.md's rules that a compiler does not: the modules of a crate form
// layers, never loops (no import cycle among handoff-core's or handoff-worker's top-level modules,
// test modules aside), and no function of the Worker is longer than MAX_WORKER_FN lines.
//   node scripts/architecture-check.mjs          check, exit 1 on a violation
//   node scripts/architecture-check.mjs --graph  also print each crate's module graph
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const CRATES = ["crates/core", "crates/worker"];
const MAX_WORKER_FN = 120;

/** Every `.rs` file under `dir`. */
function rustFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return rustFiles(path);
    return name.endsWith(".rs") ? [path] : [];
  });
}

/** The text with comments, string and char literals blanked (same length, newlines kept), so that
 * braces and paths are counted only where they are code. */
export function codeOnly(src) {
  let out = "";
  let i = 0;
  const blank = (s) => s.replace(/[^\n]/g, " ");
  while (i < src.length) {
    const rest = src.slice(i, i + 3);
    if (rest.startsWith("//")) {
      const end = src.indexOf("\n", i);
      const stop = end < 0 ? src.length : end;
      out += blank(src.slice(i, stop));
      i = stop;
    } else if (rest.startsWith("/*")) {
      let depth = 0;
      let j = i;
      do {
        if (src.startsWith("/*", j)) (depth++, (j += 2));
        else if (src.startsWith("*/", j)) (depth--, (j += 2));
        else j++;
      } while (depth > 0 && j < src.length);
      out += blank(src.slice(i, j));
      i = j;
    } else if (/^(b?r#*")/.test(rest) && !/[A-Za-z0-9_]/.test(src[i - 1] ?? "")) {
      const m = /^b?r(#*)"/.exec(src.slice(i));
      const close = `"${m[1]}`;
      const end = src.indexOf(close, i + m[0].length);
      const stop = end < 0 ? src.length : end + close.length;
      out += blank(src.slice(i, stop));
      i = stop;
    } else if (src[i] === '"' || (src[i] === "b" && src[i + 1] === '"' && !/[A-Za-z0-9_]/.test(src[i - 1] ?? ""))) {
      let j = src[i] === "b" ? i + 2 : i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
      out += blank(src.slice(i, j + 1));
      i = j + 1;
    } else if (src[i] === "'") {
      // A char literal ('x', '\n', '\u{1F600}', '{'), or a lifetime ('a), which stays.
      const m = /^'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'/u.exec(src.slice(i));
      if (m) {
        out += blank(m[0]);
        i += m[0].length;
      } else {
        out += src[i++];
      }
    } else {
      out += src[i++];
    }
  }
  return out;
}

/** The index just past the `}` that closes the `{` at `open`. */
function closing(code, open) {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === "{") depth++;
    else if (code[i] === "}" && --depth === 0) return i + 1;
  }
  return code.length;
}

/** The code without `#[cfg(test)]` modules: tests may build fixtures from any module. */
function withoutTests(code) {
  const re = /#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{/g;
  let out = code;
  for (let m; (m = re.exec(out)); ) {
    const end = closing(out, m.index + m[0].length - 1);
    out = out.slice(0, m.index) + out.slice(m.index, end).replace(/[^\n]/g, " ") + out.slice(end);
  }
  return out;
}

/** The top-level modules that a file names through `crate::`, including `use crate::{a, b::c}`. */
function referencedModules(code) {
  const found = new Set();
  for (const m of code.matchAll(/\bcrate\s*::\s*(\w+|\{)/g)) {
    if (m[1] !== "{") {
      found.add(m[1]);
      continue;
    }
    // A group: the first segment of each top-level item.
    const open = m.index + m[0].length - 1;
    const body = code.slice(open + 1, closing(code, open) - 1);
    let depth = 0;
    let item = "";
    for (const ch of body + ",") {
      if (ch === "{") depth++;
      if (ch === "}") depth--;
      if (ch === "," && depth === 0) {
        const first = /^\s*(\w+)/.exec(item);
        if (first && first[1] !== "self") found.add(first[1]);
        item = "";
      } else item += ch;
    }
  }
  return found;
}

/** A crate's graph: top-level module (a file in `src/`, with its `src/<name>/` submodules) → the
 * other top-level modules it uses. */
function moduleGraph(crate) {
  const src = join(ROOT, crate, "src");
  const graph = new Map();
  for (const file of rustFiles(src)) {
    const rel = relative(src, file).replace(/\\/g, "/");
    const top = rel.split("/")[0].replace(/\.rs$/, "");
    if (top === "lib" || top === "main") continue;
    const code = withoutTests(codeOnly(readFileSync(file, "utf8")));
    const deps = graph.get(top) ?? new Set();
    for (const dep of referencedModules(code)) if (dep !== top) deps.add(dep);
    graph.set(top, deps);
  }
  for (const deps of graph.values()) for (const d of [...deps]) if (!graph.has(d)) deps.delete(d);
  return graph;
}

/** The strongly connected components of more than one module (Tarjan). */
function cycles(graph) {
  let index = 0;
  const stack = [];
  const info = new Map();
  const found = [];
  const visit = (v) => {
    info.set(v, { index, low: index, on: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v)) {
      if (!info.has(w)) {
        visit(w);
        info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
      } else if (info.get(w).on) {
        info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
      }
    }
    if (info.get(v).low === info.get(v).index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        info.get(w).on = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!info.has(v)) visit(v);
  return found;
}

/** Functions longer than `max` lines, as `file:line name (N lines)`. */
function longFunctions(crate, max) {
  const src = join(ROOT, crate, "src");
  const long = [];
  for (const file of rustFiles(src)) {
    const code = codeOnly(readFileSync(file, "utf8"));
    for (const m of code.matchAll(/\bfn\s+(\w+)/g)) {
      // The body is the first `{` after the signature, unless a `;` ends a declaration first.
      const rest = code.slice(m.index);
      const brace = rest.search(/[{;]/);
      if (brace < 0 || rest[brace] === ";") continue;
      const open = m.index + brace;
      const end = closing(code, open);
      const first = code.slice(0, m.index).split("\n").length;
      const lines = code.slice(0, end).split("\n").length - first + 1;
      if (lines > max) long.push(`${relative(ROOT, file)}:${first} ${m[1]} (${lines} lines)`);
    }
  }
  return long;
}

let failed = false;
for (const crate of CRATES) {
  const graph = moduleGraph(crate);
  if (process.argv.includes("--graph")) {
    console.log(`${crate}:`);
    for (const [m, deps] of [...graph].sort()) console.log(`  ${m} -> ${[...deps].sort().join(", ")}`);
  }
  for (const cycle of cycles(graph)) {
    failed = true;
    console.error(`${crate}: import cycle among ${cycle.length} modules: ${cycle.join(", ")}`);
  }
}
for (const f of longFunctions("crates/worker", MAX_WORKER_FN)) {
  failed = true;
  console.error(`function over ${MAX_WORKER_FN} lines: ${f}`);
}
if (failed) process.exit(1);
console.log("architecture: no import cycle in handoff-core or handoff-worker; no Worker function over " +
  `${MAX_WORKER_FN} lines`);
