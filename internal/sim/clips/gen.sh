#!/bin/sh
# gen.sh regenerates the bundled simulator clips (*.h264) from synthetic
# ffmpeg sources. Run it from anywhere; it writes next to itself:
#
#	sh internal/sim/clips/gen.sh
#
# Every clip is H.264 (libx264), Annex-B, 25 fps, no B-frames, one slice per
# frame, a fixed GOP (scene-cut detection off, keyint = min-keyint) and a
# whole number of GOPs, so a clip loops seamlessly on a keyframe. The scenes
# move everywhere (drifting gradients, a game-of-life layer, a test pattern
# crossing the frame, a zooming fractal) so they behave like a camera view
# for encoders and motion detectors, not like a still. Keep each file at most
# ~600 KB: they are embedded in the argus binary. If you change a clip's size,
# rate or GOP, update the catalog in clips.go (a test checks it against the
# bitstream).
set -eu

cd "$(dirname "$0")"

FFMPEG=${FFMPEG:-ffmpeg}
DUR=8   # seconds per clip: 4 GOPs of 2 s, 2 GOPs of 4 s, or 40 of 0.2 s
FPS=25

# encode NAME GOP_FRAMES BITRATE INPUTS... -- FILTERGRAPH
encode() {
	name=$1 gop=$2 rate=$3 graph=$4
	shift 4
	"$FFMPEG" -hide_banner -loglevel error -y "$@" \
		-filter_complex "$graph" -map '[out]' -t "$DUR" -r "$FPS" -an \
		-c:v libx264 -preset medium -profile:v high -pix_fmt yuv420p \
		-bf 0 -g "$gop" -keyint_min "$gop" -sc_threshold 0 \
		-x264-params "slices=1:scenecut=0:open-gop=0" \
		-b:v "$rate" -maxrate "$rate" -bufsize "$rate" \
		-f h264 "$name.h264"
	echo "$name.h264: $(wc -c <"$name.h264") bytes"
}

# A street-like 640x360 scene: drifting gradient "sky", a colony of life
# cells sliding left to right, and a test pattern "vehicle" crossing right
# to left near the bottom.
street() {
	encode "$1" "$2" 240k \
		"[0][1]overlay=x='mod(t*70,W)-w/2':y=60[a];[a][2]overlay=x='W-mod(t*110,W+w)':y='H-h-24',format=yuv420p[out]" \
		-f lavfi -i "gradients=s=640x360:r=$FPS:speed=0.03:n=3:seed=7" \
		-f lavfi -i "life=s=120x68:r=$FPS:mold=8:ratio=0.12:seed=42:life_color=#40ff40:death_color=#202020,scale=240:136:flags=neighbor" \
		-f lavfi -i "testsrc2=s=200x112:r=$FPS"
}

# A plaza-like 1280x720 scene: a slowly zooming fractal, a wide life colony
# drifting across, and a test pattern moving diagonally.
plaza() {
	encode "$1" "$2" 440k \
		"[0][1]overlay=x='mod(t*90,W)-w/2':y=80[a];[a][2]overlay=x='W-mod(t*140,W+w)':y='H-h-40-mod(t*30,200)',format=yuv420p[out]" \
		-f lavfi -i "mandelbrot=s=1280x720:r=$FPS:start_scale=2:end_scale=0.5:end_pts=400:maxiter=96" \
		-f lavfi -i "life=s=200x90:r=$FPS:mold=8:ratio=0.1:seed=3:life_color=#ffd040:death_color=#101030,scale=400:180:flags=neighbor" \
		-f lavfi -i "testsrc2=s=320x180:r=$FPS"
}

# A tiny 160x90 scene for tests that reconnect often: a drifting gradient
# and a test pattern crossing it. Its 0.2 s GOP lets a new session start
# recording within a fifth of a second (less at a higher output rate).
tiny() {
	encode "$1" "$2" 56k \
		"[0][1]overlay=x='W-mod(t*40,W+w)':y='H-h-8',format=yuv420p[out]" \
		-f lavfi -i "gradients=s=160x90:r=$FPS:speed=0.03:n=3:seed=7" \
		-f lavfi -i "testsrc2=s=64x36:r=$FPS"
}

# With arguments, only the named clips are made (sh gen.sh 90p-gop0.2), so
# adding a clip does not re-encode the others.
for name in ${*:-360p-gop2 360p-gop4 720p-gop2 720p-gop4 90p-gop0.2}; do
	case $name in
	360p-gop2) street "$name" 50 ;;
	360p-gop4) street "$name" 100 ;;
	720p-gop2) plaza "$name" 50 ;;
	720p-gop4) plaza "$name" 100 ;;
	90p-gop0.2) tiny "$name" 5 ;;
	*)
		echo "gen.sh: unknown clip $name" >&2
		exit 1
		;;
	esac
done
