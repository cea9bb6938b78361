#!/usr/bin/env bash
# Prints what the browser downloads for the demo form, raw and gzip -9, and the total; fails when
# the total is over the form's budget of 60,000 bytes gzip (60,250 for part of issue 17; see
# docs/BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
# The form as GET /v1/forms/demo answers it, from the built Worker.
node scripts/form-answer.mjs demo > .build/form-demo.json
total_raw=0; total_gz=0
printf '%-32s %10s %10s\n' file bytes gzip
for f in www/embed.js www/form/handoff_form.js www/form/handoff_form_bg.wasm .build/form-demo.json; do
  raw=$(wc -c < "$f"); gz=$(gzip -9c "$f" | wc -c)
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz))
  printf '%-32s %10d %10d\n' "$f" "$raw" "$gz"
done
printf '%-32s %10d %10d\n' total "$total_raw" "$total_gz"
budget=60000
if ((total_gz > budget)); then
  echo "over the form's budget: $total_gz bytes gzip, at most $budget" >&2
  exit 1
fi
