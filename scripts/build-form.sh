#!/usr/bin/env bash
# Builds the browser form module: handoff-form for wasm32, wasm-bindgen's ES module glue, and
# wasm-opt -Oz, into www/form/ (served by the Worker as static assets). The glue is minified with
# the esbuild that comes with wrangler (pinned in package-lock.json): the browser downloads it too.
# wasm-opt runs -Oz until nothing changes (--converge) and drops the custom sections no browser
# reads (debug names, producers, target features): see docs/BENCHMARKS.md for what each saved.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p handoff-form --target wasm32-unknown-unknown --release
wasm-bindgen --target web --no-typescript --out-dir www/form --out-name handoff_form \
  "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/handoff_form.wasm"
node_modules/binaryen/bin/wasm-opt -Oz --converge --strip-debug --strip-producers --strip-target-features \
  www/form/handoff_form_bg.wasm -o www/form/handoff_form_bg.wasm
node_modules/.bin/esbuild www/form/handoff_form.js --minify --format=esm --log-level=warning \
  --outfile=www/form/handoff_form.js --allow-overwrite
