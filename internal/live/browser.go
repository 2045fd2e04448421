package live

import (
	"strings"

	"argus"
	"argus/internal/hub"
)

// Hub stream ids besides a camera's own id: a camera id followed by one of
// these suffixes names another stream of the same camera. '~' is a
// character argus.ValidID refuses in ids, so they never clash with a
// camera.
const (
	// SubSuffix names the camera's sub-stream (argus.Camera.SubStreamURL),
	// pulled by ingest with the camera's credentials and transport.
	SubSuffix = "~sub"
	// TranscodeSuffix names an H.264 transcode of the camera's main
	// stream, made by a Transcoder.
	TranscodeSuffix = "~h264"
)

// Source says what a browser is served of a camera, as the
// X-Argus-Source response header and the viewer's status line show it.
type Source string

// The sources of a browser's live video.
const (
	SourceMain      Source = "main"
	SourceSub       Source = "sub"
	SourceTranscode Source = "transcode"
)

// SourceHeader is the response header that names the Source of a browser's
// live video.
const SourceHeader = "X-Argus-Source"

// SplitStream splits a hub stream id into the camera id and the suffix
// (SubSuffix, TranscodeSuffix, or "" for the camera's main stream).
func SplitStream(streamID string) (cameraID, suffix string) {
	if i := strings.IndexByte(streamID, '~'); i >= 0 {
		return streamID[:i], streamID[i:]
	}
	return streamID, ""
}

// BrowserStream decides which hub stream a browser watching cam is served,
// given the media of the camera's main stream. Browsers (Chromium's MSE,
// WebRTC) decode H.264 but not H.265, so an H.265 camera is served its
// sub-stream when it has one (assumed H.264, as cameras' sub-streams
// nearly always are), else an H.264 transcode of the main stream. H.264
// and audio-only cameras are served their main stream. RTSP re-serve and
// recording never ask: they always use the main stream.
func BrowserStream(cam *argus.Camera, main *hub.Media) (streamID string, src Source) {
	if v := main.Video(); v == nil || v.Codec != hub.CodecH265 {
		return cam.ID, SourceMain
	}
	if cam.SubStreamURL != "" {
		return cam.ID + SubSuffix, SourceSub
	}
	return cam.ID + TranscodeSuffix, SourceTranscode
}
