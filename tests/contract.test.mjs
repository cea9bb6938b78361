// The API contract: schemathesis (pinned in scripts/setup.sh) reads `GET /v1/openapi.json` from
// the Worker on workerd (Miniflare on a loopback port, fresh local D1 and KV with the demo's
// configuration) and tries every operation with schema-valid and schema-invalid requests, every
// check on, with the admin token: no 5xx, every answer as documented (status, headers, body,
// content type), every 405 with its `Allow`, schema-valid input accepted and invalid input refused.
// A fixed seed keeps the run the same from one `make test` to the next; the run is bounded in time.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT, randomToken, startWorker } from "./support/edge.mjs";

const VERSION = (await readFile(join(ROOT, "scripts/setup.sh"), "utf8")).match(/^SCHEMATHESIS_VERSION=(\S+)/m)[1];
const ST = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "handoff", `schemathesis-${VERSION}`, "bin", "st");
const SEED = "20261207";
// The operations of the route table (crates/worker/src/router.rs), which the document must list.
const ROUTE_COUNT = [...(await readFile(join(ROOT, "crates/worker/src/router.rs"), "utf8")).matchAll(/^\s+route\(\s*"/gm)].length;

let worker, url, scratch;

before(async () => {
  // The real clock: nothing here is dated. A wide rate limit: the fuzzer posts many leads from
  // one address, and the limit is tests/admin.test.mjs's subject.
  worker = await startWorker({
    testClock: false,
    bindings: { RATE_LIMIT_PER_MINUTE: "1000000", LINK_SECRET: randomToken(), PUBLIC_URL: "https://handoff.example.com" },
    miniflare: { host: "127.0.0.1", port: 0 },
  });
  url = String(await worker.mf.ready).replace(/\/$/, "");
  scratch = await mkdtemp(join(tmpdir(), "handoff-contract-"));
});
after(async () => {
  await worker?.dispose();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Runs `st` with `args`; resolves with its exit code and output, killing it after `ms`. */
function st(args, ms) {
  return new Promise((resolve) => {
    const child = spawn(ST, args, { cwd: scratch, env: { ...process.env, NO_COLOR: "1", SCHEMATHESIS_TELEMETRY: "false" } });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test(`schemathesis ${VERSION}, every check on, finds nothing`, { timeout: 240_000 }, async () => {
  const { code, output } = await st([
    "--config-file", join(ROOT, "tests/schemathesis.toml"),
    "run", `${url}/v1/openapi.json`, "--url", url,
    "--checks", "all",
    "--header", `Authorization: Bearer ${worker.adminToken}`,
    "--seed", SEED, "--generation-database", "none", "--max-examples", "25",
    "--workers", "2", "--request-timeout", "10", "--no-color",
  ], 200_000);
  assert.equal(code, 0, output.slice(-20_000));
  // Every operation of the route table was tested (schemathesis leaves out the document's own
  // `GET /v1/openapi.json` when it reads the document from it), and every case passed every check.
  const [, selected, total] = output.match(/Operations:\s+(\d+) selected \/ (\d+) total/) ?? [];
  assert.deepEqual([Number(selected), Number(total)], [ROUTE_COUNT - 1, ROUTE_COUNT - 1], output.slice(0, 2000));
  const [, generated, passed] = output.match(/(\d+) generated, (\d+) passed/) ?? [];
  assert.ok(Number(generated) > 1000 && generated === passed, output.slice(-4000));
});
