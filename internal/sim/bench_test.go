package sim

import (
	"testing"
	"time"
)

// BenchmarkSendFrame measures the per-frame send path of one camera: clip
// lookup, SEI stamp, RTP header per packet, and the write call. "discard"
// stops at the packetWriter; "stream" goes through a gortsplib ServerStream
// with no session attached, so it adds gortsplib's per-packet marshal.
func BenchmarkSendFrame(b *testing.B) {
	cases := []struct {
		name   string
		cfg    Config
		stream bool
	}{
		{"360p/natural/discard", Config{Clip: "360p-gop2"}, false},
		{"720p/2Mbps/discard", Config{Clip: "720p-gop2", Bitrate: 2_000_000}, false},
		{"720p/2Mbps/stream", Config{Clip: "720p-gop2", Bitrate: 2_000_000}, true},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			var c *camera
			var w *discardWriter
			if bc.stream {
				cfg := bc.cfg
				cfg.Cameras = 1
				s := startSim(b, cfg)
				c = s.cams[0]
			} else {
				c, w = benchCamera(b, bc.cfg)
			}
			b.ReportAllocs()
			k := int64(0)
			for b.Loop() {
				c.sendFrame(k, time.Now(), false)
				k++
			}
			if w != nil {
				b.ReportMetric(float64(w.packets)/float64(k), "packets/frame")
				b.ReportMetric(float64(w.bytes)/float64(k), "bytes/frame")
			}
		})
	}
}
