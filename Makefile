# argus — make targets. `make test` is what CI runs.
GO ?= go
PKGS := ./...

.PHONY: all build test vet race fuzz fuzz-short lint bench bench-directory demo clean

all: build

build:
	$(GO) build -o bin/argus ./cmd/argus

## test: vet, the whole suite under the race detector, then each fuzz target briefly.
test: vet race fuzz-short

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet $(PKGS)

race:
	$(GO) test -race -timeout 15m $(PKGS)

fuzz-short:
	scripts/fuzz.sh 3s

## fuzz: each fuzz target for a minute.
fuzz:
	scripts/fuzz.sh 60s

lint:
	golangci-lint run

## bench: every benchmark script under bench/, results in bench/out/.
bench: bench-directory

bench-directory:
	bench/directory.sh

demo:
	$(GO) run ./cmd/argus demo

clean:
	rm -rf bin bench/out
