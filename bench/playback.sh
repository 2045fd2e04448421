#!/usr/bin/env bash
# Playback benchmark (issue #5): CAMERAS cameras × DAYS days of one-minute
# segments (default 24 × 30, 1,036,800 files: one real segment per camera
# recorded from a simulator clip, hard-linked under every name) served by
# `argus serve`, then bench/playbackload measures SEEKS random seeks (the
# timeline of a day, the playlist from a random instant, the first part's
# first byte: p50/p90/p99/max), the timeline of 30 days cold and warm, and
# EXPORTS one-hour evidence exports against `ffmpeg -f concat -c copy` over
# the same segments. Results go to bench/out/playback-<date>.txt.
#
#   bench/playback.sh
#   CAMERAS=4 DAYS=3 SEEKS=200 bench/playback.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CAMERAS=${CAMERAS:-24}
DAYS=${DAYS:-30}
SEEKS=${SEEKS:-1000}
EXPORTS=${EXPORTS:-3}
PORT=${PORT:-18941}
OUT=bench/out
mkdir -p "$OUT"
RESULT="$OUT/playback-$(date -u +%Y%m%dT%H%M%SZ).txt"
exec > >(tee "$RESULT") 2>&1

WORK=$(mktemp -d)
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
go build -o "$WORK/argus" ./cmd/argus
go build -o "$WORK/playbackload" ./bench/playbackload

echo "# playback benchmark  $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(df -T "$WORK" | awk 'NR==2{print $2}') at $WORK"
echo "go: $(go env GOVERSION)  ffmpeg: $(ffmpeg -version 2>/dev/null | awk 'NR==1{print $3}')  cameras: $CAMERAS  days: $DAYS  seeks: $SEEKS  exports: $EXPORTS"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

DATA="$WORK/data"
A=("$WORK/argus" --data "$DATA" --log-level warn)
"$WORK/playbackload" gen -data "$DATA" -cameras "$CAMERAS" -days "$DAYS"
echo "recordings: $(du -sh "$DATA/recordings" | cut -f1) on disk (hard links), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The cameras exist, belong to an organisation without a quota, are not
# pulled (recording off; the stream URL is never dialled) and keep 60 days, so retention deletes nothing.
"${A[@]}" org create --id bench --name Bench >/dev/null
for i in $(seq -f '%02g' 1 "$CAMERAS"); do
	"${A[@]}" camera create --id "cam-$i" --name "Camera $i" --org bench --stream-url "rtsp://127.0.0.1:9/cam-$i" --recording=false --retention-days 60 >/dev/null
done

export ARGUS_ADMIN_PASSWORD=bench-admin-password
export ARGUS_LIVE_WEBRTC_UDP_PORT=0
T0=$(date +%s%N)
"$WORK/argus" --data "$DATA" --log-level info --log-format json serve --listen "127.0.0.1:$PORT" --rtsp-listen 127.0.0.1:0 >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 3000); do
	curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
	kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve.log"; exit 1; }
	sleep 0.1
done
echo "node start to /healthz: $(( ($(date +%s%N) - T0) / 1000000 )) ms (repair runs before the listener opens)"
rss() { awk '/VmRSS|VmHWM/{printf "%s %.0f MiB  ", $1, $2/1024}' "/proc/$SERVER/status"; echo; }
echo -n "server after start: "; rss

L=("$WORK/playbackload")
AUTH=(-url "http://127.0.0.1:$PORT" -user admin -password "$ARGUS_ADMIN_PASSWORD")
"${L[@]}" seek "${AUTH[@]}" -n "$SEEKS" -cameras "$CAMERAS"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"${L[@]}" export "${AUTH[@]}" -data "$DATA" -days "$DAYS" -n "$EXPORTS"
echo "server-side export times (node log, from the job's start to its signed manifest): $(grep '"msg":"export done"' "$WORK/serve.log" | grep -o '"took":[^,}]*' | cut -d: -f2 | awk '{printf "%.3f s  ", $1/1e9}')"
echo -n "server after the runs: "; rss
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "node warnings and errors:"
grep -E '"level":"(WARN|ERROR)"' "$WORK/serve.log" | head -20 || echo "  none"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
echo "results: $RESULT"
