#!/usr/bin/env bash
# Prints the bytes each handoff-core normalizer adds to a browser module. crates/probe is built once
# per cargo feature (one normalizer each), as scripts/build-form.sh builds the form module: release
# for wasm32, wasm-bindgen --target web, wasm-opt -Oz. Each build goes to .build/probe-size/<name>/.
# The baseline has no normalizer and exports one string-to-string function, so wasm-bindgen's
# runtime and the allocator are counted there, once; "added" is a build's gzip -9 bytes (wasm and
# JS glue) minus the baseline's. The last row has every normalizer at once: less than the sum of
# the rows above it by the code they share (formatting, Unicode tables, text cleaning, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
wasm_opt=node_modules/binaryen/bin/wasm-opt
out=.build/probe-size
features=(email phone country company title text)
describe() {
  case $1 in
    baseline) echo "no normalizer (echo only)" ;;
    email) echo "email::normalize, email::suggest" ;;
    phone) echo "phone::parse_phone" ;;
    country) echo "country::normalize_country, normalize_region" ;;
    company) echo "company::normalize_company, registrable_domain" ;;
    title) echo "title::classify" ;;
    text) echo "text::clean_line, clean_block" ;;
    all) echo "all six together" ;;
  esac
}

# Builds the probe with the given features (comma-separated, empty for none) into $out/$name/.
build() {
  local name=$1 features=$2 dir=$out/$1
  cargo build --quiet --release --target wasm32-unknown-unknown -p handoff-probe \
    ${features:+--features "$features"}
  rm -rf "$dir"
  wasm-bindgen --target web --no-typescript --out-dir "$dir" --out-name handoff_probe \
    "$target_dir/wasm32-unknown-unknown/release/handoff_probe.wasm"
  "$wasm_opt" -Oz --strip-debug --strip-producers "$dir/handoff_probe_bg.wasm" -o "$dir/handoff_probe_bg.wasm"
}

gz() { gzip -9c "$1" | wc -c; }

build baseline ""
base_gz=$(($(gz $out/baseline/handoff_probe_bg.wasm) + $(gz $out/baseline/handoff_probe.js)))
all=$(IFS=,; echo "${features[*]}")
printf '%-9s %-46s %10s %10s %9s %12s\n' feature exports "wasm bytes" "wasm gzip" "js gzip" "added gzip"
sum_added=0
for name in baseline "${features[@]}" all; do
  case $name in
    baseline) ;;
    all) build all "$all" ;;
    *) build "$name" "$name" ;;
  esac
  wasm=$out/$name/handoff_probe_bg.wasm js=$out/$name/handoff_probe.js
  wasm_gz=$(gz "$wasm") js_gz=$(gz "$js")
  added=$((wasm_gz + js_gz - base_gz))
  case $name in baseline | all) ;; *) sum_added=$((sum_added + added)) ;; esac
  printf '%-9s %-46s %10d %10d %9d %12d\n' "$name" "$(describe "$name")" "$(wc -c < "$wasm")" "$wasm_gz" "$js_gz" "$added"
done
printf '%-9s %-46s %10s %10s %9s %12d\n' "" "sum of the six rows" "" "" "" "$sum_added"
