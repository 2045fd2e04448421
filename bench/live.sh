#!/usr/bin/env bash
# Live video benchmark (issue #4): one simulated camera (`argus sim`, 720p,
# 2 Mbit/s, 25 fps, a keyframe every 2 s) served live by `argus serve`, and
# watched by bench/liveload:
#   (a) receive latency (receipt − the simulator's SEI wall-clock stamp) for
#       1 and 100 concurrent WHEP viewers;
#   (b) time to first frame of a new WHEP viewer of a warm camera;
#   (c) fan-out to 10, 100, 500 viewers over WHEP and over RTSP: frames and
#       bytes delivered against a reference client on the simulator, and the
#       serve process's CPU (utime+stime, % of one core) per viewer;
# then the same RTSP fan-out from a peer relay, GStreamer's RTSP server
# (bench/rtsp_peer.py, one shared rtspsrc ! rtph264depay ! rtph264pay
# pipeline), its process sampled the same way. Results go to
# bench/out/live-<date>.txt.
#
#   bench/live.sh
#   FANOUT="10 100" WINDOW=10 bench/live.sh
#   PEER=0 bench/live.sh                       # argus only
#   ARGUS=/path/to/argus bench/live.sh         # a prebuilt binary
set -euo pipefail
cd "$(dirname "$0")/.."
LATENCY=${LATENCY:-"1 100"}
FANOUT=${FANOUT:-"10 100 500"}
TTFF_N=${TTFF_N:-30}
WINDOW=${WINDOW:-15}
BITRATE=${BITRATE:-2000000}
CLIP=${CLIP:-720p-gop2}
PEER=${PEER:-1}
OUT=bench/out
mkdir -p "$OUT"
RESULT="$OUT/live-$(date -u +%Y%m%dT%H%M%SZ).txt"
exec > >(tee "$RESULT") 2>&1

WORK=$(mktemp -d)
SIM= SERVER= RELAY=
stop() { # stop PID...: TERM, then KILL after 10 s
	local p
	for p in "$@"; do kill "$p" 2>/dev/null || true; done
	for _ in $(seq 100); do
		local alive=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1 && break; done
		[ "$alive" = 0 ] && return 0
		sleep 0.1
	done
	for p in "$@"; do kill -9 "$p" 2>/dev/null || true; done
}
cleanup() {
	stop ${RELAY:+"$RELAY"} ${SERVER:+"$SERVER"} ${SIM:+"$SIM"}
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
wait_for() { # wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds
	local t=$1; shift
	for _ in $(seq $((t * 5))); do "$@" && return 0; sleep 0.2; done
	return 1
}
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

if [ -n "${ARGUS:-}" ]; then cp "$ARGUS" "$WORK/argus"; else go build -o "$WORK/argus" ./cmd/argus; fi
go build -o "$WORK/liveload" ./bench/liveload
HZ=$(getconf CLK_TCK)

echo "# live video benchmark  $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "go: $(go env GOVERSION)  commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo +dirty)"
echo "stream: clip $CLIP, 25 fps, $BITRATE bit/s; window ${WINDOW}s; latency viewers: $LATENCY; fan-out: $FANOUT"
echo "command: LATENCY=\"$LATENCY\" FANOUT=\"$FANOUT\" TTFF_N=$TTFF_N WINDOW=$WINDOW PEER=$PEER bench/live.sh"

touch "$WORK/sim.log" "$WORK/serve.log" "$WORK/peer.log"
"$WORK/argus" --log-level warn sim --cameras 1 --listen 127.0.0.1:0 --clip "$CLIP" --bitrate "$BITRATE" >"$WORK/sim.log" 2>&1 &
SIM=$!
wait_for 30 grep -q '^simulating' "$WORK/sim.log" || { cat "$WORK/sim.log"; exit 1; }
SIMURL=$(grep -o 'rtsp://[^ ]*' "$WORK/sim.log" | head -1)
SIMADDR=$(echo "$SIMURL" | cut -d/ -f3)
SIMCAM="rtsp://$SIMADDR/sim/1"
echo "simulator: $SIMCAM (pid $SIM)"

DATA="$WORK/data"
A=("$WORK/argus" --data "$DATA" --log-level warn)
"${A[@]}" org create --id bench --name Bench --kind city >/dev/null
"${A[@]}" camera create --id cam-1 --org bench --name "Bench camera" --stream-url "$SIMCAM" --recording=false >/dev/null
PW=bench-admin-password
RTSPPORT=$(freeport) UDPPORT=$(freeport)
ARGUS_ADMIN_PASSWORD=$PW ARGUS_LIVE_WEBRTC_LISTEN_IP=127.0.0.1 ARGUS_LIVE_WEBRTC_UDP_PORT=$UDPPORT \
	"${A[@]}" serve --listen 127.0.0.1:0 --rtsp-listen "127.0.0.1:$RTSPPORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
