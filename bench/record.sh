#!/usr/bin/env bash
# Recording benchmark (issue #3): N simulated cameras (`argus sim`, 2 Mbit/s,
# 25 fps, 1280x720) recorded by `argus serve`, then, in the same run and
# against the same simulator, by the peer Frigate uses for the job: one
# `ffmpeg -rtsp_transport tcp -i URL -c copy -f segment` process per camera.
# For each side, over a window of DURATION seconds after WARMUP seconds:
# CPU (utime+stime from /proc, % of one core, total and per camera),
# resident memory (VmRSS, and PSS for the ffmpeg processes, which share
# pages), bytes written (growth of the recordings) versus bytes received
# (argus_ingest_bytes_total), frames (argus: units recorded versus
# N×FPS×window, plus the loss counters; ffmpeg: packets in its finished
# segments, counted with ffprobe, versus their timestamp span × FPS), and the
# simulator's own CPU. Before each side starts, what the one before left
# dirty in the page cache is written back (sync), so that neither pays for
# the other's files. Results go to bench/out/record-<date>.txt.
#
#   bench/record.sh                              # N = 50 100 200 400 800, 60 s windows
#   NS="100 400" DURATION=30 bench/record.sh
#   PEER=0 NS=400 bench/record.sh                # argus only
#   PEER_MAX=200 bench/record.sh                 # skip the ffmpeg peer above 200
#   ARGUS=/path/to/argus bench/record.sh         # a prebuilt binary instead of go build
#   PROFILE=/tmp/prof NS=200 PEER=0 bench/record.sh  # also CPU and heap profiles of each window
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${NS:-"50 100 200 400 800"}
DURATION=${DURATION:-60}
WARMUP=${WARMUP:-15}
BITRATE=${BITRATE:-2000000}
CLIP=${CLIP:-720p-gop2}
FPS=25
PEER=${PEER:-1}
PEER_MAX=${PEER_MAX:-1000000}
PROFILE=${PROFILE:-}          # a directory: CPU and heap profiles of argus serve over each window
PPROF_PORT=${PPROF_PORT:-6061}
PROBE_SAMPLE=${PROBE_SAMPLE:-20} # ffmpeg cameras whose segments are counted with ffprobe
OUT=bench/out
mkdir -p "$OUT"
RESULT="$OUT/record-$(date -u +%Y%m%dT%H%M%SZ).txt"
exec > >(tee "$RESULT") 2>&1

WORK=$(mktemp -d)
SIM= SERVER=
PEERS=()
stop() { # stop [-SIG] PID...: SIG (default TERM) once, then KILL after 10 s
	local p sig=-TERM
	case ${1:-} in -*) sig=$1; shift ;; esac
	for p in "$@"; do kill "$sig" "$p" 2>/dev/null || true; done
	for _ in $(seq 100); do
		local alive=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1 && break; done
		[ "$alive" = 0 ] && return 0
		sleep 0.1
	done
	for p in "$@"; do kill -9 "$p" 2>/dev/null || true; done
}
cleanup() {
	stop ${PEERS[@]+"${PEERS[@]}"} ${SERVER:+"$SERVER"} ${SIM:+"$SIM"}
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${ARGUS:-}" ]; then cp "$ARGUS" "$WORK/argus"; else go build -o "$WORK/argus" ./cmd/argus; fi
HZ=$(getconf CLK_TCK)

echo "# recording benchmark  $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "go: $(go env GOVERSION)  ffmpeg: $(ffmpeg -version | head -1 | cut -d' ' -f3)  commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo +dirty)"
echo "stream: clip $CLIP, $FPS fps, $BITRATE bit/s; window ${DURATION}s after ${WARMUP}s warm-up; cameras: $NS"
echo "command: NS=\"$NS\" DURATION=$DURATION WARMUP=$WARMUP PEER=$PEER PEER_MAX=$PEER_MAX bench/record.sh"

