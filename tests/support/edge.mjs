// The local edge for tests: a fresh state folder per run (D1 migrations applied, rule bundle in KV,
// via the same script `make dev` uses), and the built Worker on workerd, either through Miniflare
// (worker tests) or through `wrangler dev` (end-to-end, exactly what `make dev` serves).
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";

export const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

// The ids in wrangler.toml: local state is keyed by them, so Miniflare must use the same.
const KV_ID = "00000000000000000000000000000000";
const D1_ID = "00000000-0000-0000-0000-000000000000";

/** A new state folder with the migrations and a bundle loaded: the demo's, or the one compiled
 * from the configuration file `config` (by the CLI, as an operator would). Removed by `cleanup()`. */
export async function freshState({ config } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "handoff-test-"));
  const args = [dir];
  if (config) {
    const { stdout } = await run(join(ROOT, process.env.CARGO_TARGET_DIR || "target", "debug/handoff"), ["bundle", config],
      { cwd: ROOT, timeout: 60_000, maxBuffer: 16 << 20 });
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(dir, "bundle.json"), stdout);
    args.push(join(dir, "bundle.json"));
  }
  await run(join(ROOT, "scripts/seed-local.sh"), args, { cwd: ROOT, timeout: 120_000 });
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A random token per run, so no test depends on a fixed secret. */
export function randomToken() {
  return crypto.randomUUID().replaceAll("-", "");
}

/** The built Worker on workerd through Miniflare, with the state folder's D1 and KV; `bindings` adds
 * Worker vars and secrets (strings, as `[vars]` and `wrangler secret put` give them), e.g.
 * `{ RATE_LIMIT_PER_MINUTE: "5" }`. */
export function startMiniflare(stateDir, { adminToken, bindings = {} }) {
  return new Miniflare({
    modules: true,
    scriptPath: join(ROOT, "crates/worker/build/index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-04-01",
    kvNamespaces: { CONFIG: KV_ID },
    d1Databases: { DB: D1_ID },
    kvPersist: join(stateDir, "v3/kv"),
    d1Persist: join(stateDir, "v3/d1"),
    bindings: { ...bindings, ADMIN_TOKEN: adminToken },
    cf: false,
  });
}

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** `wrangler dev` on a free port, as `make dev` runs it. Resolves once the API answers. */
export async function startWranglerDev(stateDir, { adminToken, vars = {} }) {
  const [port, inspector] = [await freePort(), await freePort()];
  const child = spawn(
    join(ROOT, "node_modules/.bin/wrangler"),
    ["dev", "--local", "--persist-to", stateDir, "--port", String(port), "--ip", "127.0.0.1",
     "--inspector-port", String(inspector), "--test-scheduled", "--var", `ADMIN_TOKEN:${adminToken}`,
     ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`])],
    // Its own process group, so that stopping it also stops the workerd it starts.
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  const signal = (name) => {
    try {
      process.kill(-child.pid, name);
    } catch {}
  };
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${log}`);
    try {
      const r = await fetch(`${url}/v1/health`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      signal("SIGKILL");
      throw new Error(`wrangler dev did not answer within 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const stop = () =>
    new Promise((ok) => {
      const done = () => {
        signal("SIGKILL"); // whatever of the group is left, workerd included
        ok();
      };
      if (child.exitCode !== null) return done();
      child.once("exit", done);
      signal("SIGTERM");
      setTimeout(() => signal("SIGKILL"), 5_000).unref();
    });
  return { url, stop, log: () => log };
}

/** Debian's headless Chromium (`CHROME_BIN`) through playwright-core, as every browser test and
 * benchmark launches it; `options` are added to playwright's launch options. */
export async function launchChromium(options = {}) {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: process.env.CHROME_BIN || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
    timeout: 30_000,
    ...options,
  });
}

/** axe-core's WCAG 2.1 A and AA rules on the page as it is now (open shadow roots included). A page
 * with a strict CSP needs its context opened with `bypassCSP: true` for axe to be injected. */
export async function accessibilityViolations(page) {
  await page.addScriptTag({ path: join(ROOT, "node_modules/axe-core/axe.min.js") });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}
