// Prints the answer of GET /v1/forms/ID (or, with --loader, of GET /v1/forms/ID/embed.js, the
// loader with the form in it) as the built Worker gives it: the Worker on workerd (Miniflare,
// in-memory KV) with BUNDLE_JSON as the active bundle, asked as a page asks.
// Used by scripts/size.sh, so that the size report counts exactly what the browser downloads.
//   node scripts/form-answer.mjs [--loader] ID [BUNDLE_JSON]
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Miniflare } from "miniflare";

const ROOT = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const loader = args[0] === "--loader";
const [id, bundle = join(ROOT, ".build/bundle.json")] = loader ? args.slice(1) : args;
const mf = new Miniflare({
  modules: true,
  scriptPath: join(ROOT, "crates/worker/build/index.js"),
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
  compatibilityDate: "2026-04-01",
  kvNamespaces: ["CONFIG"],
  d1Databases: ["DB"],
  cf: false,
});
try {
  await (await mf.getKVNamespace("CONFIG")).put("bundle/active", readFileSync(bundle, "utf8"));
  const path = `/v1/forms/${encodeURIComponent(id)}${loader ? "/embed.js" : ""}`;
  const r = await mf.dispatchFetch(`http://localhost${path}`);
  const text = await r.text();
  if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}: ${text}`);
  process.stdout.write(text);
} finally {
  await mf.dispose();
}
