# consentd — see README.md. Targets install the Debian packages they need
# (apt-get) when a command is missing, so they work on a fresh machine.

GO       ?= go
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT      := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get
# need(command, package): install the package when the command is missing.
need = @command -v $(1) >/dev/null 2>&1 || { echo "make: installing $(2)"; $(APT) update -qq && $(APT) install -y -qq --no-install-recommends $(2); }

.PHONY: all build run test test-short bench bench-widget screenshots fuzz typecheck vet fmt deps-run deps-test deps-bench axe vcc docker-check clean

all: build

build:
	$(GO) build -o bin/consentd ./cmd/consentd
	$(GO) build -o bin/consentd-dev ./cmd/consentd-dev
	$(GO) build -o bin/consentd-bench ./cmd/consentd-bench

deps-run:
	$(call need,redis-server,redis-server redis-tools)
	$(call need,redis-cli,redis-tools)

deps-test: deps-run
	$(call need,chromium,chromium)
	$(call need,soffice,libreoffice-calc-nogui)

deps-bench: deps-run
	$(call need,wrk,wrk)

## make run: Redis (AOF in ./data/redis) + consentd with the demo site at http://localhost:8080/
run: deps-run build
	./bin/consentd-dev

# axe-core, the accessibility checker run in the browser tests
# (server/e2e/a11y_test.go): the npm package's tarball, checked against the
# registry's dist.integrity (sha512, base64), no Node needed.
AXE_VERSION := 4.10.2
AXE_SHA512  := RE3mdQ7P3FRSe7eqCWoeQ/Z9QXrtniSjp1wUjt5nRC3WIpz5rSCve6o3fsZ2aCpJtrZjSZgjwXAoTO5k4tEI0w==
AXE_DIR     := .cache/axe-core
AXE_TGZ     := $(AXE_DIR)/axe-core-$(AXE_VERSION).tgz

## make axe: download axe-core to .cache/axe-core/axe.min.js
axe: $(AXE_DIR)/axe.min.js

$(AXE_DIR)/axe.min.js: $(AXE_TGZ)
	tar -xzf $< -O package/axe.min.js > $@.tmp
	mv $@.tmp $@

$(AXE_TGZ):
	$(call need,curl,curl ca-certificates)
	@mkdir -p $(AXE_DIR)
	curl -fsSL --retry 3 -o $@.tmp https://registry.npmjs.org/axe-core/-/axe-core-$(AXE_VERSION).tgz
	@echo "$$(echo '$(AXE_SHA512)' | base64 -d | od -An -v -tx1 | tr -d ' \n')  $@.tmp" | sha512sum -c --quiet - \
	  || { echo "make: $@: sha512 does not match the registry's dist.integrity"; rm -f $@.tmp; exit 1; }
	mv $@.tmp $@

# vanilla-cookieconsent, the baseline of make bench-widget (never shipped,
# never copied): the npm package's tarball at a pinned version, checked
# against the registry's dist.integrity (sha512, base64), like axe-core.
VCC_VERSION := 3.1.0
VCC_SHA512  := /McNRtm/3IXzb9dhqMIcbquoU45SzbN2VB+To4jxEPqMmp7uVniP6BhGLjU8MC7ZCDsNQVOp27fhQTM/ruIXAA==
VCC_DIR     := .cache/vanilla-cookieconsent
VCC_TGZ     := $(VCC_DIR)/vanilla-cookieconsent-$(VCC_VERSION).tgz

## make vcc: download vanilla-cookieconsent to .cache/vanilla-cookieconsent (for make bench-widget)
vcc: $(VCC_DIR)/VERSION

$(VCC_DIR)/VERSION: $(VCC_TGZ)
	tar -xzf $< -O package/dist/cookieconsent.umd.js > $(VCC_DIR)/cookieconsent.umd.js
	tar -xzf $< -O package/dist/cookieconsent.css > $(VCC_DIR)/cookieconsent.css
	echo $(VCC_VERSION) > $@

