package ingest

import (
	"testing"

	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"

	"argus/internal/hub"
	"argus/internal/sim/clips"
)

// discardSink drops everything.
type discardSink struct{}

func (discardSink) SetMedia(*hub.Media) {}
func (discardSink) WriteUnit(*hub.Unit) {}
func (discardSink) SetOffline(error)    {}

// BenchmarkVideoPath measures the receive path of one frame of the
// simulator's 720p clip padded to 2 Mbit/s (about 9 RTP packets), from RTP
// packets to the Unit handed to the hub: gortsplib's H.264 depacketiser
// plus ingest's checks, timestamps and accounting. gortsplib's own socket
// reading and RTP header parsing are not included.
func BenchmarkVideoPath(b *testing.B) {
	cl, _ := clips.Lookup("720p-gop2")
	annexB, err := cl.AnnexB()
	if err != nil {
		b.Fatal(err)
	}
	// One slice per frame: a frame ends at each VCL NAL unit.
	var frames [][][]byte
	var au [][]byte
	var sps, pps []byte
	for _, n := range clips.SplitAnnexB(annexB) {
		switch n[0] & 0x1f {
		case 7:
			sps = n
		case 8:
			pps = n
		}
		au = append(au, n)
		if t := n[0] & 0x1f; t == 1 || t == 5 {
			frames = append(frames, au)
			au = nil
		}
	}
	// Pad each frame to 2 Mbit/s at 25 fps with a filler NAL unit, as the
	// simulator does.
	natural := 0
	for _, f := range frames {
		for _, n := range f {
			natural += len(n)
		}
	}
	filler := make([]byte, max(2_000_000/8/25-natural/len(frames), 2))
	filler[0] = 12
	for i := 1; i < len(filler); i++ {
		filler[i] = 0xff
	}
	f := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	enc, err := f.CreateEncoder()
	if err != nil {
		b.Fatal(err)
	}
	var pkts [][]*rtp.Packet
	bytesPerFrame, pktsPerFrame := 0, 0
	for _, fr := range frames {
		ps, err := enc.Encode(append(fr, filler))
		if err != nil {
			b.Fatal(err)
		}
		pkts = append(pkts, ps)
		pktsPerFrame += len(ps)
		for _, p := range ps {
			bytesPerFrame += len(p.Payload)
		}
	}
	bytesPerFrame /= len(frames)

	s := fuzzSession(b, hub.CodecH264, nil, sps, pps, discardSink{})
	var ts uint32
	b.SetBytes(int64(bytesPerFrame))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ts += 3600
		for _, p := range pkts[i%len(pkts)] {
			p.Timestamp = ts
			s.onVideo(p)
		}
		i++
	}
	if s.video.v.maxPTS == 0 {
		b.Fatal("no unit came out")
	}
	b.ReportMetric(float64(pktsPerFrame)/float64(len(frames)), "pkts/frame")
}
