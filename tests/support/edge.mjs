// The local edge for tests: a fresh state folder per run (D1 migrations applied, rule bundle in KV,
// via the same script `make dev` uses), and the built Worker on workerd, either through Miniflare
// (worker tests) or through `wrangler dev` (end-to-end, exactly what `make dev` serves).
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import { EPOCH } from "./clock.mjs";

export { DAY, EPOCH, HOUR, iso, MINUTE } from "./clock.mjs";
export const ROOT = resolve(import.meta.dirname, "../..");
/** The CLI as `make` builds it (debug), wherever CARGO_TARGET_DIR puts it. */
export const HANDOFF = resolve(ROOT, process.env.CARGO_TARGET_DIR || "target", "debug/handoff");
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
    const { stdout } = await run(HANDOFF, ["bundle", config], { cwd: ROOT, timeout: 60_000, maxBuffer: 16 << 20 });
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

/** The built Worker's entry: the test build (`make build-test`: the cargo feature `test-hooks`, with
 * the test clock) unless `release`, the build `wrangler deploy` uploads, which has no test hooks. */
export function workerScript({ release = false } = {}) {
  return join(ROOT, release ? "crates/worker/build/index.js" : "crates/worker/build-test/index.js");
}

/** The built Worker on workerd through Miniflare, with the state folder's D1 and KV; `bindings` adds
 * Worker vars and secrets (strings, as `[vars]` and `wrangler secret put` give them), e.g.
 * `{ RATE_LIMIT_PER_MINUTE: "5" }`; `options` adds Miniflare options (e.g. `handleRuntimeStdio`
 * to read the Worker's log). */
export function startMiniflare(stateDir, { adminToken, reportsToken = randomToken(), bindings = {}, options = {}, release = false }) {
  return new Miniflare({
    modules: true,
    scriptPath: workerScript({ release }),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-04-01",
    kvNamespaces: { CONFIG: KV_ID },
    d1Databases: { DB: D1_ID },
    r2Buckets: { ARCHIVE: "handoff-archive" },
    kvPersist: join(stateDir, "v3/kv"),
    d1Persist: join(stateDir, "v3/d1"),
    r2Persist: join(stateDir, "v3/r2"),
    // The roles' tokens and the keys of the rate limits and of the archive's index of people, as
    // `wrangler secret put` gives them. Failed
    // sign-ins are throttled per client (tests/admin.test.mjs); suites that try wrong tokens on
    // purpose from Miniflare's one client get a window they cannot fill unless they set their own.
    bindings: { RATE_LIMIT_KEY: randomToken(), PEOPLE_INDEX_KEY: randomToken(), AUTH_FAILURES_PER_WINDOW: "100000", ...bindings, ADMIN_TOKEN: adminToken,
      ...(reportsToken ? { REPORTS_TOKEN: reportsToken } : {}) },
    cf: false,
    ...options,
  });
}

/** A Worker on workerd with a fresh state folder and a configuration: `config` (a TOML file; the
 * demo's when absent) with `extraToml` appended (e.g. notification channels naming a receiver's
 * port), compiled by the CLI and seeded as `make dev` seeds it; `miniflare`: more Miniflare options
 * (`startMiniflare`'s `options`); `release`: the release build instead of the test build. With
 * `testClock` (the default) the
 * Worker runs with TEST_CLOCK and every request made through `fetch` carries the test's clock:
 * `now` (default EPOCH), never the machine's. Returns the Worker and the helpers every suite uses:
 * - `fetch(path, { now, admin, reports, headers, method, body })`: a request (`admin`: with the
 *   admin token; `reports`: with the reports token;
 *   `now: null`: no clock header);
 * - `json(path, options)`: the same, answered as `{ status, json, text, headers }`;
 * - `submit(body, options)`: `POST /v1/leads` of a JSON body, expected to answer 201, → the lead id;
 * - `tick(ms, cron)`: the cron at `scheduledTime` `ms`, expected to succeed;
 * - `events(leadId, kind)`: the lead's log (kind, actor, at, detail), oldest first, `detail` parsed;
 * - `dispose()`: the Worker and its state folder gone. */
