# Handoff: the two commands are `make dev` and `make test`; everything else is a step of theirs.
# Every target installs what it needs through scripts/setup.sh, which skips what is already there.

PORT ?= 8787
SHELL := bash
# No -u: a shell whose stdin is a socket (as under `wrangler dev`) may source /etc/bash.bashrc, which
# reads unset variables.
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

CARGO_HOME ?= $(HOME)/.cargo
export PATH := $(CARGO_HOME)/bin:$(PATH)
export WRANGLER_SEND_METRICS := false
# worker-build must use local tools, never its own downloads.
export WASM_BINDGEN_BIN := $(CARGO_HOME)/bin/wasm-bindgen
export ESBUILD_BIN := $(CURDIR)/node_modules/.bin/esbuild
export WASM_OPT_BIN := $(CURDIR)/node_modules/binaryen/bin/wasm-opt
export CHROMEDRIVER := /usr/bin/chromedriver
export CHROME_BIN := /usr/bin/chromium

rust_sources = $(wildcard crates/$(1)/src/*.rs crates/$(1)/src/*/*.rs) crates/$(1)/Cargo.toml
# What a build embeds besides the Rust sources (include_str!): the data files and the OpenAPI document.
CORE_SRC   := $(call rust_sources,core) $(wildcard crates/core/data/*) Cargo.toml
FORM_SRC   := $(call rust_sources,form)
WORKER_SRC := $(call rust_sources,worker) crates/worker/openapi.json
CLI_SRC    := $(call rust_sources,cli)
FORM_WASM  := www/form/handoff_form_bg.wasm
EMBED_JS   := www/embed.js
WORKER_JS  := crates/worker/build/index.js
# The same Worker built for tests: with the cargo feature `test-hooks` (the test clock, the answers'
# D1 cost headers), which the release build above, the one `wrangler deploy` uploads, never has.
WORKER_TEST_JS := crates/worker/build-test/index.js
BUNDLE     := .build/bundle.json
HANDOFF    := $(or $(CARGO_TARGET_DIR),target)/debug/handoff

.PHONY: help dev test setup setup-test build build-test lint test-native test-wasm test-worker test-contract test-dates test-e2e size size-normalizers bench bench-email bench-phone bench-form bench-edge bench-slack bench-sla bench-metrics bench-simulate bench-preview bench-crm bench-scale fuzz clean

help:
	@echo "make dev    build and serve the demo page with the embedded form on http://localhost:$(PORT)/"
	@echo "make test   lints, native tests, wasm tests in Chromium, worker tests on workerd, end-to-end"
	@echo "make test-dates  the dated worker suites with their base date a year back (or HANDOFF_TEST_EPOCH)"
	@echo "make size   gzip bytes of everything the browser downloads for the demo form"
	@echo "make size-normalizers  gzip bytes each handoff-core normalizer adds to a browser module"
	@echo "make bench  criterion benchmarks of handoff-core (results: docs/BENCHMARKS.md)"
	@echo "make bench-email  email typo suggestions side by side with mailcheck (npm)"
	@echo "make bench-phone  phone parsing (wasm) side by side with libphonenumber-js (npm): agreement, time"
	@echo "make bench-form  the demo form in Chromium, 20 loads, side by side with a plain-JS form"
	@echo "make bench-edge  lead submissions against the local Worker: submissions/s, latency, D1 round trips"
	@echo "make bench-slack  submissions with personal Slack alerts on and off: latency, D1 round trips, Slack calls"
	@echo "make bench-sla  one SLA cron tick with 1k, 10k and 100k open leads (1% due) in local D1"
	@echo "make bench-metrics  the metrics API over 100k leads in local D1, and handoff metrics on its export"
	@echo "make bench-simulate handoff simulate over 100k leads: time and peak memory"
	@echo "make bench-preview  POST /v1/config/preview over 10k leads in local D1: time, CPU and memory of the Worker"
	@echo "make bench-crm  the CRM push draining a backlog of 1,000 leads: leads and calls per cron tick"
	@echo "make bench-scale  one more lead with 0, 100k and 1M leads of history: latency, D1 rows, tick, metrics, export memory"
	@echo "make fuzz   each cargo-fuzz target for FUZZ_SECONDS (default 60)"

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --browser

build: $(FORM_WASM) $(EMBED_JS) $(WORKER_JS) $(BUNDLE)

# The loader's source is crates/form/js/embed.js; the browser downloads it minified, with the form
# module's glue (www/form/handoff_form.js) bundled in. It names the wasm by a hash of the module's
# content (MODULE_VERSION), so browsers may cache it for good. The glue reads `import.meta` only when
# it is given no wasm, which the loader always gives it.
$(EMBED_JS): crates/form/js/embed.js crates/form/js/start.js $(FORM_WASM)
	@v=$$(cat www/form/handoff_form.js $(FORM_WASM) | sha256sum | cut -c1-16); \
	node_modules/.bin/esbuild $< --bundle --format=iife --minify --legal-comments=none --log-level=warning \
	  --log-override:empty-import-meta=silent --define:MODULE_VERSION="\"$$v\"" --outfile=$@

$(FORM_WASM): $(CORE_SRC) $(FORM_SRC) Cargo.lock scripts/build-form.sh
	@echo "build: form module"
	@scripts/build-form.sh

# The Worker serves the loader too (GET /v1/forms/ID/embed.js, include_str!): it is built after it.
$(WORKER_JS): $(CORE_SRC) $(WORKER_SRC) $(EMBED_JS) Cargo.lock
	@echo "build: worker"
	@mkdir -p .build
	@cd crates/worker && worker-build --release >../../.build/worker-build.log 2>&1 || { cat ../../.build/worker-build.log; exit 1; }

build-test: build $(WORKER_TEST_JS)

$(WORKER_TEST_JS): $(CORE_SRC) $(WORKER_SRC) $(EMBED_JS) Cargo.lock
	@echo "build: worker for tests (feature test-hooks)"
	@mkdir -p .build
	@cd crates/worker && worker-build --release --out-dir build-test . --features test-hooks >../../.build/worker-build-test.log 2>&1 || { cat ../../.build/worker-build-test.log; exit 1; }

$(HANDOFF): $(CORE_SRC) $(CLI_SRC) Cargo.lock
	@cargo build --quiet -p handoff-cli

$(BUNDLE): $(HANDOFF) $(wildcard config/*.toml)
	@mkdir -p .build
	@$(HANDOFF) check config/demo.toml
	@$(HANDOFF) bundle config/demo.toml > $@

dev: setup build
	@scripts/dev.sh $(PORT)

test: setup-test
	@$(MAKE) --no-print-directory lint test-native test-wasm build-test
	@# The Worker suites, the contract and the dated suites wait on workerd more than on the CPU: two
	@# at a time, each target's output printed whole when it ends.
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-worker test-contract test-dates
	@$(MAKE) --no-print-directory test-e2e
	@echo "make test: every layer passed"

# The Worker's crate includes the built loader (www/embed.js), so it is built before cargo checks it.
lint: $(EMBED_JS)
	@echo "== lint: module layers and function length, rustfmt, clippy (native and wasm32)"
	node scripts/architecture-check.mjs
	cargo fmt --all --check
	cargo clippy --quiet --workspace --all-targets -- -D warnings
	cargo clippy --quiet -p handoff-form -p handoff-worker --target wasm32-unknown-unknown -- -D warnings
	cargo clippy --quiet -p handoff-worker --features test-hooks --target wasm32-unknown-unknown -- -D warnings
	cargo clippy --quiet -p handoff-probe --all-features --target wasm32-unknown-unknown -- -D warnings

test-native: $(EMBED_JS)
	@echo "== native tests (handoff-core, handoff-cli, handoff-worker's routing)"
	cargo test --workspace --exclude handoff-form --exclude handoff-worker
	cargo test -p handoff-worker --lib

test-wasm:
	@echo "== wasm tests of handoff-form in headless Chromium"
	cd crates/form && CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	  cargo test --target wasm32-unknown-unknown

test-worker: build-test $(HANDOFF)
	@echo "== worker tests on workerd with local D1 and KV"
	node --test --test-concurrency=1 --test-reporter=spec tests/worker.test.mjs tests/routing.test.mjs tests/notify.test.mjs tests/admin.test.mjs tests/sla.test.mjs tests/metrics.test.mjs tests/rollups.test.mjs tests/experiments.test.mjs tests/lifecycle.test.mjs tests/slack.test.mjs tests/attributes.test.mjs tests/fakes.test.mjs tests/crm-fakes.test.mjs tests/email-domain.test.mjs tests/replay.test.mjs tests/export.test.mjs tests/crm.test.mjs tests/crm-back.test.mjs tests/retention.test.mjs tests/batches.test.mjs tests/crm-chunks.test.mjs tests/people.test.mjs

# The API contract: schemathesis (pinned in scripts/setup.sh) against the Worker on workerd, every
# check on (tests/contract.test.mjs, tests/schemathesis.toml).
test-contract: build-test
	@echo "== the API contract: schemathesis against the Worker on workerd"
	node --test --test-reporter=spec tests/contract.test.mjs

# The suites whose instants come from the tests' base date (tests/support/clock.mjs), run again
# with the base date a year back: a test that depends on the calendar fails here, today, rather
# than on main some day later. `make test` runs it beside the normal run; HANDOFF_TEST_EPOCH names
# another date (e.g. a year ahead).
DATED_SUITES := tests/routing.test.mjs tests/notify.test.mjs tests/sla.test.mjs tests/experiments.test.mjs tests/metrics.test.mjs tests/rollups.test.mjs tests/lifecycle.test.mjs tests/slack.test.mjs tests/attributes.test.mjs tests/email-domain.test.mjs tests/replay.test.mjs tests/export.test.mjs tests/crm.test.mjs tests/crm-back.test.mjs tests/retention.test.mjs tests/batches.test.mjs tests/crm-chunks.test.mjs tests/people.test.mjs
test-dates: build-test $(HANDOFF)
	@epoch=$${HANDOFF_TEST_EPOCH:-$$(node -e 'const d = new Date(); d.setUTCFullYear(d.getUTCFullYear() - 1); process.stdout.write(d.toISOString())')}; \
	echo "== the dated worker suites again, base date $$epoch"; \
	HANDOFF_TEST_EPOCH=$$epoch node --test --test-concurrency=1 --test-reporter=spec $(DATED_SUITES)

test-e2e: build-test
	@echo "== end-to-end in headless Chromium against wrangler dev"
	node --test --test-concurrency=1 --test-reporter=spec tests/e2e.test.mjs tests/embed.test.mjs tests/dashboard.test.mjs

size: build
	@scripts/size.sh

size-normalizers:
	@scripts/normalizer-size.sh

bench:
	cargo bench -p handoff-core --bench core

bench-form: build-test
	node bench/form-load.mjs

bench-edge: build-test
	node bench/edge-load.mjs

bench-slack: build-test $(HANDOFF)
	node bench/slack-intake.mjs

bench-sla: build-test $(HANDOFF)
	node bench/sla-tick.mjs

bench-metrics: build-test $(HANDOFF)
	cargo build --release -p handoff-cli
	node bench/metrics-load.mjs

bench-simulate:
	cargo build --release -p handoff-cli
	node bench/simulate.mjs

bench-preview: build-test $(HANDOFF)
	node bench/preview.mjs

bench-crm: build-test
	node bench/crm-push.mjs

bench-scale: build-test $(HANDOFF)
	node --experimental-websocket bench/scale.mjs

bench-email: $(FORM_WASM)
	node bench/email-suggest.mjs

# handoff-core's phone parser for wasm32 (crates/probe, feature `phone`) and its wasm-bindgen glue in
# .build/probe/; cargo decides what to rebuild, wasm-bindgen runs only when cargo relinked.
PROBE_WASM := $(or $(CARGO_TARGET_DIR),target)/wasm32-unknown-unknown/release/handoff_probe.wasm
bench-phone:
	@cargo build --quiet --release --target wasm32-unknown-unknown -p handoff-probe --features phone
	@[ .build/probe/handoff_probe_bg.wasm -nt $(PROBE_WASM) ] || \
	  wasm-bindgen --target web --no-typescript --out-dir .build/probe --out-name handoff_probe $(PROBE_WASM)
	node bench/phone-agreement.mjs

FUZZ_SECONDS ?= 60
fuzz:
	@cargo install --list | grep -qx "cargo-fuzz v0.13.1:" || cargo install cargo-fuzz --version =0.13.1 --locked
	@cd fuzz && for target in $$(RUSTC_BOOTSTRAP=1 cargo fuzz list); do \
	  echo "== fuzz $$target for $(FUZZ_SECONDS) s"; \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run "$$target" -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

clean:
	rm -rf target www/form crates/worker/build crates/worker/build-test .build .wrangler test-artifacts
