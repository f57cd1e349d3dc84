# gcis-bridge — developer commands
#
#   make run     the demo: embedded JetStream + Salesforce simulator + bridge + sample events, ending in a summary
#   make test    the whole suite (race detector, shuffled order): what CI runs
#   make build   both binaries (gcis-bridge, sfsim) into bin/
#   make bench   Go benchmarks: micro (transform, client, sfsim, config, logging) for the default time, end to end
#                (delivery backlog/trickle/isolation, in-flight per consumer, 100k dead-letter replay) once each
#   make fuzz    each fuzz target for FUZZTIME (default 10s)
#   make fmt     fails when a file is not gofmt-formatted (prints the files)
#   make vet     go vet
#   make lint    fmt + vet + staticcheck-free checks that need nothing beyond Go
#   make cover   test with coverage; writes coverage.html
#
# Only Go (1.26.x) is needed; modules come from the Go module proxy.

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 10s
BENCHTIME ?= 1x
PKGS      := ./...

.PHONY: run test build bench fuzz fmt vet lint cover clean

run:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/gcis-bridge demo

test:
	$(GO) test -race -shuffle=on -timeout 15m $(PKGS)

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/gcis-bridge ./cmd/gcis-bridge
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/sfsim ./cmd/sfsim

# Micro-benchmarks run for the default time; the end-to-end ones (a whole
# bridge, 100,000 dead letters) run once each and report their own figures.
BENCH_E2E := ./bridge ./bridge/deadletter

bench:
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list $(PKGS) | grep -v -e '/bridge$$' -e '/bridge/deadletter$$')
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(BENCH_E2E)

# Each fuzz target runs alone (go test allows one -fuzz target per package run).
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

fmt:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

lint: fmt vet
	$(GO) mod verify

cover:
	$(GO) test -race -coverprofile=coverage.out $(PKGS)
	$(GO) tool cover -html=coverage.out -o coverage.html
	$(GO) tool cover -func=coverage.out | tail -1

clean:
	rm -rf $(BIN) coverage.out coverage.html
