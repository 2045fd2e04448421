# argus — make targets. `make test` is what CI runs.
GO ?= go
PKGS := ./...

.PHONY: all build test vet race fuzz fuzz-short e2e web-check lint bench bench-directory bench-record bench-live bench-playback demo clean

all: build

build:
	$(GO) build -o bin/argus ./cmd/argus

## test: vet, the whole suite under the race detector, each fuzz target briefly, and the browser tests.
test: vet race fuzz-short e2e

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet $(PKGS)

race:
	$(GO) test -race -timeout 15m $(PKGS)

fuzz-short:
	scripts/fuzz.sh 3s

## e2e: the browser tests (e2e/, headless Debian Chromium via playwright-core). Without Chromium they are
## skipped, unless ARGUS_REQUIRE_TOOLS is set (CI), which makes that a failure.
e2e:
	@if command -v $${CHROMIUM:-/usr/bin/chromium} >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		cd e2e && npm ci --no-audit --no-fund --silent && npm test; \
	elif [ -n "$$ARGUS_REQUIRE_TOOLS" ]; then echo 'e2e: chromium or npm missing'; exit 1; \
	else echo 'e2e: skipped (no chromium or npm)'; fi

## web-check: rebuild the UI (web/build.sh: npm ci, tsc, vite) and fail if the committed web/dist differs,
## a file in it changed, appeared or went.
web-check:
	sh web/build.sh
	git diff --exit-code --stat -- web/dist
	@if [ -n "$$(git ls-files -- web/dist)" ] && [ -n "$$(git ls-files --others --exclude-standard -- web/dist)" ]; then \
		echo 'web-check: files in web/dist that are not committed:'; git ls-files --others --exclude-standard -- web/dist; exit 1; fi

## fuzz: each fuzz target for a minute.
fuzz:
	scripts/fuzz.sh 60s

lint:
	golangci-lint run

## bench: every benchmark script under bench/, results in bench/out/.
bench: bench-directory bench-record bench-live bench-playback

bench-directory:
	bench/directory.sh

## bench-record: N simulated cameras recorded by argus and by one ffmpeg per camera (NS, DURATION, PEER_MAX).
bench-record:
	bench/record.sh

## bench-live: one simulated camera watched live over WHEP and RTSP: latency, time to first frame, fan-out
## to 10/100/500 viewers beside a GStreamer RTSP relay (LATENCY, FANOUT, TTFF_N, WINDOW, PEER).
bench-live:
	bench/live.sh

## bench-playback: 24 cameras × 30 days of one-minute segments (hard links of one real segment each) served by
## argus: 1,000 random seeks (timeline, playlist, first byte) and one-hour exports against ffmpeg -c copy
## (CAMERAS, DAYS, SEEKS, EXPORTS).
bench-playback:
	bench/playback.sh

demo:
	$(GO) run ./cmd/argus demo

clean:
	rm -rf bin bench/out
