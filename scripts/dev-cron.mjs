#!/usr/bin/env node
// `make dev`'s Cron Trigger: at the start of every minute, as Cloudflare would, runs the local
// Worker's scheduled handler through `wrangler dev --test-scheduled`'s `/__scheduled` (outbox
// retries, SLA escalation, clean-up). The Worker prints one line for a tick that did something.
//   node scripts/dev-cron.mjs http://127.0.0.1:8787
const base = process.argv[2];
if (!base) {
  console.error("usage: dev-cron.mjs BASE_URL");
  process.exit(2);
}
const cron = encodeURIComponent("* * * * *");
let warned = false;

async function tick() {
  try {
    const r = await fetch(`${base}/__scheduled?cron=${cron}`, { signal: AbortSignal.timeout(50_000) });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`status ${r.status}`);
    warned = false;
  } catch (e) {
    // wrangler dev may be starting or rebuilding: say so once, then keep trying every minute.
    if (!warned) console.error(`dev-cron: the scheduled handler did not run (${e.message}); retrying every minute`);
    warned = true;
  }
}

for (;;) {
  const wait = 60_000 - (Date.now() % 60_000);
  await new Promise((ok) => setTimeout(ok, wait));
  await tick();
}
