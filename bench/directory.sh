#!/usr/bin/env bash
# Directory benchmark (issue #2): a synthetic city of N cameras (default
# 500,000) is generated, imported with `argus camera import` (wall time and
# peak RSS), then served by `argus serve` and queried through the HTTP API by
# bench/dirload (bbox 1 km², radius, text, grid: p50/p90/p99), and the
# server's resident memory is read from /proc. Then the store's own Go
# benchmarks run. Results go to bench/out/directory-<date>.txt.
#
#   bench/directory.sh            # N=500000
#   N=50000 Q=500 bench/directory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-500000}
Q=${Q:-2000}
PORT=${PORT:-18931}
OUT=bench/out
mkdir -p "$OUT"
RESULT="$OUT/directory-$(date -u +%Y%m%dT%H%M%SZ).txt"
exec > >(tee "$RESULT") 2>&1

WORK=$(mktemp -d)
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
go build -o "$WORK/argus" ./cmd/argus
go build -o "$WORK/dirload" ./bench/dirload

echo "# directory benchmark  $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "go: $(go env GOVERSION)  cameras: $N  queries per kind: $Q"

A=("$WORK/argus" --data "$WORK/data" --log-level warn)
"${A[@]}" sim city --cameras "$N" --out "$WORK/cameras.csv" --create-orgs
echo "csv: $(du -h "$WORK/cameras.csv" | cut -f1)"

/usr/bin/time -f 'import: %e s wall, %M KiB peak RSS, %P CPU' "${A[@]}" camera import "$WORK/cameras.csv"

export ARGUS_ADMIN_PASSWORD=bench-admin-password
"${A[@]}" serve --roles api --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
	sleep 0.1
done
rss() { awk '/VmRSS|VmHWM/{printf "%s %.0f MiB  ", $1, $2/1024}' "/proc/$SERVER/status"; echo; }
echo -n "server after start: "; rss
"$WORK/dirload" -url "http://127.0.0.1:$PORT" -user admin -password "$ARGUS_ADMIN_PASSWORD" -n "$Q"
echo -n "server after queries: "; rss
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=

echo "# store benchmarks (go test ./internal/sqlite -bench, 500k cameras)"
go test ./internal/sqlite -run '^$' -bench 'Find|Grid' -benchtime 2000x
echo "results: $RESULT"