export async function startWorker({ config, extraToml = "", bindings = {}, testClock = true, release = false, adminToken = randomToken(), reportsToken = randomToken(), miniflare = {} } = {}) {
  let file;
  if (config || extraToml) {
    const text = `${await readFile(config ?? join(ROOT, "config/demo.toml"), "utf8")}\n${extraToml}`;
    const scratch = await mkdtemp(join(tmpdir(), "handoff-config-"));
    file = join(scratch, "config.toml");
    await writeFile(file, text);
  }
  const state = await freshState(file ? { config: file } : {});
  if (file) await rm(dirname(file), { recursive: true, force: true });
  const mf = startMiniflare(state.dir, {
    adminToken,
    reportsToken,
    bindings: { ...(testClock ? { TEST_CLOCK: "enabled" } : {}), ...bindings },
    options: miniflare,
    release,
  });
  const db = await mf.getD1Database("DB");
  const kv = await mf.getKVNamespace("CONFIG");
  const fetch = (path, { now = EPOCH, admin = false, reports = false, headers = {}, ...init } = {}) => {
    const all = { ...headers };
    if (testClock && now !== null && now !== undefined) all["x-test-now-ms"] = String(now);
    if (admin) all.authorization = `Bearer ${adminToken}`;
    else if (reports) all.authorization = `Bearer ${reportsToken}`;
    return mf.dispatchFetch(path.startsWith("http") ? path : `http://localhost${path}`, { ...init, headers: all });
  };
  const json = async (path, options) => {
    const r = await fetch(path, options);
    const text = await r.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: r.status, json: body, text, headers: r.headers };
  };
  const submit = async (body, { headers = {}, ...options } = {}) => {
    const r = await fetch("/v1/leads", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
      ...options,
    });
    const text = await r.text();
    assert.equal(r.status, 201, text);
    return JSON.parse(text).id;
  };
  const tick = async (ms, cron = "* * * * *") => {
    const result = await (await mf.getWorker()).scheduled({ cron, scheduledTime: new Date(ms) });
    assert.equal(result.outcome, "ok");
  };
  const events = async (leadId, kind) =>
    (await db.prepare("SELECT kind, actor, at, detail FROM lead_events WHERE lead_id = ?1 ORDER BY seq").bind(leadId).all())
      .results.map((e) => ({ ...e, detail: JSON.parse(e.detail) }))
      .filter((e) => !kind || e.kind === kind);
  const dispose = async () => {
    await mf.dispose();
    await state.cleanup();
  };
  return { state, mf, db, kv, adminToken, reportsToken, fetch, json, submit, tick, events, dispose };
}

/** A webhook receiver on loopback: records every request as `{ path, headers, body }` in
 * `received`; `respond(request)` says what to answer: a status (default 200) or "hang" for no answer
 * at all. `url(path)` is its address; `close()` stops it. */
export async function startReceiver(respond = () => 200) {
  const received = [];
  const server = createHttpServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const request = { path: req.url, headers: req.headers, body };
      received.push(request);
      const status = respond(request);
      if (status === "hang") return;
      res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "no");
    });
  });
  const port = await freePort();
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  const close = () => {
    server.closeAllConnections();
    return new Promise((ok) => server.close(ok));
  };
  return { port, url: (path = "/") => `http://127.0.0.1:${port}${path}`, received, close };
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

/** `wrangler dev` on a free port, as `make dev` runs it (with the test build unless `release`).
 * Resolves once the API answers. */
export async function startWranglerDev(stateDir, { adminToken, reportsToken, vars = {}, release = false }) {
  const [port, inspector] = [await freePort(), await freePort()];
  const child = spawn(
    join(ROOT, "node_modules/.bin/wrangler"),
    ["dev", workerScript({ release }), "--local", "--persist-to", stateDir, "--port", String(port), "--ip", "127.0.0.1",
     "--inspector-port", String(inspector), "--test-scheduled", "--var", `ADMIN_TOKEN:${adminToken}`,
     ...(reportsToken ? ["--var", `REPORTS_TOKEN:${reportsToken}`] : []), "--var", `RATE_LIMIT_KEY:${randomToken()}`,
     "--var", `PEOPLE_INDEX_KEY:${randomToken()}`,
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
