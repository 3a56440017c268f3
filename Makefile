# Developer entry points. `make dev` runs the whole stack locally, `make test` runs every test.
# The Temporal CLI and stripe-mock are pinned as tool deps of their own modules under tools/
# (never in the app's go.mod: the CLI's server pins an older go.temporal.io/api than our SDK needs)
# and are built into .bin/, which the targets below put first on PATH.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go
BIN := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)

# The integration packages each start their own Temporal dev server and stripe-mock; on 2 cores a
# full run takes a few minutes, so 12m is "something hangs", well under CI's budget.
TEST_TIMEOUT ?= 12m
TEST_FLAGS ?=
PKGS ?= ./...

TEMPORAL_MOD := tools/temporal/go.mod
STRIPE_MOCK_MOD := tools/stripe-mock/go.mod

.PHONY: help tools test fuzz test-short record-histories dev bench vet fmt fmt-check clean vendor-chartjs vendor-axe

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

tools: $(BIN)/temporal $(BIN)/stripe-mock ## build the pinned Temporal CLI and stripe-mock into .bin/

# Rebuilt only when the pinned versions change. `touch` because go build leaves an up-to-date
# output untouched, which would otherwise keep make rebuilding it.
$(BIN)/temporal: $(TEMPORAL_MOD) tools/temporal/go.sum
	@mkdir -p $(BIN)
	@echo "building $@ (Temporal CLI, about 2 min on a cold cache)"
	$(GO) build -modfile=$(TEMPORAL_MOD) -o $@ github.com/temporalio/cli/cmd/temporal
	@touch $@

$(BIN)/stripe-mock: $(STRIPE_MOCK_MOD) tools/stripe-mock/go.sum
	@mkdir -p $(BIN)
	@echo "building $@"
	$(GO) build -modfile=$(STRIPE_MOCK_MOD) -o $@ github.com/stripe/stripe-mock
	@touch $@

test: tools ## run every test against real servers (go test -count=1 ./...)
	@mkdir -p .data && rm -f .data/fault-summary.txt
	FAULT_SUMMARY=$(CURDIR)/.data/fault-summary.txt $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) $(PKGS) 2>&1 | tee .data/test.log
	@cat .data/fault-summary.txt 2>/dev/null || true
	@echo "packages: $$(grep -c '^ok' .data/test.log) passed, $$(grep -c '^FAIL' .data/test.log) failed, $$(grep -c 'no test files' .data/test.log) skipped"

test-short: ## unit tests only; integration tests skip when their servers are missing
	$(GO) test -count=1 -short -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) $(PKGS)

# The end-to-end tests in api/server write the histories of their real runs into
# workflows/payment/testdata when RECORD_HISTORY is set; the replay test then proves the current
# workflow code still replays them. Re-record only for intended changes to the workflow's commands.
record-histories: tools ## re-record workflow histories for the replay tests, then replay them
	RECORD_HISTORY=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./api/server/
	$(GO) test -count=1 -run TestReplayRecordedHistories ./workflows/payment/
	RECORD_HISTORY=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -run TestWeeklyReportsEndToEnd ./workflows/report/
	$(GO) test -count=1 -run TestReplayRecordedHistories ./workflows/report/

FUZZTIME ?= 10s

# Every go test -fuzz target: the webhook parsers, the split and money parsing. go test runs their
# seed corpora in the normal test run; this target searches for new inputs for FUZZTIME each.
fuzz: ## run every fuzz target for FUZZTIME (default 10s) each
	@set -e; for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs grep -h -o '^func Fuzz[A-Za-z0-9_]*' /dev/null | sort -u | sed 's/func //'); do \
		pkg=$$(dirname $$(grep -rl --include='*_test.go' "^func $$spec(" . | head -1)); \
		echo "fuzz $$pkg $$spec ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$spec$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

dev: ## run Postgres, Temporal, stripe-mock, worker and API locally (Ctrl-C stops all)
	bash scripts/dev.sh

# A day of webhooks through its own stack (fresh database bench_<unix> on BENCH_PG_URL, in-memory
# Temporal, stripe-mock, the worker and api built from this tree); writes bench-results.json and
# bench-latency.png here. `make bench EVENTS=500` is a quick run. See README, "Benchmark".
EVENTS ?= 5000
CLIENTS ?= 40
CONCURRENCY ?= 32
RATE ?= 0

# The limit run polls like the worker does (autoscaled workflow-task pollers), so the ratio is fair.
LIMIT_POLLERS ?= autoscale

bench: tools ## end-to-end benchmark: EVENTS webhooks (5000, PAYPAL_SHARE of the payments through PayPal: 0.2) for CLIENTS clients (40), CONCURRENCY senders (32), RATE/s (0: flat out)
	EVENTS=$(EVENTS) CLIENTS=$(CLIENTS) CONCURRENCY=$(CONCURRENCY) RATE=$(RATE) $(GO) run ./cmd/bench -limit-pollers $(LIMIT_POLLERS)

vet: ## go vet
	$(GO) vet ./...

fmt: ## gofmt -w
	gofmt -w $$(git ls-files --cached --others --exclude-standard '*.go')

fmt-check: ## fail if any file needs gofmt
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "needs gofmt:"; echo "$$out"; exit 1; fi

# Chart.js for the dashboard comes from npm and is vendored into the embedded static files. The
# result is committed, so building and testing never need npm; run this only to change the version.
CHARTJS_VERSION := 4.6.1
CHARTJS_DIR := api/server/static/vendor

vendor-chartjs: ## re-vendor Chart.js $(CHARTJS_VERSION) from npm into the dashboard (commit the result)
	@command -v npm >/dev/null || { echo "npm is needed to re-vendor Chart.js"; exit 1; }
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd "$$tmp" && npm pack --silent chart.js@$(CHARTJS_VERSION) >/dev/null && tar -xzf chart.js-$(CHARTJS_VERSION).tgz) && \
	mkdir -p $(CHARTJS_DIR) && \
	cp "$$tmp/package/dist/chart.umd.js" $(CHARTJS_DIR)/chart.umd.js && \
	cp "$$tmp/package/LICENSE.md" $(CHARTJS_DIR)/chart.js.LICENSE.md
	@head -c 40 $(CHARTJS_DIR)/chart.umd.js | grep -q "Chart.js v$(CHARTJS_VERSION)" && echo "vendored Chart.js $(CHARTJS_VERSION)"


AXE_VERSION := 4.14.1
AXE_DIR := api/server/testdata/axe

vendor-axe: ## re-vendor axe-core $(AXE_VERSION) from npm for the dashboard's accessibility test only (commit the result)
	@command -v npm >/dev/null || { echo "npm is needed to re-vendor axe-core"; exit 1; }
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd "$$tmp" && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && tar -xzf axe-core-$(AXE_VERSION).tgz) && \
	mkdir -p $(AXE_DIR) && \
	cp "$$tmp/package/axe.min.js" $(AXE_DIR)/axe.min.js && \
	cp "$$tmp/package/LICENSE" $(AXE_DIR)/axe-core.LICENSE
	@head -c 80 $(AXE_DIR)/axe.min.js | grep -q "axe v$(AXE_VERSION)" && echo "vendored axe-core $(AXE_VERSION)"

clean: ## remove built tools and dev data
	rm -rf $(BIN) .data