# ticks PID...: utime+stime of the processes, in clock ticks (0 for gone ones).
ticks() { local p; for p in "$@"; do awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0; done | awk '{s+=$1} END{print s+0}'; }
# kib FIELD PID...: the sum of a /proc/PID/status field (VmRSS, VmHWM) in KiB.
kib() { local f=$1 p; shift; for p in "$@"; do awk -v f="$f:" '$1==f{print $2}' "/proc/$p/status" 2>/dev/null; done | awk '{s+=$1} END{print s+0}'; }
# pss PID...: the sum of the processes' proportional set size, KiB.
pss() { local p; for p in "$@"; do awk '$1=="Pss:"{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null; done | awk '{s+=$1} END{print s+0}'; }
now() { date +%s.%N; }
# metric NAME: the value of an unlabelled metric of the node.
metric() { awk -v m="$1" '$1==m{printf "%.0f\n", $2; f=1} END{if(!f) print 0}' "$WORK/metrics"; }
# scrape: fetch the node's metrics; an overloaded node may take a while.
scrape() {
	local _
	for _ in 1 2 3; do curl -fsS --max-time 30 "$API/metrics" >"$WORK/metrics" && return 0; done
	echo "metrics: no answer from $API" >&2
	return 1
}
# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
	local t=$1; shift
	for _ in $(seq $((t * 5))); do "$@" && return 0; sleep 0.2; done
	return 1
}
calc() { awk "BEGIN{printf $1}"; }
# settle: write back what the last contender left dirty in the page cache
# (GBs at a few hundred cameras) before the next one starts, so that neither
# side's window pays for the other's writeback; prints the seconds it took.
settle() {
	local t0 _
	t0=$(now)
	sync
	for _ in $(seq 300); do
		[ "$(awk '$1=="Dirty:"||$1=="Writeback:"{s+=$2} END{print s+0}' /proc/meminfo)" -lt 65536 ] && break
		sleep 0.2
	done
	calc "\"%.0f\", $(now) - $t0"
}
# skipped FROM: frames the simulator skipped (host too slow) in its log
# lines after line FROM.
skipped() { tail -n +"$(($1 + 1))" "$WORK/sim.log" | { grep -o '"skipped":[0-9]*' || true; } | cut -d: -f2 | awk '{s+=$1} END{print s+0}'; }
loglines() { wc -l <"$WORK/sim.log"; }

declare -A R # results, keyed "N.field"

