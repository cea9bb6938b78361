// Prints the answer of GET /v1/forms/ID as the built Worker gives it: the Worker on workerd
// (Miniflare, in-memory KV) with BUNDLE_JSON as the active bundle, asked as embed.js asks.
// Used by scripts/size.sh, so that the size report counts exactly what the browser downloads.
//   node scripts/form-answer.mjs ID [BUNDLE_JSON]
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Miniflare } from "miniflare";

const ROOT = resolve(import.meta.dirname, "..");
const [id, bundle = join(ROOT, ".build/bundle.json")] = process.argv.slice(2);
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
  const r = await mf.dispatchFetch(`http://localhost/v1/forms/${encodeURIComponent(id)}`);
  const text = await r.text();
  if (r.status !== 200) throw new Error(`GET /v1/forms/${id} answered ${r.status}: ${text}`);
  process.stdout.write(text);
} finally {
  await mf.dispose();
}
