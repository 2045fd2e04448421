#!/bin/sh
# gen.sh regenerates the small test clips next to it (ffmpeg with libx264
# and libx265; Debian's ffmpeg has both):
#
#	sh internal/ingest/testdata/gen.sh
#
# Each clip is 2 s at 25 fps (50 frames, GOP 25, closed GOPs, IDR keyframes,
# one slice per frame), Annex-B with an access unit delimiter before every
# frame and the parameter sets before every keyframe. NAME.pts lists every
# frame in decoding order as "pts,dts,flags" in 90 kHz units (read from an
# MPEG-TS copy by ffprobe), so the test server can send the right RTP
# timestamps for clips with B-frames.
set -eu

cd "$(dirname "$0")"

FFMPEG=${FFMPEG:-ffmpeg}
FFPROBE=${FFPROBE:-ffprobe}

# clip NAME SIZE EXT BSF ENCODER-ARGS...
clip() {
	name=$1 size=$2 ext=$3 bsf=$4
	shift 4
	"$FFMPEG" -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=$size:rate=25" -t 2 -an "$@" -f mpegts "$name.ts"
	"$FFMPEG" -hide_banner -loglevel error -y -i "$name.ts" -c copy -bsf:v "$bsf" -f "$ext" "$name.$ext"
	"$FFPROBE" -v error -select_streams v -show_entries packet=pts,dts,flags -of csv=p=0 "$name.ts" |
		grep . | cut -d, -f1-3 >"$name.pts"
	rm "$name.ts"
	echo "$name.$ext: $(wc -c <"$name.$ext") bytes, $(wc -l <"$name.pts") frames"
}

# H.264 High profile with 2 B-frames: exercises the DTS extractor.
clip h264-160x96-bframes 160x96 h264 h264_metadata=aud=insert \
	-c:v libx264 -profile:v high -pix_fmt yuv420p -bf 2 -g 25 -keyint_min 25 -sc_threshold 0 -b:v 100k \
	-x264-params "slices=1:scenecut=0:open-gop=0"
# H.264 Baseline at another size: a resolution change when played after the first.
clip h264-192x112 192x112 h264 h264_metadata=aud=insert \
	-c:v libx264 -profile:v baseline -pix_fmt yuv420p -bf 0 -g 25 -keyint_min 25 -sc_threshold 0 -b:v 100k \
	-x264-params "slices=1:scenecut=0"
# H.265 Main with 2 B-frames.
clip h265-160x96-bframes 160x96 hevc hevc_metadata=aud=insert \
	-c:v libx265 -pix_fmt yuv420p -g 25 -b:v 100k \
	-x265-params "log-level=error:keyint=25:min-keyint=25:scenecut=0:open-gop=0:bframes=2:repeat-headers=1"