$(VCC_TGZ):
	$(call need,curl,curl ca-certificates)
	@mkdir -p $(VCC_DIR)
	curl -fsSL --retry 3 -o $@.tmp https://registry.npmjs.org/vanilla-cookieconsent/-/vanilla-cookieconsent-$(VCC_VERSION).tgz
	@echo "$$(echo '$(VCC_SHA512)' | base64 -d | od -An -v -tx1 | tr -d ' \n')  $@.tmp" | sha512sum -c --quiet - \
	  || { echo "make: $@: sha512 does not match the registry's dist.integrity"; rm -f $@.tmp; exit 1; }
	mv $@.tmp $@

## make bench-widget: time from the script tag to the banner in headless Chromium: a null widget, vanilla-cookieconsent and consentd, 101 loads each (BENCH_LOADS=n; about 80 s), medians and the ratio with its 90% interval; see docs/performance.md. Not part of make test.
BENCH_LOADS ?= 101
bench-widget: deps-run vcc
	$(call need,chromium,chromium)
	CONSENTD_BENCH_LOADS=$(BENCH_LOADS) $(GO) test -tags widgetbench -run '^TestWidgetBench$$' -count=1 -v -timeout 20m ./server/e2e

## make screenshots: every state of the widget (layouts, phone, desktop, light, dark, settings, notice) into docs/img/widget, for docs/widget.md
screenshots: deps-run
	$(call need,chromium,chromium)
	CONSENTD_SCREENSHOTS=$(CURDIR)/docs/img/widget $(GO) test -run '^TestScreenshots$$' -count=1 ./server/e2e

## make test: formatting, vet, and every test (real redis-server, headless Chromium, LibreOffice Calc) with the race detector
test: deps-test axe
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags consentd_nostore ./server/ledger ./cmd/consentd
	@$(MAKE) --no-print-directory typecheck
	$(GO) test -race -count=1 -timeout 20m ./...
	@echo "again on a 3-master Redis Cluster (CONSENTD_TEST_REDIS=cluster): the integration and browser suites"
	CONSENTD_TEST_REDIS=cluster $(GO) test -count=1 -timeout 20m ./server ./server/ledger ./server/e2e
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_SHORT)

# Fuzz targets (package:function); seed corpora in each package's testdata/fuzz/<function>.
# New failing inputs are written there too: commit them with the fix.
FUZZ_TARGETS   := ./server:FuzzConsentRequest ./server:FuzzDecodeDifferential ./config/site:FuzzParseSite ./server/export:FuzzParseQuery ./server/export:FuzzDecodeEntry
FUZZTIME       ?= 2m
FUZZTIME_SHORT ?= 5s

## make fuzz: run every fuzz target for FUZZTIME (default 2m) each; make test runs them for FUZZTIME_SHORT (5s)
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# TypeScript's own type check of widget/src (esbuild strips types without
# checking them). Needs Node's npx; skipped with a note where there is none.
TYPESCRIPT_VERSION := 5.6.3

## make typecheck: tsc --noEmit over widget/src (typescript from the npm registry, pinned)
typecheck:
	@if command -v npx >/dev/null 2>&1; then \
	  echo "tsc --noEmit -p widget (typescript $(TYPESCRIPT_VERSION))"; \
	  npx --yes -p typescript@$(TYPESCRIPT_VERSION) tsc --noEmit -p widget; \
	else echo "typecheck skipped: no npx (install Node.js to type-check widget/src)"; fi

## make bench: go test benchmarks + HTTP load (wrk) against Redis-backed consentd, the mixed workload and soak, the long fault tests; see docs/performance.md
bench: deps-bench build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) build -tags consentd_nostore -o bin/consentd-nostore ./cmd/consentd
	./bin/consentd-bench -nostore bin/consentd-nostore
	./bin/consentd-bench -mixed
	$(GO) test -count=1 -v -timeout 30m ./server/fault -long

## make docker-check: build deploy/Dockerfile with Podman (no Docker engine needed) and smoke-test the image against a temporary Redis; see docs/deploy.md. Not part of make test.
docker-check:
	bash deploy/docker-check.sh

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
