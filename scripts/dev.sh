#!/usr/bin/env bash
# `make dev`: seeds the local edge (D1 migrations, the demo rule bundle in KV, an admin token) and
# serves the demo page, the form and the API with wrangler's bundled workerd.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-8787}
state=.wrangler/state

scripts/seed-local.sh "$state"
# Demo history for the dashboard, once (a second `make dev` adds nothing).
node scripts/seed-history.mjs "$state" --once
if [ ! -f .dev.vars ] || ! grep -q '^ADMIN_TOKEN=' .dev.vars; then
  # A local-only admin token; production uses `wrangler secret put ADMIN_TOKEN`.
  echo "ADMIN_TOKEN=$(node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("hex"))')" >> .dev.vars
fi
cat <<TXT

  Demo page with the embedded form:  http://localhost:$port/
  Form spec (JSON):                  http://localhost:$port/v1/forms/demo
  Submit a lead:                     POST http://localhost:$port/v1/leads
  Read a lead (admin):               GET  http://localhost:$port/v1/leads/ID
                                     with Authorization: Bearer <ADMIN_TOKEN from .dev.vars>
  Health and last cron tick:         http://localhost:$port/v1/health
  Dashboard (admin token):           http://localhost:$port/dashboard

TXT
exec node_modules/.bin/wrangler dev --local --persist-to "$state" --port "$port" --test-scheduled
