package sim

import (
	"testing"
	"time"
)

// BenchmarkSendFrame measures the per-frame send path of one camera: clip
// lookup, SEI stamp, RTP and interleaved headers per packet, and, with a
// reader, the one write of the frame to a loopback TCP connection.
func BenchmarkSendFrame(b *testing.B) {
	cases := []struct {
		name   string
		cfg    Config
		reader bool
	}{
		{"360p/natural/build", Config{Clip: "360p-gop2"}, false},
		{"720p/2Mbps/build", Config{Clip: "720p-gop2", Bitrate: 2_000_000}, false},
		{"720p/2Mbps/tcp", Config{Clip: "720p-gop2", Bitrate: 2_000_000}, true},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			c := benchCamera(b, bc.cfg)
			if bc.reader {
				addDrainedReader(b, c)
			}
			b.ReportAllocs()
			k, packets, bytes := int64(0), 0, 0
			for b.Loop() {
				c.sendFrame(k, time.Now(), false)
				packets += len(c.packets)
				bytes += len(c.frame)
				k++
			}
			b.ReportMetric(float64(packets)/float64(k), "packets/frame")
			b.ReportMetric(float64(bytes)/float64(k), "bytes/frame")
		})
	}
}
