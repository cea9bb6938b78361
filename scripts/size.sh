#!/usr/bin/env bash
# Prints what the browser downloads for the demo form, raw and gzip -9, and the total; fails when
# the total is over the form's budget of 60,000 bytes gzip (see docs/BENCHMARKS.md). Two ways to
# embed a form, each counted: the per-form loader (GET /v1/forms/demo/embed.js: the loader with
# the form in it) and the generic one (/embed.js data-form="demo", which then asks for the form).
set -euo pipefail
cd "$(dirname "$0")/.."
# The answers of GET /v1/forms/demo/embed.js and GET /v1/forms/demo, from the built Worker.
node scripts/form-answer.mjs --loader demo > .build/form-demo.js
node scripts/form-answer.mjs demo > .build/form-demo.json
budget=60000
over=0
report() {
  local title=$1; shift
  local total_raw=0 total_gz=0 raw gz
  echo "$title"
  printf '%-32s %10s %10s\n' file bytes gzip
  for f in "$@"; do
    raw=$(wc -c < "$f"); gz=$(gzip -9c "$f" | wc -c)
    total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz))
    printf '%-32s %10d %10d\n' "$f" "$raw" "$gz"
  done
  printf '%-32s %10d %10d\n' total "$total_raw" "$total_gz"
  if ((total_gz > budget)); then
    echo "over the form's budget: $total_gz bytes gzip, at most $budget" >&2
    over=1
  fi
}
report "<script src=\".../v1/forms/demo/embed.js\">" .build/form-demo.js www/form/handoff_form_bg.wasm
echo
report "<script src=\".../embed.js\" data-form=\"demo\">" www/embed.js www/form/handoff_form_bg.wasm .build/form-demo.json
exit $over
