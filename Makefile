# consentd — see README.md. Targets install the Debian packages they need
# (apt-get) when a command is missing, so they work on a fresh machine.

GO       ?= go
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT      := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get
# need(command, package): install the package when the command is missing.
need = @command -v $(1) >/dev/null 2>&1 || { echo "make: installing $(2)"; $(APT) update -qq && $(APT) install -y -qq --no-install-recommends $(2); }

.PHONY: all build run test test-short bench vet fmt deps-run deps-test deps-bench clean

all: build

build:
	$(GO) build -o bin/consentd ./cmd/consentd
	$(GO) build -o bin/consentd-dev ./cmd/consentd-dev
	$(GO) build -o bin/consentd-bench ./cmd/consentd-bench

deps-run:
	$(call need,redis-server,redis-server redis-tools)

deps-test: deps-run
	$(call need,chromium,chromium)

deps-bench: deps-run
	$(call need,wrk,wrk)

## make run: Redis (AOF in ./data/redis) + consentd with the demo site at http://localhost:8080/
run: deps-run build
	./bin/consentd-dev

## make test: formatting, vet, and every test (real redis-server, headless Chromium) with the race detector
test: deps-test
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

## make bench: go test benchmarks + HTTP load (wrk) against Redis-backed consentd; see docs/performance.md
bench: deps-bench build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	./bin/consentd-bench

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