run_argus() {
	local n=$1 data="$WORK/argus-$1"
	local A=("$WORK/argus" --data "$data" --log-level warn)
	"${A[@]}" sim city --cameras "$n" --sim-url "rtsp://$SIMADDR" --create-orgs --out "$WORK/city.csv" 2>/dev/null
	# Every camera records: the generator leaves some off.
	if grep -q '"' "$WORK/city.csv"; then echo "city.csv has quoted fields; the recording column rewrite needs a CSV parser" >&2; exit 1; fi
	awk -F, 'BEGIN{OFS=","} NR==1{for(i=1;i<=NF;i++) if($i=="recording") r=i; print; next} {$r="true"; print}' \
		"$WORK/city.csv" >"$WORK/city-rec.csv"
	"${A[@]}" camera import "$WORK/city-rec.csv" >/dev/null 2>&1
	local PP=()
	[ -n "$PROFILE" ] && PP=(--pprof "127.0.0.1:$PPROF_PORT")
	R[$n.a_settle]=$(settle)
	ARGUS_ADMIN_PASSWORD=bench-admin-password ARGUS_HTTP_METRICS_PUBLIC=true \
		"${A[@]}" serve --listen 127.0.0.1:0 "${PP[@]}" >"$WORK/serve.log" 2>&1 &
	SERVER=$!
	wait_for 30 grep -q 'serving http' "$WORK/serve.log" || { cat "$WORK/serve.log"; exit 1; }
	API=$(grep -o 'serving http://[^ ]*' "$WORK/serve.log" | cut -d' ' -f2)
	online() { scrape && [ "$(awk '$1=="argus_ingest_cameras{state=\"online\"}"{print $2}' "$WORK/metrics")" = "$n" ]; }
	if ! wait_for $((30 + n / 10)) online; then
		echo "argus N=$n: only $(awk '$1=="argus_ingest_cameras{state=\"online\"}"{print $2}' "$WORK/metrics") cameras online" >&2
	fi
	sleep "$WARMUP"

	scrape || exit 1
	local b0 f0 d0 h0 r0 c0 c1 w0 w1 sc0 sc1 l0 t0 t1 wall
	b0=$(metric argus_ingest_bytes_total) f0=$(metric argus_record_units_total)
	d0=$(metric argus_record_reader_drops_total) h0=$(metric argus_hub_reader_drops_total)
	r0=$(metric argus_ingest_reconnects_total)
	w0=$(du -sb "$data/recordings" | cut -f1)
	c0=$(ticks "$SERVER") sc0=$(ticks "$SIM") l0=$(loglines) t0=$(now)
	if [ -n "$PROFILE" ]; then
		# Profiles of the window (they cost the node a little CPU).
		mkdir -p "$PROFILE"
		curl -sf -o "$PROFILE/cpu-$n.pprof" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=$((DURATION - 2))" &
		CURL=$!
	fi
	sleep "$DURATION"
	if [ -n "$PROFILE" ]; then
		wait "$CURL"
		curl -sf -o "$PROFILE/heap-$n.pprof" "http://127.0.0.1:$PPROF_PORT/debug/pprof/heap"
		# The runtime's own account of the memory (MemStats), at the end.
		curl -sf "http://127.0.0.1:$PPROF_PORT/debug/pprof/heap?debug=1" | sed -n '/^# runtime.MemStats/,$p' >"$PROFILE/memstats-$n.txt"
		grep VmRSS "/proc/$SERVER/status" >>"$PROFILE/memstats-$n.txt"
	fi
	c1=$(ticks "$SERVER") sc1=$(ticks "$SIM") t1=$(now)
	R[$n.a_skip]=$(skipped "$l0")
	scrape || exit 1
	w1=$(du -sb "$data/recordings" | cut -f1)
	wall=$(calc "\"%.3f\", $t1 - $t0")
	R[$n.a_cpu]=$(calc "\"%.2f\", ($c1 - $c0) / $HZ / $wall * 100")
	R[$n.a_sim]=$(calc "\"%.2f\", ($sc1 - $sc0) / $HZ / $wall * 100")
	R[$n.a_rss]=$(kib VmRSS "$SERVER")
	R[$n.a_hwm]=$(kib VmHWM "$SERVER")
	R[$n.a_in]=$(($(metric argus_ingest_bytes_total) - b0))
	R[$n.a_out]=$((w1 - w0))
	R[$n.a_frames]=$(($(metric argus_record_units_total) - f0))
	R[$n.a_expect]=$(calc "\"%.0f\", $n * $FPS * $wall")
	R[$n.a_drops]=$(($(metric argus_record_reader_drops_total) - d0 + $(metric argus_hub_reader_drops_total) - h0))
	R[$n.a_reconn]=$(($(metric argus_ingest_reconnects_total) - r0))
	R[$n.a_online]=$(awk '$1=="argus_ingest_cameras{state=\"online\"}"{print $2}' "$WORK/metrics")
	R[$n.a_load]=$(cut -d' ' -f1-3 /proc/loadavg)
	R[$n.wall]=$wall
	stop "$SERVER"; SERVER=
	rm -rf "$data"
}

run_peer() {
	local n=$1 dir="$WORK/ffmpeg-$1" i
	mkdir -p "$dir"
	R[$n.p_settle]=$(settle)
	PEERS=()
	for i in $(seq "$n"); do
		ffmpeg -nostdin -hide_banner -loglevel error -rtsp_transport tcp -i "rtsp://$SIMADDR/sim/$i" \
			-c copy -f segment -segment_time 60 -reset_timestamps 1 -strftime 0 "$dir/$i-%05d.mp4" \
			2>>"$dir/ffmpeg.log" &
		PEERS+=($!)
	done
	playing() { [ "$(find "$dir" -name '*.mp4' | wc -l)" -ge "$n" ]; }
	wait_for $((30 + n / 10)) playing || echo "ffmpeg N=$n: only $(find "$dir" -name '*.mp4' | wc -l) writing" >&2
	sleep "$WARMUP"
	local c0 sc0 w0 t0 c1 sc1 w1 t1 l0 wall alive=0 p
	w0=$(du -sb --exclude=ffmpeg.log "$dir" | cut -f1)
	c0=$(ticks "${PEERS[@]}") sc0=$(ticks "$SIM") l0=$(loglines) t0=$(now)
	sleep "$DURATION"
	c1=$(ticks "${PEERS[@]}") sc1=$(ticks "$SIM") t1=$(now)
	R[$n.p_skip]=$(skipped "$l0")
	w1=$(du -sb --exclude=ffmpeg.log "$dir" | cut -f1)
	wall=$(calc "\"%.3f\", $t1 - $t0")
	for p in "${PEERS[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
	R[$n.p_alive]=$alive
	R[$n.p_cpu]=$(calc "\"%.2f\", ($c1 - $c0) / $HZ / $wall * 100")
	R[$n.p_sim]=$(calc "\"%.2f\", ($sc1 - $sc0) / $HZ / $wall * 100")
	R[$n.p_rss]=$(kib VmRSS "${PEERS[@]}")
	R[$n.p_pss]=$(pss "${PEERS[@]}")
	R[$n.p_out]=$((w1 - w0))
	R[$n.p_load]=$(cut -d' ' -f1-3 /proc/loadavg)
	R[$n.p_wall]=$wall
	# SIGINT makes ffmpeg finish its segment (the moov box), so ffprobe can
	# count the packets of a sample of cameras against their duration.
	# (A second signal would make it exit at once.)
	stop -INT "${PEERS[@]}"; PEERS=()
	# Expected: the span of the packets' timestamps × fps (the segment's
	# duration would count ffmpeg's start offset too).
	local pk=0 exp=0 f out
	for i in $(seq 1 $(((n + PROBE_SAMPLE - 1) / PROBE_SAMPLE)) "$n"); do
		for f in "$dir/$i"-*.mp4; do
			[ -s "$f" ] || continue
			out=$(ffprobe -v error -select_streams v:0 -show_entries packet=pts_time -of csv=p=0 "$f" 2>/dev/null |
				awk -v fps="$FPS" 'NR==1{a=$1} {b=$1} END{if (NR) printf "%d %.0f", NR, (b-a)*fps+1; else print "0 0"}') || continue
			pk=$((pk + ${out% *})) exp=$((exp + ${out#* }))
		done
	done
	R[$n.p_frames]=$pk
	R[$n.p_expect]=$exp
	R[$n.p_errs]=$(wc -l <"$dir/ffmpeg.log")
	rm -rf "$dir"
}

maxn=0
for n in $NS; do [ "$n" -gt "$maxn" ] && maxn=$n; done
"$WORK/argus" --log-level warn sim --cameras "$maxn" --listen 127.0.0.1:0 --clip "$CLIP" --bitrate "$BITRATE" --fps "$FPS" \
	>"$WORK/sim.log" 2>&1 &
SIM=$!
wait_for 30 grep -q '^simulating' "$WORK/sim.log" || { cat "$WORK/sim.log"; exit 1; }
SIMADDR=$(grep -o 'rtsp://[^/]*' "$WORK/sim.log" | head -1 | cut -c8-)
echo "simulator: $SIMADDR, $maxn cameras (pid $SIM)"

for n in $NS; do
	echo "--- N=$n: argus  (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
	run_argus "$n"
	echo "    settled ${R[$n.a_settle]} s; cpu ${R[$n.a_cpu]}% rss $((R[$n.a_rss] / 1024)) MiB frames ${R[$n.a_frames]}/${R[$n.a_expect]} (sim skipped ${R[$n.a_skip]}) drops ${R[$n.a_drops]} load ${R[$n.a_load]}"
	if [ "$PEER" = 1 ] && [ "$n" -le "$PEER_MAX" ]; then
		echo "--- N=$n: ffmpeg peer  (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
		run_peer "$n"
		echo "    settled ${R[$n.p_settle]} s; cpu ${R[$n.p_cpu]}% rss $((R[$n.p_rss] / 1024)) MiB (pss $((R[$n.p_pss] / 1024))) frames ${R[$n.p_frames]}/${R[$n.p_expect]} (sim skipped ${R[$n.p_skip]}) alive ${R[$n.p_alive]} load ${R[$n.p_load]}"
	fi
done

echo
echo "# results (CPU in % of one core; per camera = total / N; skip = frames the simulator skipped because the host"
echo "# was too slow to send them on time; loss = N×fps×window - skip - recorded, ±1 frame per camera at the window's edges)"
printf '%-5s | %-7s %-7s %-7s %-7s %-6s %-9s %-7s %-7s %-5s %-6s %-14s | %-7s %-7s %-7s %-7s %-7s %-8s %-13s %-7s %-6s %-14s | %-7s\n' \
	N a.cpu a.cpu/c a.MiB/c a.hwm/c a.w/in a.frames a.skip a.loss a.drp a.sim a.load \
	f.cpu f.cpu/c f.MiB/c f.pss/c f.w/in f.alive f.frames f.skip f.sim f.load cpu.a/f
for n in $NS; do
	a_in=${R[$n.a_in]}
	a_cpuc=$(calc "\"%.3f\", ${R[$n.a_cpu]} / $n")
	row=$(printf '%-5s | %-7s %-7s %-7s %-7s %-6s %-9s %-7s %-7s %-5s %-6s %-14s' "$n" "${R[$n.a_cpu]}" "$a_cpuc" \
		"$(calc "\"%.3f\", ${R[$n.a_rss]} / 1024 / $n")" "$(calc "\"%.3f\", ${R[$n.a_hwm]} / 1024 / $n")" \
		"$(calc "\"%.3f\", ${R[$n.a_out]} / ($a_in > 0 ? $a_in : 1)")" "${R[$n.a_frames]}" "${R[$n.a_skip]}" \
		"$((R[$n.a_expect] - R[$n.a_skip] - R[$n.a_frames]))" "${R[$n.a_drops]}+${R[$n.a_reconn]}r" "${R[$n.a_sim]}" "${R[$n.a_load]// /,}")
	if [ -n "${R[$n.p_cpu]:-}" ]; then
		# Bytes the peer received are not counted; the reference is what
		# argus received per camera-second from the same simulator.
		ref=$(calc "\"%.0f\", $a_in / ${R[$n.wall]} * ${R[$n.p_wall]}")
		p_cpuc=$(calc "\"%.3f\", ${R[$n.p_cpu]} / $n")
		row+=$(printf ' | %-7s %-7s %-7s %-7s %-7s %-8s %-13s %-7s %-6s %-14s | %-7s' "${R[$n.p_cpu]}" "$p_cpuc" \
			"$(calc "\"%.3f\", ${R[$n.p_rss]} / 1024 / $n")" "$(calc "\"%.3f\", ${R[$n.p_pss]} / 1024 / $n")" \
			"$(calc "\"%.3f\", ${R[$n.p_out]} / ($ref > 0 ? $ref : 1)")" "${R[$n.p_alive]}/$n" \
			"${R[$n.p_frames]}/${R[$n.p_expect]}" "${R[$n.p_skip]}" "${R[$n.p_sim]}" "${R[$n.p_load]// /,}" \
			"$(calc "\"%.2f\", ${R[$n.a_cpu]} / (${R[$n.p_cpu]} > 0 ? ${R[$n.p_cpu]} : 1)")")
	fi
	echo "$row"
done
echo "a = argus serve (one process); f = ffmpeg peer (N processes; RSS sums shared pages, PSS does not);"
echo "w/in = bytes written / bytes received (ffmpeg: / argus's received rate); frames f = packets / (pts span × fps + 1) in the segments of $PROBE_SAMPLE cameras spread over 1..N; drp = reader drops + reconnects"
echo "results: $RESULT"