wait_for 30 grep -q 'serving http' "$WORK/serve.log" || { cat "$WORK/serve.log"; exit 1; }
API=$(grep -o 'serving http://[^ ]*' "$WORK/serve.log" | cut -d' ' -f2)
echo "argus: $API, rtsp://127.0.0.1:$RTSPPORT/cameras/cam-1, WebRTC udp 127.0.0.1:$UDPPORT (pid $SERVER)"
L=("$WORK/liveload" -url "$API" -password "$PW" -camera cam-1 -hz "$HZ")

# A viewer that stays for the whole run keeps the camera pulled (warm), as
# in the issue's instant start; it is one of no measurement.
"$WORK/liveload" -mode fanout -proto rtsp -rtsp "rtsp://admin:$PW@127.0.0.1:$RTSPPORT/cameras/cam-1" \
	-viewers 1 -window 100000s >/dev/null 2>&1 &
KEEP=$!
trap 'kill $KEEP 2>/dev/null || true; cleanup' EXIT
sleep 3

echo
echo "## (a) receive latency, WHEP (ms, receipt of an access unit's last packet − its SEI stamp)"
h=""
for k in $LATENCY; do
	"${L[@]}" -mode latency -viewers "$k" -window "${WINDOW}s" $h
	h=-no-header
	echo "   load: $(load)"
done

echo
echo "## (b) time to first frame, warm camera (ms; WHEP: offer POST → first complete keyframe access unit;"
echo "##     RTSP: client start → the same, with an API token, then with the password (argon2id per connection))"
"${L[@]}" -mode ttff -n "$TTFF_N"
"${L[@]}" -mode ttff -proto rtsp -rtsp "rtsp://admin:TOKEN@127.0.0.1:$RTSPPORT/cameras/cam-1" -n "$TTFF_N"
"${L[@]}" -mode ttff -proto rtsp -rtsp "rtsp://admin:$PW@127.0.0.1:$RTSPPORT/cameras/cam-1" -n 10 -no-header
echo "   load: $(load)"

echo
echo "## (c) fan-out: argus (cpu = the serve process, % of one core; expected = viewers × the reference client on the"
echo "##     simulator; media = its bytes without filler NAL units; RTSP viewers sign in with an API token)"
h=""
for proto in whep rtsp; do
	for k in $FANOUT; do
		"${L[@]}" -mode fanout -proto "$proto" -rtsp "rtsp://admin:TOKEN@127.0.0.1:$RTSPPORT/cameras/cam-1" \
			-ref "$SIMCAM" -pid "$SERVER" -viewers "$k" -window "${WINDOW}s" $h || echo "fan-out $proto $k failed"
		h=-no-header
		echo "   load: $(load)"
	done
done
kill $KEEP 2>/dev/null || true
stop "$SERVER"; SERVER=

echo
echo "## (c) fan-out: peer, GStreamer RTSP server relay (bench/rtsp_peer.py), same method"
have_peer() { /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer" 2>/dev/null; }
if [ "$PEER" = 1 ] && ! have_peer; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "installing GStreamer's RTSP server (apt-get)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 \
			gstreamer1.0-plugins-good gstreamer1.0-plugins-base python3-gi >/dev/null || true
	fi
fi
if [ "$PEER" != 1 ]; then
	echo "peer skipped (PEER=$PEER)"
elif ! have_peer; then
	echo "peer skipped: GStreamer's RTSP server is not installed (Debian: gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good python3-gi)"
else
	echo "gstreamer: $(/usr/bin/python3 -c "import gi; gi.require_version('Gst','1.0'); from gi.repository import Gst; Gst.init(None); print(Gst.version_string())")"
	PPORT=$(freeport)
	/usr/bin/python3 bench/rtsp_peer.py "$SIMCAM" 127.0.0.1 "$PPORT" >"$WORK/peer.log" 2>&1 &
	RELAY=$!
	wait_for 30 grep -q '^serving' "$WORK/peer.log" || { cat "$WORK/peer.log"; exit 1; }
	"$WORK/liveload" -mode fanout -proto rtsp -rtsp "rtsp://127.0.0.1:$PPORT/cam" -viewers 1 -window 100000s >/dev/null 2>&1 &
	KEEP=$!
	sleep 3
	h=""
	for k in $FANOUT; do
		"$WORK/liveload" -hz "$HZ" -mode fanout -proto rtsp -rtsp "rtsp://127.0.0.1:$PPORT/cam" \
			-ref "$SIMCAM" -pid "$RELAY" -viewers "$k" -window "${WINDOW}s" $h || echo "peer fan-out $k failed"
		h=-no-header
		echo "   load: $(load)"
	done
	kill $KEEP 2>/dev/null || true
fi
