#!/usr/bin/env bash
# `make dev`: seeds the local edge (D1 migrations, the demo rule bundle in KV, every secret the demo
# needs), serves the demo page, the form and the API with wrangler's bundled workerd, and runs the
# scheduled handler every minute as the Cron Trigger would (outbox retries, SLA escalation).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-8787}
state=.wrangler/state

scripts/seed-local.sh "$state"
# Demo history for the dashboard, once (a second `make dev` adds nothing).
node scripts/seed-history.mjs "$state" --once
# Local-only random secrets in .dev.vars (git-ignored); production uses `wrangler secret put`.
node scripts/dev-secrets.mjs .build/bundle.json .dev.vars
cat <<TXT

  Demo page with the embedded form:  http://localhost:$port/
  Form spec (JSON):                  http://localhost:$port/v1/forms/demo
  Submit a lead:                     POST http://localhost:$port/v1/leads
  Read a lead (admin):               GET  http://localhost:$port/v1/leads/ID
                                     with Authorization: Bearer <ADMIN_TOKEN from .dev.vars>
  Health and last cron tick:         http://localhost:$port/v1/health
  Dashboard (REPORTS_TOKEN):         http://localhost:$port/dashboard
  Configuration (ADMIN_TOKEN):       http://localhost:$port/dashboard/config
  Cron:                              every minute; a tick that did something prints one line

TXT
# The Cron Trigger: Cloudflare runs the scheduled handler every minute; locally, this does.
node scripts/dev-cron.mjs "http://127.0.0.1:$port" &
cron=$!
trap 'kill "$cron" 2>/dev/null || true' EXIT INT TERM
node_modules/.bin/wrangler dev --local --persist-to "$state" --port "$port" --test-scheduled
